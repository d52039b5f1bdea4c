/*
 * pipe_eof.c - a pipe reaches end-of-file only when every write end is
 * closed, including the reader's own copy.
 *
 * The child dies without writing anything (as a crashed task would). The
 * parent forgot to close its copy of the write end, so the pipe still has
 * a writer, and a read() would wait forever. The demo asks poll() instead,
 * with a deadline, so that it can tell you so and end. Compare with
 * pipe_eof_fixed.c.
 *
 * Build and run:  gcc -std=gnu11 -Wall -Wextra pipe_eof.c && ./a.out
 */
#include <poll.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEADLINE_MS 500

int main(void)
{
	struct pollfd p;
	int fd[2], ready;
	pid_t pid;

	if (pipe(fd) != 0)
		return 1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		_exit(1); /* dies without sending anything */
	waitpid(pid, NULL, 0);
	/* ANCHOR: bug */
	/* The bug: the parent never closed fd[1], its copy of the write end. */
	p = (struct pollfd){ .fd = fd[0], .events = POLLIN };
	ready = poll(&p, 1, DEADLINE_MS);
	/* ANCHOR_END: bug */
	if (ready == 0)
		printf("the child is gone, yet after %d ms the pipe has neither data nor end-of-file:\n"
		       "read() would wait forever, for a writer that is the parent itself\n", DEADLINE_MS);
	else
		printf("poll() returned %d: the pipe reached end-of-file\n", ready);
	return 0;
}
