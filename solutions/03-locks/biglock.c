/*
 * biglock.c - lesson 03, the reference: tasks on threads of their own, all
 * started before any is joined (lesson 02), in two flavours. Under
 * run_with_big_lock() each thread holds one process-wide mutex while it
 * runs task code and lets go of it only inside blocking_io(), like
 * CPython's GIL; under run_fine_grained() nothing is shared, so nothing is
 * locked.
 *
 * Compare with harness/03-locks/mutants/: io_under_lock.patch keeps the
 * big lock while it waits (nothing overlaps), no_big_lock.patch forgets it
 * (parallel), fine_uses_big_lock.patch serialises the fine-grained run too.
 */
#include "biglock.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A mutex call fails only on a broken mutex: a bug. Name it and stop. */
static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "biglock: %s: %s\n", what, strerror(rc));
		abort();
	}
}

/* ANCHOR: state */
/* One lock for the whole process, as CPython has one GIL per interpreter. */
static pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;

/* Does the calling thread hold the big lock? Each thread has its own copy
 * (__thread), so blocking_io() knows whether it has a lock to let go of. */
static __thread bool holds_big_lock;
/* ANCHOR_END: state */

static void take_big_lock(void)
{
	must(pthread_mutex_lock(&big_lock), "pthread_mutex_lock");
	holds_big_lock = true;
}

static void drop_big_lock(void)
{
	holds_big_lock = false;
	must(pthread_mutex_unlock(&big_lock), "pthread_mutex_unlock");
}

struct runner {
	const struct task *task;
	bool big;      /* run the task under the big lock? */
};

/* ANCHOR: run_task */
static void *run_task(void *p)
{
	struct runner *r = p;

	/* The thread enters "the interpreter": from here to the end of the
	 * task, no other thread runs task code, except while this one is
	 * inside blocking_io(). */
	if (r->big)
		take_big_lock();
	r->task->fn(r->task->arg);
	if (r->big)
		drop_big_lock();
	return NULL;
}
/* ANCHOR_END: run_task */

/* Start every thread, then join every thread that started (lesson 02). */
static int run_all(const struct task *tasks, size_t n, bool big)
{
	pthread_t *tid = malloc((n ? n : 1) * sizeof(*tid));
	struct runner *r = malloc((n ? n : 1) * sizeof(*r));
	size_t started = 0;
	int err = 0;

	if (!tid || !r) {
		err = ENOMEM;
		goto out;
	}
	for (; started < n; started++) {
		r[started] = (struct runner){ &tasks[started], big };
		err = pthread_create(&tid[started], NULL, run_task, &r[started]);
		if (err != 0)
			break;
	}
	for (size_t i = 0; i < started; i++) {
		int rc = pthread_join(tid[i], NULL);

		if (rc != 0 && err == 0)
			err = rc;
	}
out:
	free(r);
	free(tid);
	return err;
}

int run_with_big_lock(const struct task *tasks, size_t n)
{
	return run_all(tasks, n, true);
}

int run_fine_grained(const struct task *tasks, size_t n)
{
	return run_all(tasks, n, false);
}

/* ANCHOR: blocking_io */
void blocking_io(void (*io)(void *arg), void *arg)
{
	bool had = holds_big_lock;

	/* Waiting needs no lock: let another thread run task code meanwhile.
	 * This is why threads under a GIL still overlap their I/O. */
	if (had)
		drop_big_lock();
	io(arg);
	/* Back to task code: back under the lock, waiting our turn. */
	if (had)
		take_big_lock();
}
/* ANCHOR_END: blocking_io */
