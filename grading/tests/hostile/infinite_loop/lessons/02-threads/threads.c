/* Hostile: spins forever. Expected: zero, stopped by the time limits. */
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
	volatile unsigned long spin = 0;

	(void)tasks; (void)n;
	for (;;)
		spin++;
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)tasks; (void)n; (void)cpu;
	return ENOSYS;
}
