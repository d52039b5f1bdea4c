/*
 * asan_green.c - lesson 01's AddressSanitizer driver (harness/mk/lesson.mk
 * builds it, with the code under test, as $ATONCE_OUT/asan_green;
 * test_green.c::memory_errors runs it).
 *
 *   asan_green all   two runs of 200 green tasks (half spawn a child from
 *                    inside, each yields deep in nested calls, with arrays
 *                    on its stack); then explore() at its limits: 16+1,
 *                    1+16, 16+2 and 0+0 steps, and 17 steps (refused)
 *
 * What it is for: the scheduler manages stacks and task records, the
 * explorer a schedule buffer. Freed memory still reads back its old bytes
 * for a while, so a use after free, a write past the end of a buffer or a
 * leak can pass every other test; here each one stops the run. So does a
 * task that frees the stack it is running on (the free hook below), a
 * mistake AddressSanitizer itself cannot see: after such a free only the
 * task's own return path runs on that stack, and none of it is checked.
 *
 * Exit 0 when clean; 66 when a sanitizer (or the free hook) reports; 3 when
 * green_spawn() is not written yet (ENOSYS).
 */
#include "explore.h"
#include "green.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* AddressSanitizer's interface (gcc ships no header for it). */
size_t __sanitizer_get_allocated_size(const volatile void *p);
int __sanitizer_get_ownership(const volatile void *p);
void __sanitizer_print_stack_trace(void);
void __sanitizer_free_hook(const volatile void *p);

/*
 * Called by AddressSanitizer before every free(). A block that holds the
 * frame of the code calling free() is the stack it is running on: report
 * it as a sanitizer would (ERROR line, frames, SUMMARY) and stop.
 */
void __sanitizer_free_hook(const volatile void *p)
{
	const char *lo = (const char *)p, *here = __builtin_frame_address(0);
	size_t size;

	if (!p || !__sanitizer_get_ownership(p))
		return;
	size = __sanitizer_get_allocated_size(p);
	if (here < lo || here >= lo + size)
		return;
	fprintf(stderr, "==%d==ERROR: a task freed the stack it is running on: free(%p), a block of %zu bytes that holds the running code's stack frame\n",
		(int)getpid(), (const void *)lo, size);
	__sanitizer_print_stack_trace();
	fprintf(stderr, "SUMMARY: a task freed its own stack (it still runs on it until it switches away)\n");
	fflush(stderr);
	_exit(66);
}

/* ---- green tasks ------------------------------------------------------ */

#define TASKS 200
#define DEPTH 6

static int spawn_errors, finished;

/* Nested calls with an array on each frame, yielding at the bottom: a
 * switch in the middle of a deep stack, which must come back intact. */
static int dive(int depth, int seed)
{
	volatile char frame[512];
	int sum;

	memset((char *)frame, seed & 0x7f, sizeof(frame));
	if (depth == 0) {
		green_yield();
		return frame[seed % 512];
	}
	sum = dive(depth - 1, seed + 1);
	green_yield();
	return sum + frame[(seed * 7) % 512];
}

static void child(void *arg)
{
	(void)dive(2, (int)(intptr_t)arg);
	finished++;
}

static void parent(void *arg)
{
	int id = (int)(intptr_t)arg;

	(void)dive(DEPTH, id);
	if (id % 2 == 0 && green_spawn(child, arg) != 0)
		spawn_errors++;
	green_yield();
	finished++;
}

/* One run; 0, or the exit status to stop with. */
static int green_round(void)
{
	int rc;

	for (int i = 0; i < TASKS; i++) {
		rc = green_spawn(parent, (void *)(intptr_t)i);
		if (rc == ENOSYS) {
			fprintf(stderr, "asan_green: green_spawn() is not written yet (ENOSYS)\n");
			return 3;
		}
	}
	(void)green_run();
	return 0;
}

/* ---- the explorer at its limits -------------------------------------- */

static void tick(struct machine *m, int self)
{
	m->reg[self][0]++;
}

/* A program with room for a step past EXPLORE_MAX_STEPS, so that an
 * explorer which runs a 17-step program anyway reads a real step. */
struct roomy_program {
	struct program p;
	step_fn spill[4];
};

static struct roomy_program ticker(int nsteps)
{
	struct roomy_program r;

	memset(&r, 0, sizeof(r));
	r.p.name = "ticker";
	r.p.nsteps = nsteps;
	for (int i = 0; i < EXPLORE_MAX_STEPS; i++)
		r.p.step[i] = tick;
	for (int i = 0; i < 4; i++)
		r.spill[i] = tick;
	return r;
}

static long letters;

/* Reads the whole schedule: a missing '\0' shows as a read past it. */
static void visit(const char *schedule, const struct machine *final, void *ctx)
{
	(void)final;
	(void)ctx;
	letters += (long)strlen(schedule);
}

static void explore_limits(void)
{
	static const int sizes[][2] = { { 16, 1 }, { 1, 16 }, { 16, 2 }, { 0, 0 }, { 17, 1 }, { 1, 17 } };
	struct machine init;

	memset(&init, 0, sizeof(init));
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct roomy_program a = ticker(sizes[k][0]), b = ticker(sizes[k][1]);

		(void)explore(&a.p, &b.p, &init, visit, NULL);
	}
}

int main(int argc, char **argv)
{
	int status;

	if (argc != 2 || strcmp(argv[1], "all") != 0) {
		fprintf(stderr, "usage: asan_green all\n");
		return 2;
	}
	if ((status = green_round()) != 0 || (status = green_round()) != 0)
		return status;
	explore_limits();
	printf("asan_green: %d tasks finished, %d spawn errors; %ld schedule letters\n",
	       finished, spawn_errors, letters);
	return 0;
}
