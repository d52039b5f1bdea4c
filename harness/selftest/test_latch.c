/*
 * Description: the overlap latch reaches its target when tasks run together
 * (threads, processes, cooperative yields) and reports 1 in flight, after a
 * single deadline, when they run one after another.
 */
#include "at_latch.h"
#include "at_test.h"

#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(latch, .timeout = 20);

static void *latch_thread(void *l)
{
	at_latch_task(l);
	return NULL;
}

Test(latch, threads_reach_target, .description = "4 threads arriving together reach the target")
{
	struct at_latch l;
	pthread_t t[4];

	cr_assert(at_latch_init(&l, 4, 2000, false) == 0);
	for (int i = 0; i < 4; i++)
		cr_assert(pthread_create(&t[i], NULL, latch_thread, &l) == 0);
	for (int i = 0; i < 4; i++)
		cr_assert(pthread_join(t[i], NULL) == 0);
	AT_MEASURED("latch: %d of 4 in flight", at_latch_max_in_flight(&l));
	AT_CHECK(at_latch_max_in_flight(&l) == 4, "a correct concurrent run must reach 4");
	at_latch_destroy(&l);
	AT_END();
}

Test(latch, sequential_fails_after_one_deadline, .description = "tasks run one by one show 1 in flight and cost one deadline, not four")
{
	struct at_latch l;
	int64_t t0 = at_now_ns();
	double s;

	cr_assert(at_latch_init(&l, 4, 300, false) == 0);
	for (int i = 0; i < 4; i++)
		cr_assert(!at_latch_task(&l), "a lone task must not see the target reached");
	s = (double)(at_now_ns() - t0) / AT_NS_PER_S;
	AT_MEASURED("latch: %d in flight, %.2f s for 4 sequential tasks", at_latch_max_in_flight(&l), s);
	AT_CHECK(at_latch_max_in_flight(&l) == 1, "sequential tasks must show 1 in flight");
	/* One 0.3 s deadline, not four: generous bound, not a stopwatch verdict
	 * on the code under test. */
	AT_CHECK(s < 1.15, "the latch waited once per task (%.2f s)", s);
	at_latch_destroy(&l);
	AT_END();
}

static void yield_cpu(void)
{
	sched_yield();
}

static void nothing(void)
{
}

static void *yielding_thread(void *l)
{
	at_latch_task_yielding(l, yield_cpu);
	return NULL;
}

Test(latch, yielding_variant, .description = "the yielding latch reaches the target with concurrent callers and gives up alone")
{
	struct at_latch l;
	pthread_t t[3];

	cr_assert(at_latch_init(&l, 3, 2000, false) == 0);
	for (int i = 0; i < 3; i++)
		cr_assert(pthread_create(&t[i], NULL, yielding_thread, &l) == 0);
	for (int i = 0; i < 3; i++)
		cr_assert(pthread_join(t[i], NULL) == 0);
	AT_CHECK(at_latch_max_in_flight(&l) == 3, "concurrent yielding tasks must reach 3");
	at_latch_destroy(&l);

	/* A yield that does not switch (run to completion): gives up alone. */
	cr_assert(at_latch_init(&l, 3, 200, false) == 0);
	for (int i = 0; i < 3; i++)
		at_latch_task_yielding(&l, nothing);
	AT_MEASURED("latch: yielding run-to-completion shows %d in flight", at_latch_max_in_flight(&l));
	AT_CHECK(at_latch_max_in_flight(&l) == 1, "a non-switching yield must show 1 in flight");
	at_latch_destroy(&l);
	AT_END();
}

Test(latch, processes_share_it, .description = "a shared latch counts forked children in flight at once")
{
	struct at_latch *l = at_latch_create_shared(3, 2000);
	pid_t pid[3];
	int status;

	cr_assert(l != NULL);
	for (int i = 0; i < 3; i++) {
		pid[i] = fork();
		if (pid[i] == 0) /* no assertion in the child: see test_count.c */
			_exit(at_latch_task(l) ? 0 : 1);
		cr_assert(pid[i] > 0);
	}
	for (int i = 0; i < 3; i++) {
		cr_assert(waitpid(pid[i], &status, 0) == pid[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d did not see the target", i);
	}
	AT_MEASURED("latch: %d of 3 processes in flight", at_latch_max_in_flight(l));
	AT_CHECK(at_latch_max_in_flight(l) == 3, "3 concurrent processes must reach 3");
	at_latch_free_shared(l);
	AT_END();
}
