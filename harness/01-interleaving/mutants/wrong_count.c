/*
 * Mutant wrong_count: tries only the two run-to-completion schedules,
 * AA..BB and BB..AA, as if threads never interleaved. For the lost update
 * it sees only counter = 2 and misses the bug.
 * Caught by: explore::schedule_count.
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
};

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

/*
 * The mistake: only two schedules, all of A then all of B, and all of B
 * then all of A: the orders a run-to-completion scheduler can produce.
 */
static void fill(char *s, char first, int n_first, char second, int n_second)
{
	int i = 0;

	while (i < n_first)
		s[i++] = first;
	while (i < n_first + n_second) {
		s[i++] = second;
	}
	s[i] = '\0';
}

static void choose(struct search *s, int pos, int done_a, int done_b)
{
	int n = s->prog[THREAD_A]->nsteps, m = s->prog[THREAD_B]->nsteps;

	(void)pos;
	(void)done_a;
	(void)done_b;
	fill(s->schedule, 'A', n, 'B', m);
	replay(s);
	if (n > 0 && m > 0) {  /* with one empty program both are the same */
		fill(s->schedule, 'B', m, 'A', n);
		replay(s);
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
	choose(&s, 0, 0, 0);
	return s.visited;
}
