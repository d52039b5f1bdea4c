/*
 * at_sanreport.c - sanitizer reports in a student's words (see
 * at_sanreport.h).
 */
#include "at_sanreport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *at_run_asan_driver(const char *name, const char *arg, int timeout_ms,
			       struct at_driver_run *r)
{
	/* exitcode 66 for every kind, as for TSan; halt at the first error,
	 * which is the one to fix; the leak check runs at exit; an abort()
	 * is reported with its stack too. UBSan's own options, so an
	 * undefined shift or overflow stops the run too. */
	setenv("ASAN_OPTIONS", "exitcode=66:halt_on_error=1:abort_on_error=0:detect_leaks=1:handle_abort=1", 1);
	setenv("LSAN_OPTIONS", "exitcode=66", 1);
	setenv("UBSAN_OPTIONS", "exitcode=66:halt_on_error=1:print_stacktrace=1", 1);
	return at_run_driver(name, arg, timeout_ms, r);
}

/* Lines a sanitizer prints when it cannot run at all, not about the code. */
static const char *const cannot_run[] = {
	"FATAL: ThreadSanitizer",
	"ThreadSanitizer: unexpected memory mapping",
	"AddressSanitizer failed to allocate",
	"ReserveShadowMemoryRange failed",
	"Shadow memory range interleaves",
	"LeakSanitizer has encountered a fatal error",
	"LeakSanitizer does not work under ptrace",
	"failed to mmap",
	"CHECK failed: sanitizer_allocator_primary64",   /* TSan under ulimit -v */
};

const char *at_san_cannot_run(const char *out, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(cannot_run) / sizeof(cannot_run[0]); i++)
		if (strstr(out, cannot_run[i]))
			return at_line_with(out, cannot_run[i], buf, len);
	return NULL;
}

/* Where a report starts: its marker, the kind right after it. */
static const char *const markers[] = {
	"WARNING: ThreadSanitizer: ",
	"ERROR: ThreadSanitizer: ",
	"ERROR: AddressSanitizer: ",
	"ERROR: LeakSanitizer: ",
	"runtime error: ",
	"ERROR: atonce driver: ",   /* a second free() in a TSan driver (at_driver_exit.c) */
};

/* The earliest report marker in out; *which gets its index. */
static const char *first_report(const char *out, int *which)
{
	const char *best = NULL;

	for (int i = 0; i < (int)(sizeof(markers) / sizeof(markers[0])); i++) {
		const char *p = strstr(out, markers[i]);

		if (p && (!best || p < best)) {
			best = p;
			*which = i;
		}
	}
	return best;
}

char *at_san_kind(const char *out, char *buf, size_t len)
{
	int which = 0;
	const char *p = first_report(out, &which), *end;
	size_t n;

	buf[0] = '\0';
	if (!p)
		return buf;
	if (strcmp(markers[which], "runtime error: ") != 0)
		p += strlen(markers[which]);   /* UBSan's line is its own kind */
	/* "heap-use-after-free on address 0x... at pc ...": the kind is the
	 * words before the address; "data race (pid=123)": before the pid;
	 * "SEGV on unknown address 0x0 (pc ...)": before the registers. */
	end = p + strcspn(p, "\n");
	for (const char *cut = p; cut < end; cut++)
		if (strncmp(cut, " on address", 11) == 0 || strncmp(cut, " on 0x", 6) == 0 ||
		    strncmp(cut, " (pid=", 6) == 0 || strncmp(cut, " (pc ", 5) == 0 ||
		    strncmp(cut, " at pc", 6) == 0) {
			end = cut;
			break;
		}
	n = (size_t)(end - p);
	snprintf(buf, len, "%.*s", (int)n, p);
	return buf;
}

bool at_san_is_race(const char *out)
{
	int which = 0;
	const char *p = first_report(out, &which);

	return p && which == 0 && strncmp(p + strlen(markers[0]), "data race", 9) == 0;
}

bool at_san_is_crash(const char *out)
{
	static const char *const crashes[] = { "SEGV", "ABRT", "BUS", "FPE", "ILL" };
	int which = 0;
	const char *p = first_report(out, &which);

	if (!p || which == 0 || which == 4)
		return false;   /* TSan warnings and UBSan errors are not crashes */
	p += strlen(markers[which]);
	for (size_t i = 0; i < sizeof(crashes) / sizeof(crashes[0]); i++)
		if (strncmp(p, crashes[i], strlen(crashes[i])) == 0)
			return true;
	return false;
}

/* A line the sanitizer printed, not the program: "==123==...",
 * "ThreadSanitizer:DEADLYSIGNAL", blank. */
static bool sanitizer_line(const char *p, size_t n)
{
	return n == 0 || strncmp(p, "==", 2) == 0 || memmem(p, n, "Sanitizer", 9) != NULL;
}

char *at_san_program_said(const char *out, char *buf, size_t len)
{
	int which = 0, kept = 0;
	const char *end = first_report(out, &which), *line[3];
	int n[3];

	buf[0] = '\0';
	if (!end)
		end = out + strlen(out);
	/* The program's lines before the report; the last three. */
	for (const char *p = out; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len_p = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (!sanitizer_line(p, len_p)) {
			if (kept == 3) {
				memmove(line, line + 1, 2 * sizeof(line[0]));
				memmove(n, n + 1, 2 * sizeof(n[0]));
				kept = 2;
			}
			line[kept] = p;
			n[kept++] = (int)len_p;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	for (int i = 0, off = 0; i < kept && off < (int)len; i++)
		off += snprintf(buf + off, len - (size_t)off, "%s%.*s", i ? "\n" : "", n[i], line[i]);
	return buf;
}

/* A frame of the sanitizer's runtime or of libc: not the program's code. */
static bool foreign_frame(const char *p, size_t n)
{
	static const char *const libs[] = {
		"libsanitizer", "libtsan", "libasan", "libubsan", "liblsan", "sanitizer_common",
		"../sysdeps/", "nptl/", "../csu/", "stdlib/", " __GI_", "libc.so", "libc-start", "<null>", " _start",
		"at_driver_exit.c",   /* the free check's own frame */
	};

	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
		if (memmem(p, n, libs[i], strlen(libs[i])))
			return true;
	return false;
}

/* Sections nobody needs to fix the bug: who created a thread, the raw
 * shadow memory, where a block lies inside its region. */
static bool dull_section(const char *p, size_t n)
{
	while (n > 0 && *p == ' ')
		p++, n--;
	return strncmp(p, "Thread T", 8) == 0 || strncmp(p, "Location is", 11) == 0 ||
	       (strncmp(p, "Mutex M", 7) == 0 && memmem(p, n, "created at", 10)) ||
	       strncmp(p, "Shadow byte", 11) == 0 || strncmp(p, "0x", 2) == 0 ||
	       strncmp(p, "HINT:", 5) == 0 || strncmp(p, "Addressable", 11) == 0 ||
	       memmem(p, n, "can not provide additional info", 31) != NULL;
}

/* Append one line (n bytes of p) to buf at *off. */
static void put_line(char *buf, size_t len, size_t *off, const char *p, int n)
{
	if (*off >= len)
		return;
	*off += (size_t)snprintf(buf + *off, len - *off, "%s%.*s", *off ? "\n" : "", n, p);
	if (*off > len)
		*off = len;
}

/* "    #1 0x55e3 in finish_job /x/pool.c:96 (run+0x12)" -> "    #1 finish_job /x/pool.c:96" */
static void put_frame(char *buf, size_t len, size_t *off, const char *p, int n)
{
	char line[512];
	const char *in = memmem(p, (size_t)n, " 0x", 3), *paren;
	int hash = (int)(strchr(p, '#') - p);

	if (in && in < p + n && (in = memmem(in, (size_t)(p + n - in), " in ", 4)) != NULL)
		snprintf(line, sizeof(line), "%.*s%.*s", hash + 2, p, (int)(p + n - in - 3), in + 3);
	else
		snprintf(line, sizeof(line), "%.*s", n, p);
	if ((paren = strstr(line, " (")) != NULL)
		line[paren - line] = '\0';   /* drop "(binary+0x...)" */
	put_line(buf, len, off, line, (int)strlen(line));
}

char *at_san_excerpt(const char *out, char *buf, size_t len)
{
	int which = 0, frames = 0, lines = 0;
	const char *p = first_report(out, &which);
	size_t off = 0;
	bool skip = false;

	buf[0] = '\0';
	if (!p)
		return buf;
	/* From the start of the report's line, "==123==" and all. */
	while (p > out && p[-1] != '\n')
		p--;
	for (bool head = true; p && *p && off < len; head = false) {
		const char *nl = strchr(p, '\n');
		int n = (int)(nl ? (size_t)(nl - p) : strlen(p));
		const char *t = p;

		while (t < p + n && *t == ' ')
			t++;
		if (head) {
			const char *m = strstr(p, markers[which]);
			const char *pc = memmem(m, (size_t)(p + n - m), " at pc", 6);

			/* The report line, without "==123==" and the registers. */
			put_line(buf, len, &off, m, (int)((pc ? pc : p + n) - m));
			lines++;
		} else if (n == 0 || strncmp(p, "==", 2) == 0 || strncmp(p, "---", 3) == 0) {
			/* a blank line or a rule */
		} else if (*t == '#') {
			/* A frame: the program's own, three per section. */
			if (!skip && frames < 3 && lines < 12 && !foreign_frame(p, (size_t)n)) {
				put_frame(buf, len, &off, p, n);
				frames++;
				lines++;
			}
		} else if (strncmp(p, "SUMMARY:", 8) == 0) {
			put_line(buf, len, &off, p, n);
			break;
		} else {
			/* A section: which access, freed or allocated where. */
			skip = dull_section(p, (size_t)n);
			frames = 0;
			if (!skip && lines < 12) {
				put_line(buf, len, &off, p, n);
				lines++;
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	return buf;
}
