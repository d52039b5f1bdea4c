/*
 * sigpipe.c - writing to a connection whose other end is gone raises
 * SIGPIPE, and SIGPIPE's default action ends the process. send() with
 * MSG_NOSIGNAL reports the same thing as an error, EPIPE, instead.
 *
 * A server with thousands of clients must not die because one of them
 * vanished. The demo runs each case in a child process, so that the
 * first one can die without ending the demo.
 *
 * Build and run:  gcc -std=gnu11 -Wall -Wextra sigpipe.c && ./a.out
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* In a child: connect two sockets, close one, write to the other. */
static void try_writing(int use_send)
{
	int sv[2];
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		_exit(2);
	close(sv[1]); /* the client vanishes */
	/* ANCHOR: write */
	if (use_send)
		n = send(sv[0], "reply\n", 6, MSG_NOSIGNAL); /* -1, errno EPIPE */
	else
		n = write(sv[0], "reply\n", 6);              /* SIGPIPE: killed */
	/* ANCHOR_END: write */
	printf("  %s returned %zd: %s; the server lives on\n",
	       use_send ? "send(..., MSG_NOSIGNAL)" : "write()", n, n < 0 ? strerror(errno) : "ok");
	fflush(stdout);
	_exit(0);
}

static void run(int use_send)
{
	int status;
	pid_t pid;

	fflush(stdout); /* or the child prints our buffered lines again */
	pid = fork();
	if (pid == 0)
		try_writing(use_send);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return;
	if (WIFSIGNALED(status))
		printf("  write(): the process was killed by signal %d (%s)\n",
		       WTERMSIG(status), strsignal(WTERMSIG(status)));
}

int main(void)
{
	signal(SIGPIPE, SIG_DFL);
	printf("writing to a socket whose peer has closed:\n");
	run(0);
	run(1);
	return 0;
}
