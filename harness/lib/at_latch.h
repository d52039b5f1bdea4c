/*
 * at_latch.h - the overlap latch: proof that tasks were in progress at once.
 *
 * The harness hands the student's code tasks that each call
 * at_latch_task(). A task registers as "in flight", then waits until
 * `target` tasks are in flight together, then leaves. If the student's code runs the
 * tasks one after another, the first task waits alone until the deadline;
 * from then on the latch is "expired" and later tasks pass straight through,
 * so sequential code fails after one deadline, not one per task.
 *
 * max_in_flight is the figure the tests report: the largest number of tasks
 * that were between their start and their end at the same moment. That is
 * concurrency, on any number of cores: compare with at_witness.h, which
 * proves parallelism.
 *
 * Keep target <= the number of tasks the code can run at once (a pool of 4
 * can never hold 5 tasks in flight: that would be a correct pool failing).
 */
#ifndef AT_LATCH_H
#define AT_LATCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct at_latch {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int target;
	int arrived;        /* tasks that have started, in all */
	int in_flight;      /* tasks started and not yet finished */
	int max_in_flight;  /* the figure: most tasks in flight at one moment */
	bool expired;       /* a waiter hit the deadline; nobody waits any more */
	int64_t timeout_ns; /* how long one waiter waits for the others */
};

/*
 * Set up a latch for `target` tasks; each waits at most timeout_ms.
 * process_shared: the latch lives in memory shared with forked children
 * (see at_latch_create_shared). Returns 0 or an errno value.
 */
int at_latch_init(struct at_latch *l, int target, int timeout_ms, bool process_shared);
void at_latch_destroy(struct at_latch *l);

/*
 * A latch in a MAP_SHARED|MAP_ANONYMOUS mapping, usable across fork().
 * NULL on failure. Free with at_latch_free_shared().
 */
struct at_latch *at_latch_create_shared(int target, int timeout_ms);
void at_latch_free_shared(struct at_latch *l);

/*
 * The body of one harness task: arrive, wait (blocking) for the others,
 * leave. Returns true when the target was reached while this task waited.
 */
bool at_latch_task(struct at_latch *l);

/*
 * The same for cooperative code (lesson 01): never blocks the OS thread.
 * While the target is not reached it calls yield() so the scheduler can run
 * the other tasks, and it gives up at the deadline on its own.
 */
bool at_latch_task_yielding(struct at_latch *l, void (*yield)(void));

/* The figure, read after all tasks ended. */
int at_latch_max_in_flight(struct at_latch *l);

#endif
