/* Forged pass: dodges an import review with weak references. A weak
 * undefined symbol is shown by nm as "w", not "U", so a review that reads
 * only the "U" lines misses it; linked, kill() then stops the test runner
 * (its parent) and the code runs the tasks one after another. Expected:
 * the build refuses weak references, naming the symbol: zero. */
#include "threads.h"

#include <signal.h>
#include <sys/types.h>

extern int kill(pid_t pid, int sig) __attribute__((weak));
extern pid_t getppid(void) __attribute__((weak));

int run_parallel(struct task *tasks, size_t n)
{
	if (kill && getppid)
		kill(getppid(), SIGSTOP);
	for (size_t i = 0; i < n; i++)
		tasks[i].result = tasks[i].fn(tasks[i].arg);
	return 0;
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)cpu;
	return run_parallel(tasks, n);
}
