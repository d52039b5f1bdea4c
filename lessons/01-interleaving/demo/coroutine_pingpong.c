/*
 * coroutine_pingpong.c - two coroutines hand the CPU to each other with
 * ucontext: no threads, no scheduler, one OS thread.
 *
 * Each coroutine has a stack of its own and a saved context (its
 * registers). swapcontext(&mine, &theirs) saves where I am into `mine` and
 * continues wherever `theirs` was saved: a context switch done by hand.
 * Compare with green.h, where a scheduler picks who runs next instead of
 * each coroutine naming its partner.
 *
 * Build and run:  gcc -std=gnu11 -Wall coroutine_pingpong.c -o pingpong && ./pingpong
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define ROUNDS 3
#define STACK_SIZE (64 * 1024)

static ucontext_t main_ctx, ping_ctx, pong_ctx;
static char ping_stack[STACK_SIZE], pong_stack[STACK_SIZE];
static long tid_seen[2];

static long os_thread(void)
{
	return syscall(SYS_gettid);
}

/* ANCHOR: coroutines */
static void ping(void)
{
	tid_seen[0] = os_thread();
	for (int i = 1; i <= ROUNDS; i++) {
		printf("ping %d\n", i);
		swapcontext(&ping_ctx, &pong_ctx);  /* pause here, run pong */
	}
	/* Returning follows ping_ctx.uc_link: back to main. */
}

static void pong(void)
{
	tid_seen[1] = os_thread();
	for (int i = 1; i <= ROUNDS; i++) {
		printf("        pong %d\n", i);
		if (i < ROUNDS)
			swapcontext(&pong_ctx, &ping_ctx);  /* pause here, resume ping */
	}
	/* Returning follows pong_ctx.uc_link: back into ping's last swap. */
}
/* ANCHOR_END: coroutines */

/* ANCHOR: setup */
/* Give a context its own stack, a place to go when it ends, an entry. */
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
	prepare(&ping_ctx, ping_stack, &main_ctx, ping);
	prepare(&pong_ctx, pong_stack, &ping_ctx, pong);
	printf("main: switching to ping\n");
	if (swapcontext(&main_ctx, &ping_ctx) != 0) {  /* back when ping ends */
		perror("swapcontext");
		return 1;
	}
	printf("main: both finished; all on one OS thread: %s\n",
	       tid_seen[0] == os_thread() && tid_seen[1] == os_thread() ? "yes" : "no");
	return 0;
}
/* ANCHOR_END: setup */
