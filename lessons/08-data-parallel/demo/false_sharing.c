/*
 * false_sharing.c - two threads, each adding into a counter of its own:
 * first with the two counters side by side (one cache line), then with
 * each counter on a 64-byte line of its own. No data is shared, the
 * results are the same; only the speed differs.
 *
 *   gcc -std=gnu11 -O2 -pthread false_sharing.c && ./a.out
 *
 * Compare with the chapter's section on per-thread accumulators, and with
 * harness/08-data-parallel/mutants/unpadded_shared.patch.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ADDS 100000000L

static pthread_barrier_t start;

/* ANCHOR: layouts */
/* Side by side: both counters in one 64-byte cache line. */
struct side_by_side {
	volatile long count[2];
};

/* Padded: each counter starts a cache line of its own. */
struct padded_counter {
	_Alignas(64) volatile long count;
};
struct padded {
	struct padded_counter c[2];
};
/* ANCHOR_END: layouts */

static struct side_by_side tight;
static struct padded roomy;

struct arg {
	volatile long *counter;
};

/* ANCHOR: adder */
/* Every addition writes the counter's cache line: a CPU must own the line
 * to write it, so two CPUs writing one line pass it back and forth. */
static void *adder(void *p)
{
	volatile long *c = ((struct arg *)p)->counter;

	pthread_barrier_wait(&start);  /* both threads add at the same time */
	for (long i = 0; i < ADDS; i++)
		*c += 1;
	return NULL;
}
/* ANCHOR_END: adder */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Two threads, one per counter; the wall time in ms, or -1. */
static double race(volatile long *a, volatile long *b)
{
	struct arg args[2] = { { a }, { b } };
	pthread_t t[2];
	double t0 = now_ms();
	int err;

	if ((err = pthread_barrier_init(&start, NULL, 2)) != 0) {
		fprintf(stderr, "pthread_barrier_init: %s\n", strerror(err));
		return -1;
	}
	for (int i = 0; i < 2; i++)
		if ((err = pthread_create(&t[i], NULL, adder, &args[i])) != 0) {
			fprintf(stderr, "pthread_create: %s\n", strerror(err));
			return -1;
		}
	for (int i = 0; i < 2; i++)
		if ((err = pthread_join(t[i], NULL)) != 0) {
			fprintf(stderr, "pthread_join: %s\n", strerror(err));
			return -1;
		}
	pthread_barrier_destroy(&start);
	return now_ms() - t0;
}

int main(void)
{
	double side, pad;

	side = race(&tight.count[0], &tight.count[1]);
	pad = race(&roomy.c[0].count, &roomy.c[1].count);
	if (side < 0 || pad < 0)
		return 1;
	printf("2 threads x %ld additions into counters of their own:\n", ADDS);
	printf("  side by side (8 bytes apart):   %5.0f ms\n", side);
	printf("  padded (64 bytes apart):        %5.0f ms\n", pad);
	printf("  totals: %ld %ld / %ld %ld (the same either way)\n",
	       tight.count[0], tight.count[1], roomy.c[0].count, roomy.c[1].count);
	return 0;
}
