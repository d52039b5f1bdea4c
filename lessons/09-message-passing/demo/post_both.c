/*
 * post_both.c - the fix for send_first.c: each process offers its send and
 * its receive at the same time, and waits until either can move (poll),
 * doing whichever part is possible. No order of the two processes can
 * deadlock, whatever the size: this is what MPI_Isend + MPI_Irecv +
 * MPI_Waitall do for you.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char out_buf[1 << 20], in_buf[1 << 20];

/* ANCHOR: fix */
/* One "rank": the send and the receive both in progress until both are done. */
static void rank(int to_peer, int from_peer, size_t size)
{
	size_t sent = 0, got = 0;

	fcntl(to_peer, F_SETFL, O_NONBLOCK);     /* a write never waits: it does what fits */
	while (sent < size || got < size) {
		struct pollfd p[2] = { { .fd = sent < size ? to_peer : -1, .events = POLLOUT },
				       { .fd = got < size ? from_peer : -1, .events = POLLIN } };

		if (poll(p, 2, -1) < 0)              /* the "wait": for either to move */
			_exit(1);
		if (p[0].revents & POLLOUT) {
			ssize_t n = write(to_peer, out_buf + sent, size - sent);
			if (n > 0)
				sent += (size_t)n;
		}
		if (p[1].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(from_peer, in_buf + got, size - got);
			if (n <= 0)
				_exit(1);
			got += (size_t)n;
		}
	}
	_exit(0);
}
/* ANCHOR_END: fix */

int main(void)
{
	static const size_t sizes[] = { 1024, 1 << 20 };

	memset(out_buf, 'x', sizeof(out_buf));
	for (int i = 0; i < 2; i++) {
		int ab[2], ba[2], sa, sb;
		pid_t a, b;

		if (pipe(ab) != 0 || pipe(ba) != 0)
			return 1;
		a = fork();
		if (a == 0)
			rank(ab[1], ba[0], sizes[i]);
		b = fork();
		if (b == 0)
			rank(ba[1], ab[0], sizes[i]);
		close(ab[0]), close(ab[1]), close(ba[0]), close(ba[1]);
		waitpid(a, &sa, 0), waitpid(b, &sb, 0);
		printf("%7zu bytes each way: %s\n", sizes[i],
		       sa == 0 && sb == 0 ? "both done: sends and receives progressed together" : "failed");
	}
	return 0;
}
