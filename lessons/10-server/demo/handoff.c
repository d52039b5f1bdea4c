/*
 * handoff.c - FIXED: the same heavy requests handed to a worker thread;
 * the worker writes to an eventfd when one is done, which wakes the loop.
 * The ticks stay on time (within a tick or two), and the heavy work runs
 * beside them, on another CPU when there is one. Compare with
 * heavy_on_loop.c. Lesson 10's server does this with a pool.
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra handoff.c && ./a.out
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS  10
#define HEAVY_MS 150
#define N_HEAVY  3

static double now_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void compute(int ms)
{
	double until = now_ms(CLOCK_THREAD_CPUTIME_ID) + ms;
	volatile unsigned long sink = 0;

	while (now_ms(CLOCK_THREAD_CPUTIME_ID) < until)
		for (int i = 0; i < 10000; i++)
			sink += (unsigned long)i;
}

static int wake_fd;

/* ANCHOR: worker */
/* The worker: compute, then say so through the eventfd. */
static void *worker(void *arg)
{
	uint64_t one = 1;

	(void)arg;
	compute(HEAVY_MS);
	if (write(wake_fd, &one, sizeof(one)) != sizeof(one))
		return NULL;
	return NULL;
}
/* ANCHOR_END: worker */

int main(void)
{
	int ep = epoll_create1(0), tick = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec every = { { 0, TICK_MS * 1000000 }, { 0, TICK_MS * 1000000 } };
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = tick };
	double last = now_ms(CLOCK_MONOTONIC), worst = 0;
	int ticks = 0, sent = 0, done = 0;
	pthread_t t[N_HEAVY];

	wake_fd = eventfd(0, 0);
	timerfd_settime(tick, 0, &every, NULL);
	epoll_ctl(ep, EPOLL_CTL_ADD, tick, &ev);
	ev.data.fd = wake_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, wake_fd, &ev);
	while (ticks < 60 || done < sent) {
		uint64_t n;

		epoll_wait(ep, &ev, 1, -1);
		/* ANCHOR: fixed */
		if (ev.data.fd == wake_fd) {      /* a worker is done */
			if (read(wake_fd, &n, sizeof(n)) != sizeof(n))
				return 1;
			done += (int)n;
			continue;
		}
		/* ANCHOR_END: fixed */
		if (read(tick, &n, sizeof(n)) != sizeof(n))
			return 1;
		ticks++;
		if (now_ms(CLOCK_MONOTONIC) - last > worst)
			worst = now_ms(CLOCK_MONOTONIC) - last;
		last = now_ms(CLOCK_MONOTONIC);
		if (ticks % 15 == 0 && sent < N_HEAVY)
			pthread_create(&t[sent++], NULL, worker, NULL); /* hand it off */
	}
	for (int i = 0; i < sent; i++)
		pthread_join(t[i], NULL);
	printf("heavy handed off: %d heavy requests done; the cheap ones waited up to %.0f ms (one tick is %d ms)\n",
	       done, worst, TICK_MS);
	return 0;
}
