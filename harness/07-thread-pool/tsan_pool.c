/*
 * tsan_pool.c - lesson 07's ThreadSanitizer driver: four threads submit to
 * one pool at the same time (harness/mk/lesson.mk builds it, with the code
 * under test, as $ATONCE_OUT/tsan_pool; TSan cannot run inside a Criterion
 * test binary, so test_pool.c::race_free spawns this instead).
 *
 *   tsan_pool submit   4 submitters x 250 tasks into a pool of 3; half are
 *                      waited on, half submitted with a NULL handle
 *
 * Each submitter's first task is held until its submitter has called
 * pool_wait() on it (and then 200 ms, or until that wait returned): a
 * pool_wait() that does not wait reads a result not yet there on every
 * run, not only when the scheduler happens to be slow.
 *
 * Exit 0 when every task ran exactly once with the right result; 1 when
 * not (a message says what); 66 when ThreadSanitizer reports (the test sets
 * TSAN_OPTIONS=exitcode=66). Compare with harness/03-locks/tsan_locks.c.
 */
#include "pool.h"

#include "at_time.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SUBMITTERS 4
#define PER_THREAD 250
#define WORKERS    3
#define HOLD_MS    200

static atomic_int ran[SUBMITTERS * PER_THREAD];
static struct pool *pool;
static atomic_int failures;
/* Per submitter: it is about to wait on its first task / that wait returned. */
static atomic_bool waiting_first[SUBMITTERS], returned_first[SUBMITTERS];

/* Wait (at most ms) until *flag is set. */
static void hold_until(atomic_bool *flag, int ms)
{
	int64_t end = at_now_ns() + (int64_t)ms * AT_NS_PER_MS;

	while (!atomic_load(flag) && at_now_ns() < end)
		at_sleep_ms(1);
}

static long count_task(void *arg)
{
	long i = (long)(intptr_t)arg;

	if (i % PER_THREAD == 0) {
		int s = (int)(i / PER_THREAD);

		hold_until(&waiting_first[s], 5000);
		hold_until(&returned_first[s], HOLD_MS);
	}
	atomic_fetch_add(&ran[i], 1);
	return i * 3;
}

static void fail(const char *what, int rc)
{
	fprintf(stderr, "tsan_pool: %s: %s\n", what, rc ? strerror(rc) : "failed");
	atomic_fetch_add(&failures, 1);
}

static void *submitter(void *arg)
{
	int base = (int)(intptr_t)arg * PER_THREAD;
	struct pool_job *h[PER_THREAD];
	int rc;

	for (int k = 0; k < PER_THREAD; k++) {
		long i = base + k;

		h[k] = NULL;
		rc = pool_submit(pool, count_task, (void *)(intptr_t)i, k % 2 ? NULL : &h[k]);
		if (rc != 0) {
			fail("pool_submit", rc);
			return NULL;
		}
	}
	for (int k = 0; k < PER_THREAD; k += 2) {
		long got = -1;

		/* The flags say so to the held first task (count_task). */
		if (k == 0)
			atomic_store(&waiting_first[base / PER_THREAD], true);
		rc = pool_wait(h[k], &got);
		if (k == 0)
			atomic_store(&returned_first[base / PER_THREAD], true);
		if (rc != 0)
			fail("pool_wait", rc);
		else if (got != (long)(base + k) * 3)
			fail("pool_wait gave back a wrong result", 0);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[SUBMITTERS];
	int rc, wrong = 0;

	if (argc != 2 || strcmp(argv[1], "submit") != 0) {
		fprintf(stderr, "usage: tsan_pool submit\n");
		return 2;
	}
	rc = pool_create(&pool, WORKERS);
	if (rc != 0) {
		fail("pool_create", rc);
		return 1;
	}
	for (int s = 0; s < SUBMITTERS; s++) {
		rc = pthread_create(&t[s], NULL, submitter, (void *)(intptr_t)s);
		if (rc != 0) {
			fail("pthread_create", rc);
			return 1;
		}
	}
	for (int s = 0; s < SUBMITTERS; s++) {
		rc = pthread_join(t[s], NULL);
		if (rc != 0)
			fail("pthread_join", rc);
	}
	rc = pool_shutdown(pool);
	if (rc != 0)
		fail("pool_shutdown", rc);
	for (int i = 0; i < SUBMITTERS * PER_THREAD; i++)
		if (atomic_load(&ran[i]) != 1)
			wrong++;
	if (wrong)
		fprintf(stderr, "tsan_pool: %d of %d tasks did not run exactly once\n", wrong, SUBMITTERS * PER_THREAD);
	return wrong || atomic_load(&failures) ? 1 : 0;
}
