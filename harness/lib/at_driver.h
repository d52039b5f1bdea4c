/*
 * at_driver.h - running things that may never come back: a thread joined
 * with a deadline, and a helper program (such as a ThreadSanitizer driver
 * built by harness/mk/lesson.mk as $ATONCE_OUT/tsan_NAME) spawned, read and
 * killed at a deadline, with the part of a TSan report a student needs.
 *
 * ThreadSanitizer cannot run inside a Criterion test binary, so a lesson
 * builds a small driver with -fsanitize=thread and a test runs it with
 * at_run_driver() and judges its exit status (66 on a report).
 */
#ifndef AT_DRIVER_H
#define AT_DRIVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* Wait at most ms for thread t to end; true when it was joined. A thread
 * that is still stuck is left behind: the test process ends soon after. */
bool at_join_within(pthread_t t, int ms);

struct at_driver_run {
	bool ran;             /* the driver started */
	bool timed_out;       /* killed at the deadline */
	int exit_status;      /* when it exited */
	int signal;           /* when a signal ended it */
	char out[8192];       /* the start of its stdout and stderr */
};

/*
 * Run $ATONCE_OUT/<name> <arg> with TSAN_OPTIONS set (a report exits 66,
 * the first report stops it), for at most timeout_ms; kill it then.
 * Returns NULL when it ran (see r), else why it could not (a sentence for
 * a skip).
 */
const char *at_run_driver(const char *name, const char *arg, int timeout_ms,
			  struct at_driver_run *r);

/* The part of a ThreadSanitizer report a student needs (see at_driver.c). */
char *at_tsan_excerpt(const char *out, char *buf, size_t len);

/* The first line of out that holds `what`, copied into buf ("" if none). */
char *at_line_with(const char *out, const char *what, char *buf, size_t len);

#endif
