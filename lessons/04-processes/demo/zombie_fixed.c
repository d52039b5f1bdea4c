/*
 * zombie_fixed.c - the repair of zombie.c: wait for the child.
 *
 * The child exits at once and is a zombie for a moment; waitpid() collects
 * its exit status, and with that the kernel removes it: its /proc entry is
 * gone. A zombie costs no CPU and almost no memory, but it holds a PID: a
 * program that forks forever and never waits fills the process table.
 *
 * Build and run:  gcc -std=gnu11 -Wall -Wextra zombie_fixed.c && ./a.out
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The state letter of process pid from /proc/PID/stat, or '-' if gone. */
static char state_of(pid_t pid)
{
	char path[64], text[512], state = '-';
	const char *paren;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return '-';
	/* "pid (name) S ...": the state follows the last ')'. */
	if (fgets(text, sizeof(text), f) && (paren = strrchr(text, ')')))
		sscanf(paren + 1, " %c", &state);
	fclose(f);
	return state;
}

/* Look at pid every millisecond, for at most 2 s, until it is state `want`. */
static char wait_for_state(pid_t pid, char want)
{
	struct timespec ms = { 0, 1000000 };
	char s = state_of(pid);

	for (int i = 0; i < 2000 && s != want; i++) {
		nanosleep(&ms, NULL);
		s = state_of(pid);
	}
	return s;
}

int main(void)
{
	pid_t pid;
	int status;
	char before, after;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0)
		_exit(3); /* the child ends at once */
	before = wait_for_state(pid, 'Z');
	/* ANCHOR: fix */
	/* The fix: collect the child's exit status; the kernel then
	 * forgets the child. */
	if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		return 1;
	}
	after = state_of(pid);
	/* ANCHOR_END: fix */
	printf("child %d has exited; its state in /proc: %c (a zombie, for now)\n", (int)pid, before);
	printf("waitpid() returned its exit status, %d; its state now: %c (%s)\n",
	       WEXITSTATUS(status), after, after == '-' ? "gone: reaped" : "still there?");
	return 0;
}
