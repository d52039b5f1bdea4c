/*
 * at_memcheck.h - running an AddressSanitizer driver and reading its report.
 *
 * Where the student manages memory (green-thread stacks, thread ids, an
 * attribute object), a lesson builds a small driver, harness/NN/asan_*.c,
 * with the code under test and -fsanitize=address,undefined (harness/mk/
 * lesson.mk builds it as $ATONCE_OUT/asan_NAME). AddressSanitizer does not
 * run inside a Criterion test binary any more than ThreadSanitizer does, so
 * a test spawns the driver and judges its exit status:
 *
 *   0    clean
 *   66   AddressSanitizer, LeakSanitizer or UBSan reported (the options set
 *        here make every report exit 66, at the first one)
 *   other the driver's own verdict (it prints what went wrong)
 *
 * A use after free, a double free, a write past a buffer or a leak fails a
 * run that would otherwise look fine (freed memory still reads back its old
 * bytes for a while). A driver may add checks of its own and report them
 * the same way: a line holding "ERROR: " with a sentence, frames, and a
 * "SUMMARY: " line, then exit 66 (lesson 01's driver catches a task that
 * frees the stack it is running on).
 */
#ifndef AT_MEMCHECK_H
#define AT_MEMCHECK_H

#include "at_driver.h"

#include <stdbool.h>
#include <stddef.h>

/* The exit status of a driver whose sanitizer reported. */
#define AT_MEMCHECK_REPORTED 66

/*
 * Run $ATONCE_OUT/<name> <arg> under the options above, for at most
 * timeout_ms. When LeakSanitizer cannot work here (it needs to stop the
 * driver's threads with ptrace, which some sandboxes refuse), the run is
 * made again without leak checking and *leaks_checked is false.
 * Returns NULL when the driver ran (see r), else why it could not: it was
 * not built, or AddressSanitizer itself cannot start here (an address
 * space limit such as `ulimit -v`): a sentence for a skip.
 */
const char *at_memcheck_run(const char *name, const char *arg, int timeout_ms,
			    struct at_driver_run *r, bool *leaks_checked);

/*
 * The part of a report a student needs: the ERROR (or runtime error) line;
 * for each section (the bad access, where the memory was freed, where it
 * was allocated, each leak) its first three frames of our own code, without
 * the sanitizer's frames and addresses; the SUMMARY. Ten lines at most.
 * Writes into buf; returns buf ("" when there is no report).
 */
char *at_memcheck_excerpt(const char *out, char *buf, size_t len);

/* The report's one-line summary ("heap-use-after-free in green_run",
 * "64 byte(s) leaked in 1 allocation(s)"), or "" when there is none. */
char *at_memcheck_summary(const char *out, char *buf, size_t len);

#endif
