/*
 * lost_update_green.c - the lost update WITHOUT parallelism: two coroutines
 * on one OS thread, each doing "r = counter; counter = r + 1", and each
 * handing the CPU to the other between its read and its write. Nothing
 * ever runs at the same instant, yet one update is lost, every time.
 * Interleaving alone is enough. Compare with lost_update.c, where two
 * threads lose updates by luck, and with the explorer of explore.h, which
 * tries every interleaving instead of this one.
 *
 * Build and run:  gcc -std=gnu11 -Wall lost_update_green.c -o green_lost && ./green_lost
 */
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

#define STACK_SIZE (64 * 1024)

static ucontext_t main_ctx, ctx_a, ctx_b;
static char stack_a[STACK_SIZE], stack_b[STACK_SIZE];
static int counter;

/* ANCHOR: increments */
static void increment_a(void)
{
	int r = counter;                /* A reads 0 */
	printf("A: read  counter = %d\n", r);
	swapcontext(&ctx_a, &ctx_b);    /* A is switched out before it writes */
	counter = r + 1;                /* A writes 0 + 1 */
	printf("A: wrote counter = %d\n", counter);
	/* A returns: its uc_link resumes B, after B's swapcontext. */
}

static void increment_b(void)
{
	int r = counter;                /* B reads 0 too: A has not written yet */
	printf("B: read  counter = %d\n", r);
	swapcontext(&ctx_b, &ctx_a);
	counter = r + 1;                /* B writes 0 + 1: A's update is lost */
	printf("B: wrote counter = %d\n", counter);
}
/* ANCHOR_END: increments */

static void prepare(ucontext_t *ctx, char *stack, ucontext_t *link, void (*entry)(void))
{
	if (getcontext(ctx) != 0) {
		perror("getcontext");
		exit(1);
	}
	ctx->uc_stack.ss_sp = stack;
	ctx->uc_stack.ss_size = STACK_SIZE;
	ctx->uc_link = link;
	makecontext(ctx, entry, 0);
}

int main(void)
{
	prepare(&ctx_a, stack_a, &ctx_b, increment_a);     /* A's end resumes B */
	prepare(&ctx_b, stack_b, &main_ctx, increment_b);  /* B's end resumes main */
	if (swapcontext(&main_ctx, &ctx_a) != 0) {
		perror("swapcontext");
		return 1;
	}
	/* The schedule was A B A B: read, read, write, write. */
	printf("schedule ABAB: counter = %d after two increments (expected 2)\n", counter);
	return 0;
}
