/* Forged pass: defines the harness's own functions. at_usable_cpus() is
 * how the tests learn how many CPUs they may use (1 makes every
 * parallelism check skip), __wrap_pthread_create counts the threads the
 * code creates, criterion_* is the framework. Linked in, they would
 * replace the instruments. Expected: the build refuses the file, naming
 * the symbol: zero for the lesson. */
#include "threads.h"

#include <pthread.h>
#include <stddef.h>

int at_usable_cpus(char *why, size_t whylen);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);
void criterion_current_test_passed(void);

int at_usable_cpus(char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	return 1;
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
	(void)t; (void)a;
	fn(arg);
	return 0;
}

void criterion_current_test_passed(void)
{
}

int run_parallel(struct task *tasks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tasks[i].result = tasks[i].fn(tasks[i].arg);
	return 0;
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)cpu;
	return run_parallel(tasks, n);
}
