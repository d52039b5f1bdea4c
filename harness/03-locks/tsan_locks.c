/*
 * tsan_locks.c - lesson 03's ThreadSanitizer driver: runs the code under
 * test from several threads at once, built with -fsanitize=thread
 * (harness/mk/lesson.mk builds it as $ATONCE_OUT/tsan_locks; TSan cannot
 * run inside a Criterion test binary, so the tests spawn this instead).
 *
 *   tsan_locks bank    transfers from 4 threads while a 5th calls bank_total()
 *   tsan_locks bbuf    2 producers and 2 consumers through a buffer of 2 (a
 *                      run that stalls ends itself: lost wake-ups and lost
 *                      items are wakeup's and fifo's to judge, not this)
 *
 * ThreadSanitizer watches every memory access: two threads touching the
 * same memory, one of them writing, with no lock or other ordering
 * between them, is a data race, and it reports it even when this run's
 * timing happened to give the right answer. It also reports locks taken
 * in opposite orders by two threads (a deadlock waiting to happen).
 *
 * Exit status: 0 clean; 66 a ThreadSanitizer report (TSAN_OPTIONS
 * exitcode=66, set by the test); 2 bad usage; 3 the code under test failed
 * on its own (an error returned, a wrong bank total). An alarm ends a run that
 * hangs after 10 s. Compare with test_bank.c and test_bbuf.c, which spawn it.
 */
#include "bank.h"
#include "bbuf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BANK_THREADS   4
#define BANK_ACCOUNTS  5
#define BANK_TRANSFERS 3000
#define BANK_INITIAL   1000
#define BANK_AUDITS    200

#define BB_PRODUCERS 2
#define BB_CONSUMERS 2
#define BB_ITEMS     3000   /* per producer */
#define BB_CAPACITY  2

static void die(const char *what, int rc)
{
	fprintf(stderr, "tsan_locks: %s: %s\n", what, rc ? strerror(rc) : "failed");
	exit(3);
}

/* ---- bank ------------------------------------------------------------ */

static struct bank bank;

static void *transfers(void *arg)
{
	unsigned seed = (unsigned)(size_t)arg * 7919u + 1;

	for (int i = 0; i < BANK_TRANSFERS; i++) {
		size_t from = (size_t)rand_r(&seed) % BANK_ACCOUNTS;
		size_t to = (size_t)rand_r(&seed) % BANK_ACCOUNTS;

		transfer(&bank, from, to, 1 + rand_r(&seed) % 20);
	}
	return NULL;
}

static void *audits(void *arg)
{
	long *wrong = arg;

	for (int i = 0; i < BANK_AUDITS; i++)
		if (bank_total(&bank) != (long)BANK_ACCOUNTS * BANK_INITIAL)
			(*wrong)++;
	return NULL;
}

static int run_bank(void)
{
	pthread_t t[BANK_THREADS + 1];
	long wrong = 0, total;
	int rc;

	if ((rc = bank_init(&bank, BANK_ACCOUNTS, BANK_INITIAL)) != 0)
		die("bank_init()", rc);
	for (size_t i = 0; i < BANK_THREADS; i++)
		if ((rc = pthread_create(&t[i], NULL, transfers, (void *)i)) != 0)
			die("pthread_create", rc);
	if ((rc = pthread_create(&t[BANK_THREADS], NULL, audits, &wrong)) != 0)
		die("pthread_create", rc);
	for (int i = 0; i <= BANK_THREADS; i++)
		if ((rc = pthread_join(t[i], NULL)) != 0)
			die("pthread_join", rc);
	total = bank_total(&bank);
	bank_destroy(&bank);
	if (total != (long)BANK_ACCOUNTS * BANK_INITIAL) {
		fprintf(stderr, "tsan_locks: the bank holds %ld after the transfers, not %ld\n",
			total, (long)BANK_ACCOUNTS * BANK_INITIAL);
		return 3;
	}
	printf("bank: %d transfers from %d threads and %d audits (%ld off), no report\n",
	       BANK_THREADS * BANK_TRANSFERS, BANK_THREADS, BANK_AUDITS, wrong);
	return 0;
}

/* ---- bounded buffer -------------------------------------------------- */

/*
 * This run is about data races only. A buffer that loses a wake-up or an
 * item can leave a thread asleep for good, and whether it does depends on
 * timing: that is wakeup's and fifo's to judge, deterministically. So the
 * run stops by itself once nothing has moved for STALL_MS (exit 0: no
 * race was seen), and what the consumers took is reported, not judged.
 */
#define STALL_MS 1000

static struct bbuf buf;
static atomic_long moved;            /* puts and gets that returned */
static atomic_int finished;          /* threads done */

static void *produce(void *arg)
{
	long base = (long)(size_t)arg * BB_ITEMS;

	for (long i = 0; i < BB_ITEMS; i++) {
		bbuf_put(&buf, base + i + 1);
		atomic_fetch_add(&moved, 1);
	}
	atomic_fetch_add(&finished, 1);
	return NULL;
}

static void *consume(void *arg)
{
	long *sum = arg;

	/* A fixed share each: no end mark that a wrong buffer could lose. */
	for (long i = 0; i < (long)BB_PRODUCERS * BB_ITEMS / BB_CONSUMERS; i++) {
		*sum += bbuf_get(&buf);
		atomic_fetch_add(&moved, 1);
	}
	atomic_fetch_add(&finished, 1);
	return NULL;
}

/* Wait until every thread is done (true), or until nothing has moved for
 * STALL_MS (false): then join those that did end (TSan reports an ended
 * thread nobody joined as a leak); the stuck ones are left asleep, and the
 * driver ends by returning from main (a thread still running is no leak,
 * and a race would have been reported already). */
static bool all_done(pthread_t *t, int threads)
{
	long last = -1;
	int still = 0;

	while (atomic_load(&finished) < threads) {
		long now = atomic_load(&moved);

		still = now == last ? still + 10 : 0;
		last = now;
		if (still >= STALL_MS) {
			for (int i = 0; i < threads; i++)
				pthread_tryjoin_np(t[i], NULL);
			printf("bbuf: the run stalled after %ld puts and gets (a lost wake-up or item: wakeup and fifo judge that), no race reported\n", now);
			return false;
		}
		usleep(10000);
	}
	return true;
}

static int run_bbuf(void)
{
	pthread_t t[BB_PRODUCERS + BB_CONSUMERS], *p = t, *c = t + BB_PRODUCERS;
	long sum[BB_CONSUMERS] = { 0 }, got = 0, want;
	int rc;

	if ((rc = bbuf_init(&buf, BB_CAPACITY)) != 0)
		die("bbuf_init()", rc);
	for (size_t i = 0; i < BB_CONSUMERS; i++)
		if ((rc = pthread_create(&c[i], NULL, consume, &sum[i])) != 0)
			die("pthread_create", rc);
	for (size_t i = 0; i < BB_PRODUCERS; i++)
		if ((rc = pthread_create(&p[i], NULL, produce, (void *)i)) != 0)
			die("pthread_create", rc);
	if (!all_done(t, BB_PRODUCERS + BB_CONSUMERS))
		return 0;
	for (int i = 0; i < BB_PRODUCERS; i++)
		if ((rc = pthread_join(p[i], NULL)) != 0)
			die("pthread_join", rc);
	for (int i = 0; i < BB_CONSUMERS; i++) {
		if ((rc = pthread_join(c[i], NULL)) != 0)
			die("pthread_join", rc);
		got += sum[i];
	}
	bbuf_destroy(&buf);
	want = (long)BB_PRODUCERS * BB_ITEMS * (BB_PRODUCERS * BB_ITEMS + 1) / 2;
	printf("bbuf: %d items through a buffer of %d, they add up to %ld (%ld put), no race reported\n",
	       BB_PRODUCERS * BB_ITEMS, BB_CAPACITY, got, want);
	return 0;
}

int main(int argc, char **argv)
{
	/* A deadlock must end the run, not hang it: SIGALRM's default action
	 * ends the process, which the test reports. */
	alarm(10);
	if (argc == 2 && strcmp(argv[1], "bank") == 0)
		return run_bank();
	if (argc == 2 && strcmp(argv[1], "bbuf") == 0)
		return run_bbuf();
	fprintf(stderr, "usage: %s bank|bbuf\n", argv[0]);
	return 2;
}
