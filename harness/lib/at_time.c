/*
 * at_time.c - monotonic clocks and deadlines (see at_time.h).
 */
#include "at_time.h"

#include <errno.h>

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * AT_NS_PER_S + ts.tv_nsec;
}

int64_t at_now_ns(void)          { return clock_ns(CLOCK_MONOTONIC); }
int64_t at_process_cpu_ns(void)  { return clock_ns(CLOCK_PROCESS_CPUTIME_ID); }
int64_t at_thread_cpu_ns(void)   { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

struct timespec at_ns_to_timespec(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / AT_NS_PER_S, .tv_nsec = ns % AT_NS_PER_S };

	return ts;
}

void at_sleep_ms(int ms)
{
	struct timespec left = at_ns_to_timespec((int64_t)ms * AT_NS_PER_MS);

	while (nanosleep(&left, &left) == -1 && errno == EINTR)
		;
}
