/*
 * Description: lesson 03, part 2 - the bounded buffer. Producers stop at
 * the capacity; every item comes out exactly once and in order with
 * several producers and consumers; a waiter that is woken for nothing
 * (a broadcast, as POSIX allows) waits again; no wake-up is lost; a
 * blocked waiter burns almost no CPU (thread CPU clock); and
 * ThreadSanitizer finds no data race.
 */
#include "at_test.h"
#include "bbuf.h"
#include "locks_test.h"

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

/* ---- many producers, many consumers ------------------------------------ */

#define MP_CAPACITY  3
#define MP_PRODUCERS 3
#define MP_CONSUMERS 3
#define MP_ITEMS     20000  /* each */

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

Test(bbuf, fifo, .description = "3 producers and 3 consumers pass 60,000 items through a buffer of 3: each item comes out exactly once, each producer's items in order, and the buffer never holds more than 3")
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

/* ---- sleeping, not spinning ------------------------------------------- */

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

Test(bbuf, idle_waiters, .description = "a consumer waiting on an empty buffer and a producer waiting on a full one for 300 ms each use almost no CPU (they sleep, they do not spin)")
{
	static struct bbuf empty, full;
	static struct op cons, prod;
	double c0, p0, c_used, p_used;
	bool cj, pj;
	long got_full = -1;
	int rc;

	init_or_fail(&empty, 1);
	init_or_fail(&full, 1);
	AT_CHECK(call_within(do_put, &(struct op){ .b = &full, .item = 7 }, 1000),
		 "bbuf_put() into an empty buffer of 1 did not return within 1 s");
	rc = start_op(&cons, &empty, do_get, 0);
	if (rc == 0)
		rc = start_op(&prod, &full, do_put, 8);
	AT_CHECK(rc == 0, "pthread_create failed: %s", strerror(rc));
	while (!atomic_load(&cons.call.started) || !atomic_load(&prod.call.started))
		usleep(100);
	/* The threads' own CPU clocks: they advance only while the thread
	 * runs on a CPU. Sleeping costs nothing; spinning costs all of it. */
	c0 = cpu_ms_of(cons.call.thread);
	p0 = cpu_ms_of(prod.call.thread);
	at_sleep_ms(IDLE_WATCH_MS);
	c_used = cpu_ms_of(cons.call.thread) - c0;
	p_used = cpu_ms_of(prod.call.thread) - p0;
	/* Now give each what it waits for. */
	cj = call_within(do_put, &(struct op){ .b = &empty, .item = 5 }, 1000) &&
	     at_join_within(cons.call.thread, 1000);
	{
		struct op g = { .b = &full };

		pj = call_within(do_get, &g, 1000) && at_join_within(prod.call.thread, 1000);
		got_full = g.item;
	}
	AT_MEASURED("idle: a waiting consumer used %.1f ms of CPU in %d ms, a waiting producer %.1f ms (%d ms each at most)",
		    c_used, IDLE_WATCH_MS, p_used, IDLE_MAX_CPU_MS);
	AT_HINT("wait with pthread_cond_wait(), which puts the thread to sleep until it is signalled; a loop that unlocks, yields or sleeps briefly and looks again keeps a CPU busy doing nothing");
	AT_CHECK(c_used < IDLE_MAX_CPU_MS, "the consumer waiting on an empty buffer burned %.0f ms of CPU in %d ms: it spins instead of sleeping",
		 c_used, IDLE_WATCH_MS);
	AT_CHECK(p_used < IDLE_MAX_CPU_MS, "the producer waiting on a full buffer burned %.0f ms of CPU in %d ms: it spins instead of sleeping",
		 p_used, IDLE_WATCH_MS);
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
