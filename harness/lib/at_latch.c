/*
 * at_latch.c - the overlap latch (see at_latch.h for what it proves).
 *
 * Every pthread call's return code is checked by value; a failure here is a
 * harness bug, so it aborts loudly rather than report a wrong figure.
 */
#include "at_latch.h"
#include "at_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "atonce harness: %s: %s\n", what, strerror(rc));
		abort();
	}
}

int at_latch_init(struct at_latch *l, int target, int timeout_ms, bool process_shared)
{
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;
	int rc;

	memset(l, 0, sizeof(*l));
	l->target = target;
	l->timeout_ns = (int64_t)timeout_ms * AT_NS_PER_MS;

	if ((rc = pthread_mutexattr_init(&ma)) != 0)
		return rc;
	if ((rc = pthread_condattr_init(&ca)) != 0)
		goto err_ma;
	/* Deadlines are on the monotonic clock: a wall-clock jump must not
	 * make a waiter give up early or wait forever. */
	if ((rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) != 0)
		goto err_ca;
	if (process_shared) {
		if ((rc = pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED)) != 0)
			goto err_ca;
		if ((rc = pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED)) != 0)
			goto err_ca;
	}
	if ((rc = pthread_mutex_init(&l->mu, &ma)) != 0)
		goto err_ca;
	if ((rc = pthread_cond_init(&l->cv, &ca)) != 0)
		pthread_mutex_destroy(&l->mu);
err_ca:
	pthread_condattr_destroy(&ca);
err_ma:
	pthread_mutexattr_destroy(&ma);
	return rc;
}

void at_latch_destroy(struct at_latch *l)
{
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
}

struct at_latch *at_latch_create_shared(int target, int timeout_ms)
{
	struct at_latch *l = mmap(NULL, sizeof(*l), PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (l == MAP_FAILED)
		return NULL;
	if (at_latch_init(l, target, timeout_ms, true) != 0) {
		munmap(l, sizeof(*l));
		return NULL;
	}
	return l;
}

void at_latch_free_shared(struct at_latch *l)
{
	at_latch_destroy(l);
	munmap(l, sizeof(*l));
}

/* Called with l->mu held. */
static void arrive_locked(struct at_latch *l)
{
	l->arrived++;
	l->in_flight++;
	if (l->in_flight > l->max_in_flight)
		l->max_in_flight = l->in_flight;
}

/* Reached: at some moment `target` tasks were in flight together. Counting
 * arrivals instead would let tasks that ran one by one add up to it. */
static bool reached_locked(const struct at_latch *l)
{
	return l->max_in_flight >= l->target;
}

bool at_latch_task(struct at_latch *l)
{
	int64_t deadline = at_now_ns() + l->timeout_ns;
	struct timespec ts = at_ns_to_timespec(deadline);
	bool reached;

	must(pthread_mutex_lock(&l->mu), "latch lock");
	arrive_locked(l);
	/* Wake the waiters: the target may have been reached just now. */
	must(pthread_cond_broadcast(&l->cv), "latch broadcast");
	while (!reached_locked(l) && !l->expired) {
		int rc = pthread_cond_timedwait(&l->cv, &l->mu, &ts);

		if (rc == ETIMEDOUT) {
			/* Nobody came in time: the code under test is not
			 * running us together. Let every later task through at
			 * once, so sequential code costs one deadline in all. */
			l->expired = true;
			must(pthread_cond_broadcast(&l->cv), "latch broadcast");
		} else {
			must(rc, "latch wait");
		}
	}
	reached = reached_locked(l);
	l->in_flight--;
	must(pthread_mutex_unlock(&l->mu), "latch unlock");
	return reached;
}

bool at_latch_task_yielding(struct at_latch *l, void (*yield)(void))
{
	int64_t deadline = at_now_ns() + l->timeout_ns;
	bool reached;

	/* One OS thread runs every task here, so the mutex is never contended;
	 * it is taken only so that the same latch also works with threads. */
	must(pthread_mutex_lock(&l->mu), "latch lock");
	arrive_locked(l);
	for (;;) {
		reached = reached_locked(l);
		if (reached || l->expired)
			break;
		if (at_now_ns() >= deadline) {
			l->expired = true;
			break;
		}
		/* Never block the one OS thread: hand the CPU to the other
		 * tasks and look again when the scheduler comes back to us. */
		must(pthread_mutex_unlock(&l->mu), "latch unlock");
		yield();
		must(pthread_mutex_lock(&l->mu), "latch lock");
	}
	l->in_flight--;
	must(pthread_mutex_unlock(&l->mu), "latch unlock");
	return reached;
}

int at_latch_max_in_flight(struct at_latch *l)
{
	int max;

	must(pthread_mutex_lock(&l->mu), "latch lock");
	max = l->max_in_flight;
	must(pthread_mutex_unlock(&l->mu), "latch unlock");
	return max;
}
