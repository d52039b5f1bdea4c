/*
 * locks_test.h - helpers shared by lesson 03's tests, on top of
 * harness/lib/at_driver.h (joins with a deadline, the TSan driver).
 *
 *   - thread_state(), asleep_by(): the kernel's word on a thread ('R'
 *                      running, 'S' asleep, ...), from /proc: how a test
 *                      knows that a thread it started is blocked, without
 *                      guessing a delay;
 *   - call_in_thread(): run fn(arg) on a helper thread and wait for it
 *                      with a deadline (a call that may never return);
 *   - tsan_check():    the checks of a test that runs the TSan driver;
 *   - asan_check():    the same for the AddressSanitizer driver.
 *
 * Everything is static inline: each test file takes what it uses.
 */
#ifndef LOCKS_TEST_H
#define LOCKS_TEST_H

#include "at_count.h"
#include "at_driver.h"
#include "at_test.h"
#include "at_time.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/*
 * For the test's own pthread calls that cannot fail unless the harness is
 * broken (unlocking a mutex it holds, a broadcast): a failure is a harness
 * bug, so say which call and stop loudly rather than report a wrong figure.
 */
static inline void must_ok(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "atonce harness: %s: %s\n", what, strerror(rc));
		abort();
	}
}


/* An absolute CLOCK_REALTIME time ms from now, for pthread_mutex_timedlock. */
static inline struct timespec realtime_in(int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* The state letter of thread tid of this process ('R', 'S', 'D', ...), or
 * 0 when it is gone. The comm field may hold spaces or ')': skip to the
 * last ')'. */
static inline char thread_state(pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * Wait until thread tid is asleep (blocked in the kernel, as in a mutex or
 * condition-variable wait) or gone, at the latest until `deadline` (on
 * at_now_ns()'s clock). True when it is.
 */
static inline bool asleep_by(pid_t tid, int64_t deadline)
{
	for (;;) {
		char s = thread_state(tid);

		if (s == 'S' || s == 'D' || s == 0)
			return true;
		if (at_now_ns() >= deadline)
			return false;
		usleep(200);
	}
}

/* A deadline ms from now, for the *_by() waits. */
static inline int64_t deadline_in(int ms)
{
	return at_now_ns() + (int64_t)ms * AT_NS_PER_MS;
}

/* ---- a call that may never return ------------------------------------ */

struct call {
	void (*fn)(void *arg);
	void *arg;
	_Atomic pid_t tid;     /* the helper thread, once it runs */
	atomic_bool started;   /* about to call fn */
	atomic_bool done;      /* fn returned */
	pthread_t thread;
};

static inline void *call_body(void *p)
{
	struct call *c = p;

	atomic_store(&c->tid, at_gettid());
	atomic_store(&c->started, true);
	c->fn(c->arg);
	atomic_store(&c->done, true);
	return NULL;
}

/* Start fn(arg) on a thread of its own. Returns 0 or an error number. */
static inline int call_start(struct call *c, void (*fn)(void *), void *arg)
{
	c->fn = fn;
	c->arg = arg;
	atomic_store(&c->tid, 0);
	atomic_store(&c->started, false);
	atomic_store(&c->done, false);
	return pthread_create(&c->thread, NULL, call_body, c);
}

/* Wait until the call's thread is about to call fn, then until it sleeps
 * (or returns), at the latest until `deadline`. True when it is asleep or
 * done. Waiting for several calls, give them one deadline: code that
 * never sleeps (a busy-wait) then costs one deadline, not one per thread. */
static inline bool call_asleep_by(struct call *c, int64_t deadline)
{
	while (!atomic_load(&c->started)) {
		if (at_now_ns() >= deadline)
			return false;
		usleep(100);
	}
	return asleep_by(atomic_load(&c->tid), deadline);
}

/* fn(arg) on a helper thread; true when it returned within ms. */
static inline bool call_within(void (*fn)(void *), void *arg, int ms)
{
	struct call c;

	if (call_start(&c, fn, arg) != 0)
		return false;
	return at_join_within(c.thread, ms);
}

/* ---- the ThreadSanitizer driver -------------------------------------- */





/*
 * The body of a race_free_* test: run tsan_locks <part> (at most 12 s) and
 * turn its verdict into the test's figure and checks. Skips, with the
 * reason, when the driver is not there or TSan cannot run on this machine.
 */
static inline void tsan_check(const char *part, const char *hint)
{
	static struct at_driver_run r;
	static char excerpt[2048], line[512];
	const char *why = at_run_driver("tsan_locks", part, 12000, &r);

	if (why)
		AT_SKIP("%s", why);
	/* TSan cannot map its shadow memory on some kernels: not the code's fault. */
	if (strstr(r.out, "FATAL: ThreadSanitizer"))
		AT_SKIP("ThreadSanitizer cannot run on this machine (%s); `setarch -R make check LESSON=3` may help",
			at_line_with(r.out, "FATAL: ThreadSanitizer", line, sizeof(line)));
	at_tsan_excerpt(r.out, excerpt, sizeof(excerpt));
	if (r.timed_out || r.signal)
		AT_MEASURED("ThreadSanitizer: the %s run %s", part,
			    r.timed_out ? "was still running after 12 s" : "was ended by a signal");
	else if (r.exit_status == 66)
		AT_MEASURED("ThreadSanitizer: a report on the %s run: %s", part,
			    at_line_with(r.out, "WARNING: ThreadSanitizer", line, sizeof(line)) + strlen("WARNING: "));
	else
		AT_MEASURED("ThreadSanitizer: the %s run exited with %d, %s", part, r.exit_status,
			    r.exit_status == 0 ? "no report" : "see below");
	AT_HINT("%s", hint);
	AT_CHECK(!r.timed_out && r.signal != SIGALRM,
		 "the %s run under ThreadSanitizer did not finish within %d s: something waits forever (a deadlock, or a waiter nobody wakes)",
		 part, r.timed_out ? 12 : 10);
	AT_CHECK(r.signal == 0, "the %s run under ThreadSanitizer was killed by signal %d (%s)", part, r.signal, strsignal(r.signal));
	AT_CHECK(r.exit_status != 66, "ThreadSanitizer found a problem (in the %s run):\n%s", part, excerpt);
	AT_CHECK(r.exit_status == 0, "the %s run under ThreadSanitizer failed on its own (exit %d):\n%.600s", part, r.exit_status, r.out);
}

/* ---- the AddressSanitizer driver -------------------------------------- */

/*
 * The part of an AddressSanitizer / LeakSanitizer / UBSan report a student
 * needs: its ERROR (or "runtime error") line, the first frames of each
 * section that are not the sanitizer's own (without addresses), and the
 * SUMMARY. "" when there is none.
 */
static inline char *asan_excerpt(const char *out, char *buf, size_t len)
{
	const char *p = strstr(out, "ERROR: ");
	size_t off = 0;
	int frames = 0, lines = 0;

	if (!p)
		p = strstr(out, "runtime error:");
	buf[0] = '\0';
	while (p && *p && off < len && lines < 14) {
		const char *nl = strchr(p, '\n');
		int n = (int)(nl ? (size_t)(nl - p) : strlen(p));
		bool emit = false;

		if (strncmp(p, "    #", 5) == 0) {
			if (frames < 3 && !memmem(p, (size_t)n, "libasan", 7) && !memmem(p, (size_t)n, "libubsan", 8) &&
			    !memmem(p, (size_t)n, "libsanitizer", 12) && !memmem(p, (size_t)n, "libc.so", 7)) {
				const char *in = memmem(p, (size_t)n, " in ", 4);

				if (in) {
					off += (size_t)snprintf(buf + off, len - off, "%s      at %.*s", off ? "\n" : "",
								(int)(n - (in + 4 - p)), in + 4);
					lines++;
				}
				frames++;
			}
		} else if (n > 0 && strncmp(p, "==", 2) != 0 && strncmp(p, "Shadow", 6) != 0 &&
			   strncmp(p, "  ", 2) != 0 && p[0] != '0' && !strchr("=:[", p[0])) {
			emit = true;
			frames = 0;
		}
		if (emit) {
			off += (size_t)snprintf(buf + off, len - off, "%s%.*s", off ? "\n" : "", n, p);
			lines++;
		}
		if (strncmp(p, "SUMMARY:", 8) == 0)
			break;
		p = nl ? nl + 1 : NULL;
	}
	return buf;
}

/*
 * The body of a memory_safe_* test: run the AddressSanitizer driver `name
 * arg` (at most 20 s) and turn its verdict into the test's figure and
 * checks. Skips, with the reason, when the driver is not there or the
 * sanitizer cannot run here. LeakSanitizer needs ptrace, which some
 * sandboxes refuse: then the run is made again without leak checking.
 */
static inline void asan_check(const char *name, const char *arg, const char *what, const char *hint)
{
	static struct at_driver_run r;
	static char excerpt[2048], line[512];
	bool leaks = true;
	const char *why;

	setenv("UBSAN_OPTIONS", "exitcode=66:halt_on_error=1:print_stacktrace=1", 1);
	setenv("ASAN_OPTIONS", "exitcode=66:halt_on_error=1:detect_leaks=1", 1);
	why = at_run_driver(name, arg, 20000, &r);
	if (!why && strstr(r.out, "LeakSanitizer has encountered a fatal error")) {
		leaks = false;
		setenv("ASAN_OPTIONS", "exitcode=66:halt_on_error=1:detect_leaks=0", 1);
		why = at_run_driver(name, arg, 20000, &r);
	}
	if (why)
		AT_SKIP("%s", why);
	if (strstr(r.out, "AddressSanitizer failed to allocate") || strstr(r.out, "Shadow memory range interleaves") ||
	    strstr(r.out, "ReserveShadowMemoryRange failed"))
		AT_SKIP("AddressSanitizer cannot run on this machine (%s)",
			at_line_with(r.out, "AddressSanitizer", line, sizeof(line)));
	asan_excerpt(r.out, excerpt, sizeof(excerpt));
	if (r.timed_out || r.signal)
		AT_MEASURED("AddressSanitizer: %s %s", what, r.timed_out ? "was still running after 20 s" : "was ended by a signal");
	else if (r.exit_status == 66)
		AT_MEASURED("AddressSanitizer: a report on %s: %s", what,
			    at_line_with(r.out, "SUMMARY:", line, sizeof(line))[0] ? line : "see below");
	else
		AT_MEASURED("AddressSanitizer: %s exited with %d, %s%s", what, r.exit_status,
			    r.exit_status == 0 ? "no report" : "see below", leaks ? "" : " (leaks not looked for: LeakSanitizer cannot run here)");
	AT_HINT("%s", hint);
	AT_CHECK(!r.timed_out, "%s under AddressSanitizer did not finish within 20 s: something waits forever", what);
	AT_CHECK(r.signal == 0, "%s under AddressSanitizer was killed by signal %d (%s)", what, r.signal, strsignal(r.signal));
	AT_CHECK(r.exit_status != 66, "AddressSanitizer found a memory error in %s:\n%s", what, excerpt[0] ? excerpt : r.out);
	AT_CHECK(r.exit_status == 0, "%s under AddressSanitizer failed on its own (exit %d):\n%.600s", what, r.exit_status, r.out);
}

#endif
