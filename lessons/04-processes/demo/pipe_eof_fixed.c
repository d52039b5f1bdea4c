/*
 * pipe_eof_fixed.c - the repair of pipe_eof.c: the parent closes its copy
 * of the write end right after fork(). When the child dies, no writer is
 * left, and read() returns 0 (end-of-file) at once: the parent learns that
 * no result is coming.
 *
 * Build and run:  gcc -std=gnu11 -Wall -Wextra pipe_eof_fixed.c && ./a.out
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	long value;
	ssize_t r;
	int fd[2], status;
	pid_t pid;

	if (pipe(fd) != 0)
		return 1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		_exit(1); /* dies without sending anything */
	/* ANCHOR: fix */
	close(fd[1]); /* the fix: the parent only reads */
	r = read(fd[0], &value, sizeof(value));
	/* ANCHOR_END: fix */
	close(fd[0]);
	waitpid(pid, &status, 0);
	printf("read() returned %zd at once: end-of-file, no result is coming\n", r);
	printf("waitpid() says why: the child exited with status %d\n", WEXITSTATUS(status));
	return 0;
}
