/*
 * tsan_chunks.c - lesson 08's ThreadSanitizer driver: dp_static() and
 * dp_dynamic() on 4 threads, built with -fsanitize=thread (harness/mk/
 * lesson.mk builds it as $ATONCE_OUT/tsan_chunks; TSan cannot run inside a
 * Criterion test binary, so test_chunks.c::race_free spawns this instead).
 *
 *   tsan_chunks run    10 runs of each, chunks of 1 and 3, n = 20000
 *
 * ThreadSanitizer watches every memory access: a shared next-chunk counter
 * read and then written in two steps, or a total that two threads add into,
 * is a data race, reported even when this run's timing happened to give
 * the right answer.
 *
 * Exit status: 0 clean; 66 a ThreadSanitizer report (the test sets
 * TSAN_OPTIONS exitcode=66); 2 bad usage; 3 the code under test failed on
 * its own (an error returned, a wrong sum). Compare with
 * harness/07-thread-pool/tsan_pool.c.
 */
#include "chunks.h"

#include <stdio.h>
#include <string.h>

#define N 20000

static long in[N];

static long triple(long x, void *arg)
{
	(void)arg;
	return 3 * x + 1;
}

static void add(long *acc, long y, void *arg)
{
	(void)arg;
	*acc += y;
}

int main(int argc, char **argv)
{
	struct job job = { in, N, triple, add, 0, NULL };
	long expected = 0, r;
	int err;

	if (argc != 2 || strcmp(argv[1], "run") != 0) {
		fprintf(stderr, "usage: %s run\n", argv[0]);
		return 2;
	}
	for (long i = 0; i < N; i++) {
		in[i] = i;
		expected += 3 * i + 1;
	}
	for (int k = 0; k < 10; k++) {
		r = -1;
		if ((err = dp_static(&job, 4, &r)) != 0 || r != expected) {
			fprintf(stderr, "tsan_chunks: dp_static returned %d (%s), result %ld (expected %ld)\n", err, strerror(err), r, expected);
			return 3;
		}
		r = -1;
		if ((err = dp_dynamic(&job, 4, k % 2 ? 3 : 1, &r)) != 0 || r != expected) {
			fprintf(stderr, "tsan_chunks: dp_dynamic returned %d (%s), result %ld (expected %ld)\n", err, strerror(err), r, expected);
			return 3;
		}
	}
	printf("tsan_chunks: 10 runs of dp_static and dp_dynamic on 4 threads, all right\n");
	return 0;
}
