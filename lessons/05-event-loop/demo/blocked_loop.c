/*
 * blocked_loop.c - one slow handler holds up the whole event loop. A
 * timer should tick every 10 ms; one of the events takes 200 ms of
 * computing, and during it no other event is handled, ticks included.
 * The loop is concurrent, not parallel: CPU-heavy work belongs on other
 * threads (a pool, lesson 07), with the loop only waiting and dispatching
 * (lesson 10 builds that server).
 *
 * Build and run:  gcc -std=gnu11 -Wall -Wextra blocked_loop.c && ./a.out
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 10
#define HEAVY_MS 200

static double ms_of(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A CPU-bound handler: compute for ms milliseconds of CPU time. */
static void heavy_handler(int ms)
{
	double until = ms_of(CLOCK_THREAD_CPUTIME_ID) + ms;
	volatile unsigned long sink = 0;

	while (ms_of(CLOCK_THREAD_CPUTIME_ID) < until)
		for (int i = 0; i < 10000; i++)
			sink += (unsigned long)i;
}

int main(void)
{
	struct itimerspec every = { { 0, TICK_MS * 1000000L }, { 0, TICK_MS * 1000000L } };
	struct epoll_event ev = { .events = EPOLLIN }, got;
	int tfd = timerfd_create(CLOCK_MONOTONIC, 0), ep = epoll_create1(0);
	double last = ms_of(CLOCK_MONOTONIC), longest = 0;

	if (tfd < 0 || ep < 0 || timerfd_settime(tfd, 0, &every, NULL) != 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) != 0) {
		perror("timerfd/epoll");
		return 1;
	}
	/* ANCHOR: loop */
	for (int tick = 1; tick <= 30; tick++) {
		uint64_t expired;
		double now;

		epoll_wait(ep, &got, 1, -1);
		if (read(tfd, &expired, sizeof(expired)) != sizeof(expired))
			return 1;
		now = ms_of(CLOCK_MONOTONIC);
		if (now - last > longest)
			longest = now - last;
		last = now;
		if (tick == 10)
			heavy_handler(HEAVY_MS); /* the loop can do nothing else meanwhile */
	}
	/* ANCHOR_END: loop */
	printf("ticks due every %d ms; the longest gap between two was %.0f ms\n", TICK_MS, longest);
	printf("%s\n", longest >= HEAVY_MS - 20
	       ? "while one handler computed, every other event waited: the loop was blocked"
	       : "no tick was late (the heavy handler did not block?)");
	return 0;
}
