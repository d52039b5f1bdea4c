/*
 * Description: waiting with a deadline for what may never come back: a
 * joined thread, a spawned helper program (killed at its deadline), and the
 * student's excerpt of a ThreadSanitizer report.
 */
#include "at_driver.h"
#include "at_test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(driver, .timeout = 20);

static void *quick(void *arg)
{
	return arg;
}

static void *stuck(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

Test(driver, join_within, .description = "a thread that ends is joined; one that never ends is given up on at the deadline")
{
	pthread_t a, b;

	cr_assert(pthread_create(&a, NULL, quick, NULL) == 0);
	cr_assert(pthread_create(&b, NULL, stuck, NULL) == 0);
	AT_CHECK(at_join_within(a, 2000), "a thread that returns must be joined");
	AT_CHECK(!at_join_within(b, 200), "a thread that never returns must not be");
	AT_END();
}

Test(driver, run_and_kill, .description = "a helper program's exit status is read; one that runs too long is killed")
{
	struct at_driver_run r;
	const char *why;

	setenv("ATONCE_OUT", "/bin", 1);
	why = at_run_driver("echo", "hello", 5000, &r);
	AT_CHECK(why == NULL && r.ran && r.exit_status == 0 && strstr(r.out, "hello"),
		 "echo must run, exit 0 and print hello (%s)", why ? why : r.out);
	why = at_run_driver("sleep", "30", 300, &r);
	AT_MEASURED("driver: sleep 30 %s", r.timed_out ? "killed at its 0.3 s deadline" : "not killed");
	AT_CHECK(why == NULL && r.timed_out, "a program that outlives its deadline must be killed");
	why = at_run_driver("no-such-program", "", 300, &r);
	AT_CHECK(why != NULL && !r.ran, "a missing program is a reason to skip, not a run");
	AT_END();
}

Test(driver, tsan_excerpt, .description = "a TSan report is cut to the lines a student needs")
{
	const char *report =
		"==================\n"
		"WARNING: ThreadSanitizer: data race (pid=1)\n"
		"  Write of size 8 at 0x1 by thread T1:\n"
		"    #0 transfer lessons/03-locks/bank.c:58 (run+0x12)\n"
		"    #1 worker harness/03-locks/tsan_locks.c:59 (run+0x34)\n"
		"  Thread T1 (tid=2, running) created by main thread at:\n"
		"    #0 pthread_create ../../libsanitizer/tsan.cpp:1 (libtsan.so+0x1)\n"
		"SUMMARY: ThreadSanitizer: data race lessons/03-locks/bank.c:58 in transfer\n"
		"==================\n";
	char buf[1024];

	at_tsan_excerpt(report, buf, sizeof(buf));
	AT_MEASURED("excerpt:\n%s", buf);
	AT_CHECK(strstr(buf, "bank.c:58") && strstr(buf, "SUMMARY"), "the access and the summary stay");
	AT_CHECK(!strstr(buf, "libsanitizer") && !strstr(buf, "run+0x12") && !strstr(buf, "created by"),
		 "TSan's own frames, addresses and thread-creation stacks go");
	AT_END();
}
