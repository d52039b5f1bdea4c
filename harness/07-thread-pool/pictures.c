/*
 * pictures.c - lesson 07's timeline of a real run, drawn for the chapter.
 *
 *   pictures OUTDIR    writes OUTDIR/run-pool.dot
 *
 * Linked with the reference solution (`make diagrams`), it submits 9 tasks
 * of 20 ms (each sleeps, so the picture does not depend on the number of
 * CPUs) to a pool of 3, and draws one row per task, named after the worker
 * that ran it. Three at a time, in submission order, on the same three
 * threads: compare with lesson 02's run-parallel picture, where every task
 * had a thread of its own.
 */
#include "at_count.h"
#include "at_time.h"
#include "at_trace.h"
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define WORKERS 3
#define TASKS   9
#define TASK_MS 20
#define TRIES   10

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pid_t workers[WORKERS];   /* the tids seen, in order of first task */
static int worker_of[TASKS];

/* Worker number of the calling thread (first come, first numbered). */
static int worker_index(void)
{
	pid_t me = at_gettid();
	int k = 0;

	if (pthread_mutex_lock(&mu) != 0)
		return 0;
	while (k < WORKERS && workers[k] != 0 && workers[k] != me)
		k++;
	if (k < WORKERS && workers[k] == 0)
		workers[k] = me;
	pthread_mutex_unlock(&mu);
	return k < WORKERS ? k : WORKERS - 1;
}

static long nap_task(void *arg)
{
	int i = (int)(intptr_t)arg;
	int slice = at_trace_begin(at_trace_global(), "task", i);

	worker_of[i] = worker_index();
	at_sleep_ms(TASK_MS);
	at_trace_end(at_trace_global(), slice);
	return 0;
}

/* Row names: "task i · Wk", k the worker that ran it. */
static void label(struct at_trace *tr)
{
	int n = atomic_load(&tr->n);

	for (int e = 0; e < n && e < AT_TRACE_MAX; e++)
		snprintf(tr->ev[e].name, sizeof(tr->ev[e].name), "task %d · W%d",
			 tr->ev[e].lane, worker_of[tr->ev[e].lane] + 1);
}

static double span_ms(struct at_trace *tr)
{
	int n = atomic_load(&tr->n);
	int64_t t0 = INT64_MAX, t1 = 0;

	for (int i = 0; i < n && i < AT_TRACE_MAX; i++) {
		if (tr->ev[i].t0_ns < t0)
			t0 = tr->ev[i].t0_ns;
		if (tr->ev[i].t1_ns > t1)
			t1 = tr->ev[i].t1_ns;
	}
	return n > 0 && t1 > t0 ? (double)(t1 - t0) / 1e6 : 0;
}

/* One run: 9 tasks through a pool of 3. Returns an error number. */
static int run_once(void)
{
	struct pool *p;
	struct pool_job *h[TASKS];
	int rc;

	memset(workers, 0, sizeof(workers));
	at_trace_reset(at_trace_global());
	rc = pool_create(&p, WORKERS);
	if (rc != 0)
		return rc;
	for (int i = 0; i < TASKS && rc == 0; i++)
		rc = pool_submit(p, nap_task, (void *)(intptr_t)i, &h[i]);
	for (int i = 0; i < TASKS && rc == 0; i++) {
		long ignored;

		rc = pool_wait(h[i], &ignored);
	}
	if (pool_shutdown(p) != 0 && rc == 0)
		rc = EIO;
	return rc;
}

int main(int argc, char **argv)
{
	char path[4096], title[256];
	double ms = 0;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	/* Try again while the neighbours stretched the run well beyond its
	 * ideal (3 waves of 20 ms), so the picture shows the pool's shape. */
	for (int try = 0; try < TRIES; try++) {
		if (try > 0)
			at_sleep_ms(200);
		rc = run_once();
		ms = span_ms(at_trace_global());
		if (rc != 0 || ms < 1.15 * (TASKS / WORKERS) * TASK_MS)
			break;
	}
	if (rc != 0) {
		fprintf(stderr, "pictures: %s\n", strerror(rc));
		return 1;
	}
	label(at_trace_global());
	snprintf(title, sizeof(title), "a pool of %d workers (W1..W%d): %d tasks of %d ms, submitted at once", WORKERS, WORKERS, TASKS, TASK_MS);
	snprintf(path, sizeof(path), "%s/run-pool.dot", argv[1]);
	if (at_trace_write_dot(at_trace_global(), path, title) != 0) {
		fprintf(stderr, "pictures: cannot write %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("  %-16s %d tasks on %d workers, %.1f ms of wall time\n", "run-pool", TASKS, WORKERS, ms);
	return 0;
}
