/* Hostile: closes stdin, stdout, stderr and every other descriptor (the
 * test's channel to Criterion included), then claims success without
 * running a task. Expected: zero, and the report still complete. */
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
#define close RESOLVED(close)

int run_parallel(struct task *tasks, size_t n)
{
	(void)tasks; (void)n;
	for (int fd = 0; fd < 1024; fd++)
		close(fd);
	return 0;
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	return run_parallel(tasks, n + (size_t)cpu);
}
