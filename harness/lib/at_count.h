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
 * Test binaries are linked with -Wl,--wrap=pthread_create,--wrap=fork (and
 * pthread_join): every call from the code under test lands in our wrapper,
 * which counts it and calls the real function. Reset before the code runs,
 * read after. A join is counted once it succeeded: the thread has ended,
 * which no count of live threads can say of a detached one still exiting.
 */
void at_calls_reset(void);
long at_pthread_create_calls(void);
long at_pthread_join_calls(void);
long at_fork_calls(void);

/*
 * From now on, every thread the code under test creates sleeps `ms` before
 * it runs its start routine (0: no delay). The creator has long moved on by
 * then, so a thread handed the address of a loop counter or of the
 * creator's stack reads the late value every time: the race shows up on
 * every run, not on some, and the verdict does not change from run to run.
 */
void at_calls_delay_starts(int ms);

/*
 * Holding woken waiters (test binaries are also linked with
 * --wrap=pthread_cond_wait,--wrap=pthread_cond_timedwait).
 *
 * Between at_cond_hold_begin(a, b) and at_cond_hold_end(), a thread that
 * returns from a wait on condition variable a or b lets go of its mutex,
 * waits until the hold ends (5 s at most), takes the mutex back and only
 * then returns. To the caller that is just a slow wake-up, which POSIX
 * allows; to the test it means a woken thread cannot act before the test
 * has made all its changes, so "two puts back to back" really are back to
 * back on every run, and a wake-up that was never sent is missed every
 * time, not only when the woken thread happened to be slow.
 */
void at_cond_hold_begin(pthread_cond_t *a, pthread_cond_t *b);
void at_cond_hold_end(void);
/* Threads held since at_cond_hold_begin() (each counted once a wake-up). */
long at_cond_held(void);

/*
 * --- wake-ups: idle means none at all ---
 * A thread that sleeps until its event costs no wake-up while nothing
 * happens; one that polls with a timeout (1-100 ms), or a blocking call
 * with a receive timeout, wakes up every time the clock runs out, though
 * it burns almost no CPU. The kernel counts each time a thread gave up
 * the CPU to wait (voluntary context switches): read before and after an
 * idle window, the difference is the wake-ups in it.
 *   at_wakeups_of_thread(pid, tid): thread tid of process pid (0: this one)
 *   at_wakeups_of_process(pid): all its threads, summed (0: this process)
 * -1 when the thread or process is gone.
 */
long at_wakeups_of_thread(pid_t pid, pid_t tid);
long at_wakeups_of_process(pid_t pid);

/* --- what the process holds now, from /proc/self --- */
int at_count_threads(void); /* entries in /proc/self/task */
/* The same once threads already joined have left /proc: the kernel wakes
 * pthread_join() a moment before it removes the thread, so a count made
 * right after a join may still see it. Counts again until at most `want`
 * remain or `ms` have passed; returns the last count. */
int at_count_threads_settled(int want, int ms);
int at_count_fds(void);     /* open descriptors, not counting the one used to count */

/* --- settling: harness tasks that student code may leave running ---
 *
 * Code that returns before the work it started is done (a missing join, a
 * wait that does not wait) must not make the harness read or free memory
 * those tasks still use: the crash would blame the wrong check, and which
 * checks fail would depend on timing, so grading twice would not agree.
 * Each harness task calls at_settle_done() as its very last step; the test
 * reads what the tasks measured only after at_settle_wait() says all have
 * finished (and, when it says they have not, leaves that memory alone:
 * keep it static, never on the test's stack).
 */
struct at_settle {
	_Atomic long done;
};

void at_settle_reset(struct at_settle *s);
void at_settle_done(struct at_settle *s);
long at_settle_count(struct at_settle *s);
/* Wait until `expected` tasks are done, at most ms; true when they are. */
bool at_settle_wait(struct at_settle *s, long expected, int ms);

/* The kernel's id of the calling thread. */
pid_t at_gettid(void);

#endif
