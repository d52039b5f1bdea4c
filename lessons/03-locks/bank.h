/*
 * bank.h - lesson 03, part 1: a bank whose transfers are safe from many
 * threads at once.
 *
 * You write bank.c. The tests run thousands of transfers from several
 * threads at the same moment and then count the money: not one unit may be
 * created, destroyed or lost, no balance may go below zero, and two
 * transfers in opposite directions must never wait for each other forever.
 * Compare with bbuf.h (threads that wait for each other on purpose) and
 * biglock.h (one lock for everything).
 */
#ifndef BANK_H
#define BANK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* ANCHOR: interface */
/*
 * Each account has a lock of its own, which guards its balance: read or
 * write `balance` only while holding `lock`. The tests take an account's
 * lock themselves to look at it, as any other thread could.
 */
struct account {
	pthread_mutex_t lock;
	long balance;
};

struct bank {
	size_t n;                 /* number of accounts */
	struct account *acct;     /* acct[0] .. acct[n - 1] */
};

/* n accounts holding `initial` each. Returns 0 or an error number. */
int bank_init(struct bank *b, size_t n, long initial);
void bank_destroy(struct bank *b);

/*
 * Move `amount` (> 0) from account `from` to account `to`, all or
 * nothing: if `from` holds less than `amount`, nothing moves. Returns
 * true when the money moved. Many threads may call it at once, in any
 * direction, and it must never deadlock. from == to is allowed: nothing
 * changes, and it returns whether the account holds `amount`.
 */
bool transfer(struct bank *b, size_t from, size_t to, long amount);

/*
 * The sum of all balances as it was at one instant: never counting a
 * transfer that is half done, even while transfers run.
 */
long bank_total(struct bank *b);
/* ANCHOR_END: interface */

#endif
