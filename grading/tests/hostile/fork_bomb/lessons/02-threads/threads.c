/* Hostile: a fork bomb. Expected: zero; the process limit contains it and
 * the sandbox's pid namespace leaves no process behind. */
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
	for (;;)
		fork();
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)tasks; (void)n; (void)cpu;
	return ENOSYS;
}
