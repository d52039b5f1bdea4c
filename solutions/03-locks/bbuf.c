/*
 * bbuf.c - lesson 03, the reference: a bounded buffer guarded by one mutex,
 * with two condition variables, one per reason to wait. put() sleeps on
 * not_full while the ring is full, get() on not_empty while it is empty,
 * each in a `while` loop that looks at the buffer again after every
 * wake-up; each side signals the other after changing the count, while
 * still holding the lock.
 *
 * Compare with harness/03-locks/mutants/: if_not_while.patch (trusts a
 * wake-up), busy_wait.patch (spins instead of sleeping), lost_wakeup.patch
 * (signals only when the buffer was empty), lifo.patch (newest item first).
 */
#include "bbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* These calls fail only on an object that was never set up or is already
 * destroyed: a bug, not a situation to recover from. Name it and stop. */
static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "bbuf: %s: %s\n", what, strerror(rc));
		abort();
	}
}

int bbuf_init(struct bbuf *b, size_t capacity)
{
	int err;

	memset(b, 0, sizeof(*b));
	if (capacity == 0)
		return EINVAL;
	b->slot = calloc(capacity, sizeof(*b->slot));
	if (!b->slot)
		return ENOMEM;
	b->capacity = capacity;
	if ((err = pthread_mutex_init(&b->lock, NULL)) != 0)
		goto err_slot;
	if ((err = pthread_cond_init(&b->not_full, NULL)) != 0)
		goto err_lock;
	if ((err = pthread_cond_init(&b->not_empty, NULL)) != 0)
		goto err_full;
	return 0;
err_full:
	pthread_cond_destroy(&b->not_full);
err_lock:
	pthread_mutex_destroy(&b->lock);
err_slot:
	free(b->slot);
	b->slot = NULL;
	return err;
}

void bbuf_destroy(struct bbuf *b)
{
	must(pthread_cond_destroy(&b->not_empty), "pthread_cond_destroy");
	must(pthread_cond_destroy(&b->not_full), "pthread_cond_destroy");
	must(pthread_mutex_destroy(&b->lock), "pthread_mutex_destroy");
	free(b->slot);
	b->slot = NULL;
}

/* ANCHOR: put */
void bbuf_put(struct bbuf *b, long item)
{
	must(pthread_mutex_lock(&b->lock), "pthread_mutex_lock");
	/* `while`, not `if`: waking up says only "look again". Another
	 * producer may have taken the free slot first, or nobody freed one
	 * at all (a spurious wake-up, or a broadcast meant for others). */
	while (b->count == b->capacity)
		/* Atomically: let go of the lock and sleep; retake it on waking.
		 * A consumer cannot slip its signal in between the test above
		 * and the sleep, since it needs the lock to change the count. */
		must(pthread_cond_wait(&b->not_full, &b->lock), "pthread_cond_wait");
	b->slot[(b->head + b->count) % b->capacity] = item;
	b->count++;
	/* Every put makes the buffer non-empty: tell one sleeping consumer.
	 * Signalling while we hold the lock means no consumer can look at
	 * the count between our change and our signal. */
	must(pthread_cond_signal(&b->not_empty), "pthread_cond_signal");
	must(pthread_mutex_unlock(&b->lock), "pthread_mutex_unlock");
}
/* ANCHOR_END: put */

/* ANCHOR: get */
long bbuf_get(struct bbuf *b)
{
	long item;

	must(pthread_mutex_lock(&b->lock), "pthread_mutex_lock");
	while (b->count == 0)
		must(pthread_cond_wait(&b->not_empty, &b->lock), "pthread_cond_wait");
	item = b->slot[b->head];
	b->head = (b->head + 1) % b->capacity;
	b->count--;
	/* A slot is free now: wake one sleeping producer, if any. */
	must(pthread_cond_signal(&b->not_full), "pthread_cond_signal");
	must(pthread_mutex_unlock(&b->lock), "pthread_mutex_unlock");
	return item;
}
/* ANCHOR_END: get */
