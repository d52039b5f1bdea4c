/* Hostile: floods stdout and stderr. Expected: zero; the grader keeps the
 * head and tail of the output and drops the rest. */
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
#define write RESOLVED(write)

int run_parallel(struct task *tasks, size_t n)
{
	static char line[65536];

	(void)tasks; (void)n;
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	for (;;) {
		if (write(1, line, sizeof(line)) < 0 && write(2, line, sizeof(line)) < 0)
			return EIO;
		if (write(2, line, sizeof(line)) < 0)
			continue;
	}
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)tasks; (void)n; (void)cpu;
	return ENOSYS;
}
