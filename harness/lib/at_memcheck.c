/*
 * at_memcheck.c - AddressSanitizer drivers: run one, read its report
 * (see at_memcheck.h).
 */
#include "at_memcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * exitcode: every report exits 66, whatever the driver would have done;
 * halt_on_error: stop at the first report (UBSan would go on otherwise);
 * detect_leaks: LeakSanitizer runs at exit. The same exit code for UBSan,
 * which reads its own variable.
 */
static void set_options(bool leaks)
{
	setenv("ASAN_OPTIONS", leaks ? "exitcode=66:halt_on_error=1:detect_leaks=1:print_summary=1"
				     : "exitcode=66:halt_on_error=1:detect_leaks=0:print_summary=1", 1);
	setenv("UBSAN_OPTIONS", "exitcode=66:halt_on_error=1:print_stacktrace=1", 1);
}

const char *at_memcheck_run(const char *name, const char *arg, int timeout_ms,
			    struct at_driver_run *r, bool *leaks_checked)
{
	static char why[600];
	char line[300];
	const char *not_run;

	*leaks_checked = true;
	if (!getenv("ATONCE_OUT") || !*getenv("ATONCE_OUT"))
		return "ATONCE_OUT is not set, so the AddressSanitizer driver cannot be found: run the tests through `make check`";
	set_options(true);
	not_run = at_run_driver(name, arg, timeout_ms, r);
	if (!not_run && strstr(r->out, "LeakSanitizer has encountered a fatal error")) {
		/* Not a finding: LeakSanitizer could not stop the driver's
		 * threads here. The rest of the checks still stand. */
		*leaks_checked = false;
		set_options(false);
		not_run = at_run_driver(name, arg, timeout_ms, r);
	}
	if (not_run)
		return not_run;
	/* Before main(): no code under test has run yet, so this is the
	 * machine's doing (an address-space limit), never the student's. */
	if (strstr(r->out, "ReserveShadowMemoryRange failed") ||
	    strstr(r->out, "Shadow memory range interleaves")) {
		const char *err;

		at_line_with(r->out, "AddressSanitizer", line, sizeof(line));
		err = strstr(line, "ERROR: ") ? strstr(line, "ERROR: ") + strlen("ERROR: ") : line;
		snprintf(why, sizeof(why), "AddressSanitizer cannot start here (%s): an address-space limit (ulimit -v) is in the way",
			 err[0] ? err : "no shadow memory");
		return why;
	}
	return NULL;
}

/* Frames of the sanitizer runtime, the C library or the start-up code:
 * nothing a student wrote. */
static bool foreign_frame(const char *p, int n)
{
	static const char *const marks[] = {
		"libsanitizer", "/asan/", "/ubsan/", "/lsan/", "__interceptor_",
		"__sanitizer_", "__asan", "libc.so", "libc_start", "sysdeps/", " in _start",
		"libasan", "libubsan",
	};

	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (memmem(p, (size_t)n, marks[i], strlen(marks[i])))
			return true;
	return false;
}

/* Where a report starts: the first line naming one. */
static const char *report_start(const char *out)
{
	static const char *const heads[] = { "ERROR: ", ": runtime error: " };
	const char *best = NULL;

	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		const char *p = strstr(out, heads[i]);

		if (p && (!best || p < best))
			best = p;
	}
	if (!best)
		return NULL;
	while (best > out && best[-1] != '\n')
		best--;
	return best;
}

/* "    #1 0x55e08e113a03 in run_all path/threads.c:36" -> "    #1 run_all path/threads.c:36" */
static int frame_text(const char *p, int n, char *buf, size_t len)
{
	const char *in = memmem(p, (size_t)n, " in ", 4);
	const char *hash = memchr(p, '#', (size_t)n);
	int num = hash ? atoi(hash + 1) : 0;

	if (!in)
		return snprintf(buf, len, "%.*s", n, p);
	return snprintf(buf, len, "    #%d %.*s", num, (int)(n - (in + 4 - p)), in + 4);
}

char *at_memcheck_excerpt(const char *out, char *buf, size_t len)
{
	const char *p = report_start(out);
	size_t off = 0;
	bool skip = false;
	int frames = 0, lines = 0;

	buf[0] = '\0';
	while (p && *p && off < len) {
		const char *nl = strchr(p, '\n');
		int n = (int)(nl ? (size_t)(nl - p) : strlen(p));
		char text[400];
		bool emit = false;

		text[0] = '\0';
		if (n == 0 || strncmp(p, "Shadow bytes", 12) == 0 || strncmp(p, "HINT:", 5) == 0) {
			/* a blank line, the shadow map, advice for sanitizer users */
		} else if (strncmp(p, "    #", 5) == 0) {
			/* a stack frame: ours only, three per section */
			if (!skip && frames < 3 && !foreign_frame(p, n)) {
				frame_text(p, n, text, sizeof(text));
				emit = true;
				frames++;
			}
		} else {
			/* a section: the error, an access, freed/allocated here,
			 * a leak, the summary; not which thread created which */
			skip = memmem(p, (size_t)n, " created by ", 12) != NULL;
			frames = 0;
			emit = !skip;
			if (emit) {
				const char *q = p;

				/* drop the "==1234==" prefix */
				if (strncmp(q, "==", 2) == 0 && (q = memmem(q + 2, (size_t)n - 2, "==", 2)) != NULL)
					q += 2;
				else
					q = p;
				snprintf(text, sizeof(text), "%.*s", (int)(n - (q - p)), q);
			}
		}
		/* Ten lines tell the story; the SUMMARY line always comes. */
		if (emit && (lines < 10 || strncmp(p, "SUMMARY:", 8) == 0)) {
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "\n" : "", text);
			lines++;
		}
		if (!nl || strncmp(p, "SUMMARY:", 8) == 0)
			break;
		p = nl + 1;
	}
	return buf;
}

char *at_memcheck_summary(const char *out, char *buf, size_t len)
{
	char line[400];
	const char *s, *colon;

	buf[0] = '\0';
	at_line_with(out, "SUMMARY: ", line, sizeof(line));
	if (!line[0])
		return buf;
	s = strstr(line, "SUMMARY: ") + strlen("SUMMARY: ");
	/* "AddressSanitizer: heap-use-after-free path:152 in green_run" */
	colon = strstr(s, ": ");
	if (colon && colon - s < 40)
		s = colon + 2;
	snprintf(buf, len, "%s", s);
	return buf;
}
