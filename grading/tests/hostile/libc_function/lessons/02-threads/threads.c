/* Forged pass: defines libc functions the tests rely on. The tests ask
 * sched_getcpu() where each task ran; this one answers 0, 1, 0, 1... so
 * tasks run one after another would look spread over two CPUs. And exit()
 * is how a test binary ends: this one could end it with any status.
 * Expected: the build refuses the file (only the lesson's functions may be
 * global), naming the symbol: zero for the lesson. */
#include "threads.h"

#include <stdlib.h>
#include <unistd.h>

int sched_getcpu(void);

int sched_getcpu(void)
{
	static int next;

	return next++ & 1;
}

void exit(int status)
{
	(void)status;
	_exit(0);
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
