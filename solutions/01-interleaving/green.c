/*
 * green.c - lesson 01, the reference: a cooperative round-robin scheduler
 * of green threads on one OS thread, with ucontext.
 *
 * The design: green_run() is the scheduler. It takes the task at the
 * front of a FIFO run queue and switches to it; the task runs until it
 * yields (switches back to the scheduler) or returns (ucontext's uc_link
 * brings the scheduler back). The scheduler then puts a yielded task at
 * the back of the queue, or frees a finished one: a task never frees the
 * stack it is running on.
 *
 * Compare with harness/01-interleaving/mutants/: run_to_completion.patch
 * (a yield that does not switch), lifo_order.patch (new tasks pushed at
 * the front), uses_pthreads.patch (the kernel schedules instead of us).
 */
#include "green.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <ucontext.h>

/* ANCHOR: task */
struct green_task {
	ucontext_t ctx;          /* its registers while it is not running */
	void *stack;             /* GREEN_STACK_SIZE bytes of its own */
	green_fn fn;
	void *arg;
	bool finished;           /* fn has returned */
	struct green_task *next; /* the task behind it in the run queue */
};
/* ANCHOR_END: task */

/* ANCHOR: state */
/* One OS thread runs all of this, so nothing here needs a lock. */
static ucontext_t scheduler;            /* green_run(), while a task runs */
static struct green_task *current;      /* the running task; NULL outside */
static struct green_task *head, *tail;  /* the run queue, oldest first */
/* ANCHOR_END: state */

/* ANCHOR: queue */
static void enqueue(struct green_task *t)
{
	t->next = NULL;
	if (tail)
		tail->next = t;
	else
		head = t;
	tail = t;
}

static struct green_task *dequeue(void)
{
	struct green_task *t = head;

	if (t) {
		head = t->next;
		if (!head)
			tail = NULL; /* empty again: the next enqueue starts afresh */
	}
	return t;
}
/* ANCHOR_END: queue */

/* ANCHOR: entry */
/*
 * Every task starts here, on its own stack (makecontext passes only int
 * arguments, so the task is found through `current`). When this function
 * returns, ucontext follows uc_link back to the scheduler.
 */
static void task_entry(void)
{
	struct green_task *me = current;

	me->fn(me->arg);
	me->finished = true;
}
/* ANCHOR_END: entry */

static void free_task(struct green_task *t)
{
	free(t->stack);
	free(t);
}

/* ANCHOR: spawn */
int green_spawn(green_fn fn, void *arg)
{
	struct green_task *t = calloc(1, sizeof(*t));

	if (!t)
		return ENOMEM;
	t->stack = malloc(GREEN_STACK_SIZE);
	if (!t->stack) {
		free(t);
		return ENOMEM;
	}
	t->fn = fn;
	t->arg = arg;
	/* getcontext fills in what makecontext needs (the signal mask...);
	 * then we give the context its own stack and an entry point. */
	if (getcontext(&t->ctx) != 0) {
		int err = errno;

		free_task(t);
		return err;
	}
	t->ctx.uc_stack.ss_sp = t->stack;
	t->ctx.uc_stack.ss_size = GREEN_STACK_SIZE;
	t->ctx.uc_link = &scheduler;  /* where to go when task_entry returns */
	makecontext(&t->ctx, task_entry, 0);
	enqueue(t);
	return 0;
}
/* ANCHOR_END: spawn */

/* ANCHOR: yield */
void green_yield(void)
{
	struct green_task *me = current;

	if (!me)
		return;  /* ordinary code: there is no task to switch away from */
	/* Save this task's registers in its context and load the
	 * scheduler's: green_run() carries on after its swapcontext. We come
	 * back here when the scheduler switches to this task again. */
	swapcontext(&me->ctx, &scheduler);
}
/* ANCHOR_END: yield */

/* ANCHOR: run */
int green_run(void)
{
	struct green_task *t;

	if (current)
		return EDEADLK;  /* misuse from a task: refuse, or `scheduler` is overwritten */
	while ((t = dequeue()) != NULL) {
		current = t;
		/* The context switch: save the scheduler here, run t until it
		 * yields or returns. Either way we resume on the next line. */
		if (swapcontext(&scheduler, &t->ctx) != 0) {
			int err = errno;

			current = NULL;
			enqueue(t);
			return err;
		}
		current = NULL;
		if (t->finished)
			free_task(t);  /* safe: we are on the scheduler's stack now */
		else
			enqueue(t);    /* it yielded: to the back of the queue */
	}
	return 0;
}
/* ANCHOR_END: run */
