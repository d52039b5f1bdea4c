/*
 * exit_twice.c - a child that ends with exit() instead of _exit() does the
 * parent's end-of-program work a second time.
 *
 * The parent writes a line into a stdio stream (it waits in the stream's
 * buffer, in the parent's memory) and registers an exit handler, then
 * forks. The child is a copy of all that; when it calls exit(), it runs the
 * handler and flushes its copy of the buffer. The line written once
 * arrives twice, and the clean-up runs twice. Compare with
 * exit_twice_fixed.c.
 *
 * Build and run:  gcc -std=gnu11 -Wall -Wextra exit_twice.c && ./a.out
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* An exit handler, like one that removes a temporary file. */
static void clean_up(void)
{
	char line[80];
	int len = snprintf(line, sizeof(line), "  exit handler: clean-up done (in process %d)\n", (int)getpid());

	/* write(2), unbuffered: this line must not sit in a stdio buffer. */
	if (write(STDOUT_FILENO, line, (size_t)len) < 0)
		_exit(1);
}

/* Read the pipe to its end; count the lines that arrived. */
static int count_lines(int fd)
{
	char buf[4096];
	ssize_t r;
	int lines = 0;

	while ((r = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < r; i++)
			lines += buf[i] == '\n';
	return lines;
}

int main(void)
{
	int fd[2], lines;
	FILE *log;
	pid_t pid;

	fflush(stdout);
	if (pipe(fd) != 0 || !(log = fdopen(fd[1], "w")))
		return 1;
	atexit(clean_up);
	/* A stream on a pipe is fully buffered: the line stays in memory. */
	fprintf(log, "a line written once, by the parent\n");
	pid = fork();
	if (pid < 0)
		return 1;
	/* ANCHOR: bug */
	if (pid == 0) {
		close(fd[0]);
		exit(0); /* the bug: flushes and cleans up the parent's things */
	}
	/* ANCHOR_END: bug */
	waitpid(pid, NULL, 0);
	fclose(log); /* the parent flushes its own copy of the buffer */
	lines = count_lines(fd[0]);
	printf("  the pipe received %d line(s) for 1 written%s\n", lines,
	       lines > 1 ? ": the child flushed its copy of the parent's buffer" : "");
	fflush(stdout);
	return 0;
}
