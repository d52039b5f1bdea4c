/*
 * at_time.h - monotonic clocks and deadlines for the harness.
 *
 * Every wait in atonce has a deadline. These helpers keep the arithmetic in
 * one place: nanoseconds on CLOCK_MONOTONIC, which never jumps when the wall
 * clock is set.
 */
#ifndef AT_TIME_H
#define AT_TIME_H

#include <stdint.h>
#include <time.h>

#define AT_NS_PER_MS 1000000LL
#define AT_NS_PER_S  1000000000LL

/* Now, on CLOCK_MONOTONIC, in nanoseconds. */
int64_t at_now_ns(void);

/* CPU time used so far by this process (all threads) / by the calling thread. */
int64_t at_process_cpu_ns(void);
int64_t at_thread_cpu_ns(void);

/* A timespec for pthread_cond_timedwait on a CLOCK_MONOTONIC condition. */
struct timespec at_ns_to_timespec(int64_t ns);

/* Sleep for ms milliseconds, resuming after signals. */
void at_sleep_ms(int ms);

#endif
