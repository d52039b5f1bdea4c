/* Forged pass: dodges an import review with versioned names. With
 * .symver, the object imports "kill@GLIBC_2.2.5" and "getppid@GLIBC_2.2.5",
 * which a block-list of plain names ("kill") does not match; linked, they
 * are libc's kill and getppid. Expected: the build refuses versioned
 * names, naming the symbol: zero for the lesson. */
#include "threads.h"

#include <signal.h>
#include <sys/types.h>

__asm__(".symver versioned_kill, kill@GLIBC_2.2.5");
__asm__(".symver versioned_getppid, getppid@GLIBC_2.2.5");
extern int versioned_kill(pid_t pid, int sig);
extern pid_t versioned_getppid(void);

int run_parallel(struct task *tasks, size_t n)
{
	versioned_kill(versioned_getppid(), SIGSTOP);
	for (size_t i = 0; i < n; i++)
		tasks[i].result = tasks[i].fn(tasks[i].arg);
	return 0;
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)cpu;
	return run_parallel(tasks, n);
}
