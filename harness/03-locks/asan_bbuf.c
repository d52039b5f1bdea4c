/*
 * asan_bbuf.c - lesson 03's AddressSanitizer driver: is the bounded
 * buffer's memory handled right? (harness/mk/lesson.mk builds it, with the
 * code under test, under -fsanitize=address,undefined as
 * $ATONCE_OUT/asan_bbuf; test_bbuf.c::memory_safe_bbuf runs it, since
 * AddressSanitizer cannot run inside a Criterion test binary.)
 *
 *   asan_bbuf ring   buffers of 1, 2, 3, 7 and 64 slots, each filled to
 *                    the brim and emptied, then driven round the ring many
 *                    times (head wrapping at every position); a producer
 *                    and a consumer thread through a buffer of 3; 50
 *                    buffers made and destroyed. (One producer and one
 *                    consumer: a lost wake-up cannot stall them; and what
 *                    they pass is not looked at: this run is about memory
 *                    only, wakeup and fifo judge the rest.)
 *
 * In the test process a write one slot past the ring lands in whatever
 * memory follows it, and the items may still come out right; a slot array
 * never freed goes unnoticed. AddressSanitizer makes every read or write
 * outside the slots, every use of a freed buffer, every double free and
 * every leak a report, on every run.
 *
 * Exit 0 when everything came out right; 1 when an item was wrong (a
 * message says which); 66 when AddressSanitizer, LeakSanitizer or UBSan
 * reports (the test sets exitcode=66). Compare with tsan_locks.c.
 */
#include "bbuf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int wrong;

static void expect(long got, long want, const char *what, size_t capacity)
{
	if (got != want && wrong++ == 0)
		fprintf(stderr, "asan_bbuf: %s, buffer of %zu: got %ld, expected %ld\n", what, capacity, got, want);
}

/* Fill to the brim, empty; then one in, one out, round the ring. */
static void ring(size_t capacity)
{
	struct bbuf b;
	long next_in = 0, next_out = 0;
	int rc = bbuf_init(&b, capacity);

	if (rc != 0) {
		fprintf(stderr, "asan_bbuf: bbuf_init(b, %zu) returned %d (%s)\n", capacity, rc, strerror(rc));
		wrong++;
		return;
	}
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < capacity; i++)
			bbuf_put(&b, next_in++);
		for (size_t i = 0; i < capacity; i++)
			expect(bbuf_get(&b), next_out++, "filled then emptied", capacity);
	}
	/* Keep one fewer than full, so that head and the free slot walk
	 * round every position several times. */
	for (size_t i = 0; i + 1 < capacity; i++)
		bbuf_put(&b, next_in++);
	for (size_t i = 0; i < 5 * capacity + 3; i++) {
		bbuf_put(&b, next_in++);
		expect(bbuf_get(&b), next_out++, "round the ring", capacity);
	}
	while (next_out < next_in)
		expect(bbuf_get(&b), next_out++, "emptied at the end", capacity);
	bbuf_destroy(&b);
}

#define MT_ITEMS 20000

static struct bbuf mt;
static long consumed_sum;

static void *produce(void *arg)
{
	(void)arg;
	for (long i = 0; i < MT_ITEMS; i++)
		bbuf_put(&mt, i + 1);
	return NULL;
}

static void *consume(void *arg)
{
	(void)arg;
	for (long i = 0; i < MT_ITEMS; i++)
		consumed_sum += bbuf_get(&mt);
	return NULL;
}

static void threads(void)
{
	pthread_t p, c;

	if (bbuf_init(&mt, 3) != 0) {
		fprintf(stderr, "asan_bbuf: bbuf_init(b, 3) failed\n");
		wrong++;
		return;
	}
	if (pthread_create(&c, NULL, consume, NULL) != 0 || pthread_create(&p, NULL, produce, NULL) != 0) {
		fprintf(stderr, "asan_bbuf: pthread_create failed\n");
		exit(1);
	}
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	/* Which items came out is fifo's business (a get() that reads its
	 * slot after unlocking takes a wrong one now and then): here only
	 * the memory is judged, so that the verdict never hangs on a race. */
	(void)consumed_sum;
	bbuf_destroy(&mt);
}

int main(int argc, char **argv)
{
	static const size_t caps[] = { 1, 2, 3, 7, 64 };

	if (argc != 2 || strcmp(argv[1], "ring") != 0) {
		fprintf(stderr, "usage: asan_bbuf ring\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		ring(caps[i]);
	threads();
	/* Made and destroyed many times: whatever init allocates and destroy
	 * does not free adds up to a leak. */
	for (int i = 0; i < 50; i++) {
		struct bbuf b;

		if (bbuf_init(&b, (size_t)(i % 5 + 1)) == 0) {
			bbuf_put(&b, i);
			expect(bbuf_get(&b), i, "made, used once, destroyed", (size_t)(i % 5 + 1));
			bbuf_destroy(&b);
		}
	}
	return wrong ? 1 : 0;
}
