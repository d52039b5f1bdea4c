/*
 * Description: lesson 01, part 2 - the interleaving explorer. Does explore()
 * visit exactly C(n+m, n) schedules, all distinct and well formed; does each
 * schedule run exactly its steps, in its order, from a fresh copy of the
 * initial state, each thread with its own registers; and are the outcomes
 * right for the lost update (and its one-step fix) and for the
 * store-buffer litmus test? Programs of exactly EXPLORE_MAX_STEPS steps are
 * taken, one more refused. Last, both parts of the lesson run under
 * AddressSanitizer (harness/01-interleaving/asan_green.c).
 *
 * Every expected figure here was counted by hand in the chapter (README.md,
 * "The lost update") and can be checked on paper.
 */
#include "at_memcheck.h"
#include "at_test.h"
#include "explore.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(explore, .timeout = 20);

#define MAX_SEEN 1024
#define SCHED_LEN (2 * EXPLORE_MAX_STEPS + 1)

/* What a visitor saw: the schedules and one number per final state. */
struct seen {
	long visits;
	int n;                        /* schedules kept (at most MAX_SEEN) */
	char sched[MAX_SEEN][SCHED_LEN];
	int outcome[MAX_SEEN];
	int (*outcome_of)(const struct machine *);
	int bad_replays;              /* replay_exact: logs that differ */
	char first_bad[SCHED_LEN];
};

static void remember(const char *schedule, const struct machine *final, void *ctx)
{
	struct seen *s = ctx;

	s->visits++;
	if (s->n >= MAX_SEEN)
		return;
	snprintf(s->sched[s->n], SCHED_LEN, "%s", schedule ? schedule : "(null)");
	s->outcome[s->n] = s->outcome_of ? s->outcome_of(final) : 0;
	s->n++;
}

static struct seen *new_seen(int (*outcome_of)(const struct machine *))
{
	struct seen *s = calloc(1, sizeof(*s));

	cr_assert(s != NULL);
	s->outcome_of = outcome_of;
	return s;
}

static long binomial(int n, int k)
{
	long r = 1;

	for (int i = 1; i <= k; i++)
		r = r * (n - k + i) / i;
	return r;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Schedules that are not n 'A's and m 'B's; then duplicates among them. */
static int malformed(struct seen *s, int n, int m, char *example, size_t len)
{
	int bad = 0;

	for (int i = 0; i < s->n; i++) {
		int a = 0, b = 0, other = 0;

		for (const char *c = s->sched[i]; *c; c++)
			*c == 'A' ? a++ : *c == 'B' ? b++ : other++;
		if (a != n || b != m || other != 0) {
			if (bad++ == 0)
				snprintf(example, len, "\"%s\"", s->sched[i]);
		}
	}
	return bad;
}

static int duplicates(struct seen *s, char *example, size_t len)
{
	int dup = 0;

	qsort(s->sched, (size_t)s->n, SCHED_LEN, by_string);
	for (int i = 1; i < s->n; i++) {
		if (strcmp(s->sched[i], s->sched[i - 1]) == 0 && dup++ == 0)
			snprintf(example, len, "\"%s\"", s->sched[i]);
	}
	return dup;
}

static void nothing(struct machine *m, int self)
{
	(void)m;
	(void)self;
}

static struct program idle_program(const char *name, int nsteps)
{
	struct program p = { .name = name, .nsteps = nsteps };

	for (int i = 0; i < nsteps && i < EXPLORE_MAX_STEPS; i++)
		p.step[i] = nothing;
	return p;
}

/* ---- how many schedules ----------------------------------------------- */

Test(explore, schedule_count, .description = "explore() visits C(n+m, n) schedules, each once, each n A's and m B's")
{
	static const int sizes[][2] = { { 1, 1 }, { 2, 2 }, { 0, 3 }, { 3, 4 }, { 5, 5 } };
	enum { N_SIZES = sizeof(sizes) / sizeof(sizes[0]) };
	char got[160] = "", want[160] = "", which[80] = "", why[200] = "";
	int off_got = 0, off_want = 0, off_which = 0;
	struct machine init = { 0 };
	struct program too_long = idle_program("too long", 0);
	long rc_too_long;
	struct seen *s;

	for (int k = 0; k < N_SIZES; k++) {
		int n = sizes[k][0], m = sizes[k][1];
		struct program a = idle_program("A", n), b = idle_program("B", m);
		long ret, c = binomial(n + m, n);
		char ex[SCHED_LEN + 4] = "";
		int bad, dup;

		s = new_seen(NULL);
		ret = explore(&a, &b, &init, remember, s);
		off_got += snprintf(got + off_got, sizeof(got) - (size_t)off_got, "%s%ld", k ? ", " : "", s->visits);
		off_want += snprintf(want + off_want, sizeof(want) - (size_t)off_want, "%s%ld", k ? ", " : "", c);
		off_which += snprintf(which + off_which, sizeof(which) - (size_t)off_which, "%s%d+%d", k ? ", " : "", n, m);
		if (!why[0]) {
			if (ret != s->visits)
				snprintf(why, sizeof(why), "for %d+%d steps explore() returned %ld but visited %ld schedules", n, m, ret, s->visits);
			else if (s->visits != c)
				snprintf(why, sizeof(why), "for %d+%d steps: %ld schedules visited, C(%d,%d) = %ld exist", n, m, s->visits, n + m, n, c);
			else if ((bad = malformed(s, n, m, ex, sizeof(ex))) != 0)
				snprintf(why, sizeof(why), "for %d+%d steps, %d schedule(s) do not hold %d A's and %d B's, e.g. %s", n, m, bad, n, m, ex);
			else if ((dup = duplicates(s, ex, sizeof(ex))) != 0)
				snprintf(why, sizeof(why), "for %d+%d steps, %d schedule(s) were visited twice, e.g. %s", n, m, dup, ex);
		}
		free(s);
	}
	s = new_seen(NULL);
	too_long.nsteps = EXPLORE_MAX_STEPS + 1;
	rc_too_long = explore(&too_long, &too_long, &init, remember, s);
	AT_MEASURED("explorer: %s schedules for %s steps (C(n+m, n) = %s)", got, which, want);
	AT_HINT("at each position of the schedule, the next step can be A's (if A has steps left) or B's (if B has): try one, fill in the rest, come back and try the other; a schedule is complete when both programs have run all their steps");
	AT_CHECK(!why[0], "%s", why);
	AT_CHECK(rc_too_long == -1 && s->visits == 0, "with %d steps per program (more than EXPLORE_MAX_STEPS) explore() returned %ld and visited %ld schedules; -1 and none expected",
		 EXPLORE_MAX_STEPS + 1, rc_too_long, s->visits);
	free(s);
	AT_END();
}

/* ---- the limits, exactly --------------------------------------------- */

/* Counts its thread's steps in the thread's register 0. */
static void tick(struct machine *m, int self)
{
	m->reg[self][0]++;
}

/* A program with room for a step past EXPLORE_MAX_STEPS, so that an
 * explorer which runs a program it should refuse reads a real step. */
struct roomy_program {
	struct program p;
	step_fn spill[4];
};

static struct roomy_program ticker(const char *name, int nsteps)
{
	struct roomy_program r;

	memset(&r, 0, sizeof(r));
	r.p.name = name;
	r.p.nsteps = nsteps;
	for (int i = 0; i < EXPLORE_MAX_STEPS; i++)
		r.p.step[i] = tick;
	for (int i = 0; i < 4; i++)
		r.spill[i] = tick;
	return r;
}

/* What a visitor of tickers saw: schedules, and finals that ran a step
 * more or less than their schedule says. */
struct ticks {
	struct seen *seen;
	int n, m;
	int wrong_counts;
};

static void check_ticks(const char *schedule, const struct machine *final, void *ctx)
{
	struct ticks *t = ctx;

	remember(schedule, final, t->seen);
	if (final->reg[THREAD_A][0] != t->n || final->reg[THREAD_B][0] != t->m)
		t->wrong_counts++;
}

Test(explore, step_limits, .description = "explore() takes programs of exactly EXPLORE_MAX_STEPS steps (and of none), and refuses -1 or EXPLORE_MAX_STEPS + 1 steps in either program")
{
	static const int ok[][2] = { { EXPLORE_MAX_STEPS, 1 }, { 1, EXPLORE_MAX_STEPS }, { EXPLORE_MAX_STEPS, 2 }, { 0, 0 } };
	static const int refused[][2] = { { EXPLORE_MAX_STEPS + 1, 1 }, { 1, EXPLORE_MAX_STEPS + 1 }, { -1, 2 }, { 2, -1 } };
	char got[160] = "", why[240] = "";
	size_t off = 0;
	struct machine init = { 0 };

	for (size_t k = 0; k < sizeof(ok) / sizeof(ok[0]); k++) {
		int n = ok[k][0], m = ok[k][1];
		struct roomy_program a = ticker("A", n), b = ticker("B", m);
		struct ticks t = { new_seen(NULL), n, m, 0 };
		long ret = explore(&a.p, &b.p, &init, check_ticks, &t), c = binomial(n + m, n);
		char ex[SCHED_LEN + 4] = "";

		off += (size_t)snprintf(got + off, sizeof(got) - off, "%s%d+%d: %ld", k ? ", " : "", n, m, t.seen->visits);
		if (!why[0] && (ret != c || t.seen->visits != c))
			snprintf(why, sizeof(why), "for %d+%d steps explore() returned %ld and visited %ld schedules; C(%d,%d) = %ld expected",
				 n, m, ret, t.seen->visits, n + m, n, c);
		else if (!why[0] && (malformed(t.seen, n, m, ex, sizeof(ex)) || duplicates(t.seen, ex, sizeof(ex))))
			snprintf(why, sizeof(why), "for %d+%d steps, a schedule is not %d A's and %d B's, or came twice: %s", n, m, n, m, ex);
		else if (!why[0] && t.wrong_counts)
			snprintf(why, sizeof(why), "for %d+%d steps, %d schedule(s) did not run each thread's steps exactly once", n, m, t.wrong_counts);
		free(t.seen);
	}
	for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]) && !why[0]; k++) {
		int n = refused[k][0], m = refused[k][1];
		struct roomy_program a = ticker("A", n), b = ticker("B", m);
		struct seen *s = new_seen(NULL);
		long ret = explore(&a.p, &b.p, &init, remember, s);

		if (ret != -1 || s->visits != 0)
			snprintf(why, sizeof(why), "for %d+%d steps explore() returned %ld and visited %ld schedules: -1 and none expected (%s)",
				 n, m, ret, s->visits, n < 0 || m < 0 ? "a program cannot have fewer than 0 steps" : "more than EXPLORE_MAX_STEPS");
		free(s);
	}
	AT_MEASURED("limits: %s schedules; -1 for 17+1, 1+17, -1+2 and 2+-1 steps: %s", got, why[0] ? "see below" : "yes");
	AT_HINT("a program may have 0 to EXPLORE_MAX_STEPS steps, both ends included: refuse (return -1, visit nothing) only below 0 or above EXPLORE_MAX_STEPS, in either program; the schedule then has up to 2 * EXPLORE_MAX_STEPS letters and its '\\0'");
	AT_CHECK(!why[0], "%s", why);
	AT_END();
}

/* ---- each schedule replayed exactly ----------------------------------- */

/* Append (thread, its step number) to a log in shared memory: shared[0]
 * is the log's length, shared[1...] its entries. The step number is
 * counted in the thread's own register 0, which starts at 10 for A and 20
 * for B, so a log also shows whether the registers are the thread's own
 * and start afresh from the initial state. */
static void log_step(struct machine *m, int self)
{
	int n = m->shared[0];

	m->reg[self][0]++;
	if (n >= 0 && n + 1 < MACHINE_SHARED)
		m->shared[n + 1] = 100 * self + m->reg[self][0];
	m->shared[0] = n + 1;
}

/* The log a schedule must leave: A's k-th step logs 10+k, B's 120+k. */
static bool log_matches(const char *schedule, const struct machine *m)
{
	int count[2] = { 0, 0 }, i = 0;

	for (const char *c = schedule; *c; c++, i++) {
		int t = *c == 'A' ? THREAD_A : THREAD_B;
		int want = 100 * t + (t == THREAD_A ? 10 : 20) + ++count[t];

		if (i + 1 >= MACHINE_SHARED || m->shared[i + 1] != want)
			return false;
	}
	return m->shared[0] == i;
}

/* A log as text: "A1 B1 A2" = A's first step, B's first, A's second. */
static void describe_log(const struct machine *m, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 1; i <= m->shared[0] && i < MACHINE_SHARED && off < len; i++) {
		int v = m->shared[i];

		off += (size_t)snprintf(buf + off, len - off, "%s%c%d", i > 1 ? " " : "",
					v >= 100 ? 'B' : 'A', v >= 100 ? v - 120 : v - 10);
	}
}

static void expected_log(const char *schedule, char *buf, size_t len)
{
	int count[2] = { 0, 0 };
	size_t off = 0;

	buf[0] = '\0';
	for (const char *c = schedule; *c && off < len; c++) {
		int t = *c == 'A' ? THREAD_A : THREAD_B;

		off += (size_t)snprintf(buf + off, len - off, "%s%c%d", c > schedule ? " " : "", *c, ++count[t]);
	}
}

struct replay_check {
	struct seen *seen;
	char got[128], want[128];  /* the first bad schedule's log, and the right one */
};

static void check_replay(const char *schedule, const struct machine *final, void *ctx)
{
	struct replay_check *rc = ctx;

	remember(schedule, final, rc->seen);
	if (schedule && log_matches(schedule, final))
		return;
	if (rc->seen->bad_replays++ == 0) {
		snprintf(rc->seen->first_bad, SCHED_LEN, "%s", schedule ? schedule : "(null)");
		describe_log(final, rc->got, sizeof(rc->got));
		expected_log(schedule ? schedule : "", rc->want, sizeof(rc->want));
	}
}

Test(explore, replay_exact, .description = "each schedule runs exactly its steps, in its order, from a fresh copy of the initial state, each thread on its own registers")
{
	struct program a = { "logger A", 3, { log_step, log_step, log_step } };
	struct program b = { "logger B", 3, { log_step, log_step, log_step } };
	struct machine init = { 0 }, saved;
	struct replay_check rc;
	long ret;

	init.reg[THREAD_A][0] = 10;
	init.reg[THREAD_B][0] = 20;
	saved = init;
	memset(&rc, 0, sizeof(rc));
	rc.seen = new_seen(NULL);
	ret = explore(&a, &b, &init, check_replay, &rc);
	AT_MEASURED("replay: %ld of %ld schedules ran exactly their steps, in their order, from a fresh state",
		    rc.seen->visits - rc.seen->bad_replays, rc.seen->visits);
	AT_HINT("for each schedule: copy the WHOLE initial machine (shared cells and both threads' registers) into a new one, give each thread its own next-step counter starting at 0, and pass the thread taking the step as `self` (THREAD_A for an 'A', THREAD_B for a 'B')");
	AT_CHECK(ret == 20 && rc.seen->visits == 20, "explore() returned %ld and visited %ld schedules of 3+3 steps; 20 expected", ret, rc.seen->visits);
	AT_CHECK(memcmp(&init, &saved, sizeof(init)) == 0, "explore() changed *init: run each schedule on a copy");
	AT_CHECK(rc.seen->bad_replays == 0, "%d schedule(s) did not run as written: %s left the log [%s], it should be [%s] (each step logs its thread and its step number, counted in the thread's own register from the initial state)",
		 rc.seen->bad_replays, rc.seen->first_bad, rc.got, rc.want);
	free(rc.seen);
	AT_END();
}

/* ---- outcomes --------------------------------------------------------- */

/* Histogram of outcomes 0..7; which schedules gave `which`. */
static void histogram(const struct seen *s, int hist[8], int which, char *list, size_t len)
{
	size_t off = 0;

	memset(hist, 0, 8 * sizeof(int));
	list[0] = '\0';
	for (int i = 0; i < s->n; i++) {
		if (s->outcome[i] >= 0 && s->outcome[i] < 8)
			hist[s->outcome[i]]++;
		if (s->outcome[i] == which && off < len)
			off += (size_t)snprintf(list + off, len - off, "%s%s", off ? ", " : "", s->sched[i]);
	}
}

/* counter = counter + 1, in two steps: read into a register, write back. */
static void read_counter(struct machine *m, int self)
{
	m->reg[self][0] = m->shared[0];
}

static void write_counter(struct machine *m, int self)
{
	m->shared[0] = m->reg[self][0] + 1;
}

/* The same increment as one atomic step. */
static void increment_counter(struct machine *m, int self)
{
	(void)self;
	m->shared[0]++;
}

static int counter(const struct machine *m)
{
	return m->shared[0];
}

Test(explore, lost_update, .description = "two threads each doing counter = counter + 1 in two steps: 6 schedules, counter = 1 in 4 of them (a lost update), 2 in AABB and BBAA; as one atomic step, always 2")
{
	struct program a = { "A: r = counter; counter = r + 1", 2, { read_counter, write_counter } };
	struct program b = { "B: r = counter; counter = r + 1", 2, { read_counter, write_counter } };
	struct program a1 = { "A: counter++", 1, { increment_counter } };
	struct program b1 = { "B: counter++", 1, { increment_counter } };
	struct machine init = { 0 };
	struct seen *split = new_seen(counter), *atomic = new_seen(counter);
	int hist[8], hist1[8];
	char twos[256], twos1[64];
	long ret, ret1;

	ret = explore(&a, &b, &init, remember, split);
	ret1 = explore(&a1, &b1, &init, remember, atomic);
	histogram(split, hist, 2, twos, sizeof(twos));
	histogram(atomic, hist1, 2, twos1, sizeof(twos1));
	AT_MEASURED("lost update: %ld schedules; counter = 1 in %d, counter = 2 in %d (%s); as one step: %ld schedules, counter = 2 in %d",
		    split->visits, hist[1], hist[2], twos[0] ? twos : "none", atomic->visits, hist1[2]);
	AT_HINT("every schedule must start from the same initial state (counter = 0): copy *init for each one; the two-step programs have C(4,2) = 6 schedules and only AABB and BBAA run each increment without interruption");
	AT_CHECK(ret == 6 && split->visits == 6, "explore() returned %ld and visited %ld schedules of 2+2 steps; 6 expected", ret, split->visits);
	AT_CHECK(hist[1] == 4 && hist[2] == 2 && split->n == 6,
		 "outcomes counter = 0/1/2/3/4+: %d/%d/%d/%d/%d; 4 schedules must lose an update (counter = 1) and 2 must not (counter = 2)",
		 hist[0], hist[1], hist[2], hist[3], split->n - hist[0] - hist[1] - hist[2] - hist[3]);
	AT_CHECK(strcmp(twos, "AABB, BBAA") == 0 || strcmp(twos, "BBAA, AABB") == 0,
		 "counter = 2 came from %s; only AABB and BBAA keep both updates", twos[0] ? twos : "no schedule");
	AT_CHECK(ret1 == 2 && atomic->visits == 2 && hist1[2] == 2,
		 "with the increment as one atomic step: %ld schedules, counter = 2 in %d; 2 and 2 expected", atomic->visits, hist1[2]);
	free(split);
	free(atomic);
	AT_END();
}

/* Store buffering: A writes x then reads y; B writes y then reads x. */
static void write_x(struct machine *m, int self)
{
	(void)self;
	m->shared[0] = 1;
}

static void write_y(struct machine *m, int self)
{
	(void)self;
	m->shared[1] = 1;
}

static void read_y(struct machine *m, int self)
{
	m->reg[self][0] = m->shared[1];
}

static void read_x(struct machine *m, int self)
{
	m->reg[self][0] = m->shared[0];
}

/* (A's r, B's r) as one number: 2 * rA + rB, so (0,0)=0 (0,1)=1 (1,0)=2 (1,1)=3. */
static int both_reads(const struct machine *m)
{
	int ra = m->reg[THREAD_A][0], rb = m->reg[THREAD_B][0];

	if (ra < 0 || ra > 1 || rb < 0 || rb > 1)
		return 7;  /* neither 0 nor 1: impossible for these programs */
	return 2 * ra + rb;
}

Test(explore, store_buffer, .description = "A: x = 1; r = y  and  B: y = 1; r = x: (rA, rB) is (0,1) once, (1,0) once, (1,1) four times, (0,0) never")
{
	struct program a = { "A: x = 1; r = y", 2, { write_x, read_y } };
	struct program b = { "B: y = 1; r = x", 2, { write_y, read_x } };
	struct machine init = { 0 };
	struct seen *s = new_seen(both_reads);
	int hist[8];
	char ones[64], zeros[64];
	long ret;

	init.reg[THREAD_A][0] = init.reg[THREAD_B][0] = -1;  /* "not read yet" */
	ret = explore(&a, &b, &init, remember, s);
	histogram(s, hist, 0, zeros, sizeof(zeros));
	histogram(s, hist, 1, ones, sizeof(ones));
	AT_MEASURED("store buffer: %ld schedules; (rA,rB) = (0,1) in %d, (1,0) in %d, (1,1) in %d, (0,0) in %d",
		    s->visits, hist[1], hist[2], hist[3], hist[0]);
	AT_HINT("each step reads and writes the copy of the state that belongs to this schedule, and `self` says whose registers: an 'A' step gets THREAD_A, a 'B' step THREAD_B");
	AT_CHECK(ret == 6 && s->visits == 6, "explore() returned %ld and visited %ld schedules of 2+2 steps; 6 expected", ret, s->visits);
	AT_CHECK(hist[7] == 0, "%d schedule(s) ended with a register that is neither 0 nor 1: a read landed in the other thread's register", hist[7]);
	AT_CHECK(hist[0] == 0, "(0,0) appeared %d time(s) (e.g. %s): in any interleaving one write comes first, so one read sees a 1", hist[0], zeros);
	AT_CHECK(hist[1] == 1 && hist[2] == 1 && hist[3] == 4,
		 "(0,1)/(1,0)/(1,1) in %d/%d/%d schedules; 1/1/4 expected (only AABB gives (0,1), BBAA (1,0))", hist[1], hist[2], hist[3]);
	free(s);
	AT_END();
}

/* ---- memory errors, under AddressSanitizer ----------------------------- */

Test(explore, memory_errors, .description = "under AddressSanitizer: the scheduler and the explorer touch no freed memory, write past no buffer, free all they allocate, and no task frees the stack it runs on")
{
	static struct at_driver_run r;
	static char excerpt[2048], summary[300];
	bool leaks_checked;
	const char *why = at_memcheck_run("asan_green", "all", 20000, &r, &leaks_checked);

	if (why)
		AT_SKIP("%s", why);
	at_memcheck_excerpt(r.out, excerpt, sizeof(excerpt));
	at_memcheck_summary(r.out, summary, sizeof(summary));
	AT_MEASURED("memory: 2 runs of 200 green tasks and explore() at its limits, under AddressSanitizer%s: %s",
		    leaks_checked ? " and LeakSanitizer" : " (leaks not checked: LeakSanitizer cannot run here)",
		    r.timed_out ? "still going after 20 s" : r.signal ? "ended by a signal" :
		    r.exit_status == AT_MEMCHECK_REPORTED ? summary : r.exit_status == 0 ? "no report" : "the run failed on its own");
	AT_HINT("a task cannot free the stack it is running on: free a finished task's stack (and its record) in green_run(), after switching back, and touch the task no more; keep every buffer as long as what you write into it (a schedule has up to 2 * EXPLORE_MAX_STEPS letters and its '\\0')");
	AT_CHECK(r.exit_status != 3, "%s", at_rc_text(ENOSYS, "green_spawn()"));
	AT_CHECK(!r.timed_out, "the run under AddressSanitizer did not finish within 20 s: a task that is never resumed?");
	AT_CHECK(r.signal == 0, "the run under AddressSanitizer was killed by signal %d (%s)", r.signal, strsignal(r.signal));
	AT_CHECK(r.exit_status != AT_MEMCHECK_REPORTED, "AddressSanitizer found a memory error:\n%s", excerpt);
	AT_CHECK(r.exit_status == 0, "the run under AddressSanitizer failed on its own (exit %d):\n%.600s", r.exit_status, r.out);
	AT_END();
}
