/*
 * bbuf.h - lesson 03, part 2: a bounded buffer, the meeting point of
 * producer and consumer threads.
 *
 * You write bbuf.c. The tests run several producers and consumers through
 * one small buffer and check that every item comes out exactly once, in
 * the order it went in, that the buffer never holds more than it can, that
 * a thread waiting on it sleeps (burns no CPU) and that it always wakes up
 * when it should. Compare with bank.h, where threads only exclude each
 * other; here they also wait for each other.
 */
#ifndef BBUF_H
#define BBUF_H

#include <pthread.h>
#include <stddef.h>

/* ANCHOR: interface */
/*
 * A ring of `capacity` slots. `lock` guards every other field. The items
 * held are slot[head], slot[(head + 1) % capacity], ... (count of them),
 * oldest first.
 *
 * The tests may call pthread_cond_broadcast() on not_full and not_empty
 * at any moment, as POSIX allows any thread to (and a waiter can also
 * wake up "spuriously", for no reason at all).
 */
struct bbuf {
	pthread_mutex_t lock;
	pthread_cond_t not_full;   /* waited on by put() while count == capacity */
	pthread_cond_t not_empty;  /* waited on by get() while count == 0 */
	long *slot;
	size_t capacity;
	size_t head;               /* index of the oldest item */
	size_t count;              /* items held: 0 .. capacity */
};

/* An empty buffer of `capacity` slots. Returns 0, EINVAL when capacity is
 * 0, or another error number. */
int bbuf_init(struct bbuf *b, size_t capacity);

/* Only once no thread uses the buffer any more. */
void bbuf_destroy(struct bbuf *b);

/* Append item; while the buffer is full, sleep until there is room. */
void bbuf_put(struct bbuf *b, long item);

/* Remove and return the oldest item; while empty, sleep until one comes. */
long bbuf_get(struct bbuf *b);
/* ANCHOR_END: interface */

#endif
