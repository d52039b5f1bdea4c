/*
 * biglock.h - lesson 03, part 3: the "global interpreter lock" experiment.
 *
 * You write biglock.c: two ways to run tasks on threads of their own. One
 * makes every thread hold a single process-wide lock while it runs task
 * code, and let go of it only around blocking I/O, the way CPython's GIL
 * works; the other lets the threads run freely. The tests measure that the
 * big-lock run is concurrent (tasks waiting on I/O overlap) but never
 * parallel (no two tasks compute at the same instant), while the
 * fine-grained run is both. Compare with lesson 02's run_pinned(), which
 * got "concurrent, not parallel" from one CPU instead of one lock.
 */
#ifndef BIGLOCK_H
#define BIGLOCK_H

#include <stddef.h>

/* ANCHOR: interface */
/* A task is a function and its argument. */
struct task {
	void (*fn)(void *arg);
	void *arg;
};

/*
 * Run every task on a thread of its own, all threads started before any
 * is joined, and return when all have finished. A thread holds the big
 * lock whenever it runs task code, so at most one task computes at any
 * instant; it lets go only inside blocking_io().
 * Returns 0, or an error number from the pthread call that failed.
 */
int run_with_big_lock(const struct task *tasks, size_t n);

/* The same threads with no big lock: tasks run as freely as lesson 02's. */
int run_fine_grained(const struct task *tasks, size_t n);

/*
 * Tasks call this around anything that may block for a while (reading a
 * socket, sleeping, waiting for another task). In a thread of
 * run_with_big_lock() it releases the big lock while io(arg) runs and
 * takes it back before returning, as CPython does around a blocking
 * system call. Anywhere else it just calls io(arg).
 */
void blocking_io(void (*io)(void *arg), void *arg);
/* ANCHOR_END: interface */

#endif
