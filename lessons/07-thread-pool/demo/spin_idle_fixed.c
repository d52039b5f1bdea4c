/*
 * spin_idle_fixed.c - FIXED: the idle worker sleeps in pthread_cond_wait()
 * until work is queued; the kernel does not run it at all meanwhile.
 * Compare with spin_idle.c, whose worker polls.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static int queued;          /* guarded by mu */

static void check(int rc, const char *what)
{
	if (rc != 0)
		fprintf(stderr, "%s: %s\n", what, strerror(rc));
}

/* ANCHOR: fix */
static void *worker(void *arg)
{
	(void)arg;
	check(pthread_mutex_lock(&mu), "lock");
	while (queued == 0)          /* asleep: no CPU until signalled */
		check(pthread_cond_wait(&work, &mu), "wait");
	check(pthread_mutex_unlock(&mu), "unlock");
	return NULL;
}
/* ANCHOR_END: fix */

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
	usleep(200 * 1000);
	burned = cpu_ms() - before;
	/* Queue under the lock, then signal: the worker is either asleep
	 * (and is woken) or has not looked yet (and will see queued = 1). */
	check(pthread_mutex_lock(&mu), "lock");
	queued = 1;
	check(pthread_cond_signal(&work), "signal");
	check(pthread_mutex_unlock(&mu), "unlock");
	check(pthread_join(t, NULL), "join");
	printf("sleeping worker: %.1f ms of CPU burned in 200 ms of waiting\n", burned);
	return 0;
}
