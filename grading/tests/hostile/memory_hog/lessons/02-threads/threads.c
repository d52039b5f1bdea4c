/* Hostile: allocates and touches memory without end. Expected: zero; the
 * memory limit kills the test process, not the machine. */
#include "threads.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int run_parallel(struct task *tasks, size_t n)
{
	(void)tasks; (void)n;
	for (;;) {
		char *p = malloc(64 << 20);

		if (p)
			memset(p, 1, 64 << 20);
	}
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)tasks; (void)n; (void)cpu;
	return ENOSYS;
}
