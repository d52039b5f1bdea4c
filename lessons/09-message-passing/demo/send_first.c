/*
 * send_first.c - the deadlock that buffering hides, with two processes and
 * two pipes instead of two MPI ranks. Each process first sends its whole
 * message (a blocking write), then receives the other's (a blocking read).
 * A small message fits in the pipe's buffer, so the write returns at once
 * and all is well; a big one does not fit, and each process waits in
 * write() for the other to read, which it never will: the other is waiting
 * in write() too.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char out_buf[1 << 20], in_buf[1 << 20];

/* ANCHOR: bug */
/* One "rank": send everything, then receive everything. */
static void rank(int to_peer, int from_peer, size_t size)
{
	size_t done = 0;

	while (done < size) {                  /* the send: blocks while the pipe is full */
		ssize_t n = write(to_peer, out_buf + done, size - done);
		if (n <= 0)
			_exit(1);
		done += (size_t)n;
	}
	for (done = 0; done < size;) {         /* the receive: only after the send returned */
		ssize_t n = read(from_peer, in_buf + done, size - done);
		if (n <= 0)
			_exit(1);
		done += (size_t)n;
	}
	_exit(0);
}
/* ANCHOR_END: bug */

/* Run two ranks that swap `size` bytes; true if both finished within 1 s. */
static int exchange(size_t size)
{
	int ab[2], ba[2];
	pid_t a, b;
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	if (pipe(ab) != 0 || pipe(ba) != 0)
		exit(1);
	a = fork();
	if (a == 0)
		rank(ab[1], ba[0], size);
	b = fork();
	if (b == 0)
		rank(ba[1], ab[0], size);
	close(ab[0]), close(ab[1]), close(ba[0]), close(ba[1]);
	for (int waited = 0; waited < 100; waited++) {   /* up to 1 s */
		int st;

		if (waitpid(a, &st, WNOHANG) == a) {
			waitpid(b, &st, 0);
			return 1;
		}
		nanosleep(&tick, NULL);
	}
	kill(a, SIGKILL), kill(b, SIGKILL);
	waitpid(a, NULL, 0), waitpid(b, NULL, 0);
	return 0;
}

int main(void)
{
	static const size_t sizes[] = { 1024, 1 << 20 };

	memset(out_buf, 'x', sizeof(out_buf));
	for (int i = 0; i < 2; i++) {
		if (exchange(sizes[i]))
			printf("%7zu bytes each way: both sends returned at once (the pipe held them), then both receives: done\n",
			       sizes[i]);
		else
			printf("%7zu bytes each way: after 1 s both processes are still in write(), each waiting for the other\n"
			       "                      to read, which it never will: a deadlock (killed)\n",
			       sizes[i]);
	}
	return 0;
}
