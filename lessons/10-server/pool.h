/*
 * pool.h - lesson 10, GIVEN: a small fixed pool of worker threads, lesson
 * 07's interface without pool_wait(). Nobody waits for a job here: a job
 * ends by handing its result back to the event loop itself (that hand-off
 * is yours, in server.c). Your own 07 pool can replace pool.c: drop
 * pool_wait and keep the rest.
 */
#ifndef POOL_H
#define POOL_H

/* ANCHOR: interface */
typedef long (*pool_fn)(void *arg);

struct pool;

/* Start nthreads workers (>= 1), all created here and only here. 0 or an
 * errno value. */
int pool_create(struct pool **out, int nthreads);

/* Queue fn(arg) to run on some worker; never blocks on the work. Its
 * return value is dropped. 0, or ESHUTDOWN after pool_shutdown began, or
 * ENOMEM. */
int pool_submit(struct pool *p, pool_fn fn, void *arg);

/* Run every job already queued, then join every worker and free the pool.
 * 0 or an errno value. */
int pool_shutdown(struct pool *p);
/* ANCHOR_END: interface */

#endif
