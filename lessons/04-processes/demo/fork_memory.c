/*
 * fork_memory.c - after fork(), parent and child each have their own copy
 * of memory: what the child writes, the parent never sees.
 *
 * The child changes a global variable and a heap block, at the very same
 * addresses the parent uses, and reports what it sees; the parent waits for
 * it and looks at its own. Compare with lesson 02's threads, which share
 * one memory: there, a write by one thread is a write for all.
 *
 * Build and run:  gcc -std=gnu11 -Wall -Wextra fork_memory.c && ./a.out
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int counter = 1;  /* a global: in the data segment */

int main(void)
{
	char *note = malloc(32);  /* on the heap */
	pid_t pid;

	if (!note)
		return 1;
	strcpy(note, "written by the parent");
	fflush(stdout); /* nothing buffered may be copied into the child */
	/* ANCHOR: fork */
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		/* The child: a copy of the parent, at the same addresses. */
		counter = 42;
		strcpy(note, "written by the child");
		printf("child:  counter = %2d, note = \"%s\" (at %p and %p)\n",
		       counter, note, (void *)&counter, (void *)note);
		fflush(stdout); /* _exit() does not flush stdio buffers */
		_exit(0);
	}
	/* The parent: wait until the child has written and ended... */
	waitpid(pid, NULL, 0);
	printf("parent: counter = %2d, note = \"%s\" (at %p and %p)\n",
	       counter, note, (void *)&counter, (void *)note);
	/* ANCHOR_END: fork */
	printf("the same addresses, different values: each process has its own memory\n");
	free(note);
	return 0;
}
