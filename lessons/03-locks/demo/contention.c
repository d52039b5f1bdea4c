/*
 * contention.c - the price of one lock that everybody wants. Four threads
 * count to 4,000,000 in all, three ways: one thread alone with a lock,
 * four threads sharing that lock, and four threads each counting on a
 * counter of its own, added up at the end.
 *
 * The answer is right every time. What changes is the cost: with one
 * contended lock the threads spend their time waiting for each other and
 * passing the lock (and the cache line it lives on) from CPU to CPU, so
 * four threads are no faster than one, often slower. Sharing less, not
 * locking harder, is what lets threads run in parallel. The times are
 * printed for you to look at; nothing depends on them.
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra contention.c && ./a.out
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_THREADS 4
#define TOTAL     4000000L

static long shared;
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

/* Each thread's own counter, on a cache line of its own (64 bytes), so
 * that two CPUs never fight over one line (lesson 08: false sharing). */
struct own {
	long n;
	char pad[64 - sizeof(long)];
};
static struct own own[N_THREADS];

static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", what, strerror(rc));
		exit(1);
	}
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ANCHOR: two_ways */
/* Everybody counts on the one shared counter: one lock, much contention. */
static void *count_shared(void *arg)
{
	long times = *(long *)arg;

	for (long i = 0; i < times; i++) {
		must(pthread_mutex_lock(&shared_lock), "lock");
		shared++;
		must(pthread_mutex_unlock(&shared_lock), "unlock");
	}
	return NULL;
}

/* Each thread counts on its own counter: nothing shared, nothing locked. */
static void *count_own(void *arg)
{
	struct own *mine = arg;

	for (long i = 0; i < TOTAL / N_THREADS; i++)
		mine->n++;
	return NULL;
}
/* ANCHOR_END: two_ways */

/* Run body on n threads, each with args[i]; return the wall time in ms. */
static double run(int n, void *(*body)(void *), void **args)
{
	pthread_t tid[N_THREADS];
	double t0 = now_ms();

	for (int i = 0; i < n; i++)
		must(pthread_create(&tid[i], NULL, body, args[i]), "pthread_create");
	for (int i = 0; i < n; i++)
		must(pthread_join(tid[i], NULL), "pthread_join");
	return now_ms() - t0;
}

int main(void)
{
	long all = TOTAL, share = TOTAL / N_THREADS, sum = 0;
	void *one_arg[1] = { &all };
	void *shared_args[N_THREADS], *own_args[N_THREADS];
	double t_one, t_shared, t_own;

	for (int i = 0; i < N_THREADS; i++) {
		shared_args[i] = &share;
		own_args[i] = &own[i];
	}
	t_one = run(1, count_shared, one_arg);
	shared = 0;
	t_shared = run(N_THREADS, count_shared, shared_args);
	t_own = run(N_THREADS, count_own, own_args);
	for (int i = 0; i < N_THREADS; i++)
		sum += own[i].n;
	printf("counting to %ld:\n", TOTAL);
	printf("  1 thread,  one lock:           %7ld  %6.1f ms\n", TOTAL, t_one);
	printf("  %d threads, one shared lock:    %7ld  %6.1f ms\n", N_THREADS, shared, t_shared);
	printf("  %d threads, a counter each:     %7ld  %6.1f ms\n", N_THREADS, sum, t_own);
	return shared == TOTAL && sum == TOTAL ? 0 : 1;
}
