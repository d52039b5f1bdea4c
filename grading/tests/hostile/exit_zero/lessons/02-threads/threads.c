/* Hostile: exit(0) mid-test, which Criterion alone counts as a pass.
 * Expected: zero (the runner reports EXIT: the test never reached its end). */
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
	exit(0);
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)tasks; (void)n; (void)cpu;
	_exit(0);
}
