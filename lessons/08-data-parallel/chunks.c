/*
 * chunks.c - lesson 08: YOUR CODE. A map/reduce over an array on several
 * threads: static chunks, then dynamic chunks; per-thread accumulators.
 *
 * Read the chapter (README.md beside this file) first, then replace each
 * TODO. `make check LESSON=8` tells you what your code does, measured.
 */
#include "chunks.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/*
 * TODO 1: decide what one thread needs to know (the job, its index, the
 *         thread count, ...) and where it keeps its running total. Two
 *         threads' totals must never sit on the same 64-byte cache line:
 *         either a local variable of the thread, or an array of structs
 *         aligned to 64 bytes (_Alignas(64)), one per thread.
 */

int dp_static(const struct job *job, int threads, long *result)
{
	/*
	 * TODO 2: start `threads` threads; thread t of T folds ONE contiguous
	 *         chunk of n/T or n/T + 1 elements, n%T chunks of the longer
	 *         kind (the whole contract is in chunks.h). The usual choice:
	 *         n/T elements, plus one for the first n%T threads
	 *         (n = 10, T = 3: [0,4) [4,7) [7,10)). Each calls
	 *         job->fold(&its_total, job->map(job->in[i], job->arg), job->arg)
	 *         for its elements, its total starting at job->identity.
	 * TODO 3: join every thread you started (even after an error), then
	 *         fold the partial totals together, starting from
	 *         job->identity, into *result. Return EINVAL when threads < 1.
	 */
	(void)job;
	(void)threads;
	(void)result;
	return ENOSYS;
}

int dp_dynamic(const struct job *job, int threads, size_t chunk, long *result)
{
	/*
	 * TODO 4: the same threads and partial totals, but no fixed share:
	 *         each thread claims the next `chunk` elements from a shared
	 *         counter with ONE atomic operation (atomic_fetch_add), folds
	 *         them, and comes back until the counter has passed n. The
	 *         last chunk may be shorter. Return EINVAL when chunk < 1.
	 *         Any chunk up to SIZE_MAX must work: start + chunk can
	 *         overflow, and so can the counter after a few claims of a
	 *         huge chunk (a chunk larger than n is one chunk of n).
	 */
	(void)job;
	(void)threads;
	(void)chunk;
	(void)result;
	return ENOSYS;
}
