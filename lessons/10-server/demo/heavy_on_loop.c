/*
 * heavy_on_loop.c - BUGGY: a CPU-heavy request computed on the event
 * loop's own thread. A timer ticks every 10 ms (think: clients asking
 * cheap questions); three heavy requests of 150 ms each arrive. While one
 * is computed, nothing else is handled: the ticks come late, by the whole
 * length of the computation. Compare with handoff.c.
 *
 * Build and run:  gcc -std=gnu11 -Wall -Wextra heavy_on_loop.c && ./a.out
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
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

/* ANCHOR: heavy */
/* The heavy work: ms milliseconds of this thread's CPU. */
static void compute(int ms)
{
	double until = now_ms(CLOCK_THREAD_CPUTIME_ID) + ms;
	volatile unsigned long sink = 0;

	while (now_ms(CLOCK_THREAD_CPUTIME_ID) < until)
		for (int i = 0; i < 10000; i++)
			sink += (unsigned long)i;
}
/* ANCHOR_END: heavy */

int main(void)
{
	int ep = epoll_create1(0), tick = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec every = { { 0, TICK_MS * 1000000 }, { 0, TICK_MS * 1000000 } };
	struct epoll_event ev = { .events = EPOLLIN };
	double last = now_ms(CLOCK_MONOTONIC), worst = 0;
	int ticks = 0, heavy_done = 0;

	timerfd_settime(tick, 0, &every, NULL);
	epoll_ctl(ep, EPOLL_CTL_ADD, tick, &ev);
	while (ticks < 60) {
		uint64_t n;

		epoll_wait(ep, &ev, 1, -1);
		if (read(tick, &n, sizeof(n)) != sizeof(n))
			return 1;
		ticks++;
		if (now_ms(CLOCK_MONOTONIC) - last > worst)
			worst = now_ms(CLOCK_MONOTONIC) - last;
		last = now_ms(CLOCK_MONOTONIC);
		/* ANCHOR: bug */
		if (ticks % 15 == 0 && heavy_done < N_HEAVY) {
			compute(HEAVY_MS); /* on the loop: nothing else moves */
			heavy_done++;
		}
		/* ANCHOR_END: bug */
	}
	printf("heavy on the loop: %d heavy requests done; the cheap ones waited up to %.0f ms (one tick is %d ms)\n",
	       heavy_done, worst, TICK_MS);
	return 0;
}
