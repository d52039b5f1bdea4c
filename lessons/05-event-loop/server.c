/*
 * server.c - lesson 05: YOUR CODE. Serve the mirror protocol to every
 * client at once, on one thread, with an epoll event loop.
 *
 * Read the chapter (README.md beside this file) first, then replace each
 * TODO. `make check LESSON=5` tells you what your server does, measured.
 * You may reshape everything below except serve()'s signature.
 */
#include "server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* ANCHOR: conn */
/*
 * One client connection: everything the loop must remember about it
 * between two events. A thread serving one client would keep this in
 * local variables while it blocks; your loop serves many clients, never
 * blocks, and so keeps it here, one struct per connection.
 */
struct conn {
	int fd;
	char line[SERVER_LINE_MAX];  /* the line received so far, without '\n' */
	size_t line_len;
	char *out;                   /* replies not yet sent: out[out_sent..out_len) */
	size_t out_len, out_sent, out_cap;
	bool eof;                    /* the client has shut its sending side */
	struct conn *next;           /* every open connection, to close them at the stop */
};
/* ANCHOR_END: conn */

int serve(int listen_fd, int stop_fd)
{
	/*
	 * TODO 1: create an epoll instance (epoll_create1) and add listen_fd
	 *         and stop_fd to it, watched for EPOLLIN. Put something in
	 *         each event's data (epoll_event.data.ptr or .fd) that tells
	 *         you, when the event comes back, which descriptor it is for.
	 *
	 * TODO 2: the loop. Wait in epoll_wait() with no timeout (-1): that
	 *         is where the thread sleeps while nothing happens. Then
	 *         handle every event it returned, and wait again.
	 *
	 * TODO 3: the listener is readable: accept every waiting connection
	 *         (accept4 with SOCK_NONBLOCK, until EAGAIN). For each, a new
	 *         struct conn, watched for EPOLLIN.
	 *
	 * TODO 4: a client is readable: recv() until EAGAIN. Feed the bytes
	 *         through the connection's line buffer: on '\n', append the
	 *         reversed line and a '\n' to its unsent replies; keep a
	 *         partial line for the next event. recv() returning 0 is the
	 *         end of file; an error other than EAGAIN/EINTR means it is
	 *         gone. A line longer than SERVER_LINE_MAX: hang up.
	 *
	 * TODO 5: send the unsent replies with send(..., MSG_NOSIGNAL) until
	 *         done or EAGAIN; remember how far you got. Then tell epoll
	 *         (EPOLL_CTL_MOD) what to report next: EPOLLIN while the
	 *         client may still send, EPOLLOUT only while replies are owed.
	 *         End of file and nothing owed: close the connection.
	 *
	 * TODO 6: closing a connection: close(fd), unlink and free its
	 *         struct conn. When stop_fd is readable, close every
	 *         connection and the epoll descriptor, and return 0.
	 */
	(void)listen_fd;
	(void)stop_fd;
	errno = ENOSYS;
	return -1;
}
