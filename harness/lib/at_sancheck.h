/*
 * at_sancheck.h - a test's account of one sanitizer driver's run, in the
 * words of at_sanreport.h: what kind of report (a data race, a thread leak,
 * a crash, a use after free...), its excerpt, what the program itself said
 * before it, and one "measured" line for the student (a clean run, a
 * report, a hang, a signal, the driver's own exit status).
 *
 *   static struct at_driver_run r;
 *   static struct at_san_outcome o;
 *   if (!at_run_asan_driver("asan_pool", "handles", 20000, &r) &&
 *       !at_san_cannot_run(r.out, o.line, sizeof(o.line)))
 *           at_san_measured("AddressSanitizer, 300 tasks", &r, &o, 20);
 *
 * For Criterion tests only (it records with AT_MEASURED). Compare with
 * at_memcheck.h, which runs and judges a whole AddressSanitizer check.
 */
#ifndef AT_SANCHECK_H
#define AT_SANCHECK_H

#include "at_driver.h"

struct at_san_outcome {
	char kind[200];      /* as the sanitizer named it; "" when no report */
	char excerpt[3000];  /* at_san_excerpt() */
	char said[600];      /* what the driver printed before the report */
	char line[512];      /* for at_san_cannot_run() */
};

/* Fill o from r's output and say what the run did (AT_MEASURED): the
 * report's kind, a time-out after timeout_s, a signal, or the exit status. */
void at_san_measured(const char *what, const struct at_driver_run *r, struct at_san_outcome *o, int timeout_s);

#endif
