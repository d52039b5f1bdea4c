/*
 * in_order.c - BUGGY on purpose: it reads four pipes one after another,
 * each with a blocking read(), while the data arrives in another order.
 * Compare with epoll_pipes.c, which reads whichever pipe is ready.
 *
 * A writer thread puts one message into the pipes in the order 2, 0, 3, 1,
 * one every 50 ms. Reading pipe 0 first, the main thread sits in read()
 * while pipe 2's message is already waiting; and so on down the line.
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra in_order.c && ./a.out
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
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
	char buf[16];
	int err;

	for (int i = 0; i < N_PIPES; i++)
		if (pipe(pipes[i]) != 0)
			return 1;
	if ((err = pthread_create(&t, NULL, writer, NULL)) != 0) {
		fprintf(stderr, "pthread_create: %s\n", strerror(err));
		return 1;
	}
	/* ANCHOR: bug */
	/* The bug: a fixed order, and a read() that waits on each in turn. */
	for (int p = 0; p < N_PIPES; p++) {
		ssize_t n = read(pipes[p][0], buf, sizeof(buf));
		double late = now_ms() - written_at[p];

		printf("pipe %d: %zd bytes, read %3.0f ms after they arrived\n", p, n, late);
		if (late > worst)
			worst = late;
	}
	/* ANCHOR_END: bug */
	if ((err = pthread_join(t, NULL)) != 0)
		return 1;
	printf("%s\n", worst >= GAP_MS - 10
	       ? "messages sat unread while the thread waited on another pipe"
	       : "every message was read as soon as it came");
	return 0;
}
