/*
 * forgot_join.c - BUGGY on purpose: it starts threads and never joins them,
 * then reads their results. Compare with forgot_join_fixed.c.
 *
 * pthread_create() returns as soon as the thread exists, long before the
 * thread has done anything. Without pthread_join() nothing waits for the
 * work: main reads result slots that are still empty, the threads are still
 * there (count them in /proc/self/task), and when main returns, exit() ends
 * the whole process, unfinished threads included.
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra forgot_join.c && ./a.out
 */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define N_THREADS 4
#define TASK_MS 200

/* One job per thread: a number in, its square out (0 until computed). */
struct job {
	long n;
	atomic_long square;
};

static struct job job[N_THREADS];

/* Threads in this process now: the entries of /proc/self/task. */
static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Take TASK_MS over it, then fill in this job's result. */
static void *task(void *arg)
{
	struct job *j = arg;
	struct timespec wait = { 0, TASK_MS * 1000000L };

	nanosleep(&wait, NULL);
	atomic_store(&j->square, j->n * j->n);
	return NULL;
}

static void print_results(const char *when)
{
	printf("%-16s squares:", when);
	for (int i = 0; i < N_THREADS; i++)
		printf(" %ld", atomic_load(&job[i].square));
	printf("   threads in the process: %d\n", count_threads());
}

int main(void)
{
	pthread_t tid[N_THREADS];
	int err;

	/* ANCHOR: bug */
	for (int i = 0; i < N_THREADS; i++) {
		job[i].n = i + 1;
		if ((err = pthread_create(&tid[i], NULL, task, &job[i])) != 0)
			goto fail;
	}
	/* The bug: no pthread_join(); the results are read at once. */
	print_results("without a join:");
	/* ANCHOR_END: bug */
	printf("main returns: exit() ends the process, unfinished threads and all\n");
	return 0;
fail:
	fprintf(stderr, "forgot_join: %s\n", strerror(err));
	return 1;
}
