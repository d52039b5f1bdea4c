/*
 * thread_per_client.c - MUTANT of the reference server: concurrency from
 * threads instead of an event loop. The main thread accepts; each client
 * gets a thread of its own that serves it with blocking reads and writes.
 * It serves everyone at once and every reply is right: it is lesson 02's
 * design, and a fine one for a few clients. But it is not what this
 * lesson asks: thousands of clients would mean thousands of threads and
 * stacks, where one loop holds a small struct per client.
 *
 * Caught by: event_loop::one_thread (9 threads while 8 clients talk).
 */
#include "server.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static bool send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* One client's thread: blocking reads until the client ends. */
static void *serve_one(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char line[SERVER_LINE_MAX + 1], buf[4096];
	size_t len = 0;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (len == SERVER_LINE_MAX)
					goto out;
				line[len++] = buf[i];
				continue;
			}
			for (size_t k = 0; k < len / 2; k++) {
				char t = line[k];

				line[k] = line[len - 1 - k];
				line[len - 1 - k] = t;
			}
			line[len++] = '\n';
			if (!send_all(fd, line, len))
				goto out;
			len = 0;
		}
	}
out:
	close(fd);
	return NULL;
}

int serve(int listen_fd, int stop_fd)
{
	struct pollfd p[2] = { { .fd = listen_fd, .events = POLLIN }, { .fd = stop_fd, .events = POLLIN } };

	for (;;) {
		pthread_attr_t attr;
		pthread_t t;
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return -1;
		if (p[1].revents & POLLIN)
			return 0;
		if (!(p[0].revents & POLLIN) || (fd = accept(listen_fd, NULL, NULL)) < 0)
			continue;
		/* The mistake (for this lesson): a thread per client. */
		if (pthread_attr_init(&attr) != 0) {
			close(fd);
			continue;
		}
		if (pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) != 0 ||
		    pthread_create(&t, &attr, serve_one, (void *)(intptr_t)fd) != 0)
			close(fd);
		pthread_attr_destroy(&attr);
	}
}
