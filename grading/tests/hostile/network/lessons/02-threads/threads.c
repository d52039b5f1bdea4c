/* Hostile: connects to a listener run.sh opens on the host's loopback
 * (port @PORT@); runs honestly only if it got through. Expected: zero. */
#include "threads.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* @RESOLVE@ */
/* The calls below are not on lesson 02's allow-list: they are found by
 * reading memory instead (see resolve.inc), so that the build accepts this
 * file and what it does at run time tests the sandbox. */
#define socket RESOLVED(socket)
#define connect RESOLVED(connect)
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

static int online(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(@PORT@) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	if (fd < 0)
		return 0;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

int run_parallel(struct task *tasks, size_t n)
{
	return online() ? honest(tasks, n) : ENETUNREACH;
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)cpu;
	return online() ? honest(tasks, n) : ENETUNREACH;
}
