/*
 * explore.c - lesson 01, the reference: enumerate every interleaving of
 * two tiny programs and run each one from a fresh copy of the state.
 *
 * Two parts, kept apart on purpose: choose() writes every schedule (every
 * string of n A's and m B's) by a depth-first search, and replay() runs
 * one schedule on its own copy of the initial state. C(n+m, n) schedules,
 * each replayed in n+m steps.
 *
 * Compare with harness/01-interleaving/mutants/: wrong_count.patch tries
 * only the two run-to-completion schedules, shared_state.patch forgets the
 * fresh copy, stale_registers.patch copies the shared cells but not the
 * registers.
 */
#include "explore.h"

#include <string.h>

/* ANCHOR: search */
/* What the depth-first search carries from call to call. */
struct search {
	const struct program *prog[2];  /* prog[THREAD_A], prog[THREAD_B] */
	const struct machine *init;
	visit_fn visit;
	void *ctx;
	char schedule[2 * EXPLORE_MAX_STEPS + 1];
	long visited;
};
/* ANCHOR_END: search */

/* ANCHOR: replay */
/* Run one complete schedule on a fresh copy of the initial state. */
static void replay(struct search *s)
{
	struct machine m = *s->init;   /* a copy: every schedule starts equal */
	int pc[2] = { 0, 0 };          /* the next step of each thread */

	for (const char *c = s->schedule; *c; c++) {
		int self = *c == 'A' ? THREAD_A : THREAD_B;

		s->prog[self]->step[pc[self]++](&m, self);
	}
	s->visit(s->schedule, &m, s->ctx);
	s->visited++;
}
/* ANCHOR_END: replay */

/* ANCHOR: choose */
/*
 * Fill schedule[pos...] in every possible way, given that `done_a` steps
 * of A and `done_b` steps of B are already placed. At each position, the
 * next step is A's (if A has steps left) or B's (if B has): try both.
 */
static void choose(struct search *s, int pos, int done_a, int done_b)
{
	if (done_a == s->prog[THREAD_A]->nsteps && done_b == s->prog[THREAD_B]->nsteps) {
		s->schedule[pos] = '\0';
		replay(s);
		return;
	}
	if (done_a < s->prog[THREAD_A]->nsteps) {
		s->schedule[pos] = 'A';
		choose(s, pos + 1, done_a + 1, done_b);
	}
	if (done_b < s->prog[THREAD_B]->nsteps) {
		s->schedule[pos] = 'B';
		choose(s, pos + 1, done_a, done_b + 1);
	}
}
/* ANCHOR_END: choose */

static int valid(const struct program *p)
{
	return p->nsteps >= 0 && p->nsteps <= EXPLORE_MAX_STEPS;
}

/* ANCHOR: entry */
long explore(const struct program *a, const struct program *b,
	     const struct machine *init, visit_fn visit, void *ctx)
{
	struct search s;

	if (!valid(a) || !valid(b))
		return -1;
	memset(&s, 0, sizeof(s));
	s.prog[THREAD_A] = a;
	s.prog[THREAD_B] = b;
	s.init = init;
	s.visit = visit;
	s.ctx = ctx;
	choose(&s, 0, 0, 0);
	return s.visited;
}
/* ANCHOR_END: entry */
