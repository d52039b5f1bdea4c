/*
 * blocking_read.c - a blocking read() waits, and its thread can do nothing
 * else meanwhile. Compare with nonblocking_read.c.
 *
 * The main thread reads from an empty pipe. A second thread writes into
 * the pipe 300 ms later. Until then, read() does not return: the main
 * thread is parked in the kernel, asleep, and whatever else it had to do
 * (another client, a timer) waits too.
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra blocking_read.c && ./a.out
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LATE_MS 300

static int pipe_fd[2];

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The other party: says something, but only after LATE_MS. */
static void *late_writer(void *arg)
{
	struct timespec late = { 0, LATE_MS * 1000000L };

	(void)arg;
	nanosleep(&late, NULL);
	if (write(pipe_fd[1], "hello", 5) != 5)
		perror("write");
	return NULL;
}

int main(void)
{
	pthread_t writer;
	char buf[16];
	double t0, waited;
	ssize_t n;
	int err;

	if (pipe(pipe_fd) != 0) {
		perror("pipe");
		return 1;
	}
	if ((err = pthread_create(&writer, NULL, late_writer, NULL)) != 0) {
		fprintf(stderr, "pthread_create: %s\n", strerror(err));
		return 1;
	}
	/* ANCHOR: read */
	t0 = now_ms();
	n = read(pipe_fd[0], buf, sizeof(buf)); /* nothing there yet: wait */
	waited = now_ms() - t0;
	/* ANCHOR_END: read */
	if ((err = pthread_join(writer, NULL)) != 0) {
		fprintf(stderr, "pthread_join: %s\n", strerror(err));
		return 1;
	}
	printf("read() returned %zd bytes (\"%.*s\") after %.0f ms\n", n, (int)(n > 0 ? n : 0), buf, waited);
	printf("%s\n", waited >= LATE_MS - 20
	       ? "for all that time this thread was asleep in read(): it could serve nobody else"
	       : "read() returned early?");
	return 0;
}
