/*
 * nonblocking_read.c - the three answers of a non-blocking read():
 * "nothing yet" (-1, EAGAIN), "here are some bytes", and "no more, ever"
 * (0, end of file). Compare with blocking_read.c, which simply waits.
 *
 * With O_NONBLOCK set on a descriptor, read() never waits: if no byte is
 * there, it fails at once with EAGAIN (also spelt EWOULDBLOCK) and the
 * thread is free to do something else, such as look at other descriptors.
 *
 * Build and run:  gcc -std=gnu11 -Wall -Wextra nonblocking_read.c && ./a.out
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void try_read(int fd, const char *when)
{
	char buf[16];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n > 0)
		printf("%-28s read() = %zd: \"%.*s\"\n", when, n, (int)n, buf);
	else if (n == 0)
		printf("%-28s read() = 0: end of file, the writer is gone\n", when);
	else if (errno == EAGAIN || errno == EWOULDBLOCK)
		printf("%-28s read() = -1, EAGAIN: nothing yet, come back later\n", when);
	else
		printf("%-28s read() = -1, %s\n", when, strerror(errno));
}

int main(void)
{
	int p[2];

	if (pipe(p) != 0) {
		perror("pipe");
		return 1;
	}
	/* ANCHOR: nonblock */
	/* Keep the descriptor's other flags; add O_NONBLOCK. */
	if (fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK) != 0) {
		perror("fcntl");
		return 1;
	}
	/* ANCHOR_END: nonblock */
	try_read(p[0], "empty pipe:");
	if (write(p[1], "hi", 2) != 2)
		return 1;
	try_read(p[0], "after the writer said hi:");
	try_read(p[0], "read again:");
	close(p[1]);
	try_read(p[0], "after the writer closed:");
	return 0;
}
