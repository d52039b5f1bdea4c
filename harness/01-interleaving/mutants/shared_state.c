/*
 * Mutant shared_state: copies the initial state once and runs every
 * schedule on that same machine, so each schedule starts where the last
 * one ended. The lost update's counter climbs 1, 2, 3, ... across
 * schedules: wrong outcomes from a correct list of schedules.
 * Caught by: explore::lost_update.
 */
#include "explore.h"

#include <string.h>

/* What the depth-first search carries from call to call. */
struct search {
	const struct program *prog[2];  /* prog[THREAD_A], prog[THREAD_B] */
	const struct machine *init;
	visit_fn visit;
	void *ctx;
	char schedule[2 * EXPLORE_MAX_STEPS + 1];
	long visited;
	struct machine state;  /* copied from *init once, then reused */
};

/* Run one complete schedule on a fresh copy of the initial state. */
static void replay(struct search *s)
{
	struct machine *m = &s->state;  /* the mistake: one machine for all */
	int pc[2] = { 0, 0 };          /* the next step of each thread */

	for (const char *c = s->schedule; *c; c++) {
		int self = *c == 'A' ? THREAD_A : THREAD_B;

		s->prog[self]->step[pc[self]++](m, self);
	}
	s->visit(s->schedule, m, s->ctx);
	s->visited++;
}

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

static int valid(const struct program *p)
{
	return p->nsteps >= 0 && p->nsteps <= EXPLORE_MAX_STEPS;
}

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
	s.state = *init;
	choose(&s, 0, 0, 0);
	return s.visited;
}
