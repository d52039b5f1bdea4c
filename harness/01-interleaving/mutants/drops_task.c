/*
 * Mutant drops_task: the run queue is a fixed ring of 64 slots, and a task
 * spawned while it is full is silently dropped (green_spawn() still
 * returns 0). Fine for the few tasks of a small test; 200 tasks lose most.
 * Caught by: green::every_task_runs.
 */
#include "green.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <ucontext.h>

struct green_task {
	ucontext_t ctx;          /* its registers while it is not running */
	void *stack;             /* GREEN_STACK_SIZE bytes of its own */
	green_fn fn;
	void *arg;
	bool finished;           /* fn has returned */
};

/* One OS thread runs all of this, so nothing here needs a lock. */
static ucontext_t scheduler;            /* green_run(), while a task runs */
static struct green_task *current;      /* the running task; NULL outside */

/* The mistake: a run queue of fixed size, a ring of QUEUE_SLOTS. When it
 * is full, enqueue() has nowhere to put the task and drops it, silently. */
#define QUEUE_SLOTS 64
static struct green_task *ring[QUEUE_SLOTS];
static unsigned ring_front, ring_len;

static void enqueue(struct green_task *t)
{
	if (ring_len == QUEUE_SLOTS)
		return;  /* full: the task is lost (and never freed) */
	ring[(ring_front + ring_len) % QUEUE_SLOTS] = t;
	ring_len++;
}

static struct green_task *dequeue(void)
{
	struct green_task *t;

	if (ring_len == 0)
		return NULL;
	t = ring[ring_front];
	ring_front = (ring_front + 1) % QUEUE_SLOTS;
	ring_len--;
	return t;
}

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

static void free_task(struct green_task *t)
{
	free(t->stack);
	free(t);
}

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
