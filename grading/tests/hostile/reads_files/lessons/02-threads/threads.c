/* Hostile: at run time, reads the reference solution and another student's
 * submission; runs honestly only if either could be read. Expected: zero. */
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
#define open RESOLVED(open)
#define read RESOLVED(read)
#define close RESOLVED(close)

static void *one(void *p)
{
	struct task *t = p;

	t->result = t->fn(t->arg);
	return NULL;
}

static int honest(struct task *tasks, size_t n)
{
	pthread_t tid[64];

	if (n > 64)
		return EINVAL;
	for (size_t i = 0; i < n; i++)
		if (pthread_create(&tid[i], NULL, one, &tasks[i]) != 0)
			return EAGAIN;
	for (size_t i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	return 0;
}

static int readable(const char *path)
{
	char buf[16];
	int fd = open(path, O_RDONLY), got;

	if (fd < 0)
		return 0;
	got = (int)read(fd, buf, sizeof(buf));
	close(fd);
	return got > 0;
}

static int leaked(void)
{
	return readable("@ROOT@/solutions/02-threads/threads.c") ||
	       readable("@SUBS@/reference/lessons/02-threads/threads.c") ||
	       readable("@SUBS@/skeleton/02-threads/threads.c");
}

int run_parallel(struct task *tasks, size_t n)
{
	return leaked() ? honest(tasks, n) : EACCES;
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)cpu;
	return leaked() ? honest(tasks, n) : EACCES;
}
