/*
 * at_runner.c - the main() of every atonce test binary: runs the Criterion
 * tests and prints, for each, one line a student can read.
 *
 *   PASS  overlap         4 tasks in flight at once, on 1 OS thread (4 needed)
 *   FAIL  alternation     the steps ran AAAAABBBBB
 *                         each task ran to its end before the next one began
 *                         hint: green_yield() must switch to the next task
 *   SKIP  parallel        1 CPU usable (affinity allows 1, ...): ...
 *
 * Tests are printed in the order the test file declares them (Criterion
 * runs them sorted by name), so a lesson's checks read as a story; on a
 * terminal a progress line shows which test is running meanwhile.
 *
 * It also turns a test that "passed" without reaching AT_END() into a
 * failure (Criterion counts exit(0) as a pass), and writes one line per test
 * to the file named by ATONCE_RESULTS, for `make test` and the grader:
 *   name <TAB> STATUS <TAB> measured <TAB> detail
 * STATUS is PASS, FAIL, CRASH, TIMEOUT, EXIT or SKIP.
 *
 * Environment: ATONCE_TITLE (the header line), ATONCE_RESULTS (the file),
 * NO_COLOR (plain output), ATONCE_LIST (print the test names in file order,
 * one a line, and run nothing: how the grader learns the lesson's order).
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/internal/ordered-set.h>
#include <criterion/options.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static FILE *out;      /* the terminal: Criterion's quiet mode silences stderr */
static FILE *text;     /* where report() writes: one test's buffered lines */
static FILE *results;  /* ATONCE_RESULTS, or NULL */
static bool color;
static int n_pass, n_fail, n_skip;

enum { PASS, FAIL, CRASH, TIMEOUT, EXIT, SKIP };

/* One test's verdict, kept until the end to be printed in file order. */
struct entry {
	const char *name;
	const char *file;
	unsigned line;
	int status;
	char *text;
};
static struct entry *entries;
static size_t n_entries, cap_entries;
static const char *first_failure;  /* the first failing test's name, in file order */
static const char *const status_word[] = { "PASS", "FAIL", "CRASH", "TIMEOUT", "EXIT", "SKIP" };

static const char *paint(int status)
{
	if (!color)
		return "";
	return status == PASS ? "\033[32m" : status == SKIP ? "\033[33m" : "\033[31m";
}

static const char *reset(void) { return color ? "\033[0m" : ""; }
static const char *dim(void)   { return color ? "\033[2m" : ""; }

#define INDENT "                            "

/* Print text, each line after the first indented under the figure column. */
static void print_block(const char *prefix, const char *body)
{
	fprintf(text, "%s%s", INDENT, prefix);
	for (const char *p = body; *p; p++) {
		fputc(*p, text);
		if (*p == '\n')
			fprintf(text, "%s%*s", INDENT, (int)strlen(prefix), "");
	}
	fputc('\n', text);
}

/* One line, tabs and newlines flattened, for the results file. */
static void put_flat(const char *s)
{
	for (; s && *s; s++)
		fputc(*s == '\t' || *s == '\n' ? ' ' : *s, results);
}

static bool has_prefix(const char *s, const char *p)
{
	return s && strncmp(s, p, strlen(p)) == 0;
}

struct notes {
	const char *measured[8];
	int n_measured;
	const char *hint, *picture, *trace, *failure;
	const char *so_far;  /* AT_MEASURED_SO_FAR's newest, for a test that ended before its AT_MEASURED */
	bool reached_end;
};

/* Criterion keeps the newest assertion first: walk it into notes in order. */
static void collect(struct criterion_assert_stats *a, struct notes *n)
{
	if (!a)
		return;
	collect(a->next, n);
	if (!a->passed) {
		if (!n->failure)
			n->failure = a->message;
	} else if (has_prefix(a->message, "@measured:")) {
		if (n->n_measured < 8)
			n->measured[n->n_measured++] = a->message + 10;
	} else if (has_prefix(a->message, "@sofar:")) {
		n->so_far = a->message + 7;
	} else if (has_prefix(a->message, "@hint:")) {
		n->hint = a->message + 6;
	} else if (has_prefix(a->message, "@picture:")) {
		n->picture = a->message + 9;
	} else if (has_prefix(a->message, "@trace:")) {
		n->trace = a->message + 7;
	} else if (has_prefix(a->message, "@end")) {
		n->reached_end = true;
	}
}

static void keep(struct criterion_test_stats *st, int status, char *buf)
{
	if (n_entries == cap_entries) {
		cap_entries = cap_entries ? 2 * cap_entries : 32;
		entries = realloc(entries, cap_entries * sizeof(*entries));
		if (!entries)
			abort();
	}
	entries[n_entries++] = (struct entry){
		st->test->name,
		st->test->data ? st->test->data->file_ : "",
		st->test->data ? st->test->data->line_ : 0,
		status, buf,
	};
}

static void report(struct criterion_test_stats *st, int status, const char *detail)
{
	struct notes n = { 0 };
	const char *desc = st->test->data ? st->test->data->description : NULL;
	char *buf = NULL;
	size_t len = 0;

	if (!(text = open_memstream(&buf, &len)))
		abort();

	collect(st->asserts, &n);
	if (!n.n_measured && n.so_far)
		n.measured[n.n_measured++] = n.so_far;
	if (status == PASS && !n.reached_end) {
		status = EXIT;
		detail = "the test process ended before the test's last check: the code under test called exit() or _exit() (or a thread ended the process)";
	}
	if (status == FAIL && !detail)
		detail = n.failure ? n.failure
			: st->exit_code ? "the test process exited with a non-zero status before its last check"
			: "the test failed";

	fprintf(text, "  %s%-7s%s %-19s %s\n", paint(status), status_word[status], reset(),
		st->test->name, n.n_measured ? n.measured[0] : (status == SKIP ? detail : ""));
	for (int i = 1; i < n.n_measured; i++)
		print_block("", n.measured[i]);
	if (status == SKIP && n.n_measured)
		print_block("skipped: ", detail);
	if (status != PASS && status != SKIP) {
		if (desc && *desc)
			print_block("checks: ", desc);
		print_block("\342\234\227 ", detail); /* ✗ */
		if (n.picture) {
			fprintf(text, "%s%syour run, time flowing right:%s\n", INDENT, dim(), reset());
			print_block("", n.picture);
		}
		if (n.hint)
			print_block("hint: ", n.hint);
		if (n.trace)
			print_block("trace: ", n.trace);
	}
	fclose(text);
	keep(st, status, buf);
	if (status == PASS)
		n_pass++;
	else if (status == SKIP)
		n_skip++;
	else
		n_fail++;

	if (results) {
		fprintf(results, "%s\t%s\t", st->test->name, status_word[status]);
		for (int i = 0; i < n.n_measured; i++) {
			put_flat(i ? " / " : "");
			put_flat(n.measured[i]);
		}
		fputc('\t', results);
		put_flat(status == PASS ? "" : detail);
		fputc('\n', results);
		fflush(results);
	}
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	const char *title = getenv("ATONCE_TITLE");

	(void)set;
	if (title && *title)
		fprintf(out, "%s\n", title);
}

/* On a terminal: which test runs now (a failing one may take seconds). */
ReportHook(PRE_TEST)(struct criterion_test *test)
{
	if (color)
		fprintf(out, "\r\033[K  %srunning %s ...%s", dim(), test->name, reset());
}

static int by_place(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

ReportHook(POST_TEST)(struct criterion_test_stats *st)
{
	if (st->test_status == CR_STATUS_SKIPPED)
		report(st, SKIP, st->message ? st->message : "skipped");
	else if (st->timed_out)
		report(st, TIMEOUT, "no end within the test's time limit: something waits forever (a deadlock, a thread never joined, a task never run) or runs far too long");
	else
		report(st, st->test_status == CR_STATUS_PASSED ? PASS : FAIL, NULL);
}

ReportHook(TEST_CRASH)(struct criterion_test_stats *st)
{
	char why[200];

	snprintf(why, sizeof(why),
		 "the test process was killed by signal %d (%s): run the code under gdb, or build with -fsanitize=address, to find the bad access",
		 st->signal, strsignal(st->signal));
	report(st, CRASH, why);
}

ReportHook(POST_ALL)(struct criterion_global_stats *g)
{
	(void)g;
	if (color)
		fprintf(out, "\r\033[K");
	qsort(entries, n_entries, sizeof(*entries), by_place);
	for (size_t i = 0; i < n_entries; i++) {
		fputs(entries[i].text, out);
		if (!first_failure && entries[i].status != PASS && entries[i].status != SKIP)
			first_failure = entries[i].name;
	}
	fprintf(out, "  %s%d of %d checks passed", dim(), n_pass, n_pass + n_fail + n_skip);
	if (n_skip)
		fprintf(out, ", %d skipped", n_skip);
	fprintf(out, "%s\n", reset());
	if (first_failure)
		fprintf(out, "  next: make '%s' pass (the checks are listed in the order the lesson builds them)\n",
			first_failure);
}

/* ATONCE_LIST: every test's name, in the order its file declares it. */
static void list_in_file_order(struct criterion_test_set *set)
{
	struct entry *all = calloc(set->tests ? set->tests : 1, sizeof(*all));
	size_t n = 0;

	if (!all)
		return;
	for (struct criterion_ordered_set_node *sn = set->suites->first; sn; sn = sn->next) {
		struct criterion_suite_set *suite = (void *)(sn + 1);

		if (!suite->tests)
			continue;
		for (struct criterion_ordered_set_node *tn = suite->tests->first; tn && n < set->tests; tn = tn->next) {
			struct criterion_test *t = (void *)(tn + 1);

			all[n++] = (struct entry){ .name = t->name,
				.file = t->data ? t->data->file_ : "", .line = t->data ? t->data->line_ : 0 };
		}
	}
	qsort(all, n, sizeof(*all), by_place);
	for (size_t i = 0; i < n; i++)
		printf("%s\n", all[i].name);
	free(all);
}

int main(int argc, char **argv)
{
	struct criterion_test_set *tests;
	const char *path = getenv("ATONCE_RESULTS");
	int ok = 0;

	/* Criterion's quiet mode silences stderr: keep our own handle on it. */
	out = fdopen(dup(STDERR_FILENO), "w");
	if (!out)
		out = stderr;
	setvbuf(out, NULL, _IOLBF, 0);
	color = isatty(STDERR_FILENO) && !getenv("NO_COLOR");
	if (path && *path && !(results = fopen(path, "w")))
		perror(path);

	tests = criterion_initialize();
	if (getenv("ATONCE_LIST")) {
		list_in_file_order(tests);
		criterion_finalize(tests);
		return 0;
	}
	criterion_options.full_stats = true;  /* passing messages carry the figures */
	criterion_options.logging_threshold = CRITERION_LOG_LEVEL_QUIET;
	criterion_options.jobs = 1;           /* measurements need the CPUs */
	criterion_options.timeout = 60;       /* a net under each suite's own .timeout */
	if (criterion_handle_args(argc, argv, true)) {
		criterion_run_all_tests(tests);
		/* Our own tally, not Criterion's: it counts early exits as failures. */
		ok = n_fail == 0 && n_pass + n_skip > 0;
	}
	criterion_finalize(tests);
	if (results)
		fclose(results);
	return ok ? 0 : 1;
}
