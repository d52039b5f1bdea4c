/*
 * Mutant no_lock: transfer() takes no lock at all. Each `balance -= amount`
 * is a load, a subtraction and a store; two threads doing it at once both
 * load the same old value and one update is lost.
 * Caught by: bank::no_lost_update.
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

bool transfer(struct bank *b, size_t from, size_t to, long amount)
{
	struct account *src = &b->acct[from], *dst = &b->acct[to];
	bool moved = false;

	/* The mistake: no lock_pair() here. */
	if (src->balance >= amount) {
		src->balance -= amount;
		dst->balance += amount;
		moved = true;
	}
	return moved;
}

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
