/*
 * Description: the counters: distinct thread ids, pthread_create and fork
 * calls through --wrap, threads and descriptors held by the process.
 */
#include "at_count.h"
#include "at_test.h"
#include "at_time.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(count, .timeout = 20);

static struct at_tidset tids;

static void *add_self(void *arg)
{
	(void)arg;
	at_tidset_add_self(&tids);
	return NULL;
}

Test(count, distinct_tids, .description = "3 threads are 3 distinct ids; one thread thrice is 1")
{
	pthread_t t[3];

	at_tidset_init(&tids);
	for (int i = 0; i < 3; i++)
		at_tidset_add_self(&tids);
	AT_CHECK(at_tidset_count(&tids) == 1, "one thread counted %d times", at_tidset_count(&tids));
	at_tidset_init(&tids);
	for (int i = 0; i < 3; i++)
		cr_assert(pthread_create(&t[i], NULL, add_self, NULL) == 0);
	for (int i = 0; i < 3; i++)
		cr_assert(pthread_join(t[i], NULL) == 0);
	AT_MEASURED("tids: %d distinct", at_tidset_count(&tids));
	AT_CHECK(at_tidset_count(&tids) == 3, "3 threads, %d ids", at_tidset_count(&tids));
	AT_CHECK(!at_tidset_contains(&tids, at_gettid()), "the main thread did not add itself");
	AT_END();
}

Test(count, wrapped_calls, .description = "pthread_create, pthread_join (those that succeed) and fork calls are counted")
{
	pthread_t t;
	pid_t pid;

	at_calls_reset();
	cr_assert(pthread_create(&t, NULL, add_self, NULL) == 0);
	cr_assert(pthread_join(t, NULL) == 0);
	cr_assert(pthread_join(pthread_self(), NULL) != 0, "joining oneself must fail (EDEADLK)");
	pid = fork();
	/* The child must not assert: every assertion is a message to
	 * Criterion's runner, and two processes on one channel deadlock. */
	if (pid == 0)
		_exit(0);
	cr_assert(pid > 0);
	cr_assert(waitpid(pid, NULL, 0) == pid);
	AT_MEASURED("calls: %ld pthread_create, %ld pthread_join that succeeded, %ld fork",
		    at_pthread_create_calls(), at_pthread_join_calls(), at_fork_calls());
	AT_CHECK(at_pthread_create_calls() == 1 && at_pthread_join_calls() == 1 && at_fork_calls() == 1,
		 "expected 1, 1 and 1");
	AT_END();
}

static void *park(void *fd)
{
	char c;

	/* Blocks until the test closes the pipe's write end. */
	(void)read(*(int *)fd, &c, 1);
	return NULL;
}

Test(count, threads_and_fds, .description = "a running thread and an open pipe show in /proc/self")
{
	int before_t = at_count_threads(), before_f = at_count_fds(), p[2];
	pthread_t t;

	cr_assert(pipe(p) == 0);
	AT_CHECK(at_count_fds() == before_f + 2, "a pipe is two descriptors");
	cr_assert(pthread_create(&t, NULL, park, &p[0]) == 0);
	AT_CHECK(at_count_threads() == before_t + 1, "one more thread while it runs");
	close(p[1]);
	cr_assert(pthread_join(t, NULL) == 0);
	close(p[0]);
	/* Joined, but maybe not yet gone from /proc: the settled count. */
	AT_MEASURED("proc: threads %d -> %d, fds %d -> %d", before_t, at_count_threads_settled(before_t, 1000),
		    before_f, at_count_fds());
	AT_CHECK(at_count_threads_settled(before_t, 1000) == before_t && at_count_fds() == before_f, "back to the start");
	AT_END();
}

static struct at_settle settle;

static void *late_finisher(void *arg)
{
	at_sleep_ms(*(int *)arg);
	at_settle_done(&settle);
	return NULL;
}

Test(count, settle, .description = "at_settle_wait sees tasks finish after their caller returned, and gives up at its deadline")
{
	static int delay = 50;
	pthread_t t[3];
	bool all, too_many;
	long seen;

	at_settle_reset(&settle);
	for (int i = 0; i < 3; i++)
		cr_assert(pthread_create(&t[i], NULL, late_finisher, &delay) == 0);
	seen = at_settle_count(&settle);
	all = at_settle_wait(&settle, 3, 2000);
	too_many = at_settle_wait(&settle, 4, 30);   /* a fourth never comes */
	for (int i = 0; i < 3; i++)
		cr_assert(pthread_join(t[i], NULL) == 0);
	AT_MEASURED("settle: %ld done at once, all 3 within 2 s: %s; a 4th within 30 ms: %s",
		    seen, all ? "yes" : "no", too_many ? "yes" : "no");
	AT_CHECK(seen < 3, "the tasks sleep 50 ms: they cannot be done at once");
	AT_CHECK(all, "three tasks that end after 50 ms were not seen within 2 s");
	AT_CHECK(!too_many, "a wait for a task that never ends must end at its deadline, false");
	AT_END();
}

/* ---- wake-ups: idle means none --------------------------------------- */

static pthread_mutex_t idle_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cv = PTHREAD_COND_INITIALIZER;
static bool idle_stop;

static void *sleeper(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&idle_mu);
	while (!idle_stop)
		pthread_cond_wait(&idle_cv, &idle_mu);
	pthread_mutex_unlock(&idle_mu);
	return NULL;
}

static void *poller(void *arg)
{
	(void)arg;
	for (;;) {
		bool stop;

		pthread_mutex_lock(&idle_mu);
		stop = idle_stop;
		pthread_mutex_unlock(&idle_mu);
		if (stop)
			return NULL;
		usleep(10000);   /* polls every 10 ms: almost no CPU, 100 wake-ups a second */
	}
}

static _Atomic pid_t started_tid;

static void *note_tid_then(void *(*fn)(void *))
{
	atomic_store(&started_tid, at_gettid());
	return fn(NULL);
}

static void *run_sleeper(void *arg) { (void)arg; return note_tid_then(sleeper); }
static void *run_poller(void *arg)  { (void)arg; return note_tid_then(poller); }

static long wakeups_in_300ms(void *(*body)(void *))
{
	pthread_t t;
	pid_t tid;
	long w0, w1;

	idle_stop = false;
	atomic_store(&started_tid, 0);
	cr_assert(pthread_create(&t, NULL, body, NULL) == 0);
	while ((tid = atomic_load(&started_tid)) == 0)
		usleep(100);
	at_sleep_ms(20);        /* let it reach its wait */
	w0 = at_wakeups_of_thread(0, tid);
	at_sleep_ms(300);
	w1 = at_wakeups_of_thread(0, tid);
	pthread_mutex_lock(&idle_mu);
	idle_stop = true;
	pthread_cond_broadcast(&idle_cv);
	pthread_mutex_unlock(&idle_mu);
	cr_assert(pthread_join(t, NULL) == 0);
	return w0 < 0 || w1 < 0 ? -1 : w1 - w0;
}

Test(count, wakeups_sleep_vs_poll, .description = "a thread asleep on a condition variable wakes 0 times in 300 ms; one polling every 10 ms, about 30")
{
	long asleep = wakeups_in_300ms(run_sleeper), polling = wakeups_in_300ms(run_poller);

	AT_MEASURED("wake-ups in 300 ms: asleep %ld, polling every 10 ms %ld; this process so far %ld",
		    asleep, polling, at_wakeups_of_process(0));
	AT_CHECK(asleep == 0, "a thread asleep until signalled woke %ld times", asleep);
	AT_CHECK(polling >= 10, "a thread polling every 10 ms woke only %ld times in 300 ms", polling);
	AT_END();
}
