/*
 * at_count.h - counting what the code under test did: threads it created,
 * processes it forked, distinct threads that ran our tasks, threads and
 * descriptors it left behind.
 *
 * Counting is exact, so these checks need no stopwatch and no quiet machine.
 */
#ifndef AT_COUNT_H
#define AT_COUNT_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

/* --- distinct thread ids seen by harness tasks --- */

#define AT_TIDSET_MAX 1024

struct at_tidset {
	pthread_mutex_t mu;
	int n;
	pid_t tid[AT_TIDSET_MAX];
};

void at_tidset_init(struct at_tidset *s);
/* Record the calling thread; returns the number of distinct threads so far. */
int at_tidset_add_self(struct at_tidset *s);
int at_tidset_count(struct at_tidset *s);
bool at_tidset_contains(struct at_tidset *s, pid_t tid);

/* --- calls counted through the linker's --wrap ---
 *
 * Test binaries are linked with -Wl,--wrap=pthread_create,--wrap=fork: every
 * call from the code under test lands in our wrapper, which counts it and
 * calls the real function. Reset before the code runs, read after.
 */
void at_calls_reset(void);
long at_pthread_create_calls(void);
long at_fork_calls(void);

/* --- what the process holds now, from /proc/self --- */
int at_count_threads(void); /* entries in /proc/self/task */
int at_count_fds(void);     /* open descriptors, not counting the one used to count */

/* The kernel's id of the calling thread. */
pid_t at_gettid(void);

#endif
