/*
 * explore.h - lesson 01, part 2: every interleaving of two tiny programs.
 *
 * You write explore.c. Two threads, A and B, each run a short program: a
 * list of steps. A step is atomic: once started, nothing else happens
 * until it ends. What is NOT fixed is the order in which the two threads'
 * steps mix. A schedule is one such mix, written as a string: "ABAB" means
 * A's first step, then B's first, then A's second, then B's second. Each
 * thread's own steps always keep their order.
 *
 * explore() tries every schedule, each from a fresh copy of the same
 * starting state, and shows the final state of each to a visitor. Where
 * the final states differ, the program's result depends on luck: which
 * schedule the scheduler (green_yield, or the kernel) happened to pick.
 * Compare with the green threads of green.h, which always pick the same
 * one, A B A B ...
 */
#ifndef EXPLORE_H
#define EXPLORE_H

/* ANCHOR: machine */
#define MACHINE_SHARED    16  /* memory cells both threads see */
#define MACHINE_REGS       4  /* registers each thread has for itself */
#define EXPLORE_MAX_STEPS 16  /* steps in one program, at most */

enum { THREAD_A = 0, THREAD_B = 1 };

/* Everything the two threads can touch. */
struct machine {
	int shared[MACHINE_SHARED];
	int reg[2][MACHINE_REGS];  /* reg[THREAD_A], reg[THREAD_B] */
};

/*
 * One atomic step of a thread. `self` is THREAD_A or THREAD_B: the thread
 * taking the step, so that it uses its own registers, m->reg[self].
 */
typedef void (*step_fn)(struct machine *m, int self);

/* A thread's program: its steps, run in this order. */
struct program {
	const char *name;
	int nsteps;                        /* 0 .. EXPLORE_MAX_STEPS */
	step_fn step[EXPLORE_MAX_STEPS];
};
/* ANCHOR_END: machine */

/* ANCHOR: explore */
/*
 * Called once per schedule. `schedule` is a string of a->nsteps letters
 * 'A' and b->nsteps letters 'B' (NUL-terminated, valid only during the
 * call); `final` is the state after running exactly those steps, in that
 * order, from a copy of the initial state.
 */
typedef void (*visit_fn)(const char *schedule, const struct machine *final, void *ctx);

/*
 * Enumerate every schedule of a's steps and b's steps, each exactly once,
 * in any order. For each: copy *init, run the steps in the schedule's
 * order (A's k-th step is a->step[k](&copy, THREAD_A), B's likewise with
 * THREAD_B), then call visit(schedule, &copy, ctx). *init is not changed.
 * Returns the number of schedules visited: C(n+m, n) for programs of n
 * and m steps. Returns -1 (and visits nothing) when a program has fewer
 * than 0 or more than EXPLORE_MAX_STEPS steps.
 */
long explore(const struct program *a, const struct program *b,
	     const struct machine *init, visit_fn visit, void *ctx);
/* ANCHOR_END: explore */

#endif
