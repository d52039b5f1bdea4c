/*
 * pool.c - lesson 10, GIVEN: the fixed pool of pool.h. One mutex, one
 * condition variable, a FIFO of jobs; workers sleep on the condition
 * variable while the queue is empty (no wake-up while idle). Lesson 07
 * builds one like it step by step.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct job {
	pool_fn fn;
	void *arg;
	struct job *next;
};

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* a job was queued, or the shutdown began */
	struct job *head, *tail;
	bool shutting_down;
	int nthreads;
	pthread_t *threads;
};

static void *worker(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		struct job *j;

		if (pthread_mutex_lock(&p->mu) != 0)
			abort();
		while (!p->head && !p->shutting_down)
			if (pthread_cond_wait(&p->cv, &p->mu) != 0)
				abort();
		j = p->head;
		if (j) {
			p->head = j->next;
			if (!p->head)
				p->tail = NULL;
		}
		if (pthread_mutex_unlock(&p->mu) != 0)
			abort();
		if (!j)
			return NULL; /* shutting down and nothing left to run */
		j->fn(j->arg);
		free(j);
	}
}

int pool_create(struct pool **out, int nthreads)
{
	struct pool *p;
	int rc;

	if (nthreads < 1)
		return EINVAL;
	if (!(p = calloc(1, sizeof(*p))) || !(p->threads = calloc((size_t)nthreads, sizeof(pthread_t)))) {
		free(p);
		return ENOMEM;
	}
	if ((rc = pthread_mutex_init(&p->mu, NULL)) != 0)
		goto err_free;
	if ((rc = pthread_cond_init(&p->cv, NULL)) != 0)
		goto err_mutex;
	for (; p->nthreads < nthreads; p->nthreads++)
		if ((rc = pthread_create(&p->threads[p->nthreads], NULL, worker, p)) != 0)
			break;
	if (rc != 0) {
		pool_shutdown(p); /* joins the workers that did start */
		return rc;
	}
	*out = p;
	return 0;
err_mutex:
	pthread_mutex_destroy(&p->mu);
err_free:
	free(p->threads);
	free(p);
	return rc;
}

int pool_submit(struct pool *p, pool_fn fn, void *arg)
{
	struct job *j = malloc(sizeof(*j));
	int rc;

	if (!j)
		return ENOMEM;
	*j = (struct job){ .fn = fn, .arg = arg };
	if ((rc = pthread_mutex_lock(&p->mu)) != 0) {
		free(j);
		return rc;
	}
	if (p->shutting_down) {
		pthread_mutex_unlock(&p->mu);
		free(j);
		return ESHUTDOWN;
	}
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	/* One job, one sleeper to wake. */
	rc = pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int pool_shutdown(struct pool *p)
{
	int rc = 0, r;

	if ((r = pthread_mutex_lock(&p->mu)) != 0)
		return r;
	p->shutting_down = true;
	/* Every worker must see it: those asleep, and those that will finish
	 * the jobs still queued and then find the queue empty. */
	rc = pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nthreads; i++)
		if ((r = pthread_join(p->threads[i], NULL)) != 0 && rc == 0)
			rc = r;
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->threads);
	free(p);
	return rc;
}
