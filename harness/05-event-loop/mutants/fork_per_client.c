/*
 * fork_per_client.c - MUTANT of the reference server: the classic Unix
 * server of lesson 04. The parent accepts; each client gets a child
 * process that serves it with blocking reads and writes and exits. It
 * serves everyone at once and every reply is right, but with a process
 * per client, not one event loop.
 *
 * Caught by: event_loop::one_thread (8 child processes while 8 clients
 * talk).
 */
#include "server.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
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

/* In the child: blocking reads until the client ends. */
static void serve_one(int fd)
{
	char line[SERVER_LINE_MAX + 1], buf[4096];
	size_t len = 0;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (len == SERVER_LINE_MAX)
					return;
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
				return;
			len = 0;
		}
	}
}

int serve(int listen_fd, int stop_fd)
{
	struct pollfd p[2] = { { .fd = listen_fd, .events = POLLIN }, { .fd = stop_fd, .events = POLLIN } };

	for (;;) {
		pid_t pid;
		int fd;

		while (waitpid(-1, NULL, WNOHANG) > 0)
			; /* reap the children that are done */
		if (poll(p, 2, 100) < 0 && errno != EINTR)
			return -1;
		if (p[1].revents & POLLIN)
			return 0;
		if (!(p[0].revents & POLLIN) || (fd = accept(listen_fd, NULL, NULL)) < 0)
			continue;
		/* The mistake (for this lesson): a process per client. */
		pid = fork();
		if (pid == 0) {
			close(listen_fd);
			serve_one(fd);
			_exit(0);
		}
		close(fd);
	}
}
