/*
 * epollout_spin.c - BUGGY on purpose: watching EPOLLOUT when there is
 * nothing to send. A connected socket with room in its buffer is
 * writable, and epoll (level-triggered, the default) reports it every
 * time it is asked: epoll_wait() returns at once, again and again, and
 * the "idle" loop burns a whole CPU. Watch EPOLLOUT only while some
 * output is waiting to be sent.
 *
 * Build and run:  gcc -std=gnu11 -Wall -Wextra epollout_spin.c && ./a.out
 */
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RUN_MS 200

static double ms_of(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Run an "idle" loop for RUN_MS with `events` watched on a quiet socket. */
static void idle_loop(int fd, unsigned events, const char *what)
{
	struct epoll_event ev = { .events = events }, got;
	int ep = epoll_create1(0);
	long wakeups = 0;
	double end = ms_of(CLOCK_MONOTONIC) + RUN_MS, cpu0 = ms_of(CLOCK_PROCESS_CPUTIME_ID);

	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	/* ANCHOR: loop */
	for (;;) {
		int left = (int)(end - ms_of(CLOCK_MONOTONIC));

		if (left <= 0)
			break;
		if (epoll_wait(ep, &got, 1, left) > 0)
			wakeups++; /* nothing to do: nothing to send, nothing came */
	}
	/* ANCHOR_END: loop */
	printf("%-24s %8ld wake-ups in %d ms, %3.0f ms of CPU\n", what, wakeups, RUN_MS,
	       ms_of(CLOCK_PROCESS_CPUTIME_ID) - cpu0);
	close(ep);
}

int main(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
		perror("socketpair");
		return 1;
	}
	idle_loop(sv[0], EPOLLIN | EPOLLOUT, "EPOLLIN | EPOLLOUT:");
	idle_loop(sv[0], EPOLLIN, "EPOLLIN only:");
	return 0;
}
