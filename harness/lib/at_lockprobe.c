/*
 * at_lockprobe.c - holding one thread before its k-th lock (see
 * at_lockprobe.h). Linked only into programs built with
 * --wrap=pthread_mutex_lock,--wrap=pthread_mutex_trylock: nothing else
 * refers to this file, so the archive leaves it out of every other program.
 */
#include "at_lockprobe.h"
#include "at_time.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int __real_pthread_mutex_lock(pthread_mutex_t *m);
int __wrap_pthread_mutex_lock(pthread_mutex_t *m);
int __real_pthread_mutex_trylock(pthread_mutex_t *m);
int __wrap_pthread_mutex_trylock(pthread_mutex_t *m);

/* The probe of the calling thread, if it armed one: a thread-local
 * variable, so every other thread's lock call costs one load. */
static __thread struct at_lockprobe *armed;
static __thread bool spin_waits;

void at_lockprobe_arm(struct at_lockprobe *p, int pause_at)
{
	p->pause_at = pause_at;
	atomic_store(&p->calls, 0);
	for (int i = 0; i < AT_LOCKPROBE_SEEN; i++)
		atomic_store(&p->seen[i], NULL);
	atomic_store(&p->paused, false);
	atomic_store(&p->released, false);
	armed = p;
}

void at_lockprobe_disarm(void)
{
	armed = NULL;
}

bool at_lockprobe_paused_by(struct at_lockprobe *p, int64_t deadline)
{
	while (!atomic_load(&p->paused)) {
		if (at_now_ns() >= deadline)
			return false;
		usleep(100);
	}
	return true;
}

void at_lockprobe_release(struct at_lockprobe *p)
{
	atomic_store(&p->released, true);
}

int at_lockprobe_calls(struct at_lockprobe *p)
{
	return atomic_load(&p->calls);
}

/* Before each lock call of the armed thread: note it, and hold the thread
 * there if it is the call asked for. The hold sleeps (usleep), so the
 * thread is asleep, as a thread waiting for a lock would be, and gives the
 * CPU to the thread the test runs meanwhile. */
static void before_lock(struct at_lockprobe *p, pthread_mutex_t *m)
{
	int k = atomic_fetch_add(&p->calls, 1) + 1;
	int64_t limit;

	if (k <= AT_LOCKPROBE_SEEN)
		atomic_store(&p->seen[k - 1], m);
	if (k != p->pause_at)
		return;
	limit = at_now_ns() + (int64_t)AT_LOCKPROBE_HOLD_MS * AT_NS_PER_MS;
	atomic_store(&p->paused, true);
	while (!atomic_load(&p->released) && at_now_ns() < limit)
		usleep(200);
}

void at_lockprobe_spin_waits(bool on)
{
	spin_waits = on;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Try for m for a while without sleeping; 0 once it is ours. */
static int spin_for(pthread_mutex_t *m)
{
	int64_t until = at_now_ns() + (int64_t)AT_LOCKPROBE_SPIN_US * 1000;
	int rc;

	do {
		for (int k = 0; k < 32; k++)
			cpu_relax();
		rc = __real_pthread_mutex_trylock(m);
	} while (rc == EBUSY && at_now_ns() < until);
	return rc;
}

int __wrap_pthread_mutex_lock(pthread_mutex_t *m)
{
	struct at_lockprobe *p = armed;

	if (p)
		before_lock(p, m);
	/* Only EBUSY goes on to the real call: any other answer of trylock
	 * (the lock is ours, or an error such as a recursive mutex's) is
	 * the answer lock would give too. */
	if (spin_waits) {
		int rc = __real_pthread_mutex_trylock(m);

		if (rc == EBUSY)
			rc = spin_for(m);
		if (rc != EBUSY)
			return rc;
	}
	return __real_pthread_mutex_lock(m);
}

int __wrap_pthread_mutex_trylock(pthread_mutex_t *m)
{
	struct at_lockprobe *p = armed;

	if (p)
		before_lock(p, m);
	return __real_pthread_mutex_trylock(m);
}
