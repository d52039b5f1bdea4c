/*
 * Description: lesson 08 - is the chunked map/reduce right (the sequential
 * result, every element mapped once, any n, thread count and chunk size up
 * to SIZE_MAX), are static chunks one contiguous balanced chunk per thread,
 * are all threads working at once (latch, 4 and 16 threads), at the same
 * instant (the ping-pong witness inside map(), and the CPU time the
 * threads spent inside map() outrunning the wall clock) and faster than
 * the harness's own sequential loop (speedup), does each thread keep its
 * total on a cache line of its own, and do dynamic chunks spread skewed
 * work evenly where static ones do not?
 *
 * The harness owns the job: its map() records which thread mapped which
 * element, how much work that was and how much CPU time the thread spent
 * inside map(); its fold() notes the cache line of every accumulator a
 * thread adds into. Whose CPU time? Only the time spent in the harness's
 * own map() counts: a thread of the code under test that spins beside the
 * work adds nothing. Compare with
 * harness/02-threads/test_threads.c, which hands whole tasks to threads.
 */
#include "at_count.h"
#include "at_driver.h"
#include "at_latch.h"
#include "at_sanreport.h"
#include "at_test.h"
#include "at_witness.h"
#include "chunks.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LATCH_TIMEOUT_MS 1000
#define MAX_SLOTS        64   /* threads the probe tells apart */
#define MAX_LINES        8    /* accumulator cache lines noted per thread */

TestSuite(chunks, .timeout = 40);

/* ---- the probe: a job that watches how it is run ---------------------- */

enum work { WORK_NONE, WORK_UNIFORM, WORK_SKEWED };

/* One per thread that touched the job; written only by that thread. */
struct slot {
	_Alignas(64) pid_t tid;
	long mapped;              /* elements this thread mapped */
	long cost;                /* work units they cost */
	int nlines;
	uintptr_t line[MAX_LINES];
	int more_lines;           /* lines beyond MAX_LINES */
	/* With P.clock_map: */
	int64_t map_cpu_ns;       /* this thread's CPU time inside map() */
	int64_t first_ns, last_ns;/* wall clock at its first map(), after its last */
	uint64_t cpus;            /* CPUs it was allowed on (the first 64) */
};

struct probe {
	long *in;
	size_t n;
	enum work work;
	int spin;                  /* WORK_UNIFORM: loop iterations per element */
	size_t skew_end;           /* WORK_SKEWED: elements [0, skew_end) are dear */
	struct at_latch *latch;    /* each thread's first element waits here */
	bool clock_map;            /* time each map() on the thread's CPU clock */
	struct at_pingpong *pp;    /* the first two threads' first map() plays it */
	atomic_int sides;          /* sides of pp handed out */
	atomic_int *visits;        /* per element: times mapped */
	_Atomic pid_t *who;        /* per element: the thread that mapped it */
	pthread_mutex_t mu;
	int nslots, overflow;
	unsigned gen;              /* a new run: threads register again */
	struct slot slot[MAX_SLOTS];
};

static struct probe P;
static __thread unsigned my_gen;
static __thread struct slot *my_slot;
static _Atomic unsigned next_gen = 1;

/* This thread's slot in the current run (registered on first use). */
static struct slot *slot_of_self(bool *first)
{
	*first = false;
	if (my_gen == P.gen && my_slot)
		return my_slot;
	*first = true;
	my_gen = P.gen;
	my_slot = NULL;
	/* Registration happens once per thread and run: a lock is fine. */
	if (pthread_mutex_lock(&P.mu) != 0)
		return NULL;
	if (P.nslots < MAX_SLOTS) {
		my_slot = &P.slot[P.nslots++];
		memset(my_slot, 0, sizeof(*my_slot));
		my_slot->tid = at_gettid();
	} else {
		P.overflow++;
	}
	pthread_mutex_unlock(&P.mu);
	return my_slot;
}

static volatile unsigned long spin_sink;

static long value_of(long x)
{
	return (x * 7 + 3) % 1009;
}

/* The CPUs the calling thread may run on (the first 64), as a mask. */
static uint64_t allowed_cpus(void)
{
	cpu_set_t set;
	uint64_t m = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 0;
	for (int c = 0; c < 64 && c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			m |= 1ULL << c;
	return m;
}

/* A thread's first element: the latch, the witness, the clocks. */
static void first_element(struct probe *p, struct slot *s)
{
	if (p->latch)
		at_latch_task(p->latch);
	if (p->pp) {
		int side = atomic_fetch_add(&p->sides, 1);

		if (side < 2)
			at_pingpong_play(p->pp, side);
	}
	if (p->clock_map) {
		s->cpus = allowed_cpus();
		s->first_ns = at_now_ns();
	}
}

/* The harness's map(): the value, plus the bookkeeping and the work. */
static long probe_map(long x, void *arg)
{
	struct probe *p = arg;
	bool first;
	struct slot *s = slot_of_self(&first);
	long cost = 1;
	int64_t c0 = 0;

	/* A thread's first element: wait until all threads are working. */
	if (s && s->mapped == 0)
		first_element(p, s);
	if (s && p->clock_map)
		c0 = at_thread_cpu_ns();
	if (x >= 0 && (size_t)x < p->n) {
		atomic_fetch_add_explicit(&p->visits[x], 1, memory_order_relaxed);
		atomic_store_explicit(&p->who[x], at_gettid(), memory_order_relaxed);
	}
	if (p->work == WORK_UNIFORM) {
		unsigned long h = (unsigned long)x;

		for (int i = 0; i < p->spin; i++)
			h = h * 6364136223846793005UL + 1442695040888963407UL;
		spin_sink = h;
	} else if (p->work == WORK_SKEWED && (size_t)x < p->skew_end) {
		/* A dear element: it waits a little (like a slow lookup), so
		 * that even on one CPU another thread gets to run meanwhile. */
		struct timespec ts = { 0, 40 * 1000 };

		nanosleep(&ts, NULL);
		cost = 20;
	}
	if (s) {
		s->mapped++;
		s->cost += cost;
		if (p->clock_map) {
			s->map_cpu_ns += at_thread_cpu_ns() - c0;
			s->last_ns = at_now_ns();
		}
	}
	return value_of(x);
}

/* The harness's fold(): +, noting which cache line the thread added into. */
static void probe_fold(long *acc, long y, void *arg)
{
	bool first;
	struct slot *s = slot_of_self(&first);
	uintptr_t line = (uintptr_t)acc / 64;

	(void)arg;
	*acc += y;
	if (!s)
		return;
	for (int i = 0; i < s->nlines; i++)
		if (s->line[i] == line)
			return;
	if (s->nlines < MAX_LINES)
		s->line[s->nlines++] = line;
	else
		s->more_lines++;
}

/* Make a fresh probe over in[i] = i. */
static void probe_setup(size_t n, enum work work, struct at_latch *latch)
{
	static bool mu_ready;

	free(P.in);
	free(P.visits);
	free(P.who);
	if (!mu_ready) {
		cr_assert(pthread_mutex_init(&P.mu, NULL) == 0);
		mu_ready = true;
	}
	P.n = n;
	P.work = work;
	P.spin = 4000;
	P.skew_end = n / 4;
	P.latch = latch;
	P.clock_map = false;
	P.pp = NULL;
	atomic_store(&P.sides, 0);
	P.in = malloc((n ? n : 1) * sizeof(*P.in));
	P.visits = calloc(n ? n : 1, sizeof(*P.visits));
	P.who = calloc(n ? n : 1, sizeof(*P.who));
	cr_assert(P.in && P.visits && P.who);
	for (size_t i = 0; i < n; i++)
		P.in[i] = (long)i;
	P.nslots = P.overflow = 0;
	P.gen = atomic_fetch_add(&next_gen, 1);
}

/* Start a new run on the same array (threads register again). */
static void probe_rerun(struct at_latch *latch)
{
	for (size_t i = 0; i < P.n; i++) {
		atomic_store(&P.visits[i], 0);
		atomic_store(&P.who[i], 0);
	}
	P.latch = latch;
	atomic_store(&P.sides, 0);
	P.nslots = P.overflow = 0;
	P.gen = atomic_fetch_add(&next_gen, 1);
}

static struct job probe_job(void)
{
	return (struct job){ P.in, P.n, probe_map, probe_fold, 0, &P };
}

static long sequential_result(size_t n)
{
	long acc = 0;

	for (size_t i = 0; i < n; i++)
		acc += value_of((long)i);
	return acc;
}

/* Elements mapped other than exactly once; the first such index in *first. */
static size_t bad_visits(long *first)
{
	size_t bad = 0;

	*first = -1;
	for (size_t i = 0; i < P.n; i++)
		if (atomic_load(&P.visits[i]) != 1 && bad++ == 0)
			*first = (long)i;
	return bad;
}

/* Threads that mapped at least one element. */
static int working_threads(void)
{
	int w = 0;

	for (int i = 0; i < P.nslots; i++)
		if (P.slot[i].mapped > 0)
			w++;
	return w;
}

typedef int (*runner_fn)(const struct job *job, int threads, size_t chunk, long *result);

static int run_static(const struct job *job, int threads, size_t chunk, long *result)
{
	(void)chunk;
	return dp_static(job, threads, result);
}

static int run_dynamic(const struct job *job, int threads, size_t chunk, long *result)
{
	return dp_dynamic(job, threads, chunk, result);
}

/* ---- results ------------------------------------------------------------ */

struct shape {
	size_t n;
	int threads;
	size_t chunk;
};

/*
 * Run every shape; say in `what` the first that went wrong. Returns the
 * number of shapes that were wrong; *rc gets the first non-zero return.
 */
static int check_shapes(runner_fn run, const struct shape *sh, int count,
			char *what, size_t len, int *rc)
{
	int wrong = 0;

	*rc = 0;
	what[0] = '\0';
	for (int k = 0; k < count; k++) {
		struct job job;
		long result = -12345, first;
		size_t bad;
		int r;

		probe_setup(sh[k].n, WORK_NONE, NULL);
		job = probe_job();
		r = run(&job, sh[k].threads, sh[k].chunk, &result);
		if (r != 0) {
			if (*rc == 0)
				*rc = r;
			wrong++;
			continue;
		}
		bad = bad_visits(&first);
		if (result == sequential_result(sh[k].n) && bad == 0)
			continue;
		if (wrong++ == 0) {
			if (bad)
				snprintf(what, len, "n = %zu, %d threads: %zu element(s) mapped %s once (the first: element %ld, %d times)",
					 sh[k].n, sh[k].threads, bad, "not exactly", first, atomic_load(&P.visits[first]));
			else
				snprintf(what, len, "n = %zu, %d threads: result %ld, the sequential loop gives %ld",
					 sh[k].n, sh[k].threads, result, sequential_result(sh[k].n));
			if (run == run_dynamic) {
				char more[64];

				if (sh[k].chunk == SIZE_MAX)
					snprintf(more, sizeof(more), " (chunk SIZE_MAX)");
				else if (sh[k].chunk > SIZE_MAX / 2)
					snprintf(more, sizeof(more), " (chunk SIZE_MAX/2 + %zu)", sh[k].chunk - SIZE_MAX / 2);
				else
					snprintf(more, sizeof(more), " (chunk %zu)", sh[k].chunk);
				strncat(what, more, len - strlen(what) - 1);
			}
		}
	}
	return wrong;
}

Test(chunks, static_result, .description = "dp_static() gives the sequential result, each element mapped once, for any n and thread count")
{
	static const struct shape sh[] = {
		{ 1000, 1, 0 }, { 1000, 2, 0 }, { 1000, 3, 0 }, { 1001, 4, 0 }, { 1003, 7, 0 },
		{ 10, 3, 0 }, { 3, 4, 0 }, { 1, 2, 0 }, { 0, 3, 0 }, { 97, 8, 0 },
		{ 1000, 16, 0 }, { 5, 64, 0 }, { 64, 64, 0 },
	};
	int count = (int)(sizeof(sh) / sizeof(sh[0])), rc, zero, negative, wrong;
	char what[300];
	long r = 0;
	struct job job;

	wrong = check_shapes(run_static, sh, count, what, sizeof(what), &rc);
	probe_setup(10, WORK_NONE, NULL);
	job = probe_job();
	zero = dp_static(&job, 0, &r);
	negative = dp_static(&job, -1, &r);
	AT_MEASURED("results: %d of %d shapes right (n from 0 to 1003, 1 to 64 threads, n not divisible by the thread count, n smaller than it)", count - wrong, count);
	AT_HINT("thread t of T starts at t*(n/T) + min(t, n%%T) and takes n/T elements, plus one when t < n%%T; a thread with nothing to do is fine (n < T)");
	AT_CHECK_RC(rc, "dp_static()");
	AT_CHECK(wrong == 0, "%d of %d shapes wrong; the first: %s", wrong, count, what);
	AT_CHECK(zero == EINVAL && negative == EINVAL, "dp_static(job, 0 threads) returned %d and dp_static(job, -1 threads) %d: both must be EINVAL (%d)",
		 zero, negative, EINVAL);
	AT_END();
}

/* The lengths of runs of elements mapped by one thread, in array order. */
static int runs_of_who(size_t *len, int max)
{
	int runs = 0;

	for (size_t i = 0; i < P.n; i++) {
		if (i == 0 || atomic_load(&P.who[i]) != atomic_load(&P.who[i - 1])) {
			if (runs == max)
				return runs + 1;
			len[runs++] = 0;
		}
		len[runs - 1]++;
	}
	return runs;
}

#define MAX_RUNS 80

/*
 * One contiguous chunk per thread, the sizes differing by at most one:
 * min(n, T) runs of consecutive elements, each mapped by a thread of its
 * own, each n/T or n/T + 1 long (n%T of the longer kind). Which chunks are
 * the longer ones is the code's choice (4, 3, 3 or 3, 3, 4).
 */
static bool one_chunk_each(size_t n, size_t T, const size_t *len, int runs)
{
	size_t want = n < T ? n : T, longer = 0;

	if (runs != (int)want || working_threads() != (int)want)
		return false;
	for (int t = 0; t < runs; t++) {
		if (len[t] == n / T + 1)
			longer++;
		else if (len[t] != n / T)
			return false;
	}
	return longer == n % T;
}

Test(chunks, static_chunks, .description = "dp_static() gives each thread one contiguous chunk, the sizes differing by at most one (1 to 16 threads)")
{
	static const struct shape sh[] = {
		{ 1000, 3, 0 }, { 10, 3, 0 }, { 4003, 4, 0 }, { 100, 1, 0 }, { 1001, 16, 0 }, { 3, 5, 0 }, { 17, 6, 0 },
	};
	int count = (int)(sizeof(sh) / sizeof(sh[0])), wrong = 0, rc = 0;
	char what[300] = "";

	for (int k = 0; k < count; k++) {
		size_t len[MAX_RUNS], n = sh[k].n, T = (size_t)sh[k].threads;
		struct job job;
		long result;
		int runs, r;

		probe_setup(n, WORK_NONE, NULL);
		job = probe_job();
		r = dp_static(&job, sh[k].threads, &result);
		if (r != 0) {
			rc = rc ? rc : r;
			wrong++;
			continue;
		}
		runs = runs_of_who(len, MAX_RUNS);
		if (!one_chunk_each(n, T, len, runs) && wrong++ == 0) {
			int off = snprintf(what, sizeof(what), "n = %zu on %zu threads: %d thread(s) worked, in %d run(s) of", n, T, working_threads(), runs);

			for (int i = 0; i < runs && i < 6 && off < (int)sizeof(what); i++)
				off += snprintf(what + off, sizeof(what) - (size_t)off, " %zu", len[i]);
			if (off < (int)sizeof(what))
				snprintf(what + off, sizeof(what) - (size_t)off, "%s elements (expected %zu runs of %zu or %zu, one per thread)",
					 runs > 6 ? " ..." : "", n < T ? n : T, n / T, n / T + 1);
		}
	}
	AT_MEASURED("chunks: %d of %d runs (1 to 16 threads, n smaller than the thread count once) split into one contiguous chunk per thread, sizes within one element",
		    count - wrong, count);
	AT_HINT("static chunking: thread t takes elements [start_t, start_t + len_t) and nothing else; every thread gets n/T or n/T + 1 elements (n = 10, T = 3: 4, 3, 3), and all T threads get work when n >= T, whatever T is");
	AT_CHECK_RC(rc, "dp_static()");
	AT_CHECK(wrong == 0, "%s", what);
	AT_END();
}

/* ---- concurrency: all threads working at once ----------------------------- */

/*
 * The latch holds each thread's first element until all are working: with
 * 4 threads, then with 16 (more than any cap a program might set itself,
 * such as the number of CPUs or 8).
 */
static void overlap_test(runner_fn run, const char *name, size_t chunk)
{
	static const int threads[] = { 4, 16 };
	int rc = 0, max[2] = { 0 }, working[2] = { 0 }, bad = -1;

	for (int k = 0; k < 2 && rc == 0; k++) {
		struct at_latch latch;
		struct job job;
		long result = -1;

		cr_assert(at_latch_init(&latch, threads[k], LATCH_TIMEOUT_MS, false) == 0);
		probe_setup(4000, WORK_UNIFORM, &latch);
		P.spin = 200;
		job = probe_job();
		rc = run(&job, threads[k], chunk, &result);
		max[k] = at_latch_max_in_flight(&latch);
		working[k] = working_threads();
		at_latch_destroy(&latch);
		if (rc == 0 && max[k] < threads[k] && bad < 0)
			bad = k;
		/* No check of the result here: a racy claim that collides now
		 * and then would make this verdict hang on luck. Results are
		 * checked by static_result and dynamic_result, races by
		 * race_free. */
		(void)result;
	}
	AT_MEASURED("overlap: %d of 4 and %d of 16 threads were working on the array at once (all needed); %d and %d thread(s) mapped elements",
		    max[0], max[1], working[0], working[1]);
	AT_HINT("start all the threads before joining any, as many as asked (no cap of your own); and every thread must get work: the first element each thread maps waits until all of them are working");
	AT_CHECK_RC(rc, name);
	AT_CHECK(bad < 0, "with %d threads, only %d were ever working at once: %s", bad >= 0 ? threads[bad] : 0, bad >= 0 ? max[bad] : 0,
		 bad >= 0 && working[bad] < threads[bad] ? "some threads got no elements at all (were they all started?)" : "the threads ran one after another");
	AT_END();
}

Test(chunks, static_overlap, .description = "the threads of dp_static() are all working on the array at the same time (4 and 16 threads)")
{
	overlap_test(run_static, "dp_static()", 0);
}

/* ---- false sharing ---------------------------------------------------- */

Test(chunks, private_totals, .description = "each thread adds into a total of its own, on a cache line no other thread writes")
{
	static const char *names[2] = { "dp_static()", "dp_dynamic()" };
	runner_fn run[2] = { run_static, run_dynamic };
	char what[300] = "";
	int rc = 0, shared = 0, threads_seen = 0;

	for (int k = 0; k < 2; k++) {
		struct job job;
		long result;
		int r;

		probe_setup(4000, WORK_NONE, NULL);
		job = probe_job();
		r = run[k](&job, 4, 64, &result);
		if (r != 0) {
			rc = rc ? rc : r;
			continue;
		}
		threads_seen += working_threads();
		for (int a = 0; a < P.nslots; a++)
			for (int b = a + 1; b < P.nslots; b++)
				for (int i = 0; i < P.slot[a].nlines; i++)
					for (int j = 0; j < P.slot[b].nlines; j++)
						if (P.slot[a].line[i] == P.slot[b].line[j] && shared++ == 0)
							snprintf(what, sizeof(what), "in %s, two threads added into accumulators on the same 64-byte cache line (address %#lx): every addition by one steals the line from the other",
								 names[k], (unsigned long)(P.slot[a].line[i] * 64));
	}
	AT_MEASURED("false sharing: %d cache line(s) written by more than one thread's accumulator (0 allowed), over 2 runs of 4 threads", shared);
	AT_HINT("keep each thread's running total in a local variable of the thread, or in a per-thread struct aligned to 64 bytes (_Alignas(64)); a plain array long total[T] puts 8 totals on one cache line");
	AT_CHECK_RC(rc, "dp_static()/dp_dynamic()");
	AT_CHECK(threads_seen >= 2, "only %d thread(s) did any work: nothing to compare", threads_seen);
	AT_CHECK(shared == 0, "%s", what);
	AT_END();
}

/* ---- parallelism: whose CPU time, and against whose baseline ----------- */

/*
 * Process CPU time counts every thread, so a thread of the code under test
 * that spins beside sequential work would "prove" parallelism, and a
 * speedup over the code's own one-thread run can be faked by slowing that
 * run. So the harness measures only what happened inside its own map():
 * each thread's CPU clock read on entry and exit, the wall clock of its
 * first and last element, the CPUs it was allowed on; and it times its own
 * sequential loop as the baseline.
 */

#define UNIFORM_N    4000
#define UNIFORM_SPIN 32000  /* LCG steps per element: ~0.2 s in all on one CPU */
#define PAR_BAR      1.5    /* CPU inside map() over wall time */
#define SPEEDUP_BAR  1.4    /* the harness's sequential loop over 2 threads */

/* What one run of dp_static() on uniform work showed, from inside map(). */
struct par_run {
	int rc;
	double wall_s;       /* the dp_static() call, wall clock */
	double map_cpu_s;    /* CPU time spent inside map(), all threads */
	int working;         /* threads that mapped elements */
	int cpus;            /* CPUs those threads were allowed on, together */
	double overlap;      /* how much the two busiest threads' spans overlapped, 0..1 */
	size_t bad_visits;   /* elements not mapped exactly once */
};

/* The two threads that mapped most: how much their [first, last] spans
 * overlap, as a part of the time both spans cover together. */
static double spans_overlap(void)
{
	int a = -1, b = -1;
	int64_t lo, hi, from, to;

	for (int i = 0; i < P.nslots; i++) {
		if (a < 0 || P.slot[i].mapped > P.slot[a].mapped) {
			b = a;
			a = i;
		} else if (b < 0 || P.slot[i].mapped > P.slot[b].mapped) {
			b = i;
		}
	}
	if (a < 0 || b < 0 || P.slot[b].mapped == 0)
		return 0;
	lo = P.slot[a].first_ns < P.slot[b].first_ns ? P.slot[a].first_ns : P.slot[b].first_ns;
	hi = P.slot[a].last_ns > P.slot[b].last_ns ? P.slot[a].last_ns : P.slot[b].last_ns;
	from = P.slot[a].first_ns > P.slot[b].first_ns ? P.slot[a].first_ns : P.slot[b].first_ns;
	to = P.slot[a].last_ns < P.slot[b].last_ns ? P.slot[a].last_ns : P.slot[b].last_ns;
	return hi > lo && to > from ? (double)(to - from) / (double)(hi - lo) : 0;
}

/* dp_static() on 2 threads over the uniform probe, watched from map(). */
static struct par_run timed_run(void)
{
	struct par_run r = { 0 };
	struct job job = probe_job();
	uint64_t mask = 0;
	int64_t cpu = 0, t0;
	long result = -1, first;

	probe_rerun(NULL);
	P.clock_map = true;
	t0 = at_now_ns();
	r.rc = dp_static(&job, 2, &result);
	r.wall_s = (double)(at_now_ns() - t0) / 1e9;
	P.clock_map = false;
	for (int i = 0; i < P.nslots; i++) {
		if (P.slot[i].mapped == 0)
			continue;
		r.working++;
		cpu += P.slot[i].map_cpu_ns;
		mask |= P.slot[i].cpus;
	}
	r.map_cpu_s = (double)cpu / 1e9;
	r.cpus = __builtin_popcountll(mask);
	r.overlap = spans_overlap();
	r.bad_visits = bad_visits(&first);
	return r;
}

/*
 * The sequential loop of chunks.h, run by the harness on this thread over
 * the same probe (same map(), same clocks): the CPU time it needs. CPU
 * time, not wall time: waiting for a busy CPU does not count in it, so
 * load slows the run under test but never lengthens the baseline, and a
 * sequential run cannot reach the bar by luck.
 */
static double baseline_cpu_s(void)
{
	struct job job = probe_job();
	long acc = job.identity;
	int64_t c0;

	probe_rerun(NULL);
	P.clock_map = true;
	c0 = at_thread_cpu_ns();
	for (size_t i = 0; i < job.n; i++)
		job.fold(&acc, job.map(job.in[i], job.arg), job.arg);
	P.clock_map = false;
	spin_sink = (unsigned long)acc;
	return (double)(at_thread_cpu_ns() - c0) / 1e9;
}

/*
 * What no load explains, so a failure on a quiet machine stays a failure
 * on a busy one: one thread did all the work, the threads were allowed on
 * a single CPU, their work hardly overlapped in time (one after the
 * other), or an element was not mapped exactly once. Writes the sentence
 * and returns true when the run shows one of these.
 */
static bool never_parallel(const struct par_run *r, char *why, size_t len)
{
	if (r->working < 2)
		snprintf(why, len, "only %d thread mapped elements: one thread did all the work", r->working);
	else if (r->cpus == 1)
		snprintf(why, len, "the threads that mapped elements were all allowed on one single CPU (an affinity of the code's own): they could never compute at the same instant");
	else if (r->overlap < 0.25)
		snprintf(why, len, "the two threads' work overlapped for only %.0f%% of its time: they mapped their chunks one after the other",
			 r->overlap * 100);
	else if (r->bad_visits)
		snprintf(why, len, "%zu element(s) were not mapped exactly once: that run's time says nothing", r->bad_visits);
	else
		return false;
	return true;
}

/* The witness inside map(): the first element of each of 2 threads plays
 * one side of the ping-pong. */
static int witness_in_map(char *why, size_t len, int *rc)
{
	static struct at_pingpong pp;
	struct at_pingpong_result res;
	struct job job;
	long result;

	probe_setup(1000, WORK_NONE, NULL);
	at_pingpong_init(&pp, AT_PINGPONG_ROUNDS, AT_PINGPONG_TIMEOUT_MS);
	P.pp = &pp;
	job = probe_job();
	*rc = dp_static(&job, 2, &result);
	P.pp = NULL;
	res = at_pingpong_result(&pp);
	if (*rc == 0 && working_threads() < 2) {
		/* The witness would say its sides never overlapped; the
		 * plainer truth is that one thread did everything. */
		snprintf(why, len, "only %d thread mapped elements: one thread did all the work", working_threads());
		return AT_NO;
	}
	return at_pingpong_verdict(&res, why, len);
}

Test(chunks, parallel, .description = "on two CPUs, two threads of dp_static() compute at the same instant: the witness inside map(), and the CPU time spent inside map() outrunning the wall clock")
{
	struct par_run best = { 0 }, r;
	char why[600] = "", witness[400] = "";
	int rc = 0, v, tries = 0;

	at_require_cpus(2);
	/* First the witness: no load turns "one after the other" into a pass,
	 * and only a machine shown to be busy turns a slow one into a skip. */
	v = witness_in_map(witness, sizeof(witness), &rc);
	if (v == AT_YES && rc == 0) {
		probe_setup(UNIFORM_N, WORK_UNIFORM, NULL);
		P.spin = UNIFORM_SPIN;
		v = AT_NO;
		/* Then the work itself: up to 3 rounds of 4 runs, a moment
		 * apart, as the machine's load comes and goes. After a round
		 * that falls short, ask the machine: busy (with this code
		 * idle) means no verdict, a skip; only three rounds short,
		 * each on a machine shown free, fail. */
		for (int round = 0; round < 3 && v == AT_NO && rc == 0; round++) {
			char m[400];

			if (round > 0)
				at_sleep_ms(200);
			for (int i = 0; i < 4 && v == AT_NO && rc == 0; i++, tries++) {
				r = timed_run();
				rc = r.rc;
				if (tries == 0 || r.map_cpu_s / r.wall_s > best.map_cpu_s / best.wall_s)
					best = r;
				if (r.bad_visits == 0 && r.map_cpu_s / r.wall_s >= PAR_BAR)
					v = AT_YES;
			}
			if (v != AT_NO || rc != 0 || never_parallel(&best, why, sizeof(why)))
				break;
			if (at_judge_machine(PAR_BAR, m, sizeof(m)) == AT_MACHINE_BUSY)
				v = AT_SKIP;
			snprintf(why, sizeof(why), "best of %d runs: %.2f s of CPU inside map() in %.2f s of wall time (%.2fx); %s",
				 tries, best.map_cpu_s, best.wall_s, best.map_cpu_s / best.wall_s, m);
		}
	} else {
		snprintf(why, sizeof(why), "%s", witness);
	}
	if (rc != 0)
		AT_MEASURED("parallel: nothing measured, dp_static() returned %d", rc);
	else if (tries == 0)
		AT_MEASURED("parallel: the witness inside map(): %s", witness);
	else
		AT_MEASURED("parallel: witness inside map(): yes; %.2f s of CPU inside map() in %.2f s of wall time: %.2fx (%.2f needed), %d thread(s) mapped",
			    best.map_cpu_s, best.wall_s, best.map_cpu_s / best.wall_s, PAR_BAR, best.working);
	AT_HINT("both threads must compute at the same time, each on its own chunk: start them all before joining any, no lock around the work, no affinity of your own; only the CPU time spent inside map() counts, so a thread that spins beside the work adds nothing");
	AT_CHECK_RC(rc, "dp_static()");
	if (v == AT_SKIP)
		AT_SKIP("%s", why);
	AT_CHECK(v == AT_YES, "the threads of dp_static() did not compute at the same instant: %s", why);
	AT_END();
}

Test(chunks, speedup, .description = "on two CPUs, two threads of dp_static() finish uniform work well before the harness's own sequential loop does")
{
	double base = 1e9, wall = 1e9;
	struct par_run r = { 0 }, fastest = { 0 };
	char why[600] = "";
	int rc = 0, pairs = 0, never = 0;
	bool verdict = false, skip = false, definite = false;

	at_require_cpus(2);
	probe_setup(UNIFORM_N, WORK_UNIFORM, NULL);
	P.spin = UNIFORM_SPIN;
	/* Interleaved, best of each: the baseline is the least CPU time the
	 * harness's loop needed, the run the least wall time dp_static()
	 * needed. Up to 3 rounds of 4 pairs, at least 2 pairs; a mistake no
	 * load explains, seen on the first two runs, ends it at once. After
	 * a round that falls short, the machine is asked, as in `parallel`:
	 * busy means a skip; only three rounds short on a free machine fail. */
	for (int round = 0; round < 3 && !verdict && !definite && !skip && rc == 0; round++) {
		char m[400];

		if (round > 0)
			at_sleep_ms(200);
		for (int i = 0; i < 4 && !verdict && !definite && rc == 0; i++, pairs++) {
			double b = baseline_cpu_s();

			r = timed_run();
			rc = r.rc;
			base = b < base ? b : base;
			/* A run no load explains does not count; two such runs
			 * first, and the verdict is in. */
			if (never_parallel(&r, why, sizeof(why))) {
				definite = ++never == pairs + 1 && pairs >= 1;
				continue;
			}
			if (r.wall_s < wall) {
				wall = r.wall_s;
				fastest = r;
			}
			verdict = pairs >= 1 && base / wall >= SPEEDUP_BAR;
		}
		if (verdict || definite || rc != 0 || fastest.working == 0)
			continue;
		skip = at_judge_machine(1.5, m, sizeof(m)) == AT_MACHINE_BUSY;
		snprintf(why, sizeof(why), "two threads were only %.2fx faster than the harness's own sequential loop; %s", base / wall, m);
	}
	if (rc != 0)
		AT_MEASURED("speedup: nothing measured, dp_static() returned %d", rc);
	else if (fastest.working == 0)
		AT_MEASURED("speedup: none of %d runs of dp_static() on 2 threads could count (the harness's sequential loop needs %.0f ms of CPU)",
			    pairs, base * 1e3);
	else
		AT_MEASURED("speedup: the harness's sequential loop needs %.0f ms of CPU, dp_static() on 2 threads took %.0f ms (best of %d): %.2fx (%.1fx needed)",
			    base * 1e3, wall * 1e3, pairs, base / wall, SPEEDUP_BAR);
	AT_HINT("both threads must compute at once, each on its half: nothing shared in the loop, no lock, no thread waiting for another; the baseline is the harness's own loop, so how long your one-thread run takes does not matter");
	AT_CHECK_RC(rc, "dp_static()");
	if (skip)
		AT_SKIP("%s", why);
	AT_CHECK(verdict, "%s", why);
	AT_END();
}

/* ---- dynamic chunks ------------------------------------------------------ */

/*
 * Threads that never cut each other's claims in two. Pinned to one CPU,
 * threads still interleave: on a busy machine another program preempts
 * one anywhere, even between the load and the store of a racy claim, and
 * another of ours may run next and claim the same chunk (one run in tens).
 * Round-robin real-time scheduling, inherited by every thread the code
 * under test creates, lets no ordinary program preempt them, and lets them
 * preempt each other only after 100 ms, far longer than a shape takes: each
 * thread runs its claims to the end, and a racy claim never collides.
 * Where real-time scheduling is refused (an unprivileged grader), they are
 * only pinned: a collision is then rare, not impossible.
 */
static void one_at_a_time(void)
{
	struct sched_param rr = { .sched_priority = 1 };

	at_pin_to_one_cpu();
	(void)sched_setscheduler(0, SCHED_RR, &rr);
}

Test(chunks, dynamic_result, .description = "dp_dynamic() gives the sequential result, each element mapped once, for any n, thread count and chunk size")
{
	/* Chunk sizes at their limits: 1, n - 1, n, n + 1, a chunk so large
	 * that start + chunk, or the counter after two claims, would wrap
	 * around SIZE_MAX; n smaller than the thread count. */
	static const struct shape sh[] = {
		{ 1000, 1, 10 }, { 1000, 2, 10 }, { 1000, 3, 7 }, { 1001, 4, 1 }, { 1003, 4, 64 },
		{ 10, 3, 100 }, { 3, 4, 2 }, { 1, 2, 1 }, { 0, 3, 5 }, { 997, 8, 13 },
		{ 1000, 4, 999 }, { 1000, 4, 1000 }, { 1000, 4, 1001 }, { 1000, 3, SIZE_MAX }, { 1000, 4, SIZE_MAX / 2 + 1 },
		{ 5, 16, 2 }, { 1000, 16, 3 },
	};
	int count = (int)(sizeof(sh) / sizeof(sh[0])), rc, einval, zero, negative, wrong;
	char what[300];
	long r = 0;
	struct job job;

	/* Results, not races: a racy claim must not make this verdict hang
	 * on luck (race_free catches the race, every time). */
	one_at_a_time();
	wrong = check_shapes(run_dynamic, sh, count, what, sizeof(what), &rc);
	probe_setup(10, WORK_NONE, NULL);
	job = probe_job();
	einval = dp_dynamic(&job, 2, 0, &r);
	zero = dp_dynamic(&job, 0, 5, &r);
	negative = dp_dynamic(&job, -1, 5, &r);
	AT_MEASURED("results: %d of %d shapes right (n from 0 to 1003, 1 to 16 threads, chunks of 1 to SIZE_MAX, a short last chunk)", count - wrong, count);
	AT_HINT("claim a chunk with one atomic_fetch_add on the shared counter; stop when the start you got is >= n; the last chunk ends at n, not at start + chunk (and start + chunk can overflow: compare chunk with n - start); a chunk larger than n is one chunk of n, so the counter never wraps around");
	AT_CHECK_RC(rc, "dp_dynamic()");
	AT_CHECK(wrong == 0, "%d of %d shapes wrong; the first: %s", wrong, count, what);
	AT_CHECK(einval == EINVAL, "dp_dynamic(job, 2 threads, chunk 0) returned %d, not EINVAL", einval);
	AT_CHECK(zero == EINVAL && negative == EINVAL, "dp_dynamic() with 0 threads returned %d and with -1 threads %d: both must be EINVAL (%d)",
		 zero, negative, EINVAL);
	AT_END();
}

Test(chunks, dynamic_chunks, .description = "dp_dynamic() hands out the array in chunks of `chunk` elements, and every thread gets some")
{
	struct at_latch latch;
	size_t n = 1000, chunk = 7, split = 0, nchunks = (n + chunk - 1) / chunk;
	struct job job;
	long result = -1;
	int rc, working;

	at_pin_to_one_cpu();   /* chunk boundaries, not races: as in dynamic_result */
	cr_assert(at_latch_init(&latch, 3, LATCH_TIMEOUT_MS, false) == 0);
	probe_setup(n, WORK_UNIFORM, &latch);
	P.spin = 200;
	job = probe_job();
	rc = dp_dynamic(&job, 3, chunk, &result);
	at_latch_destroy(&latch);
	working = working_threads();
	for (size_t c = 0; c < nchunks; c++)
		for (size_t i = c * chunk + 1; i < (c + 1) * chunk && i < n; i++)
			if (atomic_load(&P.who[i]) != atomic_load(&P.who[c * chunk])) {
				split++;
				break;
			}
	AT_MEASURED("chunks: %zu of %zu chunks of 7 elements mapped whole by one thread; %d of 3 threads got work", nchunks - split, nchunks, working);
	AT_HINT("chunk k is elements [k*chunk, (k+1)*chunk): a thread claims the next whole chunk and maps all of it; every thread keeps claiming until none is left");
	AT_CHECK_RC(rc, "dp_dynamic()");
	AT_CHECK(split == 0, "%zu chunk(s) were split between threads: the claims do not follow the chunk boundaries (static chunks? one element at a time?)", split);
	AT_CHECK(working == 3, "only %d of 3 threads mapped anything: one claim took more than one chunk", working);
	AT_END();
}

Test(chunks, dynamic_overlap, .description = "the threads of dp_dynamic() are all working on the array at the same time (4 and 16 threads)")
{
	overlap_test(run_dynamic, "dp_dynamic()", 16);
}

/* The busiest thread's share of the work units, and of the threads that worked. */
static double busiest_share(void)
{
	long total = 0, most = 0;

	for (int i = 0; i < P.nslots; i++) {
		total += P.slot[i].cost;
		if (P.slot[i].cost > most)
			most = P.slot[i].cost;
	}
	return total ? (double)most / (double)total : 1.0;
}

#define SKEW_N       2000
#define SKEW_THREADS 4
#define SKEW_BAR     0.5   /* twice the fair share of 4 threads */

static double skewed_run(runner_fn run, size_t chunk, int *rc, long *result)
{
	struct at_latch latch;
	struct job job;
	int r;

	/* The latch holds each thread's first element until all are working,
	 * so that no thread gets a head start while the others are created. */
	cr_assert(at_latch_init(&latch, SKEW_THREADS, LATCH_TIMEOUT_MS, false) == 0);
	probe_rerun(&latch);
	job = probe_job();
	r = run(&job, SKEW_THREADS, chunk, result);
	if (r != 0 && *rc == 0)
		*rc = r;
	at_latch_destroy(&latch);
	return busiest_share();
}

Test(chunks, dynamic_balance, .description = "on skewed work (the first quarter of the array costs 20 times more), dp_dynamic() spreads the work evenly over the threads")
{
	double dyn = 1.0, stat;
	long result = -1;
	int rc = 0;

	probe_setup(SKEW_N, WORK_SKEWED, NULL);
	stat = skewed_run(run_static, 0, &rc, &result);
	/* The balance depends on scheduling a little: best of 3. */
	for (int i = 0; i < 3 && dyn > SKEW_BAR / 1.5; i++) {
		double d = skewed_run(run_dynamic, 10, &rc, &result);

		dyn = d < dyn ? d : dyn;
	}
	AT_MEASURED("balance: with dynamic chunks of 10 the busiest of 4 threads did %.0f%% of the work (%.0f%% allowed, 25%% is fair); static chunks gave it %.0f%%",
		    dyn * 100, SKEW_BAR * 100, stat * 100);
	AT_HINT("a thread that finishes its chunk must come back for the next unclaimed one, from one shared atomic counter; fixed shares (static chunks) leave the thread with the dear elements working alone");
	AT_CHECK_RC(rc, "dp_dynamic()");
	(void)result;   /* results are dynamic_result's to check, as in overlap_test */
	AT_CHECK(dyn <= SKEW_BAR, "the busiest thread did %.0f%% of the work: the threads that got cheap elements did not come back for more", dyn * 100);
	AT_END();
}

/* ---- race-free under ThreadSanitizer -------------------------------- */

Test(chunks, race_free, .description = "dp_static() and dp_dynamic() on 4 threads: no data race under ThreadSanitizer")
{
	static struct at_driver_run r;
	static char kind[160], excerpt[2048], said[512], line[512];
	const char *why = at_run_driver("tsan_chunks", "run", 20000, &r);

	if (why)
		AT_SKIP("%s", why);
	if (at_san_cannot_run(r.out, line, sizeof(line)))
		AT_SKIP("ThreadSanitizer cannot run on this machine (%s); `setarch -R make check LESSON=8` may help", line);
	/* Exit 66 is any report, not only a race: say what TSan said. */
	at_san_kind(r.out, kind, sizeof(kind));
	at_san_excerpt(r.out, excerpt, sizeof(excerpt));
	at_san_program_said(r.out, said, sizeof(said));
	if (r.timed_out || r.signal)
		AT_MEASURED("ThreadSanitizer: 20 runs on 4 threads: the run %s",
			    r.timed_out ? "was still running after 20 s" : "was ended by a signal");
	else if (r.exit_status == 66)
		AT_MEASURED("ThreadSanitizer: 20 runs on 4 threads: %s", kind[0] ? kind : "a report");
	else
		AT_MEASURED("ThreadSanitizer: 20 runs on 4 threads: exit %d, %s", r.exit_status,
			    r.exit_status == 0 ? "no report" : "see below");
	AT_HINT("the threads share only the job (read-only) and the next-chunk counter: claim with one atomic_fetch_add, never a load and a store; each thread writes only its own total, and the caller reads the totals after the joins");
	AT_CHECK(!r.timed_out, "the run under ThreadSanitizer did not finish within 20 s");
	AT_CHECK(r.signal == 0, "the run under ThreadSanitizer was killed by signal %d (%s)%s%s", r.signal, strsignal(r.signal),
		 said[0] ? ", after printing:\n" : "", said);
	AT_CHECK(r.exit_status != 66 || !at_san_is_race(r.out), "ThreadSanitizer found a data race:\n%s", excerpt);
	AT_CHECK(r.exit_status != 66 || !at_san_is_crash(r.out), "the run under ThreadSanitizer crashed (%s)%s%s\n%s", kind,
		 said[0] ? ", after printing:\n" : "", said, excerpt);
	AT_CHECK(r.exit_status != 66, "ThreadSanitizer reported %s (not a data race):\n%s", kind[0] ? kind : "a problem",
		 excerpt[0] ? excerpt : r.out);
	AT_CHECK(r.exit_status == 0, "the run under ThreadSanitizer failed on its own (exit %d):\n%.600s", r.exit_status, r.out);
	AT_END();
}
