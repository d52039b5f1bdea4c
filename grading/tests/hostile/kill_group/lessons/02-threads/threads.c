/* Hostile: kills its parent (the test runner), its process group and every
 * process it may signal. Expected: zero; nothing outside the sandbox dies. */
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
#define kill RESOLVED(kill)
#define getppid RESOLVED(getppid)

int run_parallel(struct task *tasks, size_t n)
{
	(void)tasks; (void)n;
	kill(getppid(), SIGKILL);
	kill(0, SIGKILL);
	kill(-1, SIGKILL);
	return 0;
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)tasks; (void)n; (void)cpu;
	return ENOSYS;
}
