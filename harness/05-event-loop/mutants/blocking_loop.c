/*
 * blocking_loop.c - MUTANT of the reference server: the "iterative server"
 * of many first attempts. It accepts one client and serves it with
 * ordinary blocking reads and writes until that client hangs up, and only
 * then accepts the next. Every reply is right, and a client that talks
 * alone is served well; but while it waits for one client's next line,
 * every other client waits too.
 *
 * Caught by: event_loop::gated (the client whose turn it is is never the
 * one the server is waiting on: 1 in progress at once, 8 needed).
 */
#include "server.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Wait until fd is readable (true) or stop_fd is (false). */
static bool wait_for(int fd, int stop_fd)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = stop_fd, .events = POLLIN } };

	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			return false;
	return !(p[1].revents & POLLIN);
}

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

/* Serve one client to its end. False when it is time to stop. */
static bool serve_one(int fd, int stop_fd)
{
	char line[SERVER_LINE_MAX + 1], buf[4096];
	size_t len = 0;

	for (;;) {
		ssize_t n;

		if (!wait_for(fd, stop_fd))
			return false;
		/* The mistake: this client, and only this one, until it ends. */
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			return true;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (len == SERVER_LINE_MAX)
					return true;
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
				return true;
			len = 0;
		}
	}
}

int serve(int listen_fd, int stop_fd)
{
	for (;;) {
		bool go_on;
		int fd;

		if (!wait_for(listen_fd, stop_fd))
			return 0;
		fd = accept(listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		go_on = serve_one(fd, stop_fd);
		close(fd);
		if (!go_on)
			return 0;
	}
}
