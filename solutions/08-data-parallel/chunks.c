/*
 * chunks.c - lesson 08, the reference: a map/reduce over an array on T
 * threads. dp_static gives each thread one contiguous chunk; dp_dynamic
 * lets the threads take chunks from a shared counter, so that skewed work
 * evens out. Each thread folds into an accumulator on a cache line of its
 * own; the caller folds the partials together after the joins.
 *
 * Compare with harness/08-data-parallel/mutants/: one_thread.patch (one
 * thread does all the work), unpadded_shared.patch (the accumulators side
 * by side: false sharing), static_on_skew.patch (dynamic that is really
 * static).
 */
#include "chunks.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* ANCHOR: worker */
#define CACHE_LINE 64

/* What all threads of one run share: read-only, except `next`. */
struct run {
	const struct job *job;
	int threads;
	size_t chunk;          /* dp_dynamic: elements per claim */
	atomic_size_t next;    /* dp_dynamic: first element not yet claimed */
};

/*
 * One per thread. The alignment puts every worker's `acc` at the start of a
 * cache line of its own (sizeof is rounded up to 64 bytes too), so that
 * two threads updating their accumulators never write the same line.
 */
struct worker {
	_Alignas(CACHE_LINE) long acc;
	int index;            /* 0 .. threads-1 */
	struct run *run;
};
/* ANCHOR_END: worker */

/* ANCHOR: fold_range */
/* The sequential loop, on elements [begin, end), into this thread's acc. */
static void fold_range(struct worker *w, size_t begin, size_t end)
{
	const struct job *job = w->run->job;

	for (size_t i = begin; i < end; i++)
		job->fold(&w->acc, job->map(job->in[i], job->arg), job->arg);
}
/* ANCHOR_END: fold_range */

/* ANCHOR: static_chunk */
/* Thread t of T: n/T elements, one more for the first n%T threads. */
static void *static_worker(void *p)
{
	struct worker *w = p;
	size_t n = w->run->job->n, t = (size_t)w->index, T = (size_t)w->run->threads;
	size_t base = n / T, extra = n % T;
	size_t begin = t * base + (t < extra ? t : extra);
	size_t len = base + (t < extra ? 1 : 0);

	fold_range(w, begin, begin + len);
	return NULL;
}
/* ANCHOR_END: static_chunk */

/* ANCHOR: dynamic_chunk */
/* Claim chunks until the counter runs past the end. */
static void *dynamic_worker(void *p)
{
	struct worker *w = p;
	struct run *r = w->run;
	size_t n = r->job->n;

	for (;;) {
		/* One atomic add hands out a range nobody else gets. Relaxed
		 * is enough: the counter orders nothing else (the array is
		 * read-only, and the partials reach the caller through the
		 * join, which makes every write of this thread visible). */
		size_t begin = atomic_fetch_add_explicit(&r->next, r->chunk,
							 memory_order_relaxed);

		if (begin >= n)
			break;
		fold_range(w, begin, n - begin < r->chunk ? n : begin + r->chunk);
	}
	return NULL;
}
/* ANCHOR_END: dynamic_chunk */

/* ANCHOR: fork_join */
/* Start `threads` workers on body, join them all, fold the partials. */
static int fork_join(struct run *r, void *(*body)(void *), long *result)
{
	int T = r->threads, started = 0, err = 0;
	struct worker *w = aligned_alloc(CACHE_LINE, (size_t)T * sizeof(*w));
	pthread_t *tid = malloc((size_t)T * sizeof(*tid));
	long total = r->job->identity;

	if (w == NULL || tid == NULL) {
		err = ENOMEM;
		goto out;
	}
	for (; started < T; started++) {
		w[started] = (struct worker){ .acc = r->job->identity, .index = started, .run = r };
		err = pthread_create(&tid[started], NULL, body, &w[started]);
		if (err != 0)
			break;
	}
	/* Join even after a failed create: the started threads use w. */
	for (int t = 0; t < started; t++) {
		int rc = pthread_join(tid[t], NULL);

		if (rc != 0 && err == 0)
			err = rc;
	}
	/* After the joins every partial is final and visible here. */
	for (int t = 0; t < T && err == 0; t++)
		r->job->fold(&total, w[t].acc, r->job->arg);
	if (err == 0)
		*result = total;
out:
	free(tid);
	free(w);
	return err;
}
/* ANCHOR_END: fork_join */

int dp_static(const struct job *job, int threads, long *result)
{
	struct run r = { .job = job, .threads = threads };

	if (threads < 1)
		return EINVAL;
	return fork_join(&r, static_worker, result);
}

int dp_dynamic(const struct job *job, int threads, size_t chunk, long *result)
{
	struct run r = { .job = job, .threads = threads, .chunk = chunk };

	if (threads < 1 || chunk < 1)
		return EINVAL;
	/* A chunk larger than the array is one chunk of the whole array.
	 * Without this, chunk = SIZE_MAX/2 + 1 would wrap the counter back
	 * to 0 after two claims, and the array would be mapped again. */
	if (chunk > job->n)
		r.chunk = job->n ? job->n : 1;
	atomic_init(&r.next, 0);
	return fork_join(&r, dynamic_worker, result);
}
