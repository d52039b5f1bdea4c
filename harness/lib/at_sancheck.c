/*
 * at_sancheck.c - see at_sancheck.h.
 */
#include "at_sancheck.h"
#include "at_sanreport.h"
#include "at_test.h"

#include <string.h>

void at_san_measured(const char *what, const struct at_driver_run *r, struct at_san_outcome *o, int timeout_s)
{
	at_san_kind(r->out, o->kind, sizeof(o->kind));
	at_san_excerpt(r->out, o->excerpt, sizeof(o->excerpt));
	at_san_program_said(r->out, o->said, sizeof(o->said));
	if (r->timed_out)
		AT_MEASURED("%s: the run was still going after %d s", what, timeout_s);
	else if (r->signal)
		AT_MEASURED("%s: the run was ended by signal %d (%s)", what, r->signal, strsignal(r->signal));
	else if (r->exit_status == 66)
		AT_MEASURED("%s: %s", what, o->kind[0] ? o->kind : "a report");
	else
		AT_MEASURED("%s: exit %d, %s", what, r->exit_status, r->exit_status == 0 ? "no report" : "see below");
}
