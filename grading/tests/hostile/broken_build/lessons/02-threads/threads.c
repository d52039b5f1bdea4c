/* Not hostile, just broken: a syntax error. Expected: zero for the lesson,
 * with the compiler's message in the feedback. */
#include "threads.h"

int run_parallel(struct task *tasks, size_t n)
{
	return tasks[0].result +   /* missing operand and semicolon */
}
