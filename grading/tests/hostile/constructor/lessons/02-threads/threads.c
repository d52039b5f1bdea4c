/* Forged pass: code that runs before and after the tests. The constructor
 * could set up anything before the harness measures; the destructor runs
 * once the runner has written its verdicts and could rewrite them.
 * Expected: the build refuses constructors and destructors (.init_array,
 * .fini_array): zero for the lesson. */
#include "threads.h"

#include <stdio.h>

static int ready;

__attribute__((constructor)) static void before_the_tests(void)
{
	ready = 1;
}

__attribute__((destructor)) static void after_the_tests(void)
{
	printf("  14 of 14 checks passed\n");
}

int run_parallel(struct task *tasks, size_t n)
{
	(void)tasks;
	(void)n;
	return ready ? 0 : 1;
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)cpu;
	return run_parallel(tasks, n);
}
