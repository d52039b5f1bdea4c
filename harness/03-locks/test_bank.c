/*
 * Description: lesson 03, part 1 - is the bank safe from many threads?
 * Transfers move money all or nothing; under heavy contention not one
 * update is lost; bank_total() sees one instant; no balance goes below
 * zero; two opposite transfers never deadlock (a deterministic lock-order
 * probe); and ThreadSanitizer finds no data race.
 */
#include "at_test.h"
#include "bank.h"
#include "locks_test.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

TestSuite(bank, .timeout = 40);

/* No transfer has made progress for this long: the threads are stuck. */
#define STUCK_MS 3000

/* ---- single-threaded: what a transfer does ---------------------------- */

/*
 * The steps run on a helper thread with a deadline: a transfer that waits
 * for a lock it left held (an early return before the unlock) or locks one
 * account twice would otherwise hang the test.
 */
struct basics {
	struct bank *b;
	_Atomic int step;        /* the step under way: 1 .. 5, 6 when done */
	bool moved[4];
	long after[4][3];
	long total;
};

static void basics_steps(void *arg)
{
	static const struct { size_t from, to; long amount; } t[4] = {
		{ 0, 1, 30 }, { 2, 0, 150 }, { 2, 0, 100 }, { 1, 1, 50 },
	};
	struct basics *s = arg;

	for (int i = 0; i < 4; i++) {
		atomic_store(&s->step, i + 1);
		s->moved[i] = transfer(s->b, t[i].from, t[i].to, t[i].amount);
		for (int a = 0; a < 3; a++)
			s->after[i][a] = s->b->acct[a].balance;
	}
	atomic_store(&s->step, 5);
	s->total = bank_total(s->b);
	atomic_store(&s->step, 6);
}

static const char *const basics_call[] = {
	"", "transfer(0 -> 1, 30)", "transfer(2 -> 0, 150)", "transfer(2 -> 0, 100)",
	"transfer(1 -> 1, 50)", "bank_total()",
};

Test(bank, transfer_basics, .description = "transfer() moves money all or nothing, refuses an overdraft, and a transfer to the same account returns")
{
	static struct bank b;
	static struct basics s;
	int rc = bank_init(&b, 3, 100), step;
	bool done;

	AT_CHECK(rc == 0, "bank_init() returned %d (%s), not 0", rc, strerror(rc));
	s = (struct basics){ .b = &b };
	done = call_within(basics_steps, &s, 2000);
	step = atomic_load(&s.step);
	if (!done)
		AT_MEASURED("transfers: %s never returned (waited 2 s)", basics_call[step]);
	else
		AT_MEASURED("transfers: 0->1 of 30 %s, 2->0 of 150 %s, 2->0 of 100 %s, 1->1 of 50 %s; balances %ld %ld %ld, total %ld",
			    s.moved[0] ? "moved" : "refused", s.moved[1] ? "moved" : "refused",
			    s.moved[2] ? "moved" : "refused", s.moved[3] ? "moved" : "refused",
			    s.after[3][0], s.after[3][1], s.after[3][2], s.total);
	AT_HINT("check the balance and move the money while holding both accounts' locks, and unlock on every way out (a refused transfer too); when from == to, lock that one account once (a thread that locks a mutex it already holds waits for itself forever)");
	AT_CHECK(done || step != 4, "transfer(1 -> 1, 50) never returned: the thread is waiting for a lock it already holds (a mutex is not re-entrant)");
	AT_CHECK(done, "%s never returned: it waits for a lock nobody will release (a lock left held by an earlier call, e.g. an early return before the unlock?)",
		 basics_call[step]);
	AT_CHECK(s.moved[0] && s.after[0][0] == 70 && s.after[0][1] == 130 && s.after[0][2] == 100,
		 "transfer(0 -> 1, 30) from 100 / 100 / 100 should move and leave 70 / 130 / 100, got %s and %ld / %ld / %ld",
		 s.moved[0] ? "true" : "false", s.after[0][0], s.after[0][1], s.after[0][2]);
	AT_CHECK(!s.moved[1] && s.after[1][0] == 70 && s.after[1][1] == 130 && s.after[1][2] == 100,
		 "transfer(2 -> 0, 150) with only 100 in account 2 must move nothing and return false, got %s and %ld / %ld / %ld",
		 s.moved[1] ? "true" : "false", s.after[1][0], s.after[1][1], s.after[1][2]);
	AT_CHECK(s.moved[2] && s.after[2][0] == 170 && s.after[2][2] == 0,
		 "transfer(2 -> 0, 100) with exactly 100 in account 2 should move it all, got %s and %ld / %ld / %ld",
		 s.moved[2] ? "true" : "false", s.after[2][0], s.after[2][1], s.after[2][2]);
	AT_CHECK(s.moved[3] && s.after[3][1] == 130,
		 "transfer(1 -> 1, 50) with 130 in the account should return true and change nothing, got %s and %ld",
		 s.moved[3] ? "true" : "false", s.after[3][1]);
	AT_CHECK(s.total == 300, "bank_total() says %ld; the bank holds 300", s.total);
	bank_destroy(&b);
	AT_END();
}

/* ---- many threads ----------------------------------------------------- */

/* Run nthreads copies of body(arg_i), watching a progress counter: the
 * run is stuck when it has not moved for STUCK_MS. Returns how many
 * threads finished. */
struct crowd {
	pthread_t t[8];
	int n;
	atomic_long progress;     /* bumped by the workers as they go */
};

static int crowd_start(struct crowd *c, int n, void *(*body)(void *), void **args)
{
	int rc;

	c->n = 0;
	atomic_store(&c->progress, 0);
	for (int i = 0; i < n; i++) {
		if ((rc = pthread_create(&c->t[i], NULL, body, args[i])) != 0)
			return rc;
		c->n++;
	}
	return 0;
}

static int crowd_join(struct crowd *c)
{
	long last = -1;
	int64_t last_move = at_now_ns();
	int joined = 0;

	while (joined < c->n) {
		long now = atomic_load(&c->progress);

		if (now != last) {
			last = now;
			last_move = at_now_ns();
		} else if (at_now_ns() - last_move > (int64_t)STUCK_MS * AT_NS_PER_MS) {
			break;
		}
		if (at_join_within(c->t[joined], 50))
			joined++;
	}
	return joined;
}

/*
 * Every thread's transfers are fixed in advance (transfer number i of
 * thread t always goes the same way), so the final balances are known from
 * how many each thread did, whatever the order they ran in: addition does
 * not care. The threads start together at a gate and keep going for a
 * while, so that two of them really run at the same instant on two CPUs,
 * even on a busy machine: a lost update needs that. Two accounts make the
 * contention as heavy as it gets: every transfer touches both.
 */
#define LU_THREADS    4
#define LU_ACCOUNTS   2
#define LU_MIN_COUNT  100000   /* transfers per thread, at least */
#define LU_MIN_MS     300      /* and for at least this long */
#define LU_INITIAL    1000000000L

struct lu_job {
	struct bank *b;
	struct crowd *c;
	atomic_int *gate;
	int id;
	long done, refused;
};

static size_t lu_from(int id, long i) { return (size_t)((i + id) % LU_ACCOUNTS); }
static size_t lu_to(int id, long i)   { return (lu_from(id, i) + 1 + (size_t)(i >> 3) % (LU_ACCOUNTS - 1)) % LU_ACCOUNTS; }
static long lu_amount(long i)         { return 1 + (i & 3); }

static void *lu_worker(void *arg)
{
	struct lu_job *j = arg;
	int64_t until;
	long i = 0;

	/* Start together: wait until every worker is here. */
	atomic_fetch_add(j->gate, 1);
	while (atomic_load(j->gate) < LU_THREADS)
		sched_yield();
	until = at_now_ns() + (int64_t)LU_MIN_MS * AT_NS_PER_MS;
	for (;; i++) {
		if ((i & 1023) == 0) {
			atomic_fetch_add(&j->c->progress, 1);
			if (i >= LU_MIN_COUNT && at_now_ns() >= until)
				break;
		}
		if (!transfer(j->b, lu_from(j->id, i), lu_to(j->id, i), lu_amount(i)))
			j->refused++;
	}
	j->done = i;
	return NULL;
}

Test(bank, no_lost_update, .description = "4 threads hammer 2 accounts with transfers both ways for a while: every balance ends exactly where the transfers add up to")
{
	static struct crowd c;
	static atomic_int gate;
	struct bank b;
	struct lu_job job[LU_THREADS];
	void *args[LU_THREADS];
	long want[LU_ACCOUNTS], off = 0, total = 0, refused = 0, count = 0;
	int exact = 0, joined, rc = bank_init(&b, LU_ACCOUNTS, LU_INITIAL);

	AT_CHECK(rc == 0, "bank_init() returned %d (%s), not 0", rc, strerror(rc));
	atomic_store(&gate, 0);
	for (int t = 0; t < LU_THREADS; t++) {
		job[t] = (struct lu_job){ &b, &c, &gate, t, 0, 0 };
		args[t] = &job[t];
	}
	rc = crowd_start(&c, LU_THREADS, lu_worker, args);
	joined = crowd_join(&c);
	if (joined == LU_THREADS) {
		for (int a = 0; a < LU_ACCOUNTS; a++)
			want[a] = LU_INITIAL;
		for (int t = 0; t < LU_THREADS; t++) {
			for (long i = 0; i < job[t].done; i++) {
				want[lu_from(t, i)] -= lu_amount(i);
				want[lu_to(t, i)] += lu_amount(i);
			}
			count += job[t].done;
			refused += job[t].refused;
		}
		for (int a = 0; a < LU_ACCOUNTS; a++) {
			exact += b.acct[a].balance == want[a];
			off += labs(b.acct[a].balance - want[a]);
			total += b.acct[a].balance;
		}
		AT_MEASURED("lost updates: %d of %d balances exact after %ld transfers from %d threads; %ld units off, total %ld (%ld expected)",
			    exact, LU_ACCOUNTS, count, LU_THREADS, off, total, LU_ACCOUNTS * LU_INITIAL);
	} else {
		AT_MEASURED("stuck: %d of %d threads finished; the others made no progress for %d s",
			    joined, LU_THREADS, STUCK_MS / 1000);
	}
	AT_HINT("`balance -= amount` is three steps (load, subtract, store): two threads doing it at once can both load the old value, and one update vanishes. Do every step of a transfer while holding both accounts' locks");
	AT_CHECK(rc == 0, "pthread_create failed: %s", strerror(rc));
	AT_CHECK(joined == LU_THREADS, "the transfers stopped making progress: %d thread(s) stuck for %d s, waiting for locks nobody releases (taken in opposite orders, or left held)",
		 LU_THREADS - joined, STUCK_MS / 1000);
	AT_CHECK(refused == 0, "%ld transfer(s) were refused though every account held a billion", refused);
	AT_CHECK(exact == LU_ACCOUNTS, "%d of %d balances are wrong, %ld units off in all: updates were lost (two threads changed a balance at once and one change overwrote the other)",
		 LU_ACCOUNTS - exact, LU_ACCOUNTS, off);
	bank_destroy(&b);
	AT_END();
}

/* ---- bank_total() while transfers run --------------------------------- */

#define TC_THREADS   3
#define TC_ACCOUNTS  6
#define TC_TRANSFERS 100000
#define TC_INITIAL   1000L

struct tc_job {
	struct bank *b;
	struct crowd *c;
	unsigned seed;
};

static void *tc_worker(void *arg)
{
	struct tc_job *j = arg;

	for (long i = 0; i < TC_TRANSFERS; i++) {
		size_t from = (size_t)rand_r(&j->seed) % TC_ACCOUNTS;
		size_t to = (size_t)rand_r(&j->seed) % TC_ACCOUNTS;

		transfer(j->b, from, to, 1 + rand_r(&j->seed) % 100);
		if ((i & 1023) == 0)
			atomic_fetch_add(&j->c->progress, 1);
	}
	return NULL;
}

struct auditor {
	struct bank *b;
	atomic_bool stop;
	long audits, wrong, first_wrong;
};

static void *audit_body(void *arg)
{
	struct auditor *a = arg;

	while (!atomic_load(&a->stop)) {
		long t = bank_total(a->b);

		a->audits++;
		if (t != TC_ACCOUNTS * TC_INITIAL && a->wrong++ == 0)
			a->first_wrong = t;
	}
	return NULL;
}

Test(bank, total_consistent, .description = "bank_total(), called over and over while 3 threads transfer, always sees the bank at one instant: the total never changes")
{
	static struct crowd c;
	struct bank b;
	struct tc_job job[TC_THREADS];
	struct auditor a = { .b = &b };
	void *args[TC_THREADS];
	pthread_t at;
	bool audit_done;
	int joined, rc = bank_init(&b, TC_ACCOUNTS, TC_INITIAL);

	AT_CHECK(rc == 0, "bank_init() returned %d (%s), not 0", rc, strerror(rc));
	for (int t = 0; t < TC_THREADS; t++) {
		job[t] = (struct tc_job){ &b, &c, 17u * (unsigned)t + 3 };
		args[t] = &job[t];
	}
	atomic_store(&a.stop, false);
	rc = pthread_create(&at, NULL, audit_body, &a);
	AT_CHECK(rc == 0, "pthread_create failed: %s", strerror(rc));
	rc = crowd_start(&c, TC_THREADS, tc_worker, args);
	joined = crowd_join(&c);
	atomic_store(&a.stop, true);
	audit_done = at_join_within(at, STUCK_MS);
	if (joined < TC_THREADS || !audit_done)
		AT_MEASURED("stuck: %d of %d transfer threads finished, the auditor %s",
			    joined, TC_THREADS, audit_done ? "finished" : "never returned from bank_total()");
	else
		AT_MEASURED("snapshots: %ld of %ld bank_total() calls during the transfers were off (%ld every time expected)",
			    a.wrong, a.audits, TC_ACCOUNTS * TC_INITIAL);
	AT_HINT("hold every account's lock at once while you add up (taken in the same order as transfer() takes them), then release them all; locking one account at a time lets money move from an account you have not read yet into one you have already read");
	AT_CHECK(rc == 0, "pthread_create failed: %s", strerror(rc));
	AT_CHECK(joined == TC_THREADS && audit_done,
		 "the run stopped making progress for %d s: threads wait for locks nobody releases (transfer() and bank_total() must take them in the same order, and unlock on every way out)",
		 STUCK_MS / 1000);
	AT_CHECK(a.wrong == 0, "%ld of %ld totals were wrong (the first: %ld, not %ld): bank_total() added up balances from different instants, counting a transfer half done",
		 a.wrong, a.audits, a.first_wrong, TC_ACCOUNTS * TC_INITIAL);
	AT_CHECK(bank_total(&b) == TC_ACCOUNTS * TC_INITIAL, "after the transfers the bank holds %ld, not %ld", bank_total(&b), TC_ACCOUNTS * TC_INITIAL);
	bank_destroy(&b);
	AT_END();
}

/* ---- no overdraft ----------------------------------------------------- */

/* Two accounts of 10 and transfers of 10: every transfer empties its
 * source, and 4 threads fight over the same two locks. A check made before
 * the locks is stale by the time the lock is had, most of the time. */
#define OD_THREADS   4
#define OD_ACCOUNTS  2
#define OD_MIN_COUNT 50000   /* transfers per thread, at least */
#define OD_MIN_MS    300     /* and for at least this long */
#define OD_INITIAL   10L

struct od_job {
	struct bank *b;
	struct crowd *c;
	atomic_int *gate;
	unsigned seed;
	long looks, lowest;
};

/* Look at an account the way any thread may: under its lock. */
static long balance_of(struct bank *b, size_t i)
{
	long v;

	if (pthread_mutex_lock(&b->acct[i].lock) != 0)
		return 0;
	v = b->acct[i].balance;
	must_ok(pthread_mutex_unlock(&b->acct[i].lock), "pthread_mutex_unlock");
	return v;
}

static void *od_worker(void *arg)
{
	struct od_job *j = arg;
	int64_t until;

	atomic_fetch_add(j->gate, 1);
	while (atomic_load(j->gate) < OD_THREADS)
		sched_yield();
	until = at_now_ns() + (int64_t)OD_MIN_MS * AT_NS_PER_MS;
	for (long i = 0;; i++) {
		size_t from = (size_t)rand_r(&j->seed) % OD_ACCOUNTS;
		size_t to = (from + 1 + (size_t)rand_r(&j->seed) % (OD_ACCOUNTS - 1)) % OD_ACCOUNTS;
		long v;

		if ((i & 1023) == 0) {
			atomic_fetch_add(&j->c->progress, 1);
			if (i >= OD_MIN_COUNT && at_now_ns() >= until)
				break;
		}
		/* The whole balance, or nothing: two threads race for it. */
		transfer(j->b, from, to, OD_INITIAL);
		v = balance_of(j->b, from);
		j->looks++;
		if (v < j->lowest)
			j->lowest = v;
	}
	return NULL;
}

Test(bank, never_overdrawn, .description = "4 threads keep trying to move an account's whole balance: no balance is ever seen below zero, and no money appears or vanishes")
{
	static struct crowd c;
	static atomic_int gate;
	struct bank b;
	struct od_job job[OD_THREADS];
	void *args[OD_THREADS];
	long lowest = 0, looks = 0, final_low = 0, total = 0;
	int joined, rc = bank_init(&b, OD_ACCOUNTS, OD_INITIAL);

	AT_CHECK(rc == 0, "bank_init() returned %d (%s), not 0", rc, strerror(rc));
	atomic_store(&gate, 0);
	for (int t = 0; t < OD_THREADS; t++) {
		job[t] = (struct od_job){ &b, &c, &gate, 31u * (unsigned)t + 5, 0, 0 };
		args[t] = &job[t];
	}
	rc = crowd_start(&c, OD_THREADS, od_worker, args);
	joined = crowd_join(&c);
	if (joined == OD_THREADS) {
		for (int t = 0; t < OD_THREADS; t++) {
			looks += job[t].looks;
			if (job[t].lowest < lowest)
				lowest = job[t].lowest;
		}
		for (int i = 0; i < OD_ACCOUNTS; i++) {
			total += b.acct[i].balance;
			if (b.acct[i].balance < final_low)
				final_low = b.acct[i].balance;
		}
		AT_MEASURED("overdrafts: lowest balance seen %ld in %ld looks (0 or more required); the bank holds %ld (%ld expected)",
			    lowest < final_low ? lowest : final_low, looks, total, OD_ACCOUNTS * OD_INITIAL);
	} else {
		AT_MEASURED("stuck: %d of %d threads finished; the others made no progress for %d s",
			    joined, OD_THREADS, STUCK_MS / 1000);
	}
	AT_HINT("check the balance after taking the locks, in the same critical section as the change: a check made before locking can be stale by the time you act on it (check-then-act)");
	AT_CHECK(rc == 0, "pthread_create failed: %s", strerror(rc));
	AT_CHECK(joined == OD_THREADS, "the transfers stopped making progress: %d thread(s) stuck for %d s, waiting for locks nobody releases (a refused transfer must unlock too)",
		 OD_THREADS - joined, STUCK_MS / 1000);
	AT_CHECK(lowest >= 0 && final_low >= 0, "a balance went down to %ld: two transfers both saw enough money and both took it",
		 lowest < final_low ? lowest : final_low);
	AT_CHECK(total == OD_ACCOUNTS * OD_INITIAL, "the bank holds %ld, not %ld: money appeared or vanished",
		 total, OD_ACCOUNTS * OD_INITIAL);
	bank_destroy(&b);
	AT_END();
}

/* ---- lock order: a deterministic deadlock probe ----------------------- */

struct lo_call {
	struct bank *b;
	bool moved;
};

static void lo_transfer(void *arg)
{
	struct lo_call *l = arg;

	l->moved = transfer(l->b, 1, 0, 10);
}

/*
 * The test plays one side of the classic deadlock: it holds account 0's
 * lock while transfer(1 -> 0) starts and blocks. Then it asks for account
 * 1's lock, as a transfer(0 -> 1) would. With a fixed order (lower number
 * first), the blocked transfer is waiting for account 0 and holds nothing,
 * so the test gets account 1 at once. If the transfer took account 1 first
 * ("from" before "to"), the test and the transfer now each hold what the
 * other wants: the test's timed lock gives up after a second and says so.
 */
Test(bank, lock_order, .description = "a transfer waiting for one account's lock holds no other account's lock out of order: two opposite transfers cannot deadlock")
{
	struct bank b;
	struct lo_call l = { &b, false };
	struct call c;
	struct timespec limit;
	bool asleep, finished_early, got_second = false, joined;
	int rc = bank_init(&b, 2, 100), lrc;

	AT_CHECK(rc == 0, "bank_init() returned %d (%s), not 0", rc, strerror(rc));
	rc = pthread_mutex_lock(&b.acct[0].lock);
	AT_CHECK(rc == 0, "the test could not lock account 0: %s (was the lock set up with pthread_mutex_init?)", strerror(rc));
	rc = call_start(&c, lo_transfer, &l);
	AT_CHECK(rc == 0, "pthread_create failed: %s", strerror(rc));
	asleep = call_asleep_by(&c, deadline_in(1000));
	finished_early = atomic_load(&c.done);
	if (!finished_early) {
		limit = realtime_in(1000);
		lrc = pthread_mutex_timedlock(&b.acct[1].lock, &limit);
		got_second = lrc == 0;
		if (got_second)
			must_ok(pthread_mutex_unlock(&b.acct[1].lock), "pthread_mutex_unlock");
	}
	/* Let the transfer go: it gets account 0 and finishes either way. */
	must_ok(pthread_mutex_unlock(&b.acct[0].lock), "pthread_mutex_unlock");
	joined = at_join_within(c.thread, 2000);
	if (finished_early)
		AT_MEASURED("lock order: transfer(1 -> 0) finished while the test held account 0's lock");
	else if (got_second)
		AT_MEASURED("lock order: while transfer(1 -> 0) waited%s, account 1 was free: the test, holding 0, took 1 at once",
			    asleep ? " (asleep)" : "");
	else
		AT_MEASURED("lock order: transfer(1 -> 0) held account 1 while waiting for account 0; the test, holding 0, waited 1 s for 1: deadlock");
	AT_HINT("take the lower-numbered account's lock first, whichever way the money goes: transfer(1 -> 0) then waits for account 0 without holding account 1, and nobody can hold what it waits for");
	AT_CHECK(!finished_early, "transfer(1 -> 0) finished while the test held account 0's lock: transfer() must hold the lock of every account it touches");
	AT_CHECK(got_second, "deadlock: transfer(1 -> 0) locked account 1 and then waited for account 0, which the test held while it waited for account 1 - each held what the other needed. (The test gave up after 1 s; real threads would wait forever)");
	AT_CHECK(joined, "transfer(1 -> 0) never returned after the test released both accounts");
	AT_CHECK(l.moved && b.acct[0].balance == 110 && b.acct[1].balance == 90,
		 "transfer(1 -> 0, 10) from 100 / 100 should leave 110 / 90, got %s and %ld / %ld",
		 l.moved ? "true" : "false", b.acct[0].balance, b.acct[1].balance);
	bank_destroy(&b);
	AT_END();
}

/* ---- ThreadSanitizer -------------------------------------------------- */

Test(bank, race_free_bank, .description = "transfers from 4 threads and bank_total() from a 5th, run under ThreadSanitizer: no data race, no lock-order inversion")
{
	tsan_check("bank", "every read and write of a balance must happen while holding that account's lock, in transfer() and in bank_total() alike; and all locks must be taken in one global order");
	AT_END();
}
