/*
 * Description: lesson 03, part 1 - is the bank safe from many threads?
 * Transfers move money all or nothing, at every account and amount edge;
 * under heavy contention not one update is lost, with the threads seen
 * running at the same instant long enough for a lost update to show;
 * bank_total() sees one instant and a transfer's look at the balance is
 * never stale (deterministic probes that hold a thread before each of its
 * locks: harness/lib/at_lockprobe.h); two opposite transfers never
 * deadlock (a deterministic lock-order probe); and ThreadSanitizer finds
 * no data race.
 */
#include "at_lockprobe.h"
#include "at_test.h"
#include "bank.h"
#include "locks_test.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

TestSuite(bank, .timeout = 40);

/* No transfer has made progress for this long: the threads are stuck. */
#define STUCK_MS 3000

/*
 * bank_destroy(), unless the code under test left a lock held (a refused
 * transfer that returned without unlocking): destroying a held mutex is
 * undefined, and the reference's bank_destroy() stops the process on it.
 * The checks that follow say what went wrong; a left bank leaks a little.
 */
static void destroy_if_free(struct bank *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (pthread_mutex_trylock(&b->acct[i].lock) != 0)
			return;
		must_ok(pthread_mutex_unlock(&b->acct[i].lock), "pthread_mutex_unlock");
	}
	bank_destroy(b);
}

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

/*
 * The edges, on a bank of 64 accounts of 5: the last account and the
 * first, an amount one over the balance, a self-transfer the account
 * cannot cover, and the sum of many accounts.
 */
#define EDGE_ACCOUNTS 64
#define EDGE_INITIAL  5L

struct edges {
	struct bank *b;
	_Atomic int step;
	bool moved[4];
	long bal0, bal63, total;
};

static const char *const edge_call[] = {
	"", "transfer(63 -> 0, 5)", "transfer(0 -> 63, 11)", "transfer(0 -> 63, 10)",
	"transfer(7 -> 7, 6)", "bank_total()",
};

static void edge_steps(void *arg)
{
	static const struct { size_t from, to; long amount; } t[4] = {
		{ 63, 0, 5 }, { 0, 63, 11 }, { 0, 63, 10 }, { 7, 7, 6 },
	};
	struct edges *e = arg;

	for (int i = 0; i < 4; i++) {
		atomic_store(&e->step, i + 1);
		e->moved[i] = transfer(e->b, t[i].from, t[i].to, t[i].amount);
	}
	e->bal0 = e->b->acct[0].balance;
	e->bal63 = e->b->acct[63].balance;
	atomic_store(&e->step, 5);
	e->total = bank_total(e->b);
	atomic_store(&e->step, 6);
}

Test(bank, transfer_basics, .description = "transfer() moves money all or nothing, refuses an overdraft (one unit over too), a transfer to the same account returns; the same at the first and last of 64 accounts, and bank_total() adds them all")
{
	static struct bank b, big;
	static struct basics s;
	static struct edges e;
	int rc = bank_init(&b, 3, 100), step, estep;
	bool done, edone = false;

	AT_CHECK(rc == 0, "bank_init() returned %d (%s), not 0", rc, strerror(rc));
	s = (struct basics){ .b = &b };
	done = call_within(basics_steps, &s, 2000);
	step = atomic_load(&s.step);
	rc = bank_init(&big, EDGE_ACCOUNTS, EDGE_INITIAL);
	AT_CHECK(rc == 0, "bank_init(b, %d, %ld) returned %d (%s), not 0", EDGE_ACCOUNTS, EDGE_INITIAL, rc, strerror(rc));
	if (done) {
		e = (struct edges){ .b = &big };
		edone = call_within(edge_steps, &e, 2000);
	}
	estep = atomic_load(&e.step);
	if (!done)
		AT_MEASURED("transfers: %s never returned (waited 2 s)", basics_call[step]);
	else if (!edone)
		AT_MEASURED("transfers: on a bank of %d, %s never returned (waited 2 s)", EDGE_ACCOUNTS, edge_call[estep]);
	else
		AT_MEASURED("transfers: 0->1 of 30 %s, 2->0 of 150 %s, 2->0 of 100 %s, 1->1 of 50 %s; balances %ld %ld %ld, total %ld; on %d accounts of %ld: 63->0 of 5 %s, 0->63 of 11 %s, 0->63 of 10 %s, 7->7 of 6 %s, total %ld",
			    s.moved[0] ? "moved" : "refused", s.moved[1] ? "moved" : "refused",
			    s.moved[2] ? "moved" : "refused", s.moved[3] ? "moved" : "refused",
			    s.after[3][0], s.after[3][1], s.after[3][2], s.total,
			    EDGE_ACCOUNTS, EDGE_INITIAL, e.moved[0] ? "moved" : "refused", e.moved[1] ? "moved" : "refused",
			    e.moved[2] ? "moved" : "refused", e.moved[3] ? "returned true" : "returned false", e.total);
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
	AT_CHECK(edone, "on a bank of %d accounts, %s never returned: a lock left held, or one account's lock taken twice", EDGE_ACCOUNTS, edge_call[estep]);
	AT_CHECK(e.moved[0] && !e.moved[1] && e.moved[2] && e.bal0 == 0 && e.bal63 == 10,
		 "on %d accounts of %ld: transfer(63 -> 0, 5) should move, transfer(0 -> 63, 11) with 10 in account 0 be refused, transfer(0 -> 63, 10) move; got %s, %s, %s, leaving %ld in account 0 and %ld in account 63 (0 and 10 expected)",
		 EDGE_ACCOUNTS, EDGE_INITIAL, e.moved[0] ? "moved" : "refused", e.moved[1] ? "moved" : "refused",
		 e.moved[2] ? "moved" : "refused", e.bal0, e.bal63);
	AT_CHECK(!e.moved[3], "transfer(7 -> 7, 6) with only 5 in account 7 returned true: a transfer to the same account returns whether the account holds the amount");
	AT_CHECK(e.total == EDGE_ACCOUNTS * EDGE_INITIAL, "bank_total() of %d accounts of %ld says %ld, not %ld",
		 EDGE_ACCOUNTS, EDGE_INITIAL, e.total, EDGE_ACCOUNTS * EDGE_INITIAL);
	bank_destroy(&b);
	bank_destroy(&big);
	AT_END();
}

/* ---- many threads, and proof that they ran at the same instant --------- */

/*
 * A lost update, or two transfers that both take the same money, needs two
 * threads inside transfer() at the same instant, on two CPUs. On a busy
 * machine the workers may share one CPU for most of a run, and a run that
 * happened not to race would let wrong code pass on some runs and fail on
 * others. So the workers prove, as they go, that they really ran at once,
 * and the run lasts until they have proved enough of it (or a cap):
 *
 * between two transfers each worker does a little work of the harness's
 * own (harness_work(), which costs at least work_ns of CPU: measured when
 * the test starts). Every SIM_CHUNK transfers a worker looks at the
 * clocks. A stretch between two looks counts as simultaneous when the
 * worker's own CPU clock fell behind the wall clock by at most
 * SIM_SLACK_NS (it held its CPU nearly all the stretch) while the other
 * workers made so many transfers that their harness work alone needed
 * more than twice that slack of CPU time: they cannot have run on its CPU,
 * so they ran on another, at the same time. The work keeps a correct
 * bank's threads out of each other's locks most of the time, and a worker
 * that does find a lock taken tries again on its CPU for a while before it
 * sleeps (at_lockprobe_spin_waits(), as an adaptive mutex would): a
 * correct bank's brief waits then do not hide its simultaneity.
 *
 * A run that reaches its cap without SIM_NEED_MS of that has shown
 * nothing either way: the machine is judged (at_judge_machine), and the
 * test skips only when other programs held the CPUs; it never passes.
 */
#define CROWD_MAX       8
#define SIM_CHUNK       256
#define SIM_SLACK_NS    5000
#define SIM_NEED_MS     10
#define SIM_CAP_MS      6000     /* no_lost_update's cap */
#define SIM_SHORT_CAP_MS 1000    /* where the race is not the test's subject */
#define WORK_SPINS      400
#define JUDGE_BAR       1.25

struct worker_count {
	_Alignas(64) atomic_long done;   /* transfers made: written by its worker only */
};

struct crowd {
	pthread_t t[CROWD_MAX];
	int n;
	atomic_int gate;          /* workers at the start line */
	atomic_long progress;     /* bumped by the workers as they go */
	atomic_llong proven_ns;   /* simultaneous time proved, all workers */
	int64_t cap_at;           /* no worker goes on past this (at_now_ns) */
	long min_count;           /* transfers each worker makes at least */
	long min_others;          /* the others' transfers that prove a stretch */
	struct worker_count w[CROWD_MAX];
};

/* A worker's view of its current stretch. */
struct stretch {
	int me;
	long i;                   /* transfers made */
	int64_t wall, cpu;        /* at the start of the stretch */
	long others;              /* the other workers' transfers, then */
};

static long others_done(struct crowd *c, int me)
{
	long sum = 0;

	for (int j = 0; j < c->n; j++)
		if (j != me)
			sum += atomic_load_explicit(&c->w[j].done, memory_order_relaxed);
	return sum;
}

/* Clocks first, then the others' counts: what the others do from here on
 * falls inside the stretch the clocks measure. */
static void stretch_begin(struct crowd *c, struct stretch *s)
{
	s->wall = at_now_ns();
	s->cpu = at_thread_cpu_ns();
	s->others = others_done(c, s->me);
}

/* The harness's own work between two transfers. */
static void harness_work(void)
{
	volatile unsigned sink = 0;

	for (unsigned k = 0; k < WORK_SPINS; k++)
		sink += k;
}

/*
 * The least CPU time harness_work() takes here, halved for safety (a
 * worker's CPU may run faster than the test's did). The least of many
 * runs: a run that was preempted only takes longer.
 */
static int64_t work_ns(void)
{
	int64_t best = INT64_MAX;

	for (int r = 0; r < 200; r++) {
		int64_t c0 = at_thread_cpu_ns(), d;

		harness_work();
		d = at_thread_cpu_ns() - c0;
		if (d > 0 && d < best)
			best = d;
	}
	return best == INT64_MAX ? 1 : best / 2 + 1;
}

/* Workers in a crowd: one per usable CPU, 2 to 4. More threads than CPUs
 * would have them preempt each other while holding a lock, and wait. */
static int crowd_size(int most)
{
	int cpus = at_usable_cpus_at_start();

	return cpus < 2 ? 2 : cpus > most ? most : cpus;
}

/* Wait at the start line for every worker, then start the first stretch. */
static void crowd_arrive(struct crowd *c, struct stretch *s, int me)
{
	s->me = me;
	s->i = 0;
	at_lockprobe_spin_waits(true);
	atomic_fetch_add(&c->gate, 1);
	while (atomic_load(&c->gate) < c->n)
		sched_yield();
	stretch_begin(c, s);
}

/*
 * After each transfer. Returns false when the worker is done: it made its
 * minimum and the crowd proved enough simultaneity, or the cap passed.
 */
static bool crowd_step(struct crowd *c, struct stretch *s)
{
	long others;
	int64_t cpu, wall;

	atomic_store_explicit(&c->w[s->me].done, ++s->i, memory_order_relaxed);
	harness_work();
	if (s->i % SIM_CHUNK != 0)
		return true;
	/* The others' counts first, then the clocks: what they did before
	 * this look falls inside the stretch the clocks measured. */
	others = others_done(c, s->me);
	cpu = at_thread_cpu_ns();
	wall = at_now_ns();
	if (cpu - s->cpu >= wall - s->wall - SIM_SLACK_NS && others - s->others >= c->min_others)
		atomic_fetch_add(&c->proven_ns, wall - s->wall);
	atomic_fetch_add(&c->progress, 1);
	if (wall >= c->cap_at ||
	    (s->i >= c->min_count && atomic_load(&c->proven_ns) >= (int64_t)SIM_NEED_MS * AT_NS_PER_MS))
		return false;
	stretch_begin(c, s);
	return true;
}

static int crowd_start(struct crowd *c, int n, long min_count, int cap_ms, void *(*body)(void *), void **args)
{
	int rc;

	c->n = n;
	c->min_count = min_count;
	c->cap_at = at_now_ns() + (int64_t)cap_ms * AT_NS_PER_MS;
	/* Harness work alone of that many transfers needs more than twice
	 * the slack: more than could have run on a worker's CPU meanwhile.
	 * One transfer per other worker may straddle the start. */
	c->min_others = (2 * SIM_SLACK_NS) / work_ns() + 1 + n;
	atomic_store(&c->gate, 0);
	atomic_store(&c->progress, 0);
	atomic_store(&c->proven_ns, 0);
	for (int i = 0; i < CROWD_MAX; i++)
		atomic_store(&c->w[i].done, 0);
	for (int i = 0; i < n; i++) {
		if ((rc = pthread_create(&c->t[i], NULL, body, args[i])) != 0) {
			/* The workers started wait at the gate for all n: let them go. */
			c->n = i;
			return rc;
		}
	}
	return 0;
}

/* Join the workers, watching the progress counter: the run is stuck when
 * it has not moved for STUCK_MS. Returns how many workers finished. */
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

static double crowd_proven_ms(struct crowd *c)
{
	return (double)atomic_load(&c->proven_ns) / AT_NS_PER_MS;
}

/* Did the run prove enough simultaneity? When not, *busy says whether
 * other programs held the CPUs (skip) or not (no excuse), and why says it
 * in words. */
static bool crowd_proved(struct crowd *c, bool *busy, char *why, size_t len)
{
	*busy = false;
	why[0] = '\0';
	if (atomic_load(&c->proven_ns) >= (int64_t)SIM_NEED_MS * AT_NS_PER_MS)
		return true;
	*busy = at_judge_machine(JUDGE_BAR, why, len) == AT_MACHINE_BUSY;
	return false;
}

/* ---- a step made in the middle of another: interruptions ---------------- */

/*
 * Simultaneity is one way for two steps to overlap; being interrupted is
 * the other, and it needs no second CPU. Thread A repeats an operation of
 * the bank; an interleaver thread B, at random moments, sends A a signal.
 * A's handler (where A stands still, wherever the signal found it: half
 * way through a read-modify-write, between a check and its act) waits
 * while B makes a whole operation of its own, then lets A go on. This is
 * the preemption a busy machine makes by chance, made on purpose, over a
 * hundred times a run: a step that reads a balance and writes it back
 * without holding the lock, or checks it before taking the lock, loses B's
 * change whenever the signal lands inside it, on every run, on any number
 * of CPUs. Correct code holds the lock across the step: B's operation then
 * waits for it (A's handler gives up waiting once B has blocked for a
 * little while), and nothing is lost.
 */
#define INJ_SIGNAL       (SIGRTMIN + 4)
#define INJ_WANT         120     /* interruptions: B's operation made while A stood still */
#define INJ_CAP_MS       2000
#define INJ_BLOCKED_NS   (200 * 1000L)    /* B started and is not done: blocked */
#define INJ_HANDLER_NS   (5 * 1000000L)   /* the longest A stands still */

struct inject {
	pthread_t a;
	void (*a_op)(void *arg, long i);   /* A's operation number i */
	void (*b_op)(void *arg, long k);   /* B's operation number k */
	void *arg;
	atomic_bool stop;
	atomic_bool in_handler;   /* A stands still in the handler */
	atomic_bool b_started, b_done;
	atomic_long during;       /* B's operations that finished while A stood still */
	long interruptions, a_ops, b_ops;
	unsigned seed;
};

static struct inject *_Atomic inj_now;

static void inj_nap_ns(long ns)
{
	struct timespec ts = { 0, ns };

	nanosleep(&ts, NULL);
}

/* A's handler: async-signal-safe calls only (clock_gettime, nanosleep). */
static void inj_handler(int sig)
{
	struct inject *in = atomic_load(&inj_now);
	int64_t start = at_now_ns(), b_seen = 0;
	int saved = errno;

	(void)sig;
	if (!in)
		return;
	atomic_store(&in->in_handler, true);
	for (;;) {
		int64_t now = at_now_ns();

		if (atomic_load(&in->b_done))
			break;
		if (atomic_load(&in->b_started) && b_seen == 0)
			b_seen = now;
		if ((b_seen && now - b_seen > INJ_BLOCKED_NS) || now - start > INJ_HANDLER_NS)
			break;
		inj_nap_ns(10000);
	}
	atomic_store(&in->in_handler, false);
	errno = saved;
}

static void *inj_a_body(void *arg)
{
	struct inject *in = arg;
	long i = 0;

	while (!atomic_load(&in->stop))
		in->a_op(in->arg, i++);
	in->a_ops = i;
	return NULL;
}

/* Wait until flag == want, napping; false after limit_ns. */
static bool inj_wait_flag(atomic_bool *flag, bool want, long limit_ns)
{
	int64_t until = at_now_ns() + limit_ns;

	while (atomic_load(flag) != want) {
		if (at_now_ns() >= until)
			return false;
		inj_nap_ns(5000);
	}
	return true;
}

static void *inj_b_body(void *arg)
{
	struct inject *in = arg;
	int64_t cap = at_now_ns() + (int64_t)INJ_CAP_MS * AT_NS_PER_MS;

	while (in->interruptions < INJ_WANT && at_now_ns() < cap) {
		inj_nap_ns(50000 + (long)(rand_r(&in->seed) % 200) * 1000);
		atomic_store(&in->b_done, false);
		atomic_store(&in->b_started, false);
		if (pthread_kill(in->a, INJ_SIGNAL) != 0)
			break;
		if (!inj_wait_flag(&in->in_handler, true, 20 * 1000000L))
			continue;
		atomic_store(&in->b_started, true);
		in->b_op(in->arg, in->b_ops++);
		/* Finished while A still stood still, or only once A went on
		 * (B waited for a lock A held, as it must)? */
		if (atomic_load(&in->in_handler))
			atomic_fetch_add(&in->during, 1);
		atomic_store(&in->b_done, true);
		in->interruptions++;
		/* The next signal must find A out of this handler. */
		inj_wait_flag(&in->in_handler, false, 1000L * 1000000L);
	}
	atomic_store(&in->stop, true);
	return NULL;
}

/*
 * Run A and B until B made INJ_WANT operations while A stood still (or
 * INJ_CAP_MS passed; B's operation may also block, and finish once A has
 * gone on, as it must when A holds a lock it needs). False when a thread could not be started or did not
 * end within `stuck_ms` of the cap (the code under test stuck).
 */
static bool inject_run(struct inject *in, int stuck_ms)
{
	struct sigaction sa;
	pthread_t b;
	bool ok;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = inj_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(INJ_SIGNAL, &sa, NULL) != 0)
		return false;
	atomic_store(&in->stop, false);
	atomic_store(&in->in_handler, false);
	atomic_store(&in->during, 0);
	in->interruptions = in->a_ops = in->b_ops = 0;
	atomic_store(&inj_now, in);
	if (pthread_create(&in->a, NULL, inj_a_body, in) != 0)
		return false;
	if (pthread_create(&b, NULL, inj_b_body, in) != 0) {
		atomic_store(&in->stop, true);
		return false;
	}
	ok = at_join_within(b, INJ_CAP_MS + stuck_ms);
	atomic_store(&in->stop, true);
	ok &= at_join_within(in->a, stuck_ms);
	if (ok)
		atomic_store(&inj_now, NULL);
	return ok;
}

/* ---- no lost update ----------------------------------------------------- */

/*
 * Every thread's transfers are fixed in advance (transfer number i of
 * thread t always goes the same way), so the final balances are known from
 * how many each thread did, whatever the order they ran in: addition does
 * not care. Two accounts make the contention as heavy as it gets: every
 * transfer touches both.
 */
#define LU_THREADS    4        /* at most; one per usable CPU */
#define LU_ACCOUNTS   2
#define LU_MIN_COUNT  20000    /* transfers per thread, at least */
#define LU_INITIAL    1000000000L

struct lu_job {
	struct bank *b;
	struct crowd *c;
	int id;
	long done, refused;
};

static size_t lu_from(int id, long i) { return (size_t)((i + id) % LU_ACCOUNTS); }
static size_t lu_to(int id, long i)   { return (lu_from(id, i) + 1 + (size_t)(i >> 3) % (LU_ACCOUNTS - 1)) % LU_ACCOUNTS; }
static long lu_amount(long i)         { return 1 + (i & 3); }

static void *lu_worker(void *arg)
{
	struct lu_job *j = arg;
	struct stretch s;

	crowd_arrive(j->c, &s, j->id);
	do {
		if (!transfer(j->b, lu_from(j->id, s.i), lu_to(j->id, s.i), lu_amount(s.i)))
			j->refused++;
	} while (crowd_step(j->c, &s));
	j->done = s.i;
	return NULL;
}

/* Where the balances must be after the transfers each job made. */
static void lu_expected(const struct lu_job *job, int n, long *want, long *count, long *refused)
{
	for (int a = 0; a < LU_ACCOUNTS; a++)
		want[a] = LU_INITIAL;
	*count = *refused = 0;
	for (int t = 0; t < n; t++) {
		for (long i = 0; i < job[t].done; i++) {
			want[lu_from(t, i)] -= lu_amount(i);
			want[lu_to(t, i)] += lu_amount(i);
		}
		*count += job[t].done;
		*refused += job[t].refused;
	}
}

/* The interrupted phase: A and B both move 1 from account 0 to 1. */
struct lu_inject {
	struct bank b;
	long a_moved, b_moved;
};

static void lu_inject_a(void *arg, long i)
{
	struct lu_inject *x = arg;

	(void)i;
	x->a_moved += transfer(&x->b, 0, 1, 1);
}

static void lu_inject_b(void *arg, long k)
{
	struct lu_inject *x = arg;

	(void)k;
	x->b_moved += transfer(&x->b, 0, 1, 1);
}

/* What the interrupted phase found. */
struct lu_interrupted {
	bool ran;                 /* the threads started and ended */
	long ops, during, interruptions;
	long bal[2], want[2];
};

static void lu_interrupted_phase(struct lu_interrupted *r)
{
	static struct lu_inject x;
	static struct inject in;

	*r = (struct lu_interrupted){ 0 };
	x = (struct lu_inject){ 0 };
	if (bank_init(&x.b, 2, LU_INITIAL) != 0)
		return;
	in = (struct inject){ .a_op = lu_inject_a, .b_op = lu_inject_b, .arg = &x, .seed = 7 };
	r->ran = inject_run(&in, STUCK_MS);
	if (!r->ran)
		return;
	r->ops = x.a_moved + x.b_moved;
	r->during = atomic_load(&in.during);
	r->interruptions = in.interruptions;
	r->bal[0] = x.b.acct[0].balance;
	r->bal[1] = x.b.acct[1].balance;
	r->want[0] = LU_INITIAL - r->ops;
	r->want[1] = LU_INITIAL + r->ops;
	destroy_if_free(&x.b);
}

/* The parallel phase: what the crowd found. */
struct lu_parallel {
	int n, joined, rc, exact;
	long off, total, refused, count;
};

static void lu_parallel_phase(struct crowd *c, struct lu_parallel *r)
{
	static struct lu_job job[LU_THREADS];
	static struct bank b;
	void *args[LU_THREADS];
	long want[LU_ACCOUNTS];

	*r = (struct lu_parallel){ .n = crowd_size(LU_THREADS) };
	/* On one CPU no two threads ever run at the same instant: nothing
	 * to look for (the verdict is then a skip, with that reason). */
	if (at_usable_cpus_at_start() < 2) {
		r->joined = r->n;
		r->exact = LU_ACCOUNTS;
		return;
	}
	if ((r->rc = bank_init(&b, LU_ACCOUNTS, LU_INITIAL)) != 0)
		return;
	for (int t = 0; t < r->n; t++) {
		job[t] = (struct lu_job){ &b, c, t, 0, 0 };
		args[t] = &job[t];
	}
	r->rc = crowd_start(c, r->n, LU_MIN_COUNT, SIM_CAP_MS, lu_worker, args);
	r->joined = crowd_join(c);
	if (r->joined < r->n || r->rc != 0)
		return;
	lu_expected(job, r->n, want, &r->count, &r->refused);
	for (int a = 0; a < LU_ACCOUNTS; a++) {
		r->exact += b.acct[a].balance == want[a];
		r->off += labs(b.acct[a].balance - want[a]);
		r->total += b.acct[a].balance;
	}
	destroy_if_free(&b);
}

Test(bank, no_lost_update, .description = "transfers interrupted half way by other transfers, then 2 to 4 threads (one per CPU) hammering 2 accounts until they were seen running at the same instant for a while: every balance ends exactly where the transfers add up to")
{
	static struct crowd c;
	struct lu_interrupted in;
	struct lu_parallel par = { .exact = LU_ACCOUNTS };
	bool lost_in = false, proved = false, busy = false;
	char why[400] = "";

	lu_interrupted_phase(&in);
	lost_in = in.ran && (in.bal[0] != in.want[0] || in.bal[1] != in.want[1]);
	if (in.ran && !lost_in) {
		lu_parallel_phase(&c, &par);
		if (par.rc == 0 && par.joined == par.n && par.exact == LU_ACCOUNTS && par.refused == 0)
			proved = crowd_proved(&c, &busy, why, sizeof(why));
	}
	if (!in.ran)
		AT_MEASURED("stuck: transfers interrupted by other transfers did not end within %d s", STUCK_MS / 1000);
	else if (lost_in)
		AT_MEASURED("lost updates: %ld transfers of 1 from account 0 to 1, %ld of them made while another transfer stood interrupted (%ld interruptions); the balances are %ld / %ld, not %ld / %ld",
			    in.ops, in.during, in.interruptions, in.bal[0], in.bal[1], in.want[0], in.want[1]);
	else if (par.rc != 0 || par.joined < par.n)
		AT_MEASURED("stuck: %d of %d threads finished; the others made no progress for %d s",
			    par.joined, par.n, STUCK_MS / 1000);
	else
		AT_MEASURED("lost updates: none in %ld transfers made while another stood interrupted; then %d of %d balances exact after %ld transfers from %d threads (seen running at the same instant for %.0f ms, %d needed), %ld units off",
			    in.during, par.exact, LU_ACCOUNTS, par.count, par.n, crowd_proven_ms(&c), SIM_NEED_MS, par.off);
	AT_HINT("`balance -= amount` is three steps (load, subtract, store): a thread stopped between them, or running beside another, can store over a change made meanwhile, and that update vanishes. Make every step of a transfer one critical section (both accounts' locks held), or one atomic operation");
	AT_CHECK(in.ran, "transfers interrupted by other transfers never ended: a lock left held, or two transfers each holding what the other waits for");
	AT_CHECK(!lost_in, "updates were lost: a transfer stopped half way (as the scheduler may stop any thread) while another transfer ran, then wrote back a balance it had read before: account 0 holds %ld, not %ld",
		 in.bal[0], in.want[0]);
	AT_CHECK(par.rc == 0, "pthread_create failed: %s", strerror(par.rc));
	AT_CHECK(par.joined == par.n, "the transfers stopped making progress: %d thread(s) stuck for %d s, waiting for locks nobody releases (two transfers each holding what the other waits for, or a lock left held)",
		 par.n - par.joined, STUCK_MS / 1000);
	AT_CHECK(par.refused == 0, "%ld transfer(s) were refused though every account held a billion", par.refused);
	AT_CHECK(par.exact == LU_ACCOUNTS, "%d of %d balances are wrong, %ld units off in all: updates were lost (two threads changed a balance at the same instant and one change overwrote the other)",
		 LU_ACCOUNTS - par.exact, LU_ACCOUNTS, par.off);
	if (!proved && busy)
		AT_SKIP("no update was lost, but one that only two threads at the same instant can lose needs them seen so for %d ms, and this run could not show that in %d s: %s",
			SIM_NEED_MS, SIM_CAP_MS / 1000, why);
	AT_CHECK(proved, "in %d s the transfer threads were seen running at the same instant for only %.0f ms (%d needed), though the machine could run two threads at once (%s): no update was lost, but nothing showed that none could be. Does transfer() sleep, or keep the other threads waiting for long?",
		 SIM_CAP_MS / 1000, crowd_proven_ms(&c), SIM_NEED_MS, why);
	AT_END();
}

/* ---- the sum at one instant: a deterministic probe ---------------------- */

/* Which account's lock is m, or -1. */
static int account_of(struct bank *b, pthread_mutex_t *m)
{
	for (size_t i = 0; i < b->n; i++)
		if (&b->acct[i].lock == m)
			return (int)i;
	return -1;
}

/* bank_total() on a helper thread, held before its k-th lock (0: never). */
struct probed_total {
	struct bank *b;
	struct at_lockprobe probe;
	int pause_at;
	long total;
};

static void probed_total_body(void *arg)
{
	struct probed_total *p = arg;

	at_lockprobe_arm(&p->probe, p->pause_at);
	p->total = bank_total(p->b);
	at_lockprobe_disarm();
}

/* transfer() on a helper thread. */
struct one_transfer {
	struct bank *b;
	size_t from, to;
	long amount;
	bool moved;
	struct call call;
};

static void one_transfer_body(void *arg)
{
	struct one_transfer *t = arg;

	t->moved = transfer(t->b, t->from, t->to, t->amount);
}

/* How long the test waits for a thread it started to finish or block. */
#define PROBE_WAIT_MS 300
#define PROBE_MAX_CALLS 16

/*
 * One round: bank_total() is held before its k-th lock call. If by then it
 * has asked for some account r's lock (it looked at r, or holds it), and
 * not yet for account u's, a transfer of 100 from u to r runs: it finishes
 * if bank_total() holds neither lock, or blocks, as it must when
 * bank_total() still holds r. Then bank_total() goes on. Whatever its
 * design, it must return the money in the bank: a sum that let go of r
 * before reading u counts the 100 twice or not at all.
 */
struct total_round {
	long total;               /* what bank_total() returned (or -1) */
	int r, u;                 /* the accounts of the transfer; -1: none made */
	bool moved_during;        /* the transfer finished while bank_total() was held */
	bool returned;
};

static void total_round(struct bank *b, int k, struct total_round *out)
{
	static struct probed_total p;
	static struct one_transfer t;
	static struct call c;    /* static: a late thread must not write into a gone frame */
	int asked[PROBE_MAX_CALLS], na = 0, held;
	bool in[64] = { false };

	*out = (struct total_round){ .total = -1, .r = -1, .u = -1 };
	p = (struct probed_total){ .b = b, .pause_at = k };
	if (call_start(&c, probed_total_body, &p) != 0)
		return;
	if (at_lockprobe_paused_by(&p.probe, deadline_in(1000))) {
		held = at_lockprobe_calls(&p.probe);
		for (int i = 0; i < held - 1 && i < PROBE_MAX_CALLS; i++) {
			int a = account_of(b, atomic_load(&p.probe.seen[i]));

			if (a >= 0 && !in[a]) {
				in[a] = true;
				asked[na++] = a;
			}
		}
		out->r = na > 0 ? asked[0] : -1;
		/* u: the account asked for now, if it is one not asked for yet,
		 * else the first such account. */
		out->u = account_of(b, atomic_load(&p.probe.seen[held - 1]));
		if (out->u >= 0 && in[out->u])
			out->u = -1;
		for (int a = 0; a < (int)b->n && out->u < 0; a++)
			if (!in[a])
				out->u = a;
		if (out->r >= 0 && out->u >= 0) {
			t = (struct one_transfer){ .b = b, .from = (size_t)out->u, .to = (size_t)out->r, .amount = 100 };
			if (call_start(&t.call, one_transfer_body, &t) == 0) {
				call_asleep_by(&t.call, deadline_in(PROBE_WAIT_MS));
				out->moved_during = atomic_load(&t.call.done);
			} else {
				out->r = out->u = -1;
			}
		} else {
			out->r = out->u = -1;
		}
	}
	at_lockprobe_release(&p.probe);
	out->returned = at_join_within(c.thread, 2000);
	if (out->r >= 0)
		out->returned &= at_join_within(t.call.thread, 2000);
	if (out->returned)
		out->total = p.total;
}

#define TP_ACCOUNTS 6
#define TP_INITIAL  1000L

/*
 * Every k from 1 to the number of lock calls one bank_total() makes (seen
 * in a first, unheld call). Returns the first round that went wrong (its
 * k), 0 when none did, -1 when the calls did not return.
 */
static int total_probe(struct total_round *bad, int *rounds)
{
	static struct bank b;
	static struct probed_total first;
	int calls;

	*rounds = 0;
	if (bank_init(&b, TP_ACCOUNTS, TP_INITIAL) != 0)
		return -1;
	first = (struct probed_total){ .b = &b, .pause_at = 0 };
	if (!call_within(probed_total_body, &first, 2000))
		return -1;
	calls = at_lockprobe_calls(&first.probe);
	*rounds = calls;
	for (int k = 1; k <= calls && k <= PROBE_MAX_CALLS; k++) {
		total_round(&b, k, bad);
		if (!bad->returned)
			return -1;
		if (bad->total != TP_ACCOUNTS * TP_INITIAL)
			return k;
	}
	destroy_if_free(&b);
	return 0;
}

/* ---- bank_total() while transfers run ----------------------------------- */

#define TC_ACCOUNTS  6

/*
 * The interrupted phase: A moves money out of account 0 into the others;
 * B, while A stands interrupted, moves money out of account 0 too. A
 * transfer that writes back a balance of account 0 it read before B's
 * change loses that change for good, and the sum afterwards shows it.
 * (B does not add up the bank meanwhile: a sum that reads without locks
 * would see a transfer half done only if A stood still at one particular
 * instruction, on some runs; race_free_bank catches that read every time.)
 */
#define TCI_INITIAL 1000000000L

struct tc_inject {
	struct bank b;
};

static void tc_inject_a(void *arg, long i)
{
	struct tc_inject *x = arg;

	transfer(&x->b, 0, 1 + (size_t)(i % (TC_ACCOUNTS - 1)), 1 + i % 100);
}

static void tc_inject_b(void *arg, long k)
{
	struct tc_inject *x = arg;

	transfer(&x->b, 0, 1 + (size_t)(k % (TC_ACCOUNTS - 1)), 7);
}

struct tc_interrupted {
	bool ran;
	long final_total, interruptions;
};

static void tc_interrupted_phase(struct tc_interrupted *r)
{
	static struct tc_inject x;
	static struct inject in;

	*r = (struct tc_interrupted){ 0 };
	x = (struct tc_inject){ 0 };
	if (bank_init(&x.b, TC_ACCOUNTS, TCI_INITIAL) != 0)
		return;
	in = (struct inject){ .a_op = tc_inject_a, .b_op = tc_inject_b, .arg = &x, .seed = 11 };
	r->ran = inject_run(&in, STUCK_MS);
	if (!r->ran)
		return;
	r->interruptions = in.interruptions;
	r->final_total = bank_total(&x.b);
	destroy_if_free(&x.b);
}

Test(bank, total_consistent, .description = "bank_total() held before each of its locks while a transfer runs: it always sees the bank at one instant; and transfers interrupted half way by others keep the total")
{
	struct total_round bad = { 0 };
	struct tc_interrupted in = { .ran = true, .final_total = TC_ACCOUNTS * TCI_INITIAL };
	int probe_at, rounds;

	probe_at = total_probe(&bad, &rounds);
	if (probe_at == 0)
		tc_interrupted_phase(&in);
	if (probe_at < 0)
		AT_MEASURED("stuck: bank_total() or a transfer beside it did not return within 2 s");
	else if (probe_at > 0)
		AT_MEASURED("snapshot: bank_total(), held before its lock call %d of %d, had already looked at account %d and not at %d; a transfer of 100 from %d to %d %s meanwhile, and the total came out %ld (%ld in the bank)",
			    probe_at, rounds, bad.r, bad.u, bad.u, bad.r, bad.moved_during ? "went through" : "waited",
			    bad.total, TP_ACCOUNTS * TP_INITIAL);
	else if (!in.ran)
		AT_MEASURED("stuck: transfers interrupted half way by other transfers did not end within %d s", STUCK_MS / 1000);
	else
		AT_MEASURED("snapshots: right whichever of its %d lock calls bank_total() was held at; after %ld transfers made while another stood interrupted, the bank holds %ld (%ld expected)",
			    rounds, in.interruptions, in.final_total, TC_ACCOUNTS * TCI_INITIAL);
	AT_HINT("bank_total() must see every balance at one instant: hold every account's lock at the same time while you add up (taken in an order that cannot deadlock with transfer()), then release them all. Locking one account at a time lets money move from an account you have not read yet into one you have already read");
	AT_CHECK(probe_at >= 0, "bank_total() or a transfer() beside it did not return within 2 s: a lock left held, or locks taken in an order that deadlocks");
	AT_CHECK(probe_at == 0, "bank_total() returned %ld while the bank held %ld: it let go of account %d (or never held it) before it looked at account %d, and a transfer between the two came in between: the sum mixes two instants",
		 bad.total, TP_ACCOUNTS * TP_INITIAL, bad.r, bad.u);
	AT_CHECK(in.ran, "transfers interrupted half way by other transfers never ended: a lock left held, or two transfers each holding what the other waits for");
	AT_CHECK(in.final_total == TC_ACCOUNTS * TCI_INITIAL, "after transfers interrupted half way by others, the bank holds %ld, not %ld: a transfer wrote back a balance it had read before another changed it (money lost or made)",
		 in.final_total, TC_ACCOUNTS * TCI_INITIAL);
	AT_END();
}

/* ---- no overdraft ------------------------------------------------------- */

/*
 * The probe: account 0 holds 10. Thread A's transfer(0 -> 1, 10) is held
 * before its k-th lock call; meanwhile a second transfer(0 -> 1, 10) runs
 * (and finishes, or blocks, as it must when A holds account 0). Then A
 * goes on. Exactly one of the two may move the money, for every k: a look
 * at the balance made before the lock is stale by the time A acts on it.
 */
struct probed_transfer {
	struct bank *b;
	struct at_lockprobe probe;
	int pause_at;
	bool moved;
};

static void probed_transfer_body(void *arg)
{
	struct probed_transfer *p = arg;

	at_lockprobe_arm(&p->probe, p->pause_at);
	p->moved = transfer(p->b, 0, 1, 10);
	at_lockprobe_disarm();
}

struct od_round {
	bool returned;
	bool moved_a, moved_b, b_during;
	long bal[2];
};

static void overdraft_round(int k, struct od_round *out)
{
	static struct bank b;
	static struct probed_transfer a;
	static struct one_transfer t;
	static struct call c;    /* static: a late thread must not write into a gone frame */

	*out = (struct od_round){ 0 };
	if (bank_init(&b, 2, 10) != 0)
		return;
	b.acct[1].balance = 0;
	a = (struct probed_transfer){ .b = &b, .pause_at = k };
	if (call_start(&c, probed_transfer_body, &a) != 0)
		return;
	t = (struct one_transfer){ .b = &b, .from = 0, .to = 1, .amount = 10 };
	if (at_lockprobe_paused_by(&a.probe, deadline_in(1000)) && call_start(&t.call, one_transfer_body, &t) == 0) {
		call_asleep_by(&t.call, deadline_in(PROBE_WAIT_MS));
		out->b_during = atomic_load(&t.call.done);
		at_lockprobe_release(&a.probe);
		out->returned = at_join_within(c.thread, 2000) && at_join_within(t.call.thread, 2000);
	} else {
		at_lockprobe_release(&a.probe);
		out->returned = at_join_within(c.thread, 2000);
		t.moved = false;
	}
	out->moved_a = a.moved;
	out->moved_b = t.moved;
	out->bal[0] = b.acct[0].balance;
	out->bal[1] = b.acct[1].balance;
	if (out->returned)
		destroy_if_free(&b);
}

/* Every k up to the lock calls of one transfer. The first bad round's k,
 * 0 when none, -1 when a call did not return. */
static int overdraft_probe(struct od_round *bad, int *rounds)
{
	static struct bank b;
	static struct probed_transfer first;
	int calls;

	*rounds = 0;
	if (bank_init(&b, 2, 10) != 0)
		return -1;
	first = (struct probed_transfer){ .b = &b, .pause_at = 0 };
	if (!call_within(probed_transfer_body, &first, 2000))
		return -1;
	calls = at_lockprobe_calls(&first.probe);
	*rounds = calls;
	destroy_if_free(&b);
	for (int k = 1; k <= calls && k <= PROBE_MAX_CALLS; k++) {
		overdraft_round(k, bad);
		if (!bad->returned)
			return -1;
		if (bad->bal[0] != 0 || bad->bal[1] != 10 || bad->moved_a + bad->moved_b != 1)
			return k;
	}
	return 0;
}

/* The stress: two accounts of 10 and transfers of 10, so every transfer
 * empties its source, and 4 threads fight over the same two locks. */
#define OD_THREADS   4        /* at most; one per usable CPU */
#define OD_ACCOUNTS  2
#define OD_MIN_COUNT 20000   /* transfers per thread, at least */
#define OD_INITIAL   10L

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

/*
 * The interrupted phase: the bank holds 10, in account 0 or 1. A moves it
 * back and forth, 10 at a time, and looks at both balances (under both
 * locks) every 8 tries; B, while A stands interrupted, moves it too. A
 * transfer that looked at the balance before it locked, or writes back
 * what it read, makes money (or a debt) out of B's move.
 */
struct od_inject {
	struct bank b;
	long lowest, looks, wrong_totals, first_total;
};

/* Both balances at one instant, as any thread may look: both locks held,
 * account 0's first. */
static void both_balances(struct bank *b, long *v0, long *v1)
{
	*v0 = *v1 = 0;
	if (pthread_mutex_lock(&b->acct[0].lock) != 0)
		return;
	if (pthread_mutex_lock(&b->acct[1].lock) == 0) {
		*v0 = b->acct[0].balance;
		*v1 = b->acct[1].balance;
		must_ok(pthread_mutex_unlock(&b->acct[1].lock), "pthread_mutex_unlock");
	}
	must_ok(pthread_mutex_unlock(&b->acct[0].lock), "pthread_mutex_unlock");
}

static void od_inject_a(void *arg, long i)
{
	struct od_inject *x = arg;
	long v0, v1;

	transfer(&x->b, (size_t)(i % 2), (size_t)(1 - i % 2), OD_INITIAL);
	/* A look every 8 transfers: a wrong total stays wrong, and the
	 * signals land in the transfers, where the window is, most of the time. */
	if (i % 8 != 7)
		return;
	both_balances(&x->b, &v0, &v1);
	x->looks++;
	if (v0 < x->lowest)
		x->lowest = v0;
	if (v1 < x->lowest)
		x->lowest = v1;
	if (v0 + v1 != OD_INITIAL && x->wrong_totals++ == 0)
		x->first_total = v0 + v1;
}

/* B moves the 10 from wherever it is: out of the account A, if it stands
 * half way through a transfer, has just seen holding it. */
static void od_inject_b(void *arg, long k)
{
	struct od_inject *x = arg;

	(void)k;
	if (!transfer(&x->b, 0, 1, OD_INITIAL))
		transfer(&x->b, 1, 0, OD_INITIAL);
}

struct od_interrupted {
	bool ran;
	long lowest, looks, total, interruptions, wrong_totals, first_total;
};

static void od_interrupted_phase(struct od_interrupted *r)
{
	static struct od_inject x;
	static struct inject in;

	*r = (struct od_interrupted){ 0 };
	x = (struct od_inject){ 0 };
	if (bank_init(&x.b, 2, OD_INITIAL) != 0)
		return;
	x.b.acct[1].balance = 0;
	in = (struct inject){ .a_op = od_inject_a, .b_op = od_inject_b, .arg = &x, .seed = 13 };
	r->ran = inject_run(&in, STUCK_MS);
	if (!r->ran)
		return;
	r->lowest = x.lowest;
	r->looks = x.looks;
	r->interruptions = in.interruptions;
	r->wrong_totals = x.wrong_totals;
	r->first_total = x.first_total;
	r->total = x.b.acct[0].balance + x.b.acct[1].balance;
	if (x.b.acct[0].balance < r->lowest)
		r->lowest = x.b.acct[0].balance;
	if (x.b.acct[1].balance < r->lowest)
		r->lowest = x.b.acct[1].balance;
	destroy_if_free(&x.b);
}

struct od_job {
	struct bank *b;
	struct crowd *c;
	int id;
	unsigned seed;
	long looks, lowest;
};

static void *od_worker(void *arg)
{
	struct od_job *j = arg;
	struct stretch s;

	crowd_arrive(j->c, &s, j->id);
	do {
		size_t from = (size_t)rand_r(&j->seed) % OD_ACCOUNTS;
		size_t to = (from + 1 + (size_t)rand_r(&j->seed) % (OD_ACCOUNTS - 1)) % OD_ACCOUNTS;
		long v;

		/* The whole balance, or nothing: two threads race for it. */
		transfer(j->b, from, to, OD_INITIAL);
		v = balance_of(j->b, from);
		j->looks++;
		if (v < j->lowest)
			j->lowest = v;
	} while (crowd_step(j->c, &s));
	return NULL;
}

struct od_stress {
	int rc, joined;
	long lowest, looks, total;
};

static void overdraft_stress(struct crowd *c, int n, struct od_stress *r)
{
	static struct od_job job[OD_THREADS];
	static struct bank b;
	void *args[OD_THREADS];

	*r = (struct od_stress){ .joined = n, .total = OD_ACCOUNTS * OD_INITIAL };
	/* On one CPU the threads never race at the same instant: the probe
	 * and the interrupted phase have said all there is to say. */
	if (at_usable_cpus_at_start() < 2)
		return;
	r->joined = 0;
	r->total = 0;
	if ((r->rc = bank_init(&b, OD_ACCOUNTS, OD_INITIAL)) != 0)
		return;
	for (int t = 0; t < n; t++) {
		job[t] = (struct od_job){ &b, c, t, 31u * (unsigned)t + 5, 0, 0 };
		args[t] = &job[t];
	}
	r->rc = crowd_start(c, n, OD_MIN_COUNT, SIM_SHORT_CAP_MS, od_worker, args);
	r->joined = crowd_join(c);
	if (r->joined < n || r->rc != 0)
		return;
	for (int t = 0; t < n; t++) {
		r->looks += job[t].looks;
		if (job[t].lowest < r->lowest)
			r->lowest = job[t].lowest;
	}
	for (int i = 0; i < OD_ACCOUNTS; i++) {
		r->total += b.acct[i].balance;
		if (b.acct[i].balance < r->lowest)
			r->lowest = b.acct[i].balance;
	}
	destroy_if_free(&b);
}

Test(bank, never_overdrawn, .description = "a transfer held before each of its locks while another takes the same money, transfers interrupted half way by others, then 2 to 4 threads racing for whole balances: no balance ever goes below zero, no money appears or vanishes")
{
	static struct crowd c;
	struct od_round bad = { 0 };
	int n = crowd_size(OD_THREADS), probe_at, rounds;
	struct od_interrupted in = { .ran = true, .total = OD_INITIAL };
	struct od_stress st = { .joined = n, .total = OD_ACCOUNTS * OD_INITIAL };
	bool in_bad;

	probe_at = overdraft_probe(&bad, &rounds);
	if (probe_at == 0)
		od_interrupted_phase(&in);
	in_bad = in.lowest < 0 || in.total != OD_INITIAL || in.wrong_totals > 0;
	if (probe_at == 0 && in.ran && !in_bad)
		overdraft_stress(&c, n, &st);
	if (probe_at < 0)
		AT_MEASURED("stuck: a transfer held before one of its locks, or the one beside it, did not return within 2 s");
	else if (probe_at > 0)
		AT_MEASURED("overdraft: account 0 held 10; transfer(0 -> 1, 10) held before its lock call %d of %d while another transfer(0 -> 1, 10) %s: they moved %s, leaving %ld / %ld (0 / 10 expected)",
			    probe_at, rounds, bad.b_during ? "went through" : "waited",
			    bad.moved_a && bad.moved_b ? "twice" : !bad.moved_a && !bad.moved_b ? "nothing" : "once",
			    bad.bal[0], bad.bal[1]);
	else if (!in.ran)
		AT_MEASURED("stuck: transfers interrupted half way by other transfers did not end within %d s", STUCK_MS / 1000);
	else if (in_bad)
		AT_MEASURED("overdrafts: 10 moved back and forth by transfers of 10, %ld of them made while another stood interrupted: lowest balance seen %ld; %ld of %ld looks saw the bank hold other than %ld (the first: %ld), and it ends with %ld",
			    in.interruptions, in.lowest, in.wrong_totals, in.looks, OD_INITIAL, in.first_total, in.total);
	else if (st.rc == 0 && st.joined == n)
		AT_MEASURED("overdrafts: none whichever of its %d lock calls a transfer was held at, nor in %ld transfers made while another stood interrupted; then lowest balance seen %ld in %ld looks while %d threads raced (seen at the same instant for %.0f ms); the bank holds %ld (%ld expected)",
			    rounds, in.interruptions, st.lowest, st.looks, n, crowd_proven_ms(&c), st.total, OD_ACCOUNTS * OD_INITIAL);
	else
		AT_MEASURED("stuck: %d of %d threads finished; the others made no progress for %d s",
			    st.joined, n, STUCK_MS / 1000);
	AT_HINT("look at the balance and change it in one critical section, after taking the locks: a look made before locking (or under a lock let go of before the change) can be stale by the time you act on it (check-then-act)");
	AT_CHECK(probe_at >= 0, "a transfer did not return within 2 s: a lock left held, or locks taken in an order that deadlocks");
	AT_CHECK(probe_at == 0 || !(bad.moved_a && bad.moved_b),
		 "both transfers of the whole balance went through, leaving %ld in account 0: the second one looked at the balance before it locked (or between two locks), and acted on what it saw after the money was gone",
		 bad.bal[0]);
	AT_CHECK(probe_at == 0, "account 0 held 10 and two transfers of 10 from it ended with %ld / %ld and %s moved (exactly one must move)",
		 bad.bal[0], bad.bal[1], bad.moved_a && bad.moved_b ? "both" : !bad.moved_a && !bad.moved_b ? "neither" : "one");
	AT_CHECK(in.ran, "transfers interrupted half way by other transfers never ended: a lock left held, or two transfers each holding what the other waits for");
	AT_CHECK(in.lowest >= 0, "a balance went down to %ld: a transfer stopped half way (as the scheduler may stop any thread) while another moved the money, then took it too", in.lowest);
	AT_CHECK(in.wrong_totals == 0 && in.total == OD_INITIAL, "the bank held %ld, not %ld: a transfer stopped half way while another moved the money, then wrote back a balance it had read before (money made or lost)",
		 in.wrong_totals ? in.first_total : in.total, OD_INITIAL);
	AT_CHECK(st.rc == 0, "pthread_create failed: %s", strerror(st.rc));
	AT_CHECK(st.joined == n, "the transfers stopped making progress: %d thread(s) stuck for %d s, waiting for locks nobody releases (a refused transfer must unlock too)",
		 n - st.joined, STUCK_MS / 1000);
	AT_CHECK(st.lowest >= 0, "a balance went down to %ld: two transfers both saw enough money and both took it", st.lowest);
	AT_CHECK(st.total == OD_ACCOUNTS * OD_INITIAL, "the bank holds %ld, not %ld: money appeared or vanished (two threads changed a balance at once)",
		 st.total, OD_ACCOUNTS * OD_INITIAL);
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
	AT_HINT("a transfer must never sleep waiting for one account's lock while it holds another's that a transfer going the other way may have taken first: take the locks in one order for every transfer, whichever way the money goes (the lower-numbered account first, say), or, if the second lock is busy, let go of the first and try again");
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
