/*
 * partial_write.c - a non-blocking send() takes what fits, not what you
 * ask: a short count, then EAGAIN until the reader makes room; and
 * EPOLLOUT says when there is room again.
 *
 * Two connected sockets (socketpair). We try to send 1 MiB at once to a
 * reader who has not read anything yet. The kernel keeps only what fits in
 * the socket buffers; the rest is ours to keep and send later.
 *
 * Build and run:  gcc -std=gnu11 -Wall -Wextra partial_write.c && ./a.out
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BIG (1 << 20)

int main(void)
{
	int sv[2], ep;
	char *data = calloc(1, BIG), sink[65536];
	struct epoll_event ev = { .events = EPOLLOUT }, got;
	ssize_t n, drained = 0;

	if (!data || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) {
		perror("socketpair");
		return 1;
	}
	/* ANCHOR: short */
	n = send(sv[0], data, BIG, MSG_NOSIGNAL);
	printf("send(1 MiB) took %zd bytes: %s\n", n, n < BIG ? "a short write, the rest is still ours" : "all of it?");
	n = send(sv[0], data, BIG, MSG_NOSIGNAL);
	printf("send() again: %zd, %s\n", n, n < 0 ? strerror(errno) : "more room?");
	/* ANCHOR_END: short */

	ep = epoll_create1(0);
	epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev);
	printf("writable now? epoll_wait says %d ready\n", epoll_wait(ep, &got, 1, 0));
	/* The reader takes its bytes: room appears, EPOLLOUT fires. */
	while ((n = recv(sv[1], sink, sizeof(sink), 0)) > 0)
		drained += n;
	printf("the reader took %zd bytes; writable now? epoll_wait says %d ready\n",
	       drained, epoll_wait(ep, &got, 1, 1000));
	close(ep);
	free(data);
	return 0;
}
