/*
 * explore.c - lesson 01, part 2: YOUR CODE. Every interleaving of two tiny
 * programs, each run from a fresh copy of the starting state.
 *
 * Read the chapter (README.md beside this file) first, then replace each
 * TODO. `make check LESSON=1` tells you what your code does, measured.
 */
#include "explore.h"

#include <string.h>

long explore(const struct program *a, const struct program *b,
	     const struct machine *init, visit_fn visit, void *ctx)
{
	/*
	 * TODO 1: return -1 if a program's nsteps is below 0 or above
	 *         EXPLORE_MAX_STEPS.
	 * TODO 2: write every schedule: every string of a->nsteps 'A's and
	 *         b->nsteps 'B's, each exactly once. A recursive function does
	 *         it in a few lines: at each position, if A has steps left,
	 *         put an 'A' there and fill the rest; then, if B has steps
	 *         left, put a 'B' there and fill the rest.
	 * TODO 3: for each complete schedule, copy *init into a machine of
	 *         its own, run the steps in the schedule's order (keep a
	 *         "next step" counter per thread; pass THREAD_A or THREAD_B as
	 *         self), and call visit(schedule, &copy, ctx).
	 * TODO 4: return how many schedules you visited.
	 */
	(void)a;
	(void)b;
	(void)init;
	(void)visit;
	(void)ctx;
	return 0;
}
