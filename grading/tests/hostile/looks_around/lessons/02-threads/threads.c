/* Looks around the machine at run time: /home, /root, /opt, /srv, /mnt,
 * /run, the course checkout (@ROOT@) and the folder beside it (other
 * checkouts), every submission (@SUBS@), a secret run.sh left in /var/tmp
 * where graders keep their work (@SECRET@), and how much of /var/tmp and
 * /etc it can list. Prints what it saw; runs honestly only if it saw any of
 * it. Expected: zero: the sandbox shows the toolchain, a minimal /etc and
 * this student's own tree, nothing else. */
#include "threads.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* @RESOLVE@ */
#define opendir RESOLVED(opendir)
#define readdir RESOLVED(readdir)
#define closedir RESOLVED(closedir)
#define open RESOLVED(open)
#define close RESOLVED(close)

static int entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int saw(void)
{
	static const char *const hidden[] = { "/home", "/root", "/opt", "/srv", "/mnt", "/run",
		"@ROOT@", "@ROOT@/..", "@SUBS@", "/var/lib", "/var/log" };
	int seen = 0, fd, n;

	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		if ((n = entries(hidden[i])) > 0) {
			printf("ATONCE-SEEN %s: %d entries\n", hidden[i], n);
			seen = 1;
		}
	if ((fd = open("@SECRET@", O_RDONLY)) >= 0) {
		printf("ATONCE-SEEN the secret in /var/tmp\n");
		close(fd);
		seen = 1;
	}
	if ((n = entries("/var/tmp")) > 1) {     /* only the path to its own tree */
		printf("ATONCE-SEEN /var/tmp: %d entries\n", n);
		seen = 1;
	}
	if ((n = entries("/etc")) > 12) {
		printf("ATONCE-SEEN /etc: %d entries\n", n);
		seen = 1;
	}
	fflush(stdout);
	return seen;
}

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

int run_parallel(struct task *tasks, size_t n)
{
	return saw() ? honest(tasks, n) : EACCES;
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)cpu;
	return saw() ? honest(tasks, n) : EACCES;
}
