/*
 * green.c - lesson 01, part 1: YOUR CODE. A round-robin scheduler of green
 * threads on one OS thread.
 *
 * Read the chapter (README.md beside this file) first, then replace each
 * TODO. `make check LESSON=1` tells you what your code does, measured.
 * Tools: getcontext(3), makecontext(3), swapcontext(3) in <ucontext.h>;
 * the chapter's demo/coroutine_pingpong.c shows them at work.
 */
#include "green.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <ucontext.h>

/*
 * TODO 1: describe a task: a struct holding its saved context
 *         (ucontext_t), its stack, its function and argument, whether it
 *         has finished, and a link to the task behind it in the run queue.
 *         Then the scheduler's own state, as statics: the context of
 *         green_run() (where a yielding task switches to), the task now
 *         running (none outside green_run), and the run queue (a FIFO:
 *         keep both its front and its back, so adding at the back is O(1)).
 */

int green_spawn(green_fn fn, void *arg)
{
	/*
	 * TODO 2: allocate a task and a stack of GREEN_STACK_SIZE bytes
	 *         (ENOMEM if either fails). Prepare its context: getcontext(),
	 *         then point uc_stack at the new stack, set uc_link to the
	 *         context to resume when the task's function returns (the
	 *         scheduler's), and makecontext() it with an entry function
	 *         of yours. makecontext passes only int arguments: let the
	 *         entry function find its task through "the task now running",
	 *         call fn(arg), and mark the task finished.
	 *         Last, put the task at the BACK of the run queue.
	 */
	(void)fn;
	(void)arg;
	return ENOSYS;
}

void green_yield(void)
{
	/*
	 * TODO 3: outside a task, do nothing. Inside one, switch from the
	 *         running task to the scheduler with swapcontext(), saving the
	 *         task's registers in its own context: the scheduler decides
	 *         who runs next, and one day switches back to right here.
	 */
}

int green_run(void)
{
	/*
	 * TODO 4: the scheduler. While the run queue is not empty: take the
	 *         task at its FRONT, make it the running task, and
	 *         swapcontext() from the scheduler's context to the task's.
	 *         When you are back (the task yielded or returned), no task is
	 *         running: free a finished task (its stack too: this is the
	 *         moment, because nobody is running on it), or put a task that
	 *         only yielded at the BACK of the queue. Return 0 once the
	 *         queue is empty, leaving everything ready for another run.
	 */
	return ENOSYS;
}
