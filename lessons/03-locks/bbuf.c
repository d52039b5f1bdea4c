/*
 * bbuf.c - lesson 03, part 2: YOUR CODE. A bounded buffer: producers put
 * items in, consumers get them out, oldest first, and each side sleeps
 * while it cannot go on.
 *
 * Read the chapter (README.md beside this file) first, then replace each
 * TODO. `make check LESSON=3` tells you what your code does, measured.
 */
#include "bbuf.h"

#include <errno.h>
#include <stdlib.h>

int bbuf_init(struct bbuf *b, size_t capacity)
{
	/*
	 * TODO 1: refuse a capacity of 0 with EINVAL; allocate `capacity`
	 *         slots; set capacity, head = count = 0;
	 *         set up the mutex and both condition variables
	 *         (pthread_mutex_init, pthread_cond_init). On a failure undo
	 *         what was done and return the error number.
	 */
	(void)b;
	(void)capacity;
	return ENOSYS;
}

void bbuf_destroy(struct bbuf *b)
{
	/* TODO 2: destroy the condition variables and the mutex; free the slots. */
	(void)b;
}

void bbuf_put(struct bbuf *b, long item)
{
	/*
	 * TODO 3: lock; while the buffer is full, pthread_cond_wait() on
	 *         not_full (it unlocks, sleeps, and locks again on waking).
	 *         Waking up promises nothing: look at the count again.
	 * TODO 4: store item behind the newest one, count it, then
	 *         pthread_cond_signal() not_empty (a consumer may be asleep)
	 *         before you unlock.
	 */
	(void)b;
	(void)item;
}

long bbuf_get(struct bbuf *b)
{
	/*
	 * TODO 5: the mirror image of put(): wait on not_empty while count is
	 *         0, take slot[head], move head on (around the ring), count
	 *         down, signal not_full, unlock, return the item.
	 */
	(void)b;
	return 0;
}
