/*
 * Description: lesson 03, part 2 - the bounded buffer. Producers stop at
 * the capacity (0 refused with EINVAL; 1 and 1000 at their exact limit);
 * every item comes out exactly once and in order with several producers
 * and consumers; a waiter that is woken for nothing (a broadcast, as POSIX
 * allows) waits again; no wake-up is lost; a blocked waiter neither runs
 * nor wakes up (its CPU clock, its context switches); ThreadSanitizer
 * finds no data race and AddressSanitizer no memory error.
 */
#include "at_test.h"
#include "bbuf.h"
#include "locks_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

TestSuite(bbuf, .timeout = 40);

#define STUCK_MS 3000
#define NUDGE_MS 50     /* a stall this long gets a broadcast (fifo) */

/* An item says who made it and its number: producer p's item s. */
#define ITEM(p, s)     (((long)(p) << 32) | (long)(s))
#define ITEM_P(item)   ((int)((item) >> 32))
#define ITEM_S(item)   ((long)((item) & 0xffffffffL))
#define END_MARK       (-1L)

static void init_or_fail(struct bbuf *b, size_t capacity)
{
	int rc = bbuf_init(b, capacity);

	if (rc != 0) {
		AT_MEASURED("set-up: bbuf_init(b, %zu) returned %d (%s)", capacity, rc, strerror(rc));
		AT_HINT("bbuf_init() allocates the slots, sets the fields and sets up the mutex and both condition variables, then returns 0");
	}
	AT_CHECK(rc == 0, "bbuf_init(b, %zu) returned %d (%s), not 0: nothing else could be tested", capacity, rc, strerror(rc));
}

/* The buffer's count, read under its lock (with a deadline, in case the
 * code under test left it locked); -1 when the lock could not be had. */
static long count_of(struct bbuf *b)
{
	struct timespec limit = realtime_in(500);
	long n;

	if (pthread_mutex_timedlock(&b->lock, &limit) != 0)
		return -1;
	n = (long)b->count;
	must_ok(pthread_mutex_unlock(&b->lock), "pthread_mutex_unlock");
	return n;
}

/* Wake every waiter of both condition variables, n times, as any thread
 * may: a correct waiter finds its condition still false and sleeps again. */
static void broadcast_for_nothing(struct bbuf *b, int n)
{
	for (int i = 0; i < n; i++) {
		struct timespec limit = realtime_in(500);

		if (pthread_mutex_timedlock(&b->lock, &limit) == 0) {
			must_ok(pthread_cond_broadcast(&b->not_empty), "pthread_cond_broadcast");
			must_ok(pthread_cond_broadcast(&b->not_full), "pthread_cond_broadcast");
			must_ok(pthread_mutex_unlock(&b->lock), "pthread_mutex_unlock");
		}
		usleep(1000);   /* let the woken threads run */
	}
}

/*
 * Join t within ms; whenever it has not returned for NUDGE_MS, broadcast
 * on both condition variables (as anyone may). What such a join checks is
 * that the call returns at all: whether a signal was lost is `wakeup`'s to
 * say, deterministically. Without the nudge, a lost wake-up would stall
 * this check on the runs where the woken thread happened to be slow, and
 * the verdict would change from run to run.
 */
static bool join_nudging(pthread_t t, struct bbuf *b, int ms)
{
	int64_t deadline = deadline_in(ms);

	for (;;) {
		if (at_join_within(t, NUDGE_MS))
			return true;
		if (at_now_ns() >= deadline)
			return false;
		broadcast_for_nothing(b, 1);
	}
}

/* fn(arg) on a helper thread, joined with join_nudging(). */
static bool call_within_nudging(void (*fn)(void *), void *arg, struct bbuf *b, int ms)
{
	struct call c;

	return call_start(&c, fn, arg) == 0 && join_nudging(c.thread, b, ms);
}

/* One get() or one put() on a helper thread. */
struct op {
	struct bbuf *b;
	long item;            /* put: what to put; get: what came out */
	struct call call;
};

static void do_get(void *arg)
{
	struct op *o = arg;

	o->item = bbuf_get(o->b);
}

static void do_put(void *arg)
{
	struct op *o = arg;

	bbuf_put(o->b, o->item);
}

static int start_op(struct op *o, struct bbuf *b, void (*fn)(void *), long item)
{
	o->b = b;
	o->item = item;
	return call_start(&o->call, fn, o);
}

/* ---- capacity ---------------------------------------------------------- */

#define CAP_CAPACITY  4
#define CAP_PRODUCERS 3
#define CAP_ITEMS     10   /* each */

struct cap_producer {
	struct bbuf *b;
	int id;
	atomic_int *returned;
	struct call call;
};

static void cap_produce(void *arg)
{
	struct cap_producer *p = arg;

	for (int s = 0; s < CAP_ITEMS; s++) {
		bbuf_put(p->b, ITEM(p->id, s));
		atomic_fetch_add(p->returned, 1);
	}
}

static void drain_body(void *arg)
{
	struct bbuf *b = arg;

	for (int i = 0; i < CAP_PRODUCERS * CAP_ITEMS; i++)
		(void)bbuf_get(b);
}

/*
 * What the full ring holds, read under its lock as the header lays it out
 * (slot[head], slot[head + 1], ... oldest first): the number of held items
 * that are not the next item of their producer, or -1 when the lock could
 * not be had. Each producer's first items must be there in the order put.
 */
static int ring_out_of_order(struct bbuf *b)
{
	struct timespec limit = realtime_in(500);
	int next[CAP_PRODUCERS] = { 0 }, bad = 0;

	if (pthread_mutex_timedlock(&b->lock, &limit) != 0)
		return -1;
	for (size_t i = 0; i < b->count && i < CAP_CAPACITY; i++) {
		long item = b->slot[(b->head + i) % CAP_CAPACITY];
		int pr = ITEM_P(item);

		if (pr < 0 || pr >= CAP_PRODUCERS || ITEM_S(item) != next[pr]++)
			bad++;
	}
	must_ok(pthread_mutex_unlock(&b->lock), "pthread_mutex_unlock");
	return bad;
}

Test(bbuf, capacity, .description = "with no consumer, producers fill a buffer of 4 and then all sleep: exactly 4 puts return, the ring holds the 4 items in the order put; afterwards all 30 items come out")
{
	static struct bbuf b;
	static struct cap_producer p[CAP_PRODUCERS];
	static atomic_int returned;
	int filled, asleep = 0, rc = 0, order_bad = -1;
	long count;
	int64_t deadline;
	bool drained = false;

	atomic_store(&returned, 0);
	init_or_fail(&b, CAP_CAPACITY);
	for (int i = 0; i < CAP_PRODUCERS && rc == 0; i++) {
		p[i] = (struct cap_producer){ .b = &b, .id = i, .returned = &returned };
		rc = call_start(&p[i].call, cap_produce, &p[i]);
	}
	AT_CHECK(rc == 0, "pthread_create failed: %s", strerror(rc));
	/* Wait until every producer is asleep (or done): then nothing moves. */
	deadline = deadline_in(1000);
	for (int i = 0; i < CAP_PRODUCERS; i++)
		asleep += call_asleep_by(&p[i].call, deadline) && !atomic_load(&p[i].call.done);
	filled = atomic_load(&returned);
	count = count_of(&b);
	if (filled == CAP_CAPACITY && count == CAP_CAPACITY) {
		order_bad = ring_out_of_order(&b);
		/* Now a consumer takes everything, in a thread of its own. What
		 * its get()s return is fifo's business: here, that they return. */
		drained = call_within_nudging(drain_body, &b, &b, 2000);
	}
	AT_MEASURED("capacity: %d puts returned into a buffer of %d (count %ld), %d of %d producers asleep; then %s",
		    filled, CAP_CAPACITY, count, asleep, CAP_PRODUCERS,
		    order_bad > 0 ? "the ring did not hold the first items in order" :
		    !drained ? "the 30 items did not all come out" : "the ring held the first 4 items in order, and all 30 came out");
	AT_HINT("put() must wait while count == capacity (and get() while count == 0), in a `while` loop around pthread_cond_wait()");
	AT_CHECK(filled <= CAP_CAPACITY, "%d puts returned into a buffer of %d with nobody taking items out: put() does not wait when the buffer is full (it overwrote items or wrote past the end)",
		 filled, CAP_CAPACITY);
	AT_CHECK(filled == CAP_CAPACITY, "only %d puts returned into an empty buffer of %d: put() waited while there was room", filled, CAP_CAPACITY);
	AT_CHECK(count == CAP_CAPACITY, "the buffer's count says %ld while it holds %d items", count, CAP_CAPACITY);
	AT_CHECK(order_bad == 0, "the full ring (slot[head], slot[head + 1], ...) holds %d item(s) that are not the next of their producer: put() must append at (head + count) %% capacity",
		 order_bad);
	AT_CHECK(drained, "a consumer could not take the 30 items out within 2 s (get() stuck, or producers never woken to put the rest)");
	for (int i = 0; i < CAP_PRODUCERS; i++)
		AT_CHECK(at_join_within(p[i].call.thread, 1000), "producer %d never finished", i);
	bbuf_destroy(&b);
	AT_END();
}

/* ---- the edges: capacity 0, 1 and large --------------------------------- */

#define EDGE_BIG 1000

struct run_of_items {
	struct bbuf *b;
	long first, n;      /* put first .. first + n - 1, or get n and check them */
	long wrong;         /* gets: items not in the order put */
	long first_wrong;
};

static void put_run(void *arg)
{
	struct run_of_items *r = arg;

	for (long i = 0; i < r->n; i++)
		bbuf_put(r->b, r->first + i);
}

static void get_run(void *arg)
{
	struct run_of_items *r = arg;

	for (long i = 0; i < r->n; i++) {
		long item = bbuf_get(r->b);

		if (item != r->first + i && r->wrong++ == 0)
			r->first_wrong = item;
	}
}

struct edge_result {
	int rc0;                    /* bbuf_init(b, 0) */
	bool one_filled, one_waited, one_ok;
	long one_got[2];
	bool big_filled, big_waited, big_drained;
	long big_wrong, big_first_wrong;
};

/* Has the call not returned, once it has gone to sleep (or spun for
 * 300 ms: whether it sleeps while it waits is idle_waiters' business)? */
static bool still_waiting(struct call *c)
{
	call_asleep_by(c, deadline_in(300));
	return !atomic_load(&c->done);
}

/* A buffer of 1: one put returns, a second waits; two gets take both. */
static void edge_one(struct edge_result *e)
{
	static struct bbuf one;
	static struct op second, g;

	init_or_fail(&one, 1);
	e->one_filled = call_within(do_put, &(struct op){ .b = &one, .item = 11 }, 1000);
	if (!e->one_filled || start_op(&second, &one, do_put, 12) != 0)
		return;
	e->one_waited = still_waiting(&second.call);
	/* The first get() frees the one slot and wakes the waiting put():
	 * hold that put until the get() has returned, so what the get()
	 * returns is never raced by it (a get() that reads its slot after
	 * unlocking is race_free_bbuf's to catch). */
	g = (struct op){ .b = &one };
	at_cond_hold_begin(&one.not_full, &one.not_empty);
	e->one_ok = call_within(do_get, &g, 1000);
	at_cond_hold_end();
	e->one_got[0] = g.item;
	e->one_ok &= join_nudging(second.call.thread, &one, 1000);
	g = (struct op){ .b = &one };
	e->one_ok &= call_within_nudging(do_get, &g, &one, 1000);
	e->one_got[1] = g.item;
	if (e->one_ok)
		bbuf_destroy(&one);
}

/* A buffer of EDGE_BIG: that many puts return, one more waits; all come
 * out in order. */
static void edge_big(struct edge_result *e)
{
	static struct bbuf big;
	static struct run_of_items fill, drain;
	static struct op extra;

	init_or_fail(&big, EDGE_BIG);
	fill = (struct run_of_items){ .b = &big, .first = 0, .n = EDGE_BIG };
	e->big_filled = call_within(put_run, &fill, 2000);
	if (!e->big_filled || start_op(&extra, &big, do_put, EDGE_BIG) != 0)
		return;
	e->big_waited = still_waiting(&extra.call);
	/* The first get() on its own, the waiting put() held meanwhile (as
	 * above): it writes into the very slot that get() empties. */
	drain = (struct run_of_items){ .b = &big, .first = 0, .n = 1 };
	at_cond_hold_begin(&big.not_full, &big.not_empty);
	e->big_drained = call_within(get_run, &drain, 1000);
	at_cond_hold_end();
	e->big_drained &= join_nudging(extra.call.thread, &big, 1000);
	e->big_wrong = drain.wrong;
	e->big_first_wrong = drain.first_wrong;
	drain = (struct run_of_items){ .b = &big, .first = 1, .n = EDGE_BIG,
				       .wrong = e->big_wrong, .first_wrong = e->big_first_wrong };
	e->big_drained = e->big_drained && call_within_nudging(get_run, &drain, &big, 2000);
	e->big_wrong = drain.wrong;
	e->big_first_wrong = drain.first_wrong;
	if (e->big_drained)
		bbuf_destroy(&big);
}

Test(bbuf, edges, .description = "bbuf_init() refuses a capacity of 0 with EINVAL; a buffer of 1 holds one item and a second put waits; a buffer of 1000 takes 1000 puts, the 1001st waits, and all come out in order")
{
	static struct bbuf zero;
	struct edge_result e = { 0 };

	e.rc0 = bbuf_init(&zero, 0);
	if (e.rc0 == 0)
		bbuf_destroy(&zero);
	edge_one(&e);
	if (e.one_ok)
		edge_big(&e);
	AT_MEASURED("edges: bbuf_init(b, 0) returned %d (%s); capacity 1: a second put %s, the gets took %ld then %ld; capacity %d: %s puts returned, one more %s, %s",
		    e.rc0, e.rc0 ? strerror(e.rc0) : "success", e.one_waited ? "waited" : "did not wait",
		    e.one_got[0], e.one_got[1], EDGE_BIG, e.big_filled ? "all" : "not all",
		    e.big_waited ? "waited" : "did not wait",
		    !e.big_drained ? "the items did not all come out" : e.big_wrong ? "items came out of order" : "all came out in order");
	AT_HINT("bbuf_init() returns EINVAL for a capacity of 0 (a ring of no slots cannot hold anything: put() would wait forever, and index %% 0 is undefined); allocate exactly `capacity` slots and wait while count == capacity, whatever the capacity");
	AT_CHECK(e.rc0 == EINVAL, "bbuf_init(b, 0) returned %d (%s), not EINVAL: a buffer of no slots must be refused", e.rc0,
		 e.rc0 ? strerror(e.rc0) : "success");
	AT_CHECK(e.one_filled, "bbuf_put() into an empty buffer of 1 did not return within 1 s");
	AT_CHECK(e.one_waited, "a second bbuf_put() into a buffer of 1 holding an item did not wait: it holds more than its capacity");
	AT_CHECK(e.one_ok && e.one_got[0] == 11 && e.one_got[1] == 12, "a buffer of 1: the two gets %s %ld then %ld (11 then 12 expected)",
		 e.one_ok ? "took" : "did not all return; they took", e.one_got[0], e.one_got[1]);
	AT_CHECK(e.big_filled, "%d puts into an empty buffer of %d did not all return within 2 s: put() waited while there was room", EDGE_BIG, EDGE_BIG);
	AT_CHECK(e.big_waited, "put number %d into a full buffer of %d did not wait: it holds more than its capacity", EDGE_BIG + 1, EDGE_BIG);
	AT_CHECK(e.big_drained, "the %d items did not all come out of the buffer of %d within 2 s", EDGE_BIG + 1, EDGE_BIG);
	AT_CHECK(e.big_wrong == 0, "%ld of the %d items came out of order (the first wrong: %ld)", e.big_wrong, EDGE_BIG + 1, e.big_first_wrong);
	AT_END();
}

/* ---- many producers, many consumers ------------------------------------ */

#define MP_CAPACITY  3
#define MP_PRODUCERS 3
#define MP_CONSUMERS 3
#define MP_ITEMS     10000  /* each */

struct mp {
	struct bbuf b;
	atomic_long puts_returned;
	atomic_long gets_started;
	atomic_long consumed;
	atomic_uchar seen[MP_PRODUCERS][MP_ITEMS];
	atomic_long garbage, out_of_order;
};

static struct mp mp;

static void *mp_produce(void *arg)
{
	int id = (int)(intptr_t)arg;

	for (long s = 0; s < MP_ITEMS; s++) {
		bbuf_put(&mp.b, ITEM(id, s));
		atomic_fetch_add(&mp.puts_returned, 1);
	}
	return NULL;
}

static void *mp_consume(void *arg)
{
	long last[MP_PRODUCERS];

	(void)arg;
	for (int p = 0; p < MP_PRODUCERS; p++)
		last[p] = -1;
	for (;;) {
		long item;
		int p;

		atomic_fetch_add(&mp.gets_started, 1);
		item = bbuf_get(&mp.b);
		if (item == END_MARK)
			break;
		p = ITEM_P(item);
		if (p < 0 || p >= MP_PRODUCERS || ITEM_S(item) >= MP_ITEMS) {
			atomic_fetch_add(&mp.garbage, 1);
			continue;
		}
		/* FIFO, as one consumer can see it: a producer's items reach it
		 * in the order that producer put them. */
		if (ITEM_S(item) <= last[p])
			atomic_fetch_add(&mp.out_of_order, 1);
		last[p] = ITEM_S(item);
		atomic_fetch_add(&mp.seen[p][ITEM_S(item)], 1);
		atomic_fetch_add(&mp.consumed, 1);
	}
	return NULL;
}

/*
 * Join threads while watching `progress`; stop when it stalls for good.
 * A stall of NUDGE_MS first gets a broadcast on both condition variables
 * (as POSIX allows anyone to): fifo is about what comes out, and a lost
 * wake-up is `wakeup`'s to catch. Without the nudge, whether a lost
 * wake-up stalls this run depends on timing, and so would the verdict.
 */
static int join_all_watching(pthread_t *t, int n, atomic_long *progress, long *most_held, int *nudges)
{
	long last = -1;
	int64_t last_move = at_now_ns(), last_nudge = 0;
	int joined = 0;

	while (joined < n) {
		long now = atomic_load(progress);
		/* A lower bound on what the buffer holds: puts that returned minus
		 * gets that started (read in that order, so it never overstates). */
		long held = atomic_load(&mp.puts_returned) - atomic_load(&mp.gets_started);

		if (held > *most_held)
			*most_held = held;
		if (now != last) {
			last = now;
			last_move = at_now_ns();
		} else if (at_now_ns() - last_move > (int64_t)STUCK_MS * AT_NS_PER_MS) {
			break;
		} else if (at_now_ns() - last_move > (int64_t)NUDGE_MS * AT_NS_PER_MS &&
			   at_now_ns() - last_nudge > (int64_t)NUDGE_MS * AT_NS_PER_MS) {
			broadcast_for_nothing(&mp.b, 1);
			last_nudge = at_now_ns();
			++*nudges;
		}
		if (at_join_within(t[joined], 2))
			joined++;
	}
	return joined;
}

Test(bbuf, fifo, .description = "3 producers and 3 consumers pass 30,000 items through a buffer of 3: each item comes out exactly once, each producer's items in order, and the buffer never holds more than 3")
{
	static pthread_t prod[MP_PRODUCERS], cons[MP_CONSUMERS];
	static struct op end[MP_CONSUMERS];
	long most_held = 0, missing = 0, twice = 0;
	int rc = 0, pj, cj = 0, nudges = 0;

	memset(&mp, 0, sizeof(mp));
	init_or_fail(&mp.b, MP_CAPACITY);
	for (int i = 0; i < MP_CONSUMERS && rc == 0; i++)
		rc = pthread_create(&cons[i], NULL, mp_consume, NULL);
	for (int i = 0; i < MP_PRODUCERS && rc == 0; i++)
		rc = pthread_create(&prod[i], NULL, mp_produce, (void *)(intptr_t)i);
	AT_CHECK(rc == 0, "pthread_create failed: %s", strerror(rc));
	pj = join_all_watching(prod, MP_PRODUCERS, &mp.consumed, &most_held, &nudges);
	if (pj == MP_PRODUCERS) {
		/* One end mark per consumer, each put on a thread of its own
		 * (a put that never returns must not hang the test). */
		for (int i = 0; i < MP_CONSUMERS; i++)
			start_op(&end[i], &mp.b, do_put, END_MARK);
		cj = join_all_watching(cons, MP_CONSUMERS, &mp.consumed, &most_held, &nudges);
	}
	for (int p = 0; p < MP_PRODUCERS; p++)
		for (int s = 0; s < MP_ITEMS; s++) {
			int k = atomic_load(&mp.seen[p][s]);

			missing += k == 0;
			twice += k > 1;
		}
	AT_MEASURED("fifo: %ld of %d items came out; %ld missing, %ld twice, %ld garbage, %ld out of order; at least %ld held at once (capacity %d); %d stall(s) ended by a broadcast",
		    atomic_load(&mp.consumed), MP_PRODUCERS * MP_ITEMS, missing, twice,
		    atomic_load(&mp.garbage), atomic_load(&mp.out_of_order), most_held, MP_CAPACITY, nudges);
	AT_HINT("a ring: put() writes at (head + count) %% capacity, get() reads at head and moves head on; wait in a `while` loop, and signal after every change so no sleeper is left behind");
	AT_CHECK(pj == MP_PRODUCERS && cj == MP_CONSUMERS,
		 "the run stopped for %d s with %d of %d producers and %d of %d consumers finished: threads asleep while they could go on (a lost wake-up?)",
		 STUCK_MS / 1000, pj, MP_PRODUCERS, cj, MP_CONSUMERS);
	AT_CHECK(most_held <= MP_CAPACITY, "at one moment at least %ld items were in a buffer of %d: put() did not wait for room", most_held, MP_CAPACITY);
	AT_CHECK(atomic_load(&mp.garbage) == 0, "%ld item(s) came out that no producer put (get() read a slot that holds no item)", atomic_load(&mp.garbage));
	AT_CHECK(missing == 0 && twice == 0, "%ld item(s) never came out and %ld came out more than once", missing, twice);
	AT_CHECK(atomic_load(&mp.out_of_order) == 0, "%ld item(s) overtook an older item of the same producer: get() must return the oldest item (first in, first out)",
		 atomic_load(&mp.out_of_order));
	bbuf_destroy(&mp.b);
	AT_END();
}

/* ---- woken for nothing ------------------------------------------------ */

#define SW_WAITERS 3

Test(bbuf, spurious_wakeup, .description = "waiters woken by broadcasts (as POSIX allows) while their condition is still false go back to sleep: no get() from an empty buffer, no put() into a full one")
{
	static struct bbuf b;
	static struct op get[SW_WAITERS], put[2];
	int rc = 0, got_early = 0, put_early = 0, wrong_items = 0;
	int64_t deadline;
	bool joined = true;

	/* Consumers asleep on an empty buffer. */
	init_or_fail(&b, 2);
	for (int i = 0; i < SW_WAITERS && rc == 0; i++)
		rc = start_op(&get[i], &b, do_get, 0);
	AT_CHECK(rc == 0, "pthread_create failed: %s", strerror(rc));
	deadline = deadline_in(1000);
	for (int i = 0; i < SW_WAITERS; i++)
		call_asleep_by(&get[i].call, deadline);
	broadcast_for_nothing(&b, 5);
	deadline = deadline_in(1000);
	for (int i = 0; i < SW_WAITERS; i++) {
		call_asleep_by(&get[i].call, deadline);
		got_early += atomic_load(&get[i].call.done);
	}
	/* Then real items: each consumer gets one. (Nudged joins: a lost
	 * wake-up is `wakeup`'s to catch, not this test's.) */
	if (!got_early) {
		for (int i = 0; i < SW_WAITERS; i++)
			joined &= call_within_nudging(do_put, &(struct op){ .b = &b, .item = 100 + i }, &b, 1000);
		for (int i = 0; i < SW_WAITERS; i++) {
			joined &= join_nudging(get[i].call.thread, &b, 1000);
			wrong_items += get[i].item < 100 || get[i].item >= 100 + SW_WAITERS;
		}
	}
	/* Producers asleep on a full buffer. */
	if (!got_early && joined) {
		for (int i = 0; i < 2; i++)
			joined &= call_within_nudging(do_put, &(struct op){ .b = &b, .item = 200 + i }, &b, 1000);
		for (int i = 0; i < 2 && rc == 0; i++)
			rc = start_op(&put[i], &b, do_put, 300 + i);
		deadline = deadline_in(1000);
		for (int i = 0; i < 2; i++)
			call_asleep_by(&put[i].call, deadline);
		broadcast_for_nothing(&b, 5);
		deadline = deadline_in(1000);
		for (int i = 0; i < 2; i++) {
			call_asleep_by(&put[i].call, deadline);
			put_early += atomic_load(&put[i].call.done);
		}
	}
	AT_MEASURED("woken for nothing: %d of %d consumers returned from get() on an empty buffer, %d of 2 producers from put() on a full one (0 allowed)",
		    got_early, SW_WAITERS, put_early);
	AT_HINT("wait in `while (condition is false) pthread_cond_wait(...)`, never `if`: a wake-up only means \"look again\" - it can be a broadcast meant for someone else, a spurious wake-up, or another thread may have got there first");
	AT_CHECK(got_early == 0, "%d consumer(s) returned from bbuf_get() though nothing was ever put: woken by a broadcast, they took an item from an empty buffer without looking at the count again", got_early);
	AT_CHECK(joined, "after the real items were put, a get() or put() did not return within 1 s");
	AT_CHECK(wrong_items == 0, "%d consumer(s) got an item that was never put", wrong_items);
	AT_CHECK(put_early == 0, "%d producer(s) returned from bbuf_put() into a full buffer: woken by a broadcast, they wrote over an item without looking at the count again", put_early);
	/* Let the producers finish, then empty the buffer. */
	for (int i = 0; i < 4; i++)
		AT_CHECK(call_within_nudging(do_get, &(struct op){ .b = &b }, &b, 1000), "get() from a full buffer did not return");
	for (int i = 0; i < 2; i++)
		AT_CHECK(join_nudging(put[i].call.thread, &b, 1000), "a producer never returned, though there was room for its item");
	bbuf_destroy(&b);
	AT_END();
}

/* ---- no lost wake-up --------------------------------------------------- */

#define LW_ROUNDS 20

/*
 * Two consumers asleep on an empty buffer; the test puts two items back
 * to back. Both consumers must wake. (The same for two producers asleep on
 * a full buffer.) Signalling only when the buffer was empty wakes one
 * consumer for the first item and none for the second, which waits while
 * a consumer sleeps. The test holds every woken thread (at_cond_hold_*)
 * until both changes are made, so "back to back" holds on every run: the
 * second change never finds the first woken thread already done, and a
 * wake-up that was not sent is missed every time.
 */
/* Two puts (or two gets) back to back, on a helper thread of the test. */
struct two_changes {
	struct bbuf *b;
	bool puts;
};

static void two_changes(void *arg)
{
	struct two_changes *t = arg;

	for (int i = 0; i < 2; i++) {
		if (t->puts)
			bbuf_put(t->b, 20 + i);
		else
			(void)bbuf_get(t->b);
	}
}

static const char *lost_round(bool consumers, int sleep_ms, bool *slept, long *held)
{
	static struct bbuf b;
	static struct op w[2];
	static struct two_changes fill, change;
	int64_t deadline;
	bool ok[2], changed;

	init_or_fail(&b, 2);
	fill = (struct two_changes){ &b, true };
	if (!consumers && !call_within(two_changes, &fill, 1000))
		return "the test's own two puts into an empty buffer";
	for (int i = 0; i < 2; i++)
		if (start_op(&w[i], &b, consumers ? do_get : do_put, 10 + i) != 0)
			return "pthread_create";
	deadline = deadline_in(sleep_ms);
	*slept = true;
	for (int i = 0; i < 2; i++)
		*slept &= call_asleep_by(&w[i].call, deadline);
	/* Two changes back to back, woken threads held until both are made:
	 * each change must have woken a sleeper of its own. */
	change = (struct two_changes){ &b, consumers };
	at_cond_hold_begin(&b.not_empty, &b.not_full);
	changed = call_within(two_changes, &change, 1000);
	at_cond_hold_end();
	if (!changed)
		return consumers ? "the test's two puts" : "the test's two gets";
	for (int i = 0; i < 2; i++)
		ok[i] = at_join_within(w[i].call.thread, 1000);
	*held = count_of(&b);
	if (!ok[0] || !ok[1])
		return consumers ? "consumer" : "producer";
	bbuf_destroy(&b);
	return NULL;
}

Test(bbuf, wakeup, .description = "two items put back to back wake both sleeping consumers (and two gets wake both sleeping producers): no wake-up is lost")
{
	const char *stuck = NULL;
	long held = 0;
	int rounds = 0, sleep_ms = 1000;
	bool slept = true;

	for (; rounds < LW_ROUNDS && !stuck; rounds++) {
		stuck = lost_round(rounds % 2 == 0, sleep_ms, &slept, &held);
		/* Waiters that never sleep (they spin) are idle_waiters' business:
		 * here, stop waiting for them to. */
		if (!slept)
			sleep_ms = 20;
	}
	if (stuck && (strcmp(stuck, "consumer") == 0 || strcmp(stuck, "producer") == 0))
		AT_MEASURED("wake-ups: in round %d of %d a %s slept on for 1 s while the buffer %s (count %ld)",
			    rounds, LW_ROUNDS, stuck, strcmp(stuck, "consumer") == 0 ? "held an item for it" : "had room for it", held);
	else if (stuck)
		AT_MEASURED("wake-ups: in round %d of %d, %s failed", rounds, LW_ROUNDS, stuck);
	else
		AT_MEASURED("wake-ups: in %d rounds, every sleeper woke when its item or its room arrived", LW_ROUNDS);
	AT_HINT("signal after every put and every get, not only when the buffer goes from empty to non-empty (or full to non-full): a second put can come before the first woken consumer has run, and then only one of two sleepers is woken");
	AT_CHECK(!stuck || strcmp(stuck, "pthread_create") != 0, "pthread_create failed");
	AT_CHECK(!stuck || strncmp(stuck, "the test's", 10) != 0, "%s did not return within 1 s", stuck);
	AT_CHECK(!stuck, "a %s was still asleep 1 s after what it waited for arrived (count %ld): its wake-up was lost",
		 stuck ? stuck : "", held);
	AT_END();
}

/* ---- sleeping, not spinning, not polling --------------------------------- */

/*
 * A waiter that sleeps until it is signalled neither runs nor wakes while
 * nothing happens. One that spins (unlock, yield, lock, look again) burns
 * its CPU; one that polls (a timed wait of 10 ms, a short sleep between
 * looks) burns almost nothing, yet wakes up every time its clock runs out
 * (and hides a lost wake-up behind that clock). So, over the idle window:
 * the thread's own CPU clock, and its context switches: voluntary ones,
 * the times it went to sleep again (at_wakeups_of_thread), and involuntary
 * ones, the times the scheduler took the CPU from it: a thread asleep is
 * never preempted, a spinner on a busy machine all the time (while on a
 * quiet one, alone on its CPU, it shows on its CPU clock). 0 of each
 * allowed.
 */
#define IDLE_WATCH_MS 300
#define IDLE_MAX_CPU_MS 30

static double cpu_ms_of(pthread_t t)
{
	clockid_t cid;
	struct timespec ts;

	if (pthread_getcpuclockid(t, &cid) != 0 || clock_gettime(cid, &ts) != 0)
		return -1;
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Involuntary context switches of thread tid of this process, -1 if gone. */
static long preemptions_of(pid_t tid)
{
	char path[64], buf[4096], *p;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	p = strstr(buf, "nonvoluntary_ctxt_switches:");
	return p ? atol(p + strlen("nonvoluntary_ctxt_switches:")) : -1;
}

/* What one waiter did over the window. */
struct idle_look {
	double cpu0, cpu_ms;
	long wake0, wakeups, pre0, preempted;
	pid_t tid;
};

static void idle_begin(struct idle_look *l, struct op *o)
{
	l->tid = atomic_load(&o->call.tid);
	l->cpu0 = cpu_ms_of(o->call.thread);
	l->wake0 = at_wakeups_of_thread(0, l->tid);
	l->pre0 = preemptions_of(l->tid);
}

/* A waiter that returned (it did not wait at all: capacity's and
 * spurious_wakeup's business) has nothing to show here: 0. */
static void idle_end(struct idle_look *l, struct op *o)
{
	long w = at_wakeups_of_thread(0, l->tid), p = preemptions_of(l->tid);
	double cpu = cpu_ms_of(o->call.thread);

	l->cpu_ms = cpu < 0 ? 0 : cpu - l->cpu0;
	l->wakeups = w < 0 || l->wake0 < 0 ? 0 : w - l->wake0;
	l->preempted = p < 0 || l->pre0 < 0 ? 0 : p - l->pre0;
}

Test(bbuf, idle_waiters, .description = "a consumer waiting on an empty buffer and a producer waiting on a full one for 300 ms each neither run (CPU clock) nor wake up (context switches): they sleep until served")
{
	static struct bbuf empty, full;
	static struct op cons, prod;
	struct idle_look c = { 0 }, p = { 0 };
	bool cj, pj, asleep;
	long got_full = -1;
	int64_t deadline;
	int rc;

	init_or_fail(&empty, 1);
	init_or_fail(&full, 1);
	AT_CHECK(call_within(do_put, &(struct op){ .b = &full, .item = 7 }, 1000),
		 "bbuf_put() into an empty buffer of 1 did not return within 1 s");
	rc = start_op(&cons, &empty, do_get, 0);
	if (rc == 0)
		rc = start_op(&prod, &full, do_put, 8);
	AT_CHECK(rc == 0, "pthread_create failed: %s", strerror(rc));
	/* The window starts once both have gone to sleep (a spinner never
	 * does: after the deadline, it is watched spinning). */
	deadline = deadline_in(1000);
	asleep = call_asleep_by(&cons.call, deadline);
	asleep &= call_asleep_by(&prod.call, deadline);
	idle_begin(&c, &cons);
	idle_begin(&p, &prod);
	at_sleep_ms(IDLE_WATCH_MS);
	idle_end(&c, &cons);
	idle_end(&p, &prod);
	/* Now give each what it waits for. */
	cj = call_within(do_put, &(struct op){ .b = &empty, .item = 5 }, 1000) &&
	     at_join_within(cons.call.thread, 1000);
	{
		struct op g = { .b = &full };

		pj = call_within(do_get, &g, 1000) && at_join_within(prod.call.thread, 1000);
		got_full = g.item;
	}
	AT_MEASURED("idle: in %d ms a waiting consumer used %.1f ms of CPU, woke up %ld time(s) and was preempted %ld; a waiting producer %.1f ms, %ld and %ld (%d ms, 0 and 0 allowed)",
		    IDLE_WATCH_MS, c.cpu_ms, c.wakeups, c.preempted, p.cpu_ms, p.wakeups, p.preempted, IDLE_MAX_CPU_MS);
	AT_HINT("a waiter must sleep until another thread signals that its condition may have changed: pthread_cond_wait() in a `while` loop, with no timeout; a loop that unlocks, yields or sleeps briefly and looks again keeps a CPU busy or wakes up for nothing, and a timed wait hides a missing signal behind its clock");
	AT_CHECK(c.cpu_ms < IDLE_MAX_CPU_MS, "the consumer waiting on an empty buffer burned %.0f ms of CPU in %d ms: it spins instead of sleeping",
		 c.cpu_ms, IDLE_WATCH_MS);
	AT_CHECK(p.cpu_ms < IDLE_MAX_CPU_MS, "the producer waiting on a full buffer burned %.0f ms of CPU in %d ms: it spins instead of sleeping",
		 p.cpu_ms, IDLE_WATCH_MS);
	AT_CHECK(c.preempted == 0 && p.preempted == 0, "the %s kept running while it waited: the scheduler took the CPU from it %ld time(s) in %d ms (a thread asleep is never preempted): it spins instead of sleeping",
		 c.preempted ? "consumer" : "producer", c.preempted ? c.preempted : p.preempted, IDLE_WATCH_MS);
	AT_CHECK(asleep, "a waiter never went to sleep within 1 s");
	AT_CHECK(c.wakeups == 0, "the consumer waiting on an empty buffer woke up %ld time(s) in %d ms while nothing was put: it polls (a timed wait, or a sleep between looks) instead of sleeping until signalled",
		 c.wakeups, IDLE_WATCH_MS);
	AT_CHECK(p.wakeups == 0, "the producer waiting on a full buffer woke up %ld time(s) in %d ms while nothing was taken: it polls (a timed wait, or a sleep between looks) instead of sleeping until signalled",
		 p.wakeups, IDLE_WATCH_MS);
	AT_CHECK(cj && cons.item == 5, "the sleeping consumer did not return the item put for it (%s, got %ld)",
		 cj ? "returned" : "still waiting after 1 s", cons.item);
	/* Which item that get() returned is fifo's business: a get() that
	 * reads its slot after unlocking may see the producer's 8 or the 7,
	 * as the race falls, and this verdict must not hang on that. */
	AT_CHECK(pj, "the sleeping producer was not let in when the buffer's one item was taken (still waiting after 1 s; the get() took %ld)",
		 got_full);
	bbuf_destroy(&empty);
	bbuf_destroy(&full);
	AT_END();
}

/* ---- ThreadSanitizer -------------------------------------------------- */


Test(bbuf, race_free_bbuf, .description = "2 producers and 2 consumers through a buffer of 2, run under ThreadSanitizer: no data race")
{
	tsan_check("bbuf", "touch slot, head and count only while holding the buffer's lock: reading the item after unlocking races with the next put() into that slot");
	AT_END();
}

/* ---- AddressSanitizer ------------------------------------------------- */

Test(bbuf, memory_safe_bbuf, .description = "buffers of 1 to 64 slots driven round their ring, a producer and a consumer thread, 50 buffers made and destroyed, under AddressSanitizer: no access outside the slots, no use after free, no leak")
{
	asan_check("asan_bbuf", "ring", "the ring run",
		   "the ring has exactly `capacity` slots, slot[0] .. slot[capacity - 1]: every index must be taken modulo capacity (put at (head + count) % capacity, head moves to (head + 1) % capacity); bbuf_destroy() frees what bbuf_init() allocated, once, and on an error bbuf_init() frees what it had allocated");
	AT_END();
}
