/*
 * pool.c - lesson 07: YOUR CODE. A fixed-size thread pool: N workers
 * started once, a queue of submitted tasks, a handle to wait on each
 * result, and a shutdown that finishes the queue before it returns.
 *
 * Read the chapter (README.md beside this file) first, then replace each
 * TODO. `make check LESSON=7` tells you what your code does, measured.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct pool_job {
	/*
	 * TODO 1: what a submitted task needs: fn and arg; a link to the next
	 *         job in the queue; and for the waiter a `done` flag, the
	 *         result, and a mutex + condition variable to sleep on until
	 *         done (or remember that nobody will wait, when job was NULL).
	 */
	int placeholder;
};

struct pool {
	/*
	 * TODO 2: the queue (head and tail of a linked list of jobs), a
	 *         `stopping` flag, ONE mutex that guards all three, a condition
	 *         variable the workers sleep on, and the workers' pthread_t's
	 *         (to join them at shutdown).
	 */
	int placeholder;
};

int pool_create(struct pool **out, int nthreads)
{
	/*
	 * TODO 3: allocate the pool, set up its mutex and condition variable,
	 *         and start exactly `nthreads` workers with pthread_create().
	 *         A worker loops: lock; while the queue is empty and the pool
	 *         is not stopping, pthread_cond_wait() (asleep: no CPU);
	 *         take the first job; unlock; run it (outside the lock!);
	 *         hand over the result. When stopping and the queue is empty,
	 *         it returns. On a failure, stop and join the workers already
	 *         started, free everything, return the error number.
	 */
	(void)out;
	(void)nthreads;
	return ENOSYS;
}

int pool_submit(struct pool *p, pool_fn fn, void *arg, struct pool_job **job)
{
	/*
	 * TODO 4: allocate a job; give the caller the handle BEFORE queueing
	 *         it (a worker may run it at once); lock, append it at the
	 *         tail, pthread_cond_signal() one sleeping worker, unlock.
	 *         Several threads may submit at the same moment: the queue is
	 *         touched only under the pool's lock.
	 */
	(void)p;
	(void)fn;
	(void)arg;
	(void)job;
	return ENOSYS;
}

int pool_wait(struct pool_job *job, long *result)
{
	/*
	 * TODO 5: lock the job; while it is not done, pthread_cond_wait() on
	 *         its condition variable; copy the result; unlock; free the job.
	 */
	(void)job;
	(void)result;
	return ENOSYS;
}

int pool_shutdown(struct pool *p)
{
	/*
	 * TODO 6: under the lock raise `stopping` and pthread_cond_broadcast()
	 *         (wake EVERY worker); unlock; pthread_join() every worker; then
	 *         destroy the mutex and condition variable and free the pool.
	 *         The workers must still run what is queued before they leave.
	 */
	(void)p;
	return ENOSYS;
}
