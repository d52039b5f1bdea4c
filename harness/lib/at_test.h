/*
 * at_test.h - how a Criterion test in atonce talks to the student.
 *
 * Criterion carries only assertion messages from a test's process to the
 * runner, so everything the student should read travels as an assertion:
 *
 *   AT_MEASURED("%d tasks in flight at once (%d needed)", max, n);
 *   AT_HINT("green_yield() must switch to the next ready task");
 *   AT_CHECK(max >= n, "only %d task(s) ran at once: ...", max);
 *   AT_END();
 *
 * Passing assertions whose message starts with "@" are notes for the runner
 * (harness/lib/at_runner.c), which prints one line per test: the verdict and
 * the measured figure, then on failure what it means and the hint.
 *
 * AT_END() must be the last statement of every test. Criterion reports a
 * test whose process called exit(0) as passed; the runner turns a "passed"
 * test that never reached AT_END() into a failure.
 */
#ifndef AT_TEST_H
#define AT_TEST_H

#include <criterion/criterion.h>

#include "at_cpu.h"
#include "at_time.h"
#include "at_trace.h"

#define AT_MEASURED(fmt, ...) cr_assert(1, "@measured:" fmt, ##__VA_ARGS__)
#define AT_HINT(fmt, ...)     cr_assert(1, "@hint:" fmt, ##__VA_ARGS__)
/* What was measured so far, for a test whose checks may stop it before its
 * AT_MEASURED line: shown only when no AT_MEASURED came (the newest wins),
 * so a failing test still says what it saw. */
#define AT_MEASURED_SO_FAR(fmt, ...) cr_assert(1, "@sofar:" fmt, ##__VA_ARGS__)
#define AT_CHECK(cond, fmt, ...) cr_assert(cond, fmt, ##__VA_ARGS__)
#define AT_SKIP(fmt, ...)     cr_skip_test(fmt, ##__VA_ARGS__)
#define AT_END()              cr_assert(1, "@end")

/* A picture of the run for the terminal (several lines). */
#define AT_PICTURE(text)      cr_assert(1, "@picture:%s", (text))

/*
 * Save the global trace of this test (JSON for Perfetto, .dot timeline)
 * when ATONCE_TRACE_DIR is set, and attach a text timeline that the runner
 * shows if the test fails. Call it before the checks.
 */
void at_trace_attach(const char *name, const char *title);

/*
 * Check that a call of the code under test returned 0, saying in plain
 * words what a non-zero value means (ENOSYS: the skeleton's placeholder,
 * i.e. "not written yet").
 */
#define AT_CHECK_RC(rc, call) AT_CHECK((rc) == 0, "%s", at_rc_text((rc), (call)))
const char *at_rc_text(int rc, const char *call);

/* Skip the calling test, with the reason, when fewer than n CPUs are usable. */
void at_require_cpus(int n);

#endif
