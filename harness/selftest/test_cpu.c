/*
 * Description: usable-CPU detection (affinity and cgroup quota) and the
 * CPU/wall ratio: two busy threads pass or skip, one busy thread never passes.
 */
#include "at_test.h"

#include <pthread.h>
#include <sched.h>

TestSuite(cpu, .timeout = 30);

Test(cpu, parse_cpu_max, .description = "cgroup v2 cpu.max quotas are read as whole CPUs")
{
	AT_CHECK(at_parse_cpu_max("max 100000\n") == -1, "no limit");
	AT_CHECK(at_parse_cpu_max("200000 100000\n") == 2, "2 CPUs");
	AT_CHECK(at_parse_cpu_max("150000 100000\n") == 1, "1.5 CPUs rounds down");
	AT_CHECK(at_parse_cpu_max("50000 100000\n") == 1, "half a CPU is still 1");
	AT_CHECK(at_parse_cpu_max("garbage") == 0, "bad input");
	AT_END();
}

Test(cpu, affinity_limits, .description = "a one-CPU affinity mask makes 1 CPU usable")
{
	cpu_set_t set, one;
	char why[160];
	int cpu = 0, n;

	cr_assert(sched_getaffinity(0, sizeof(set), &set) == 0);
	while (!CPU_ISSET(cpu, &set))
		cpu++;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	cr_assert(sched_setaffinity(0, sizeof(one), &one) == 0);
	n = at_usable_cpus(why, sizeof(why));
	AT_MEASURED("cpus: %s", why);
	AT_CHECK(n == 1, "one CPU in the mask must mean 1 usable, got %d", n);
	AT_END();
}

static void *burn(void *ms)
{
	at_burn_ms(*(int *)ms);
	return NULL;
}

static void two_busy(void *arg)
{
	pthread_t t;

	cr_assert(pthread_create(&t, NULL, burn, arg) == 0);
	burn(arg);
	cr_assert(pthread_join(t, NULL) == 0);
}

static void one_busy(void *arg)
{
	burn(arg);
}

Test(cpu, ratio_two_threads, .description = "two busy threads reach 1.5x CPU/wall, or the check skips with the reason")
{
	struct at_ratio best;
	char why[300];
	int ms = 200;
	enum at_verdict v = at_parallel_by_ratio(two_busy, &ms, 1.5, 3, &best, why, sizeof(why));

	if (v == AT_SKIP)
		AT_SKIP("%s", why);
	AT_MEASURED("ratio: %s", why);
	AT_CHECK(v == AT_YES, "two busy threads must pass: %s", why);
	AT_END();
}

Test(cpu, ratio_one_thread_never_passes, .description = "one busy thread never passes the ratio check")
{
	struct at_ratio best;
	char why[300];
	int ms = 150;
	enum at_verdict v = at_parallel_by_ratio(one_busy, &ms, 1.5, 2, &best, why, sizeof(why));

	AT_MEASURED("ratio: one thread, best %.2fx", best.ratio);
	AT_CHECK(v != AT_YES, "one thread cannot use more CPU than wall time: %s", why);
	AT_CHECK(best.ratio < 1.1, "one thread measured %.2fx", best.ratio);
	AT_END();
}
