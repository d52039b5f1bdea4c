/*
 * pool.c - lesson 07: the reference thread pool.
 *
 * N workers, started once, sleep on a condition variable until the queue
 * (a singly linked FIFO under one mutex) holds work. Each job carries its
 * own mutex and condition variable, so a caller waiting on one result never
 * wakes for another's. Shutdown raises a flag under the lock, wakes every
 * worker, and joins them: a worker leaves only when the flag is up AND the
 * queue is empty, which is what makes shutdown drain. Compare with lesson
 * 02's threads.c, which paid one pthread_create() per task.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ANCHOR: structs */
struct pool_job {
	pool_fn fn;
	void *arg;
	struct pool_job *next;  /* the queue's link, under pool.mu */
	bool waited;            /* somebody holds a handle (set before queueing) */
	/* done and result are written by the worker, read by the waiter,
	 * both only under `mu`. */
	pthread_mutex_t mu;
	pthread_cond_t finished;
	bool done;
	long result;
};

struct pool {
	pthread_mutex_t mu;        /* guards head, tail and stopping */
	pthread_cond_t work;       /* signalled: a job was queued, or stopping */
	struct pool_job *head, *tail;
	bool stopping;
	int nthreads;              /* workers started (joined at shutdown) */
	pthread_t threads[];
};
/* ANCHOR_END: structs */

/* These calls fail only on an object that was never set up or is already
 * destroyed: a bug, not a situation to recover from. Name it and stop. */
static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "pool: %s: %s\n", what, strerror(rc));
		abort();
	}
}

static void job_free(struct pool_job *j)
{
	must(pthread_cond_destroy(&j->finished), "pthread_cond_destroy");
	must(pthread_mutex_destroy(&j->mu), "pthread_mutex_destroy");
	free(j);
}

/* ANCHOR: take */
/*
 * The next job, or NULL when the pool is stopping and the queue is empty.
 * Sleeps (no CPU) while there is nothing to do.
 */
static struct pool_job *take_job(struct pool *p)
{
	struct pool_job *j;

	must(pthread_mutex_lock(&p->mu), "pthread_mutex_lock");
	/* `while`, not `if`: another worker may have taken the job between
	 * the signal and our wake-up, and wake-ups can be spurious. */
	while (!p->head && !p->stopping)
		must(pthread_cond_wait(&p->work, &p->mu), "pthread_cond_wait");
	j = p->head;   /* stopping with work left: take it all the same */
	if (j) {
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
	}
	must(pthread_mutex_unlock(&p->mu), "pthread_mutex_unlock");
	return j;
}
/* ANCHOR_END: take */

/* ANCHOR: finish */
/* Hand the result to the waiter, or free a job nobody waits for. */
static void finish_job(struct pool_job *j, long result)
{
	if (!j->waited) {
		job_free(j);
		return;
	}
	/* Under the job's lock: the waiter checks `done` under it too, so it
	 * either sees done (and the result written before it) or is already
	 * asleep on `finished` and gets the signal. */
	must(pthread_mutex_lock(&j->mu), "pthread_mutex_lock");
	j->result = result;
	j->done = true;
	must(pthread_cond_signal(&j->finished), "pthread_cond_signal");
	must(pthread_mutex_unlock(&j->mu), "pthread_mutex_unlock");
}
/* ANCHOR_END: finish */

/* ANCHOR: worker */
static void *worker(void *arg)
{
	struct pool *p = arg;
	struct pool_job *j;

	/* Run jobs outside the lock, so N of them can run at once. */
	while ((j = take_job(p)) != NULL)
		finish_job(j, j->fn(j->arg));
	return NULL;
}
/* ANCHOR_END: worker */

/* Stop the workers started so far and free the pool. */
static int stop_and_join(struct pool *p)
{
	int first = 0, rc;

	must(pthread_mutex_lock(&p->mu), "pthread_mutex_lock");
	p->stopping = true;
	/* Wake every sleeping worker: each will drain the queue, then see
	 * `stopping` with nothing left and return. */
	must(pthread_cond_broadcast(&p->work), "pthread_cond_broadcast");
	must(pthread_mutex_unlock(&p->mu), "pthread_mutex_unlock");
	for (int i = 0; i < p->nthreads; i++) {
		rc = pthread_join(p->threads[i], NULL);
		if (rc != 0 && first == 0)
			first = rc;
	}
	must(pthread_cond_destroy(&p->work), "pthread_cond_destroy");
	must(pthread_mutex_destroy(&p->mu), "pthread_mutex_destroy");
	free(p);
	return first;
}

/* ANCHOR: create */
int pool_create(struct pool **out, int nthreads)
{
	struct pool *p;
	int rc;

	if (nthreads < 1)
		return EINVAL;
	p = calloc(1, sizeof(*p) + (size_t)nthreads * sizeof(pthread_t));
	if (!p)
		return ENOMEM;
	rc = pthread_mutex_init(&p->mu, NULL);
	if (rc != 0)
		goto err_free;
	rc = pthread_cond_init(&p->work, NULL);
	if (rc != 0)
		goto err_mutex;
	for (int i = 0; i < nthreads; i++) {
		rc = pthread_create(&p->threads[i], NULL, worker, p);
		if (rc != 0) {
			stop_and_join(p);   /* the ones already started */
			return rc;
		}
		p->nthreads++;
	}
	*out = p;
	return 0;
err_mutex:
	must(pthread_mutex_destroy(&p->mu), "pthread_mutex_destroy");
err_free:
	free(p);
	return rc;
}
/* ANCHOR_END: create */

/* ANCHOR: submit */
int pool_submit(struct pool *p, pool_fn fn, void *arg, struct pool_job **job)
{
	struct pool_job *j = calloc(1, sizeof(*j));
	int rc;

	if (!j)
		return ENOMEM;
	j->fn = fn;
	j->arg = arg;
	j->waited = job != NULL;
	rc = pthread_mutex_init(&j->mu, NULL);
	if (rc == 0) {
		rc = pthread_cond_init(&j->finished, NULL);
		if (rc != 0)
			must(pthread_mutex_destroy(&j->mu), "pthread_mutex_destroy");
	}
	if (rc != 0) {
		free(j);
		return rc;
	}
	/* Hand the handle out before queueing: once the job is in the
	 * queue, a worker may run and (if nobody waits) free it. */
	if (job)
		*job = j;
	must(pthread_mutex_lock(&p->mu), "pthread_mutex_lock");
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	/* One job, one worker to wake; signalled under the lock so no
	 * worker can check the queue and fall asleep in between. */
	must(pthread_cond_signal(&p->work), "pthread_cond_signal");
	must(pthread_mutex_unlock(&p->mu), "pthread_mutex_unlock");
	return 0;
}
/* ANCHOR_END: submit */

/* ANCHOR: wait */
int pool_wait(struct pool_job *job, long *result)
{
	must(pthread_mutex_lock(&job->mu), "pthread_mutex_lock");
	while (!job->done)
		must(pthread_cond_wait(&job->finished, &job->mu), "pthread_cond_wait");
	*result = job->result;
	must(pthread_mutex_unlock(&job->mu), "pthread_mutex_unlock");
	/* The worker unlocked job->mu after its last touch: ours now. */
	job_free(job);
	return 0;
}
/* ANCHOR_END: wait */

/* ANCHOR: shutdown */
int pool_shutdown(struct pool *p)
{
	return stop_and_join(p);
}
/* ANCHOR_END: shutdown */
