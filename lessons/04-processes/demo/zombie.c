/*
 * zombie.c - a child that has ended but was never waited for: a zombie.
 *
 * The child exits at once. The parent does not call waitpid(); it only
 * looks at the child's entry in /proc, whose state letter turns to Z (what
 * `ps` shows as <defunct>). The zombie holds its PID and its exit status
 * until its parent collects them, or until the parent itself ends (then
 * init adopts and reaps it). Compare with zombie_fixed.c.
 *
 * Build and run:  gcc -std=gnu11 -Wall -Wextra zombie.c && ./a.out
 */
#include <stdio.h>
#include <string.h>
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
	char s;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0)
		_exit(3); /* the child ends at once */
	/* ANCHOR: bug */
	/* The bug: no waitpid(). The child has ended, but its entry stays. */
	s = wait_for_state(pid, 'Z');
	/* ANCHOR_END: bug */
	printf("child %d has exited; its state in /proc: %c%s\n", (int)pid, s,
	       s == 'Z' ? " (a zombie: nobody has waited for it)" : "");
	printf("it stays a zombie until we end, then init adopts and reaps it\n");
	return 0;
}
