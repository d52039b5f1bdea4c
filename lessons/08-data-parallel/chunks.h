/*
 * chunks.h - lesson 08: a parallel map/reduce over an array, split into
 * chunks: static chunks (one per thread), then dynamic chunks (threads
 * take the next chunk from a shared counter), with per-thread partial
 * results that never share a cache line.
 *
 * You write chunks.c. The tests hand your functions a job of their own:
 * its map() does the per-element work and records which thread did what;
 * its fold() adds a value into an accumulator and notes the accumulator's
 * address. So they can check the result, which thread ran which element,
 * how many threads were working at once, whether two ran at the same
 * instant, how evenly skewed work was spread, and where each thread kept
 * its running total.
 */
#ifndef CHUNKS_H
#define CHUNKS_H

#include <stddef.h>

/* ANCHOR: interface */
/* The work on one element: in[i] -> a value. */
typedef long (*map_fn)(long x, void *arg);
/* Add y into the accumulator *acc (an associative, commutative operation). */
typedef void (*fold_fn)(long *acc, long y, void *arg);

struct job {
	const long *in;   /* the array */
	size_t n;         /* its length; may be 0, or smaller than threads */
	map_fn map;       /* the per-element work */
	fold_fn fold;     /* how two values combine, e.g. *acc += y */
	long identity;    /* the accumulator's start value, e.g. 0 for + */
	void *arg;        /* given to map and fold */
};

/*
 * The reduce of map over the array, as the sequential loop computes it:
 *
 *     long acc = job->identity;
 *     for (size_t i = 0; i < job->n; i++)
 *             job->fold(&acc, job->map(job->in[i], job->arg), job->arg);
 *     *result = acc;
 *
 * but on `threads` threads running at once (the caller may be one of
 * them), each folding its share into an accumulator of its own (on its own
 * cache line), the partial results folded together at the end.
 * map() is called exactly once per element.
 *
 * dp_static: thread t of T takes ONE contiguous chunk, and the chunk
 * sizes differ by at most one element: every thread that gets elements
 * gets n/T or n/T + 1 of them, exactly n%T threads the longer kind, so
 * min(n, T) threads work. Which threads get the longer chunks, and in
 * which order the chunks lie, is yours to choose (n = 10, T = 3: 4, 3, 3
 * or 3, 3, 4 or 3, 4, 3). Any T >= 1, also more threads than elements
 * (n = 3, T = 5: three chunks of 1, two threads with none).
 *
 * dp_dynamic: the array is cut into chunks of `chunk` elements (the last
 * may be shorter: [0, chunk), [chunk, 2*chunk), ...); each thread takes
 * the next unclaimed chunk from a shared counter until none is left, so a
 * thread that got cheap elements comes back for more. Any chunk from 1
 * to SIZE_MAX: a chunk of n or more is the whole array in one chunk.
 *
 * Both return 0, EINVAL when threads < 1 (or chunk < 1), or the error
 * number of a pthread call that failed.
 */
int dp_static(const struct job *job, int threads, long *result);
int dp_dynamic(const struct job *job, int threads, size_t chunk, long *result);
/* ANCHOR_END: interface */

#endif
