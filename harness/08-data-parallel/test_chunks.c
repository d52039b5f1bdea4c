/*
 * Description: lesson 08 - is the chunked map/reduce right (the sequential
 * result, every element mapped once, any n and thread count), are static
 * chunks one contiguous balanced chunk per thread, are all threads working
 * at once (latch), at the same instant (CPU/wall) and faster than one
 * (speedup), does each thread keep its total on a cache line of its own,
 * and do dynamic chunks spread skewed work evenly where static ones do not?
 *
 * The harness owns the job: its map() records which thread mapped which
 * element and how much work that was; its fold() notes the cache line of
 * every accumulator a thread adds into. Compare with
 * harness/02-threads/test_threads.c, which hands whole tasks to threads.
 */
#include "at_count.h"
#include "at_driver.h"
#include "at_latch.h"
#include "at_test.h"
#include "chunks.h"

#include <errno.h>
#include <pthread.h>
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
};

struct probe {
	long *in;
	size_t n;
	enum work work;
	int spin;                  /* WORK_UNIFORM: loop iterations per element */
	size_t skew_end;           /* WORK_SKEWED: elements [0, skew_end) are dear */
	struct at_latch *latch;    /* each thread's first element waits here */
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

/* The harness's map(): the value, plus the bookkeeping and the work. */
static long probe_map(long x, void *arg)
{
	struct probe *p = arg;
	bool first;
	struct slot *s = slot_of_self(&first);
	long cost = 1;

	/* A thread's first element: wait until all threads are working. */
	if (s && s->mapped == 0 && p->latch)
		at_latch_task(p->latch);
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
				snprintf(what, len, "n = %zu, %d threads%s: %zu element(s) mapped %s once (the first: element %ld, %d times)",
					 sh[k].n, sh[k].threads, run == run_dynamic ? ", chunks of some size" : "",
					 bad, "not exactly", first, atomic_load(&P.visits[first]));
			else
				snprintf(what, len, "n = %zu, %d threads: result %ld, the sequential loop gives %ld",
					 sh[k].n, sh[k].threads, result, sequential_result(sh[k].n));
			if (run == run_dynamic) {
				char more[64];

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
	};
	int count = (int)(sizeof(sh) / sizeof(sh[0])), rc, einval, wrong;
	char what[300];
	long r = 0;
	struct job job;

	wrong = check_shapes(run_static, sh, count, what, sizeof(what), &rc);
	probe_setup(10, WORK_NONE, NULL);
	job = probe_job();
	einval = dp_static(&job, 0, &r);
	AT_MEASURED("results: %d of %d shapes right (n from 0 to 1003, 1 to 8 threads, n not divisible by the thread count)", count - wrong, count);
	AT_HINT("thread t of T starts at t*(n/T) + min(t, n%%T) and takes n/T elements, plus one when t < n%%T; a thread with nothing to do is fine (n < T)");
	AT_CHECK_RC(rc, "dp_static()");
	AT_CHECK(wrong == 0, "%d of %d shapes wrong; the first: %s", wrong, count, what);
	AT_CHECK(einval == EINVAL, "dp_static(job, 0 threads) returned %d, not EINVAL", einval);
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

Test(chunks, static_chunks, .description = "dp_static() gives each thread one contiguous chunk, the sizes differing by at most one")
{
	static const struct shape sh[] = { { 1000, 3, 0 }, { 10, 3, 0 }, { 4003, 4, 0 } };
	char what[300] = "";
	int wrong = 0, rc = 0;

	for (int k = 0; k < 3; k++) {
		size_t len[16], n = sh[k].n, T = (size_t)sh[k].threads;
		struct job job;
		long result;
		int runs, r;
		bool ok;

		probe_setup(n, WORK_NONE, NULL);
		job = probe_job();
		r = dp_static(&job, sh[k].threads, &result);
		if (r != 0) {
			rc = rc ? rc : r;
			wrong++;
			continue;
		}
		runs = runs_of_who(len, 16);
		ok = runs == (int)T && working_threads() == (int)T;
		for (size_t t = 0; ok && t < T; t++)
			ok = len[t] == n / T + (t < n % T ? 1 : 0);
		if (!ok && wrong++ == 0) {
			int off = snprintf(what, sizeof(what), "n = %zu on %zu threads: %d thread(s) worked, in %d run(s) of", n, T, working_threads(), runs);

			for (int i = 0; i < runs && i < 6 && off < (int)sizeof(what); i++)
				off += snprintf(what + off, sizeof(what) - (size_t)off, " %zu", len[i]);
			if (off < (int)sizeof(what))
				snprintf(what + off, sizeof(what) - (size_t)off, "%s elements (expected %zu runs: %zu, ...)",
					 runs > 6 ? " ..." : "", T, n / T + (n % T ? 1 : 0));
		}
	}
	AT_MEASURED("chunks: %d of 3 runs split into one contiguous chunk per thread, sizes within one element", 3 - wrong);
	AT_HINT("static chunking: thread t takes elements [start_t, start_t + len_t) and nothing else; every thread gets n/T or n/T + 1 elements, the larger ones first");
	AT_CHECK_RC(rc, "dp_static()");
	AT_CHECK(wrong == 0, "%s", what);
	AT_END();
}

/* ---- concurrency: all threads working at once ----------------------------- */

static void overlap_test(runner_fn run, const char *name, size_t chunk)
{
	struct at_latch latch;
	struct job job;
	long result = -1;
	int rc, max, working;

	cr_assert(at_latch_init(&latch, 4, LATCH_TIMEOUT_MS, false) == 0);
	probe_setup(4000, WORK_UNIFORM, &latch);
	P.spin = 200;
	job = probe_job();
	rc = run(&job, 4, chunk, &result);
	max = at_latch_max_in_flight(&latch);
	working = working_threads();
	at_latch_destroy(&latch);
	AT_MEASURED("overlap: %d of 4 threads were working on the array at once (4 needed); %d thread(s) mapped elements", max, working);
	AT_HINT("start all the threads before joining any; and every thread must get work: the first element each thread maps waits until all 4 are working");
	AT_CHECK_RC(rc, name);
	AT_CHECK(max >= 4, "only %d thread(s) were ever working at once: %s", max,
		 working < 4 ? "some threads got no elements at all" : "the threads ran one after another");
	/* No check of the result here: a racy claim that collides now and
	 * then would make this verdict hang on luck. Results are checked by
	 * static_result and dynamic_result, races by race_free. */
	(void)result;
	AT_END();
}

Test(chunks, static_overlap, .description = "the threads of dp_static() are all working on the array at the same time")
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

/* ---- parallelism: CPU/wall and speedup --------------------------------- */

struct timed {
	int threads;
	int rc;
	long result;
};

static void uniform_run(void *arg)
{
	struct timed *t = arg;
	struct job job = probe_job();

	probe_rerun(NULL);
	t->rc = dp_static(&job, t->threads, &t->result);
}

#define UNIFORM_N    16000
#define UNIFORM_SPIN 8000   /* LCG steps per element: ~0.2 s in all on one CPU */

Test(chunks, parallel, .description = "on two CPUs, two threads of dp_static() compute at the same instant (CPU time outruns wall time)")
{
	struct timed t = { .threads = 2 };
	struct at_ratio best = { 0 };
	char why[400];
	enum at_verdict v = AT_NO;

	at_require_cpus(2);
	probe_setup(UNIFORM_N, WORK_UNIFORM, NULL);
	P.spin = UNIFORM_SPIN;
	/* The machine's load comes and goes: ask up to 3 times, a moment
	 * apart. Any YES passes; any SKIP (two busy threads of the harness
	 * could not run side by side) means the machine cannot judge; only
	 * three NOs, each on a machine shown able to run two threads at
	 * once, fail. */
	for (int attempt = 0; attempt < 3 && v != AT_YES; attempt++) {
		struct at_ratio r;
		char w[400];
		enum at_verdict a;

		if (attempt > 0)
			at_sleep_ms(200);
		a = at_parallel_by_ratio(uniform_run, &t, 1.5, 4, &r, w, sizeof(w));
		if (r.ratio > best.ratio)
			best = r;
		if (a == AT_YES || v == AT_NO || attempt == 0) {
			v = a;
			memcpy(why, w, sizeof(why));
		}
		if (t.rc != 0)
			break;
	}
	AT_MEASURED("parallel: %.2f s of CPU time in %.2f s of wall time: CPU/wall %.2f (1.50 needed)", best.cpu_s, best.wall_s, best.ratio);
	AT_HINT("two threads computing at once use CPU time twice as fast as the clock runs; if the ratio stays near 1, one thread did the work while the other waited");
	AT_CHECK_RC(t.rc, "dp_static()");
	if (v == AT_SKIP)
		AT_SKIP("%s", why);
	AT_CHECK(v == AT_YES, "the threads never computed at the same instant: %s", why);
	AT_END();
}

static double wall_of(int threads, int *rc)
{
	struct timed t = { .threads = threads };
	int64_t t0 = at_now_ns();

	uniform_run(&t);
	if (t.rc != 0)
		*rc = t.rc;
	return (double)(at_now_ns() - t0) / 1e9;
}

#define SPEEDUP_BAR 1.4

Test(chunks, speedup, .description = "on two CPUs, two threads of dp_static() finish uniform work well before one thread does")
{
	double one = 1e9, two = 1e9, calib = 2.0, worst_calib = 2.0;
	int rc = 0;

	at_require_cpus(2);
	probe_setup(UNIFORM_N, WORK_UNIFORM, NULL);
	P.spin = UNIFORM_SPIN;
	/* Interleaved, best of each: a noisy moment hurts both alike. Up to 3
	 * attempts of 4 pairs; after each one that falls short, ask the
	 * machine whether two busy threads can run side by side at all: if
	 * at any point they could not, a shortfall cannot be judged. */
	for (int attempt = 0; attempt < 3 && rc == 0; attempt++) {
		for (int i = 0; i < 4 && rc == 0; i++) {
			double a = wall_of(1, &rc), b = wall_of(2, &rc);

			one = a < one ? a : one;
			two = b < two ? b : two;
			if (i >= 1 && one / two >= SPEEDUP_BAR)
				break;
		}
		if (one / two >= SPEEDUP_BAR)
			break;
		calib = at_calibrate_ratio(200);
		if (calib < worst_calib)
			worst_calib = calib;
		at_sleep_ms(200);
	}
	AT_MEASURED("speedup: 1 thread %.0f ms, 2 threads %.0f ms (best runs): %.2fx (%.1fx needed)",
		    one * 1e3, two * 1e3, one / two, SPEEDUP_BAR);
	AT_HINT("both threads must compute at once, each on its half: nothing shared in the loop, no lock, no thread waiting for another");
	AT_CHECK_RC(rc, "dp_static()");
	if (one / two < SPEEDUP_BAR && worst_calib < 1.5)
		AT_SKIP("the machine is overloaded: two busy threads of the harness reached only %.2fx CPU/wall at one point, so a speedup of %.1fx cannot be expected here (measured %.2fx)",
			worst_calib, SPEEDUP_BAR, one / two);
	AT_CHECK(one / two >= SPEEDUP_BAR, "two threads were only %.2fx faster than one (the harness's own two busy threads reach %.2fx CPU/wall here)", one / two, calib);
	AT_END();
}

/* ---- dynamic chunks ------------------------------------------------------ */

Test(chunks, dynamic_result, .description = "dp_dynamic() gives the sequential result, each element mapped once, for any n, thread count and chunk size")
{
	static const struct shape sh[] = {
		{ 1000, 1, 10 }, { 1000, 2, 10 }, { 1000, 3, 7 }, { 1001, 4, 1 }, { 1003, 4, 64 },
		{ 10, 3, 100 }, { 3, 4, 2 }, { 1, 2, 1 }, { 0, 3, 5 }, { 997, 8, 13 },
	};
	int count = (int)(sizeof(sh) / sizeof(sh[0])), rc, einval, wrong;
	char what[300];
	long r = 0;
	struct job job;

	/* Results, not races: on one CPU a racy claim almost never collides,
	 * so this verdict does not hang on luck (race_free catches the race). */
	at_pin_to_one_cpu();
	wrong = check_shapes(run_dynamic, sh, count, what, sizeof(what), &rc);
	probe_setup(10, WORK_NONE, NULL);
	job = probe_job();
	einval = dp_dynamic(&job, 2, 0, &r);
	AT_MEASURED("results: %d of %d shapes right (n from 0 to 1003, 1 to 8 threads, chunks of 1 to 100, a short last chunk)", count - wrong, count);
	AT_HINT("claim a chunk with one atomic_fetch_add on the shared counter; stop when the start you got is >= n; the last chunk ends at n, not at start + chunk");
	AT_CHECK_RC(rc, "dp_dynamic()");
	AT_CHECK(wrong == 0, "%d of %d shapes wrong; the first: %s", wrong, count, what);
	AT_CHECK(einval == EINVAL, "dp_dynamic(job, 2 threads, chunk 0) returned %d, not EINVAL", einval);
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

Test(chunks, dynamic_overlap, .description = "the threads of dp_dynamic() are all working on the array at the same time")
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
	static char excerpt[2048], line[512];
	const char *why = at_run_driver("tsan_chunks", "run", 20000, &r);

	if (why)
		AT_SKIP("%s", why);
	if (strstr(r.out, "FATAL: ThreadSanitizer"))
		AT_SKIP("ThreadSanitizer cannot run on this machine (%s); `setarch -R make check LESSON=8` may help",
			at_line_with(r.out, "FATAL: ThreadSanitizer", line, sizeof(line)));
	at_tsan_excerpt(r.out, excerpt, sizeof(excerpt));
	if (r.timed_out || r.signal)
		AT_MEASURED("ThreadSanitizer: 20 runs on 4 threads: the run %s",
			    r.timed_out ? "was still running after 20 s" : "was ended by a signal");
	else if (r.exit_status == 66)
		AT_MEASURED("ThreadSanitizer: 20 runs on 4 threads: %s",
			    at_line_with(r.out, "WARNING: ThreadSanitizer", line, sizeof(line)) + strlen("WARNING: "));
	else
		AT_MEASURED("ThreadSanitizer: 20 runs on 4 threads: exit %d, %s", r.exit_status,
			    r.exit_status == 0 ? "no report" : "see below");
	AT_HINT("the threads share only the job (read-only) and the next-chunk counter: claim with one atomic_fetch_add, never a load and a store; each thread writes only its own total, and the caller reads the totals after the joins");
	AT_CHECK(!r.timed_out, "the run under ThreadSanitizer did not finish within 20 s");
	AT_CHECK(r.signal == 0, "the run under ThreadSanitizer was killed by signal %d (%s)", r.signal, strsignal(r.signal));
	AT_CHECK(r.exit_status != 66, "ThreadSanitizer found a data race:\n%s", excerpt);
	AT_CHECK(r.exit_status == 0, "the run under ThreadSanitizer failed on its own (exit %d):\n%.600s", r.exit_status, r.out);
	AT_END();
}
