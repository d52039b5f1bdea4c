/*
 * at_test.c - helpers shared by the lessons' Criterion tests (see at_test.h).
 */
#include "at_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A check that needs the machine alone reached in a shared run (at_cpu.h):
 * the test fails with the reason, in its own thread (Criterion's failure
 * jumps back to the test's start); from another thread, abort. */
void at_shared_run_violation(const char *message)
{
	if (gettid() == getpid())
		cr_assert_fail("%s", message);
	fprintf(stderr, "%s\n", message);
	abort();
}

const char *at_current_test(void)
{
	return criterion_current_test ? criterion_current_test->name : NULL;
}

void at_trace_attach(const char *name, const char *title)
{
	struct at_trace *tr = at_trace_global();
	const char *saved = at_trace_save(tr, name, title);
	char pic[4096];

	if (saved)
		cr_assert(1, "@trace:%s", saved);
	at_trace_ascii(tr, 60, pic, sizeof(pic));
	if (pic[0])
		AT_PICTURE(pic);
}

void at_require_cpus(int n)
{
	char why[160];

	if (at_usable_cpus(why, sizeof(why)) < n)
		cr_skip_test("%s: parallelism cannot be shown here (%d needed)", why, n);
}

const char *at_rc_text(int rc, const char *call)
{
	static char text[200];

	if (rc == ENOSYS)
		snprintf(text, sizeof(text), "%s is not written yet: it returns ENOSYS, the skeleton's placeholder (see its TODOs)", call);
	else
		snprintf(text, sizeof(text), "%s returned %d (%s), not 0", call, rc, strerror(rc));
	return text;
}
