/*
 * green.h - lesson 01, part 1: green threads on one OS thread.
 *
 * You write green.c. A green thread (a "task") is a function with a stack
 * of its own, run by YOUR scheduler rather than by the kernel. All tasks
 * share the one OS thread that calls green_run(): only one of them runs at
 * any instant, and a task keeps the CPU until it gives it up by calling
 * green_yield() or by returning. That is cooperative multitasking.
 *
 * The tests hand your scheduler tasks of their own and watch what it does
 * with them: how many are in progress at once, which OS thread runs them,
 * in which order their steps run, whether any is lost, and whether their
 * stacks come back. Compare with lesson 02, where the kernel's scheduler
 * runs each task on a thread of its own.
 */
#ifndef GREEN_H
#define GREEN_H

#include <stddef.h>

/* ANCHOR: interface */
/* The bytes of stack each task gets: plenty for the tests' tasks. */
#define GREEN_STACK_SIZE (64 * 1024)

/* A task's body. When it returns, the task has finished. */
typedef void (*green_fn)(void *arg);

/*
 * Create a task that will run fn(arg) on a stack of its own, and put it at
 * the back of the run queue. It does not run yet: it runs once green_run()
 * reaches it. May be called from ordinary code before green_run(), and
 * from inside a running task (the new task joins the same run).
 * Returns 0, or an error number (ENOMEM when memory runs out).
 */
int green_spawn(green_fn fn, void *arg);

/*
 * Called by a running task: put it at the back of the run queue and switch
 * to the task at the front. It returns when the scheduler comes back to
 * this task. With tasks A, B, C that yield after every step, the steps run
 * A B C A B C ... (round-robin, first come first served).
 * A task alone in the queue continues at once. Called outside any task
 * (from ordinary code), it does nothing.
 */
void green_yield(void);

/*
 * Run tasks, one at a time on the calling OS thread, until every task has
 * finished, including the tasks spawned while it runs; free each task's
 * stack once it has finished; then return. Afterwards green_spawn() and
 * green_run() may be used again for a new run.
 * Call it from ordinary code, never from inside a task.
 * Returns 0, or an error number if a context switch failed.
 */
int green_run(void);
/* ANCHOR_END: interface */

#endif
