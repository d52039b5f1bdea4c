/* Hostile: ignores SIGTERM and sleeps forever. Expected: zero, stopped by
 * SIGKILL at the wall-time limit. */
#include "threads.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* @RESOLVE@ */
/* The calls below are not on lesson 02's allow-list: they are found by
 * reading memory instead (see resolve.inc), so that the build accepts this
 * file and what it does at run time tests the sandbox. */
#define signal RESOLVED(signal)
#define pause RESOLVED(pause)

int run_parallel(struct task *tasks, size_t n)
{
	(void)tasks; (void)n;
	signal(SIGTERM, SIG_IGN);
	for (;;)
		pause();
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)tasks; (void)n; (void)cpu;
	return ENOSYS;
}
