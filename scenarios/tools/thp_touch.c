// SPDX-License-Identifier: GPL-2.0
/*
 * thp_touch MiB [hold_seconds]: map MiB of anonymous memory on a 2 MiB
 * boundary, madvise(MADV_HUGEPAGE), write every 4 KiB page, then hold it for
 * hold_seconds (so a split can happen while it is mapped) and exit.
 * Prints "touched <pages> pages" once every page is written.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define HPAGE (2UL << 20)

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: thp_touch MiB [hold_seconds]\n");
		return 2;
	}
	size_t len = strtoul(argv[1], NULL, 10) << 20;
	unsigned hold = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
	/* over-map by one huge page and align the start by hand */
	char *raw = mmap(NULL, len + HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	char *p = (char *)(((uintptr_t)raw + HPAGE - 1) & ~(HPAGE - 1));
	if (madvise(p, len, MADV_HUGEPAGE)) {
		perror("madvise(MADV_HUGEPAGE)");
		return 1;
	}
	size_t pages = 0;
	/*
	 * Non-zero data in every page: since 6.12, splitting a THP maps its
	 * zero-filled subpages to the shared zero page and frees them, and the
	 * split pages would be gone before the dump is read.
	 */
	for (size_t off = 0; off < len; off += 4096, pages++)
		p[off] = (char)(1 + pages % 255);
	printf("touched %zu pages\n", pages);
	fflush(stdout);
	sleep(hold);
	return 0;
}
