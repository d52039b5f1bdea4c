/*
 * biglock.c - lesson 03, part 3: YOUR CODE. Run tasks on threads under one
 * big lock, the way CPython runs Python threads under its GIL, and then
 * without it.
 *
 * Read the chapter (README.md beside this file) first, then replace each
 * TODO. `make check LESSON=3` tells you what your code does, measured.
 */
#include "biglock.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

/*
 * TODO 1: one process-wide mutex, the big lock
 *         (static pthread_mutex_t ... = PTHREAD_MUTEX_INITIALIZER), and a
 *         per-thread flag saying whether this thread holds it
 *         (static __thread bool ...), for blocking_io() to look at.
 */

int run_with_big_lock(const struct task *tasks, size_t n)
{
	/*
	 * TODO 2: as in lesson 02: one thread per task, all created before any
	 *         is joined. Each thread takes the big lock (and sets its
	 *         flag) before it calls the task's fn, and clears the flag and
	 *         releases the lock after. Return the first error number.
	 */
	(void)tasks;
	(void)n;
	return ENOSYS;
}

int run_fine_grained(const struct task *tasks, size_t n)
{
	/* TODO 3: the same threads, without the big lock. */
	(void)tasks;
	(void)n;
	return ENOSYS;
}

void blocking_io(void (*io)(void *arg), void *arg)
{
	/*
	 * TODO 4: if this thread holds the big lock, release it (clear the
	 *         flag) while io(arg) runs, and take it back after: waiting
	 *         needs no lock, and meanwhile another task can run.
	 */
	io(arg);
}
