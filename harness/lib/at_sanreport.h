/*
 * at_sanreport.h - what a sanitizer driver really said, in words a student
 * can act on (ThreadSanitizer, AddressSanitizer, LeakSanitizer, UBSan).
 *
 * A driver run under a sanitizer exits 66 (at_run_driver sets exitcode=66)
 * for every kind of report, not only for a data race: a thread leak, a
 * lock-order inversion, a crash (TSan's "SEGV on unknown address"), a
 * use-after-free, a double free, a leak. Telling a student "a data race"
 * with an empty excerpt for a crash sends them looking for the wrong bug,
 * so a test names the kind the sanitizer printed and quotes its report.
 *
 *   const char *why = at_run_asan_driver("asan_pool", "handles", 20000, &r);
 *   if (!why && !at_san_cannot_run(r.out, line, sizeof(line)))
 *           kind = at_san_kind(r.out, k, sizeof(k));   // "heap-use-after-free"
 *
 * Compare with at_driver.h, which runs the drivers.
 */
#ifndef AT_SANREPORT_H
#define AT_SANREPORT_H

#include "at_driver.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * at_run_driver() for an AddressSanitizer (+ LeakSanitizer, UBSan) driver
 * built from harness/NN/asan_*.c: a report of any kind exits 66 at the
 * first error, leaks are looked for at exit. Returns NULL when it ran.
 */
const char *at_run_asan_driver(const char *name, const char *arg, int timeout_ms,
			       struct at_driver_run *r);

/*
 * The line saying why the sanitizer could not even start here (shadow
 * memory refused under an address-space limit, ASLR layout, a tracer that
 * cannot attach for the leak check), copied into buf; NULL when it ran.
 * A test skips with that line: the machine, not the code, is to blame.
 */
const char *at_san_cannot_run(const char *out, char *buf, size_t len);

/*
 * The kind of the first report, as the sanitizer named it: "data race",
 * "thread leak", "lock-order-inversion (potential deadlock)", "SEGV on
 * unknown address", "heap-use-after-free", "attempting double-free",
 * "detected memory leaks", an UBSan "runtime error: ..." line. "" when the
 * output holds no report.
 */
char *at_san_kind(const char *out, char *buf, size_t len);

/* True when the first report is ThreadSanitizer's "data race". */
bool at_san_is_race(const char *out);

/*
 * True when the first report is a crash the sanitizer caught (SEGV, ABRT,
 * BUS, FPE, ILL): a bad pointer, or the program's own abort(), e.g. on a
 * pthread call that refused a mutex already destroyed and freed (a use of
 * freed memory inside libc, which the sanitizer does not see).
 */
bool at_san_is_crash(const char *out);

/*
 * What the program itself printed before the first report (its own error
 * lines, such as "pool: pthread_mutex_lock: Invalid argument"), its last
 * three lines at most. "" when it printed nothing.
 */
char *at_san_program_said(const char *out, char *buf, size_t len);

/*
 * The part of any of those reports a student needs: the report's line;
 * each section (which access, freed where, allocated where) with the first
 * three frames of the program's own code (no sanitizer or libc frames, no
 * addresses); the SUMMARY. Twelve lines at most. "" when there is none.
 */
char *at_san_excerpt(const char *out, char *buf, size_t len);

#endif
