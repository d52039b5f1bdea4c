/* Hostile: leaves daemons behind (double fork, new session, SIGTERM and
 * SIGHUP ignored, named "atonce-daemon"). Expected: zero, and no such
 * process alive once the grader is done. */
#include "threads.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>

/* @RESOLVE@ */
/* The calls below are not on lesson 02's allow-list: they are found by
 * reading memory instead (see resolve.inc), so that the build accepts this
 * file and what it does at run time tests the sandbox. */
#define fork RESOLVED(fork)
#define setsid RESOLVED(setsid)
#define signal RESOLVED(signal)
#define prctl RESOLVED(prctl)

static void daemonize(void)
{
	pid_t pid = fork();

	if (pid != 0)
		return;
	setsid();
	if (fork() != 0)
		_exit(0);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	prctl(PR_SET_NAME, "atonce-daemon");
	for (;;)
		sleep(1);
}

int run_parallel(struct task *tasks, size_t n)
{
	(void)tasks; (void)n;
	daemonize();
	return ENOSYS;
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)tasks; (void)n; (void)cpu;
	daemonize();
	return ENOSYS;
}
