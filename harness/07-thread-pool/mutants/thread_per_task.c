/*
 * Mutant thread_per_task: no workers at all; pool_submit() starts a new
 * thread for every task (lesson 02's way), and pool_shutdown() joins them
 * all. Every result is right, but nothing bounds the threads: 40 tasks,
 * 40 threads, all running at once.
 * Caught by: pool::exactly_n_workers, pool::never_more_than_n.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct pool_job {
	pool_fn fn;
	void *arg;
	bool waited;
	pthread_mutex_t mu;
	pthread_cond_t finished;
	bool done;
	long result;
};

struct pool {
	pthread_mutex_t mu;      /* guards threads and n */
	pthread_t *threads;
	size_t n, cap;
};

static void job_free(struct pool_job *j)
{
	pthread_cond_destroy(&j->finished);
	pthread_mutex_destroy(&j->mu);
	free(j);
}

static void *run_one(void *arg)
{
	struct pool_job *j = arg;
	long r = j->fn(j->arg);

	if (!j->waited) {
		job_free(j);
		return NULL;
	}
	pthread_mutex_lock(&j->mu);
	j->result = r;
	j->done = true;
	pthread_cond_signal(&j->finished);
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

int pool_create(struct pool **out, int nthreads)
{
	struct pool *p;

	if (nthreads < 1)
		return EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	*out = p;
	return 0;
}

int pool_submit(struct pool *p, pool_fn fn, void *arg, struct pool_job **job)
{
	struct pool_job *j = calloc(1, sizeof(*j));
	pthread_t t;
	int rc;

	if (!j)
		return ENOMEM;
	j->fn = fn;
	j->arg = arg;
	j->waited = job != NULL;
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->finished, NULL);
	if (job)
		*job = j;
	pthread_mutex_lock(&p->mu);
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 16;
		pthread_t *more = realloc(p->threads, cap * sizeof(*more));

		if (!more) {
			pthread_mutex_unlock(&p->mu);
			return ENOMEM;
		}
		p->threads = more;
		p->cap = cap;
	}
	rc = pthread_create(&t, NULL, run_one, j);   /* the mistake */
	if (rc == 0)
		p->threads[p->n++] = t;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int pool_wait(struct pool_job *job, long *result)
{
	pthread_mutex_lock(&job->mu);
	while (!job->done)
		pthread_cond_wait(&job->finished, &job->mu);
	*result = job->result;
	pthread_mutex_unlock(&job->mu);
	job_free(job);
	return 0;
}

int pool_shutdown(struct pool *p)
{
	int first = 0;

	for (size_t i = 0; i < p->n; i++) {
		int rc = pthread_join(p->threads[i], NULL);

		if (rc != 0 && first == 0)
			first = rc;
	}
	pthread_mutex_destroy(&p->mu);
	free(p->threads);
	free(p);
	return first;
}
