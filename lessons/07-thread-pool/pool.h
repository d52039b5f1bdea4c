/*
 * pool.h - lesson 07: a fixed-size thread pool.
 *
 * You write pool.c. A pool starts N worker threads once, when it is
 * created; submitting a task only queues it, and a worker that is free
 * takes it. The tests hand your pool tasks of their own and measure what it
 * did with them: which threads ran them (always the same N?), how many were
 * in progress at once (up to N, never more), how much CPU the workers burn
 * while there is nothing to do, and whether shutdown finishes the queue.
 * Compare with lesson 02, where every task got a thread of its own.
 */
#ifndef POOL_H
#define POOL_H

/* ANCHOR: interface */
/* A task is a function and its argument; its return value is its result. */
typedef long (*pool_fn)(void *arg);

struct pool;      /* the pool: its workers and its queue (yours to define) */
struct pool_job;  /* one submitted task: the handle to wait on (yours too) */

/*
 * Start a pool of `nthreads` worker threads (nthreads >= 1). Those are
 * the only threads the pool ever creates. Returns 0 and the pool in *out,
 * or an error number (EINVAL for nthreads < 1, or from the failed call).
 */
int pool_create(struct pool **out, int nthreads);

/*
 * Queue fn(arg) and return at once: a free worker will run it. When `job`
 * is not NULL, *job receives a handle for pool_wait(); when it is NULL
 * nobody will wait, and the pool forgets the task once it has run.
 * Safe to call from several threads at once.
 * Returns 0, or an error number (ENOMEM).
 */
int pool_submit(struct pool *p, pool_fn fn, void *arg, struct pool_job **job);

/*
 * Wait until the task behind `job` has run, store its return value in
 * *result, and free the handle (wait once per handle). A handle stays
 * valid until then, even across pool_shutdown().
 * Returns 0, or an error number.
 */
int pool_wait(struct pool_job *job, long *result);

/*
 * Graceful shutdown: every task already submitted still runs, then every
 * worker ends and is joined, and the pool is freed. Submit nothing after
 * calling it. Returns 0, or the first error number.
 */
int pool_shutdown(struct pool *p);
/* ANCHOR_END: interface */

#endif
