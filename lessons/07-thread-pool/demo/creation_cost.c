/*
 * creation_cost.c - what a thread per task costs: create and join 2000
 * threads that do nothing, and time it. Compare with handoff_cost.c, which
 * hands 2000 items to ONE thread that lives throughout: the price a pool
 * pays per task instead.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define N 2000

static void *nothing(void *arg)
{
	return arg;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(void)
{
	double t0 = now_us();

	for (int i = 0; i < N; i++) {
		pthread_t t;
		int rc = pthread_create(&t, NULL, nothing, NULL);

		if (rc != 0) {
			fprintf(stderr, "pthread_create: %s\n", strerror(rc));
			return 1;
		}
		rc = pthread_join(t, NULL);
		if (rc != 0) {
			fprintf(stderr, "pthread_join: %s\n", strerror(rc));
			return 1;
		}
	}
	printf("%d threads created and joined: %.1f us each\n", N, (now_us() - t0) / N);
	return 0;
}
