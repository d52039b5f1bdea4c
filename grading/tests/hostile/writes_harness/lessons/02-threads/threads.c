/* Hostile: writes into the course (harness, tests, its own test binary)
 * and forges "PASS" lines in the results file, then runs honestly.
 * Expected: zero (the forged lines are detected), and no file outside the
 * sandbox's scratch changed. @ROOT@ is the course, filled in by run.sh. */
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
#define write RESOLVED(write)
#define close RESOLVED(close)
#define getenv RESOLVED(getenv)
#define fopen RESOLVED(fopen)
#define fclose RESOLVED(fclose)

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

static void try_write(const char *path, int flags)
{
	int fd = open(path, O_WRONLY | flags, 0644);

	if (fd >= 0) {
		if (write(fd, "hacked\n", 7) < 0)
			perror(path);
		close(fd);
	}
}

int run_parallel(struct task *tasks, size_t n)
{
	char path[4096];
	const char *out = getenv("ATONCE_OUT"), *res = getenv("ATONCE_RESULTS");
	static const char *const names[] = { "overlap", "thread_per_task", "results", "all_joined",
		"parallel", "pinned_overlap", "pinned_one_cpu", "pinned_not_parallel" };

	try_write("@ROOT@/harness/02-threads/HACKED", O_CREAT);
	try_write("harness/02-threads/test_threads.c", O_APPEND);
	try_write("harness/lib/at_runner.c", O_APPEND);
	if (out) {
		snprintf(path, sizeof(path), "%s/run", out);
		try_write(path, O_TRUNC);
	}
	if (res) {
		FILE *f = fopen(res, "a");

		for (size_t i = 0; f && i < sizeof(names) / sizeof(names[0]); i++)
			fprintf(f, "%s\tPASS\tforged\t\n", names[i]);
		if (f)
			fclose(f);
	}
	return honest(tasks, n);
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)cpu;
	return honest(tasks, n);
}
