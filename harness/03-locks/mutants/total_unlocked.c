/*
 * Mutant total_unlocked: bank_total() reads the balances without any
 * lock, while transfers write them: a data race, which ThreadSanitizer
 * reports even in a run where the sum happened to come out right.
 * Caught by: bank::race_free_bank.
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

long bank_total(struct bank *b)
{
	long sum = 0;

	/* The mistake: "it only reads", so no lock. */
	for (size_t i = 0; i < b->n; i++)
		sum += b->acct[i].balance;
	return sum;
}
