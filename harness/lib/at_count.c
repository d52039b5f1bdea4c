/*
 * at_count.c - exact counters (see at_count.h).
 */
#include "at_count.h"
#include "at_time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

pid_t at_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

void at_tidset_init(struct at_tidset *s)
{
	memset(s, 0, sizeof(*s));
	if (pthread_mutex_init(&s->mu, NULL) != 0)
		abort();
}

static bool contains_locked(struct at_tidset *s, pid_t tid)
{
	for (int i = 0; i < s->n; i++)
		if (s->tid[i] == tid)
			return true;
	return false;
}

int at_tidset_add_self(struct at_tidset *s)
{
	pid_t me = at_gettid();
	int n;

	if (pthread_mutex_lock(&s->mu) != 0)
		abort();
	if (!contains_locked(s, me) && s->n < AT_TIDSET_MAX)
		s->tid[s->n++] = me;
	n = s->n;
	if (pthread_mutex_unlock(&s->mu) != 0)
		abort();
	return n;
}

int at_tidset_count(struct at_tidset *s)
{
	int n;

	if (pthread_mutex_lock(&s->mu) != 0)
		abort();
	n = s->n;
	if (pthread_mutex_unlock(&s->mu) != 0)
		abort();
	return n;
}

bool at_tidset_contains(struct at_tidset *s, pid_t tid)
{
	bool found;

	if (pthread_mutex_lock(&s->mu) != 0)
		abort();
	found = contains_locked(s, tid);
	if (pthread_mutex_unlock(&s->mu) != 0)
		abort();
	return found;
}

static atomic_long pthread_create_calls;
static atomic_long pthread_join_calls;
static atomic_long fork_calls;

void at_calls_reset(void)
{
	atomic_store(&pthread_create_calls, 0);
	atomic_store(&pthread_join_calls, 0);
	atomic_store(&fork_calls, 0);
}

long at_pthread_create_calls(void) { return atomic_load(&pthread_create_calls); }
long at_pthread_join_calls(void)   { return atomic_load(&pthread_join_calls); }
long at_fork_calls(void)           { return atomic_load(&fork_calls); }

int __real_pthread_create(pthread_t *t, const pthread_attr_t *a,
			  void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a,
			  void *(*fn)(void *), void *arg);
int __real_pthread_join(pthread_t t, void **ret);
int __wrap_pthread_join(pthread_t t, void **ret);
pid_t __real_fork(void);
pid_t __wrap_fork(void);

static atomic_int start_delay_ms;

void at_calls_delay_starts(int ms)
{
	atomic_store(&start_delay_ms, ms);
}

struct delayed_start {
	void *(*fn)(void *);
	void *arg;
	int ms;
};

static void *start_late(void *p)
{
	struct delayed_start d = *(struct delayed_start *)p;

	free(p);
	at_sleep_ms(d.ms);
	return d.fn(d.arg);
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a,
			  void *(*fn)(void *), void *arg)
{
	int ms = atomic_load(&start_delay_ms), err;
	struct delayed_start *d;

	atomic_fetch_add(&pthread_create_calls, 1);
	if (ms <= 0 || (d = malloc(sizeof(*d))) == NULL)
		return __real_pthread_create(t, a, fn, arg);
	*d = (struct delayed_start){ fn, arg, ms };
	err = __real_pthread_create(t, a, start_late, d);
	if (err != 0)
		free(d);
	return err;
}

int __wrap_pthread_join(pthread_t t, void **ret)
{
	int err = __real_pthread_join(t, ret);

	if (err == 0)
		atomic_fetch_add(&pthread_join_calls, 1);
	return err;
}

pid_t __wrap_fork(void)
{
	atomic_fetch_add(&fork_calls, 1);
	return __real_fork();
}

/* ---- holding woken waiters ------------------------------------------- */

int __real_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
int __wrap_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
int __real_pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t);
int __wrap_pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t);

#define HOLD_MAX_MS 5000

static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cv = PTHREAD_COND_INITIALIZER;
static _Atomic(pthread_cond_t *) hold_a, hold_b;
static atomic_long hold_generation, held_count;

void at_cond_hold_begin(pthread_cond_t *a, pthread_cond_t *b)
{
	atomic_store(&held_count, 0);
	atomic_store(&hold_a, a);
	atomic_store(&hold_b, b);
}

void at_cond_hold_end(void)
{
	atomic_store(&hold_a, NULL);
	atomic_store(&hold_b, NULL);
	/* Under hold_mu, so a thread between its look at the generation and
	 * its sleep cannot miss this broadcast. */
	if (pthread_mutex_lock(&hold_mu) != 0)
		abort();
	atomic_fetch_add(&hold_generation, 1);
	if (pthread_cond_broadcast(&hold_cv) != 0 || pthread_mutex_unlock(&hold_mu) != 0)
		abort();
}

long at_cond_held(void)
{
	return atomic_load(&held_count);
}

static bool held_cond(pthread_cond_t *c)
{
	return c != NULL && (c == atomic_load(&hold_a) || c == atomic_load(&hold_b));
}

/* Called holding m, just woken on c: let m go and wait out the hold. */
static void hold_woken(pthread_cond_t *c, pthread_mutex_t *m)
{
	struct timespec limit;
	long gen;

	if (pthread_mutex_lock(&hold_mu) != 0)
		abort();
	/* Look again under hold_mu: the hold may have ended since the caller
	 * looked, and its broadcast (sent under hold_mu) would then be missed. */
	if (!held_cond(c)) {
		if (pthread_mutex_unlock(&hold_mu) != 0)
			abort();
		return;
	}
	gen = atomic_load(&hold_generation);
	atomic_fetch_add(&held_count, 1);
	/* Let the caller's mutex go only once hold_mu is ours: the end of the
	 * hold (which takes hold_mu) then cannot slip in unseen. */
	if (pthread_mutex_unlock(m) != 0)
		abort();
	clock_gettime(CLOCK_REALTIME, &limit);
	limit.tv_sec += HOLD_MAX_MS / 1000;
	while (atomic_load(&hold_generation) == gen &&
	       __real_pthread_cond_timedwait(&hold_cv, &hold_mu, &limit) == 0)
		;
	if (pthread_mutex_unlock(&hold_mu) != 0)
		abort();
	/* The caller expects its mutex back, as pthread_cond_wait() promises. */
	if (pthread_mutex_lock(m) != 0)
		abort();
}

int __wrap_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	int rc = __real_pthread_cond_wait(c, m);

	if (rc == 0 && held_cond(c))
		hold_woken(c, m);
	return rc;
}

int __wrap_pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t)
{
	int rc = __real_pthread_cond_timedwait(c, m, t);

	if ((rc == 0 || rc == ETIMEDOUT) && held_cond(c))
		hold_woken(c, m);
	return rc;
}

/* ---- wake-ups ---------------------------------------------------------- */

static long voluntary_switches(const char *status_path)
{
	char buf[4096], *p;
	ssize_t len;
	int fd = open(status_path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	p = strstr(buf, "\nvoluntary_ctxt_switches:");
	return p ? atol(p + strlen("\nvoluntary_ctxt_switches:")) : -1;
}

long at_wakeups_of_thread(pid_t pid, pid_t tid)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)(pid ? pid : getpid()), (int)tid);
	return voluntary_switches(path);
}

long at_wakeups_of_process(pid_t pid)
{
	char path[96];
	DIR *d;
	struct dirent *e;
	long sum = 0, n;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)(pid ? pid : getpid()));
	if (!(d = opendir(path)))
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		n = at_wakeups_of_thread(pid ? pid : getpid(), (pid_t)atoi(e->d_name));
		if (n > 0)
			sum += n;
	}
	closedir(d);
	return sum;
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int at_count_threads(void)
{
	return count_dir("/proc/self/task");
}

int at_count_threads_settled(int want, int ms)
{
	int64_t end = at_now_ns() + (int64_t)ms * AT_NS_PER_MS;
	int n;

	while ((n = at_count_threads()) > want && at_now_ns() < end)
		at_sleep_ms(2);
	return n;
}

int at_count_fds(void)
{
	int n = count_dir("/proc/self/fd");

	/* opendir held one descriptor while listing. */
	return n < 0 ? -1 : n - 1;
}

/* ---- settling ---------------------------------------------------------- */

void at_settle_reset(struct at_settle *s)
{
	atomic_store(&s->done, 0);
}

/* Release: what the task wrote before this is visible to whoever sees it. */
void at_settle_done(struct at_settle *s)
{
	atomic_fetch_add_explicit(&s->done, 1, memory_order_release);
}

long at_settle_count(struct at_settle *s)
{
	return atomic_load_explicit(&s->done, memory_order_acquire);
}

bool at_settle_wait(struct at_settle *s, long expected, int ms)
{
	int64_t deadline = at_now_ns() + (int64_t)ms * 1000000;

	/* Polling with a short sleep: the tasks owe us nothing but a counter,
	 * and the wait is over at once for code that really waited. */
	while (at_settle_count(s) < expected) {
		if (at_now_ns() >= deadline)
			return false;
		at_sleep_ms(1);
	}
	return true;
}
