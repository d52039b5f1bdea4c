/*
 * bank.c - lesson 03, the reference: a lock per account. A transfer takes
 * the two locks it needs, always the lower account number first, checks
 * and moves the money while holding both, and lets go. bank_total() takes
 * every lock, in the same order, so it sees one instant of the bank.
 *
 * Compare with harness/03-locks/mutants/: no_lock.patch (the lost update),
 * lock_order.patch (locks `from` then `to`: opposite transfers deadlock),
 * check_then_lock.patch (looks at the balance before locking: overdrafts),
 * total_one_at_a_time.patch (race-free, yet its sum mixes two instants).
 */
#include "bank.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A mutex call fails only on a mutex that was never set up or is already
 * destroyed: a bug, not a situation to recover from. Name it and stop. */
static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "bank: %s: %s\n", what, strerror(rc));
		abort();
	}
}

static void lock(struct account *a)
{
	must(pthread_mutex_lock(&a->lock), "pthread_mutex_lock");
}

static void unlock(struct account *a)
{
	must(pthread_mutex_unlock(&a->lock), "pthread_mutex_unlock");
}

int bank_init(struct bank *b, size_t n, long initial)
{
	size_t i;
	int err;

	b->n = 0;
	b->acct = calloc(n ? n : 1, sizeof(*b->acct));
	if (!b->acct)
		return ENOMEM;
	for (i = 0; i < n; i++) {
		if ((err = pthread_mutex_init(&b->acct[i].lock, NULL)) != 0)
			goto err;
		b->acct[i].balance = initial;
	}
	b->n = n;
	return 0;
err:
	while (i-- > 0)
		pthread_mutex_destroy(&b->acct[i].lock);
	free(b->acct);
	b->acct = NULL;
	return err;
}

void bank_destroy(struct bank *b)
{
	for (size_t i = 0; i < b->n; i++)
		must(pthread_mutex_destroy(&b->acct[i].lock), "pthread_mutex_destroy");
	free(b->acct);
	b->acct = NULL;
	b->n = 0;
}

/* ANCHOR: lock_pair */
/*
 * Take the locks of accounts i and j, the lower number first. Every thread
 * that holds two account locks took them in this one order, so no thread
 * can hold a higher-numbered lock while it waits for a lower one: the
 * circle of "I hold yours, you hold mine" that a deadlock needs cannot
 * close.
 */
static void lock_pair(struct bank *b, size_t i, size_t j)
{
	size_t lo = i < j ? i : j, hi = i < j ? j : i;

	lock(&b->acct[lo]);
	/* A mutex is not re-entrant: locking it again would wait for
	 * ourselves, forever. A transfer to the same account takes it once. */
	if (hi != lo)
		lock(&b->acct[hi]);
}

static void unlock_pair(struct bank *b, size_t i, size_t j)
{
	unlock(&b->acct[i]);
	if (j != i)
		unlock(&b->acct[j]);
}
/* ANCHOR_END: lock_pair */

/* ANCHOR: transfer */
bool transfer(struct bank *b, size_t from, size_t to, long amount)
{
	struct account *src = &b->acct[from], *dst = &b->acct[to];
	bool moved = false;

	lock_pair(b, from, to);
	/* The check and the change are one critical section. Checked before
	 * locking, two transfers could both see enough money, and both take it. */
	if (src->balance >= amount) {
		src->balance -= amount;
		dst->balance += amount;
		moved = true;
	}
	/* Unlocking publishes both new balances to the next thread that
	 * takes either lock. */
	unlock_pair(b, from, to);
	return moved;
}
/* ANCHOR_END: transfer */

/* ANCHOR: total */
long bank_total(struct bank *b)
{
	long sum = 0;

	/* Hold every lock at once, taken in the transfers' order: no transfer
	 * can be half done while we add up, and none can deadlock with us. */
	for (size_t i = 0; i < b->n; i++)
		lock(&b->acct[i]);
	for (size_t i = 0; i < b->n; i++)
		sum += b->acct[i].balance;
	for (size_t i = b->n; i-- > 0;)
		unlock(&b->acct[i]);
	return sum;
}
/* ANCHOR_END: total */
