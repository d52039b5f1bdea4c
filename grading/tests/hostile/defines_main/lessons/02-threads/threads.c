/* Forged pass: defines main(), the test program's own entry point. Linked
 * in, it would replace the runner and print a perfect summary without
 * running a test. Expected: the build refuses the file, naming main (the
 * same message `make check` gives): zero for the lesson. */
#include "threads.h"

#include <stdio.h>

int run_parallel(struct task *tasks, size_t n)
{
	(void)tasks;
	(void)n;
	return 0;
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)cpu;
	return run_parallel(tasks, n);
}

int main(void)
{
	printf("  14 of 14 checks passed\n");
	return 0;
}
