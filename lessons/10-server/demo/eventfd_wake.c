/*
 * eventfd_wake.c - FIXED: the job, when done, writes 1 to an eventfd that
 * the loop watches with its other descriptors: the loop sleeps in
 * epoll_wait(-1) for the whole 300 ms and wakes up once, at once.
 * Compare with poll_done.c.
 *
 * Build and run:  gcc -std=gnu11 -D_GNU_SOURCE -pthread -Wall -Wextra eventfd_wake.c && ./a.out
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int wake_fd;

/* ANCHOR: job */
static void *job(void *arg)
{
	struct timespec t = { 0, 300 * 1000 * 1000 };
	uint64_t one = 1;

	(void)arg;
	nanosleep(&t, NULL); /* stands for 300 ms of work */
	if (write(wake_fd, &one, sizeof(one)) != sizeof(one)) /* wake the loop */
		return NULL;
	return NULL;
}
/* ANCHOR_END: job */

static long wakeups_of_this_thread(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nvcsw;
}

int main(void)
{
	int ep = epoll_create1(0), turns = 0;
	struct epoll_event ev = { .events = EPOLLIN };
	uint64_t n = 0;
	pthread_t t;
	long w0;

	wake_fd = eventfd(0, EFD_NONBLOCK);
	epoll_ctl(ep, EPOLL_CTL_ADD, wake_fd, &ev);
	w0 = wakeups_of_this_thread();
	pthread_create(&t, NULL, job, NULL);
	/* ANCHOR: fixed */
	while (n == 0) {
		epoll_wait(ep, &ev, 1, -1);     /* asleep until the job says so */
		turns++;
		if (read(wake_fd, &n, sizeof(n)) != sizeof(n))
			n = 0;
	}
	/* ANCHOR_END: fixed */
	printf("woken by the eventfd: the loop woke up %ld time(s) (%d turn) while one job ran\n",
	       wakeups_of_this_thread() - w0, turns);
	pthread_join(t, NULL);
	return 0;
}
