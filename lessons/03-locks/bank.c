/*
 * bank.c - lesson 03, part 1: YOUR CODE. Make this bank safe to use from
 * many threads at once.
 *
 * The code below is correct as long as one thread at a time uses the
 * bank, and wrong as soon as two do: a transfer is several steps (look at
 * a balance, subtract, add), and another thread can run between any two
 * of them. Read the chapter (README.md beside this file), then replace
 * each TODO. `make check LESSON=3` tells you what your code does, measured.
 */
#include "bank.h"

#include <errno.h>
#include <stdlib.h>

int bank_init(struct bank *b, size_t n, long initial)
{
	b->acct = calloc(n ? n : 1, sizeof(*b->acct));
	if (!b->acct)
		return ENOMEM;
	b->n = n;
	for (size_t i = 0; i < n; i++) {
		/*
		 * TODO 1: set up acct[i].lock with pthread_mutex_init() and
		 *         return its error number if it fails (after destroying
		 *         the locks already set up and freeing acct).
		 */
		b->acct[i].balance = initial;
	}
	return 0;
}

void bank_destroy(struct bank *b)
{
	/* TODO 2: pthread_mutex_destroy() every account's lock. */
	free(b->acct);
	b->acct = NULL;
	b->n = 0;
}

bool transfer(struct bank *b, size_t from, size_t to, long amount)
{
	struct account *src = &b->acct[from], *dst = &b->acct[to];

	/*
	 * TODO 3: hold the locks of both accounts around everything below,
	 *         the balance check included (otherwise two transfers can
	 *         both see enough money, and both take it).
	 * TODO 4: take the two locks in the same order in every thread, the
	 *         lower account number first, whatever the direction of the
	 *         transfer: transfer(b, 1, 2, ..) and transfer(b, 2, 1, ..)
	 *         running at once must not each hold one lock and wait for
	 *         the other. And when from == to, lock that account once:
	 *         a mutex taken twice by the same thread waits forever.
	 */
	if (src->balance < amount)
		return false;
	src->balance -= amount;
	dst->balance += amount;
	return true;
}

long bank_total(struct bank *b)
{
	long sum = 0;

	/*
	 * TODO 5: add up while holding EVERY account's lock (taken in the
	 *         same order as in transfer(), then all released), so that no
	 *         transfer is half done while you read. Locking each account
	 *         only while reading it is not enough: money moving from an
	 *         account you have not read yet to one you have read already
	 *         would be missed.
	 */
	for (size_t i = 0; i < b->n; i++)
		sum += b->acct[i].balance;
	return sum;
}
