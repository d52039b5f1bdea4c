/*
 * Mutant uses_pthreads: every task runs on a pthread of its own, and
 * green_yield() is sched_yield(). All tasks are in progress at once and
 * none is lost, but the kernel does the scheduling, on as many OS threads
 * as there are tasks: that is lesson 02, not green threads.
 * Caught by: green::one_os_thread.
 */
#include "green.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

struct green_task {
	green_fn fn;
	void *arg;
	pthread_t tid;
	struct green_task *next;
};

/* Tasks spawned and not yet started; a task may spawn from its thread. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct green_task *pending;

static void *thread_main(void *p)
{
	struct green_task *t = p;

	t->fn(t->arg);
	return NULL;
}

int green_spawn(green_fn fn, void *arg)
{
	struct green_task *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return ENOMEM;
	t->fn = fn;
	t->arg = arg;
	/* Tasks spawn from their own threads: the list needs the lock. */
	if ((err = pthread_mutex_lock(&mu)) != 0) {
		free(t);
		return err;
	}
	t->next = pending;
	pending = t;
	return pthread_mutex_unlock(&mu);
}

void green_yield(void)
{
	sched_yield();
}

/* Take every pending task, start a thread for each, join them all. */
static int start_and_join(struct green_task *batch)
{
	int err = 0;

	for (struct green_task *t = batch; t; t = t->next) {
		int rc = pthread_create(&t->tid, NULL, thread_main, t);

		if (rc != 0)
			return rc;
	}
	while (batch) {
		struct green_task *t = batch;
		int rc = pthread_join(t->tid, NULL);

		if (rc != 0 && err == 0)
			err = rc;
		batch = t->next;
		free(t);
	}
	return err;
}

int green_run(void)
{
	for (;;) {
		struct green_task *batch, *fifo = NULL;
		int err;

		if ((err = pthread_mutex_lock(&mu)) != 0)
			return err;
		batch = pending;
		pending = NULL;
		if ((err = pthread_mutex_unlock(&mu)) != 0)
			return err;
		if (!batch)
			return 0;
		/* Oldest first, as spawned. */
		while (batch) {
			struct green_task *t = batch;

			batch = t->next;
			t->next = fifo;
			fifo = t;
		}
		if ((err = start_and_join(fifo)) != 0)
			return err;
	}
}
