/*
 * poll_done.c - BUGGY: the loop learns that a job is done by looking
 * every 5 ms ("epoll_wait with a timeout, then check the done flag"). It
 * costs almost no CPU, yet the loop's thread wakes up some sixty times in
 * the 300 ms the job takes, and answers up to 5 ms late. Compare with
 * eventfd_wake.c.
 *
 * Build and run:  gcc -std=gnu11 -D_GNU_SOURCE -pthread -Wall -Wextra poll_done.c && ./a.out
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

static atomic_bool done;

static void *job(void *arg)
{
	struct timespec t = { 0, 300 * 1000 * 1000 };

	(void)arg;
	nanosleep(&t, NULL); /* stands for 300 ms of work */
	atomic_store(&done, true);
	return NULL;
}

static long wakeups_of_this_thread(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nvcsw;
}

int main(void)
{
	int ep = epoll_create1(0), turns = 0;
	struct epoll_event ev;
	pthread_t t;
	long w0 = wakeups_of_this_thread();

	pthread_create(&t, NULL, job, NULL);
	/* ANCHOR: bug */
	while (!atomic_load(&done)) {
		epoll_wait(ep, &ev, 1, 5); /* wake up every 5 ms to look */
		turns++;
	}
	/* ANCHOR_END: bug */
	printf("polling for the result: the loop woke up %ld times (%d turns) while one job ran\n",
	       wakeups_of_this_thread() - w0, turns);
	pthread_join(t, NULL);
	return 0;
}
