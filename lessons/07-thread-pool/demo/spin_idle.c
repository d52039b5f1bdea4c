/*
 * spin_idle.c - BUGGY: an idle worker that polls for work (look, look
 * again, ...). Nothing is ever queued for 200 ms; the program prints how
 * much CPU the idle worker burned meanwhile. Compare with
 * spin_idle_fixed.c, whose worker sleeps on a condition variable.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int queued;   /* stays 0 until main queues the last item */

/* ANCHOR: bug */
static void *worker(void *arg)
{
	(void)arg;
	while (atomic_load(&queued) == 0)   /* the bug: poll instead of sleeping */
		;
	return NULL;
}
/* ANCHOR_END: bug */

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(void)
{
	pthread_t t;
	double before = cpu_ms(), burned;
	int rc = pthread_create(&t, NULL, worker, NULL);

	if (rc != 0) {
		fprintf(stderr, "pthread_create: %s\n", strerror(rc));
		return 1;
	}
	usleep(200 * 1000);          /* main sleeps: the CPU burned is the worker's */
	burned = cpu_ms() - before;
	atomic_store(&queued, 1);
	rc = pthread_join(t, NULL);
	if (rc != 0)
		fprintf(stderr, "pthread_join: %s\n", strerror(rc));
	printf("polling worker: %.1f ms of CPU burned in 200 ms of waiting\n", burned);
	return 0;
}
