/*
 * Description: tests that misbehave on purpose, one per way a test can end,
 * so that `make test` can check the runner's verdict on each. The expected
 * verdict is the test's name's first word: pass_..., fail_..., exit_...
 * Not part of any lesson; never run by `make check`.
 */
#include "at_test.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

TestSuite(runner, .timeout = 10);

Test(runner, pass_reaches_end)
{
	AT_MEASURED("figure: 1 of 1");
	AT_CHECK(1, "never shown");
	AT_END();
}

Test(runner, fail_check_false)
{
	AT_MEASURED("figure: 0 of 1");
	AT_HINT("a hint");
	AT_CHECK(0, "the check failed on purpose");
	AT_END();
}

/* Criterion calls this a pass; the runner must not. */
Test(runner, exit_zero_midway)
{
	AT_MEASURED("figure: about to exit(0)");
	exit(0);
}

Test(runner, exit_underscore_midway)
{
	_exit(0);
}

Test(runner, fail_exit_nonzero)
{
	exit(3);
}

Test(runner, crash_segv)
{
	raise(SIGSEGV);
	AT_END();
}

Test(runner, crash_abort)
{
	abort();
}

Test(runner, timeout_sleeps, .timeout = 1)
{
	sleep(30);
	AT_END();
}

Test(runner, skip_with_reason)
{
	AT_SKIP("only 1 CPU usable: on purpose");
	AT_END();
}

/* Stopped by a check before its AT_MEASURED: the line says what it saw so far. */
Test(runner, fail_before_measured)
{
	AT_MEASURED_SO_FAR("figure so far: 3 of 4");
	AT_CHECK(0, "the check failed on purpose");
	AT_MEASURED("never shown");
	AT_END();
}

/* A passing test's own AT_MEASURED replaces what it saw so far. */
Test(runner, pass_so_far_replaced)
{
	AT_MEASURED_SO_FAR("never shown");
	AT_MEASURED("figure: 4 of 4");
	AT_END();
}
