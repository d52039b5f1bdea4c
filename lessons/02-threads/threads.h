/*
 * threads.h - lesson 02: run tasks on threads; then the same run on one CPU.
 *
 * You write threads.c. The tests hand run_parallel() and run_pinned() tasks
 * of their own and measure what your code did with them: how many were in
 * progress at once (concurrency), whether two ever ran at the same instant
 * (parallelism), which thread and CPU each ran on, and what was left behind.
 */
#ifndef THREADS_H
#define THREADS_H

#include <stddef.h>

/* ANCHOR: interface */
/* A task is a function and its argument; its return value is its result. */
typedef long (*task_fn)(void *arg);

struct task {
	task_fn fn;    /* what to run */
	void *arg;     /* what to give it */
	long result;   /* written by run_parallel/run_pinned: fn(arg) */
};

/*
 * Run every task on a thread of its own, all of them at once, and return
 * when every one has finished (no thread left running). Each task's
 * return value goes into its own `result`.
 * Returns 0, or an error number from the pthread call that failed.
 */
int run_parallel(struct task *tasks, size_t n);

/*
 * The same, but every thread may run only on CPU `cpu`: the tasks are
 * still all in progress at once (concurrent), yet never simultaneous.
 * Returns 0, or an error number.
 */
int run_pinned(struct task *tasks, size_t n, int cpu);
/* ANCHOR_END: interface */

#endif
