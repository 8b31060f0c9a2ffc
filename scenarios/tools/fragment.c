// SPDX-License-Identifier: GPL-2.0
/*
 * fragment MiB hold_seconds: fault in MiB of anonymous memory, then free
 * every other 4 KiB page (MADV_DONTNEED), leaving movable pages scattered
 * through memory for compaction to migrate; hold them for hold_seconds.
 * Prints "kept <pages> pages" once the holes are punched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: fragment MiB hold_seconds\n");
		return 2;
	}
	size_t len = strtoul(argv[1], NULL, 10) << 20;
	unsigned hold = strtoul(argv[2], NULL, 10);
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (madvise(p, len, MADV_NOHUGEPAGE) && errno != EINVAL) {
		perror("madvise(MADV_NOHUGEPAGE)");
		return 1;
	}
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	size_t kept = 0;
	for (size_t off = 0; off < len; off += 8192, kept++) {
		if (madvise(p + off + 4096, 4096, MADV_DONTNEED)) {
			perror("madvise(MADV_DONTNEED)");
			return 1;
		}
	}
	printf("kept %zu pages\n", kept);
	fflush(stdout);
	sleep(hold);
	return 0;
}
