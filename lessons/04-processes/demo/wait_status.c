/*
 * wait_status.c - what waitpid() tells a parent about how a child ended.
 *
 * Four children end in four ways: a normal _exit(0), _exit(3), a segfault,
 * an abort(). The parent waits for each and decodes the status word with
 * the <sys/wait.h> macros: WIFEXITED/WEXITSTATUS for a child that ended by
 * itself, WIFSIGNALED/WTERMSIG for one a signal killed. A crash is news for
 * the parent, not a crash of the parent: each child's memory was its own.
 *
 * Build and run:  gcc -std=gnu11 -Wall -Wextra wait_status.c && ./a.out
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_CHILDREN 4

/* Child i's life: end in the i-th way. */
static _Noreturn void child(int i)
{
	struct rlimit no_core = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no_core); /* crash quickly, leave no core file */
	switch (i) {
	case 0:
		_exit(0);
	case 1:
		_exit(3);
	case 2:
		raise(SIGSEGV); /* what a bad pointer would do */
		break;
	default:
		abort();        /* SIGABRT, what a failed assert() does */
	}
	_exit(99);
}

/* ANCHOR: decode */
static void describe(pid_t pid, int status)
{
	if (WIFEXITED(status))
		printf("child %d exited with status %d\n", (int)pid, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		printf("child %d was killed by signal %d (%s)\n", (int)pid,
		       WTERMSIG(status), strsignal(WTERMSIG(status)));
}
/* ANCHOR_END: decode */

int main(void)
{
	pid_t pid[N_CHILDREN];

	fflush(stdout);
	for (int i = 0; i < N_CHILDREN; i++) {
		pid[i] = fork();
		if (pid[i] < 0) {
			perror("fork");
			return 1;
		}
		if (pid[i] == 0)
			child(i);
	}
	for (int i = 0; i < N_CHILDREN; i++) {
		int status;

		if (waitpid(pid[i], &status, 0) != pid[i]) {
			perror("waitpid");
			return 1;
		}
		describe(pid[i], status);
	}
	printf("the parent is fine: every child crashed in its own memory\n");
	return 0;
}
