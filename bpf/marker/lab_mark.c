/*
 * lab_mark begin|trace|end N: the markers the lab's bpftrace script cuts its
 * stream by (begin, end) and turns trace lines on by (trace). bpftrace
 * attaches uprobes to the functions below; calling one is the marker, its
 * argument the window number. They are never inlined, and
 * the empty asm keeps the call and its argument in the binary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline, used)) void lab_window_begin(long n)
{
	__asm__ volatile("" : : "r"(n) : "memory");
}

__attribute__((noinline, used)) void lab_window_trace(long n)
{
	__asm__ volatile("" : : "r"(n) : "memory");
}

__attribute__((noinline, used)) void lab_window_end(long n)
{
	__asm__ volatile("" : : "r"(n) : "memory");
}

int main(int argc, char **argv)
{
	char *end;
	long n;

	if (argc != 3 || (strcmp(argv[1], "begin") && strcmp(argv[1], "trace") && strcmp(argv[1], "end"))) {
		fprintf(stderr, "usage: lab_mark begin|trace|end N\n");
		return 2;
	}
	n = strtol(argv[2], &end, 10);
	if (*argv[2] == '\0' || *end != '\0' || n < 0) {
		fprintf(stderr, "lab_mark: N must be a number >= 0\n");
		return 2;
	}
	if (argv[1][0] == 'b')
		lab_window_begin(n);
	else if (argv[1][0] == 't')
		lab_window_trace(n);
	else
		lab_window_end(n);
	return 0;
}
