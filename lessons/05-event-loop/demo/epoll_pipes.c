/*
 * epoll_pipes.c - one thread watches four pipes with epoll and reads each
 * as soon as it has data, whatever the order. Compare with in_order.c,
 * the same pipes read one after another.
 *
 * The writer thread puts one message into the pipes in the order 2, 0, 3,
 * 1, one every 50 ms. The main thread asks epoll_wait() "which of these
 * is ready?", sleeps until one is, reads it, and asks again.
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra epoll_pipes.c && ./a.out
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define N_PIPES 4
#define GAP_MS  50

static int pipes[N_PIPES][2];
static double written_at[N_PIPES];
static const int write_order[N_PIPES] = { 2, 0, 3, 1 };

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *writer(void *arg)
{
	struct timespec gap = { 0, GAP_MS * 1000000L };

	(void)arg;
	for (int i = 0; i < N_PIPES; i++) {
		int p = write_order[i];

		nanosleep(&gap, NULL);
		written_at[p] = now_ms();
		if (write(pipes[p][1], "ready", 5) != 5)
			perror("write");
	}
	return NULL;
}

int main(void)
{
	pthread_t t;
	double worst = 0;
	int ep, err, served = 0;

	/* ANCHOR: watch */
	ep = epoll_create1(0);
	for (int p = 0; p < N_PIPES; p++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)p };

		if (pipe(pipes[p]) != 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pipes[p][0], &ev) != 0) {
			perror("pipe/epoll_ctl");
			return 1;
		}
	}
	/* ANCHOR_END: watch */
	if ((err = pthread_create(&t, NULL, writer, NULL)) != 0) {
		fprintf(stderr, "pthread_create: %s\n", strerror(err));
		return 1;
	}
	/* ANCHOR: loop */
	while (served < N_PIPES) {
		struct epoll_event ready[N_PIPES];
		int n = epoll_wait(ep, ready, N_PIPES, -1); /* sleep until one is ready */

		for (int i = 0; i < n; i++) {
			int p = (int)ready[i].data.u32;
			char buf[16];
			ssize_t got = read(pipes[p][0], buf, sizeof(buf)); /* will not wait */
			double late = now_ms() - written_at[p];

			printf("pipe %d: %zd bytes, read %3.0f ms after they arrived\n", p, got, late);
			if (late > worst)
				worst = late;
			served++;
		}
	}
	/* ANCHOR_END: loop */
	if ((err = pthread_join(t, NULL)) != 0)
		return 1;
	printf("%s\n", worst < GAP_MS - 10
	       ? "every message was read as soon as it came, in the order it came"
	       : "a message sat unread for a while (a very busy machine?)");
	close(ep);
	return 0;
}
