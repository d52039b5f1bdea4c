/*
 * Mutant busy_wait: instead of sleeping on a condition variable, put()
 * and get() let go of the lock, yield, and look again. The answers are
 * right, but a waiting thread keeps a CPU busy doing nothing.
 * Caught by: bbuf::idle_waiters.
 */
#include "bbuf.h"

#include <errno.h>
#include <sched.h>
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

void bbuf_put(struct bbuf *b, long item)
{
	must(pthread_mutex_lock(&b->lock), "pthread_mutex_lock");
	/* `while`, not `if`: waking up says only "look again". Another
	 * producer may have taken the free slot first, or nobody freed one
	 * at all (a spurious wake-up, or a broadcast meant for others). */
	while (b->count == b->capacity) {
		/* The mistake: spin instead of sleeping. */
		must(pthread_mutex_unlock(&b->lock), "pthread_mutex_unlock");
		sched_yield();
		must(pthread_mutex_lock(&b->lock), "pthread_mutex_lock");
	}
	b->slot[(b->head + b->count) % b->capacity] = item;
	b->count++;
	/* Every put makes the buffer non-empty: tell one sleeping consumer.
	 * Signalling while we hold the lock means no consumer can look at
	 * the count between our change and our signal. */
	must(pthread_cond_signal(&b->not_empty), "pthread_cond_signal");
	must(pthread_mutex_unlock(&b->lock), "pthread_mutex_unlock");
}

long bbuf_get(struct bbuf *b)
{
	long item;

	must(pthread_mutex_lock(&b->lock), "pthread_mutex_lock");
	while (b->count == 0) {
		must(pthread_mutex_unlock(&b->lock), "pthread_mutex_unlock");
		sched_yield();
		must(pthread_mutex_lock(&b->lock), "pthread_mutex_lock");
	}
	item = b->slot[b->head];
	b->head = (b->head + 1) % b->capacity;
	b->count--;
	/* A slot is free now: wake one sleeping producer, if any. */
	must(pthread_cond_signal(&b->not_full), "pthread_cond_signal");
	must(pthread_mutex_unlock(&b->lock), "pthread_mutex_unlock");
	return item;
}
