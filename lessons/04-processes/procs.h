/*
 * procs.h - lesson 04: run tasks in child processes, bring their results
 * back through pipes, reap every child.
 *
 * You write procs.c. The tests hand run_in_processes() tasks of their own
 * and watch what your code does with them: which process ran each task, how
 * many were in progress at once (concurrency), whether two ran at the same
 * instant (parallelism), whether a child's writes reached the parent's
 * memory, what was left behind (zombies, open descriptors), and what became
 * of the other results when one child crashed.
 *
 * Compare with lesson 02 (threads.h): the same job on threads, which share
 * one memory; here every task gets a memory of its own.
 */
#ifndef PROCS_H
#define PROCS_H

#include <stddef.h>
#include <sys/types.h>

/* ANCHOR: interface */
/* A task: run in a child process, its return value is its result. */
typedef long (*proc_task_fn)(void *arg);

enum proc_status {
	PROC_OK,        /* the child sent fn's result and exited with status 0 */
	PROC_CRASHED,   /* a signal killed the child: `signal` says which */
	PROC_EXITED,    /* the child exited without sending a whole result:
			   `exit_code` says with which status */
};

struct proc_result {
	enum proc_status status;
	int signal;     /* PROC_CRASHED: the signal's number, e.g. SIGSEGV */
	int exit_code;  /* PROC_EXITED: the child's exit status, 0 to 255 */
	long value;     /* PROC_OK: what fn(args[i]) returned, in the child */
	pid_t pid;      /* the child process that ran task i */
};

/*
 * Run fn(args[i]) for every i < n, each in a child process of its own,
 * all started before any is waited for. A child sends its result to the
 * parent through a pipe and ends with _exit(): it never returns into the
 * caller's code. Before returning, wait for every child (no zombie left),
 * close every descriptor you opened, and fill out[i] for every task.
 *
 * A child that crashes or exits early is a result (PROC_CRASHED,
 * PROC_EXITED), not an error: the other tasks' results are kept.
 * Returns 0, or an errno value when a pipe or a child could not be made
 * (the children already started are still collected and reaped).
 */
int run_in_processes(proc_task_fn fn, void *const args[],
		     struct proc_result out[], size_t n);
/* ANCHOR_END: interface */

#endif
