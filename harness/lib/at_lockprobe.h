/*
 * at_lockprobe.h - stop one thread of the code under test just before it
 * takes its k-th lock, so that a race can be made to happen on every run
 * instead of on some.
 *
 * A race between "look" and "act" (a balance checked before the lock, a
 * sum taken one lock at a time) shows only when another thread acts in
 * between; on a quiet run it may never happen, and a test that hopes for
 * it gets a different verdict from run to run. With a probe, the test
 * holds thread A right before its k-th pthread_mutex_lock() (or trylock),
 * lets thread B do a whole operation (or block, as it must when A holds
 * what B needs), and only then lets A go. A correct design gives the same
 * answer for every k; a look made outside the locks is caught at the k
 * that splits it from its act, every time, on any number of CPUs.
 *
 * Only the thread that armed a probe is counted or held; every other lock
 * call passes straight through. Test binaries must be linked with
 *   -Wl,--wrap=pthread_mutex_lock -Wl,--wrap=pthread_mutex_trylock
 * (a lesson's HARNESS_LDFLAGS), which routes the calls of the code under
 * test, and of the harness, through here.
 *
 *   static struct at_lockprobe p;
 *   // on thread A:  at_lockprobe_arm(&p, k); transfer(...); at_lockprobe_disarm();
 *   // on the test:  if (at_lockprobe_paused_by(&p, deadline)) { ...B...; }
 *   //               at_lockprobe_release(&p);
 */
#ifndef AT_LOCKPROBE_H
#define AT_LOCKPROBE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define AT_LOCKPROBE_SEEN 64    /* lock calls remembered, in order */
#define AT_LOCKPROBE_HOLD_MS 5000  /* a held thread goes on after this, whatever */

struct at_lockprobe {
	int pause_at;                 /* hold before this call (1: the first); 0: only count */
	atomic_int calls;             /* lock calls the armed thread made */
	pthread_mutex_t *_Atomic seen[AT_LOCKPROBE_SEEN];  /* their mutexes, in order */
	atomic_bool paused;           /* the armed thread is being held */
	atomic_bool released;         /* the test let it go */
};

/* Arm p for the calling thread: count its lock calls and hold it before
 * call number pause_at (0: never hold). */
void at_lockprobe_arm(struct at_lockprobe *p, int pause_at);
void at_lockprobe_disarm(void);

/* Wait until p's thread is held, at the latest until deadline (on
 * at_now_ns()'s clock); true when it is. */
bool at_lockprobe_paused_by(struct at_lockprobe *p, int64_t deadline);

/* Let p's thread go on (also when it has not reached the hold yet). */
void at_lockprobe_release(struct at_lockprobe *p);

/* Lock calls made so far by p's thread. */
int at_lockprobe_calls(struct at_lockprobe *p);

/*
 * From now on, a pthread_mutex_lock() of the calling thread that finds the
 * mutex taken first tries again for a while (about AT_LOCKPROBE_SPIN_US),
 * on the CPU, before it goes to sleep in the real call: what an adaptive
 * mutex does. The lock is had the same way either way; what changes is
 * that a short wait no longer takes the thread off its CPU, so a test that
 * checks its threads ran at the same instant (their CPU clocks against the
 * wall clock) is not misled by a correct program's brief waits.
 */
#define AT_LOCKPROBE_SPIN_US 50
void at_lockprobe_spin_waits(bool on);

#endif
