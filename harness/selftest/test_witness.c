/*
 * Description: the ping-pong witness says "parallel" for two threads on two
 * CPUs, and "not parallel" for the same two threads pinned to one CPU or run
 * one after the other (which must end after one deadline, not hang).
 */
#include "at_test.h"
#include "at_witness.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include "at_cpu.h"
#include "at_time.h"

TestSuite(witness, .timeout = 30);

struct player {
	struct at_pingpong *pp;
	int side;
};

static void *play(void *p)
{
	struct player *pl = p;

	at_pingpong_play(pl->pp, pl->side);
	return NULL;
}

static struct at_pingpong_result two_threads(const pthread_attr_t *attr, int timeout_ms)
{
	static struct at_pingpong pp;
	struct player pl[2] = { { &pp, 0 }, { &pp, 1 } };
	pthread_t t[2];

	at_pingpong_init(&pp, AT_PINGPONG_ROUNDS, timeout_ms);
	for (int i = 0; i < 2; i++)
		cr_assert(pthread_create(&t[i], attr, play, &pl[i]) == 0);
	for (int i = 0; i < 2; i++)
		cr_assert(pthread_join(t[i], NULL) == 0);
	return at_pingpong_result(&pp);
}

Test(witness, two_cpus_parallel, .description = "two free threads complete the rounds")
{
	struct at_pingpong_result r;

	char why[300];
	int verdict;

	at_require_cpus(2);
	r = two_threads(NULL, AT_PINGPONG_TIMEOUT_MS);
	AT_MEASURED("witness: %ld rounds in %.3f s (%.0f rounds/s)", r.rounds_done, r.seconds, r.rate);
	AT_CHECK(r.players == 2 && r.overlapped, "both threads must have played at the same time");
	/* With another program busy on one CPU, the scheduler may put our two
	 * threads together on the other: then nobody can show parallelism,
	 * and the verdict says so (the calibration threads share a CPU too). */
	verdict = at_pingpong_verdict(&r, why, sizeof(why));
	if (verdict == AT_SKIP)
		AT_SKIP("%s", why);
	AT_CHECK(verdict == AT_YES, "two threads on two CPUs must complete the rounds: %s", why);
	AT_END();
}

Test(witness, one_cpu_not_parallel, .description = "the same threads pinned to one CPU do not")
{
	pthread_attr_t attr;
	cpu_set_t set, one;
	struct at_pingpong_result r;
	char why[400] = "";
	int cpu = 0;

	cr_assert(sched_getaffinity(0, sizeof(set), &set) == 0);
	while (!CPU_ISSET(cpu, &set))
		cpu++;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	cr_assert(pthread_attr_init(&attr) == 0);
	cr_assert(pthread_attr_setaffinity_np(&attr, sizeof(one), &one) == 0);
	r = two_threads(&attr, 1000);
	pthread_attr_destroy(&attr);
	AT_MEASURED("witness: pinned, %ld rounds in %.2f s (%.0f rounds/s), on %d allowed CPU(s)",
		    r.rounds_done, r.seconds, r.rate, r.cpus_allowed);
	AT_CHECK(!r.parallel, "two threads on one CPU must not complete %d rounds in 1 s", AT_PINGPONG_ROUNDS);
	/* Threads allowed on one CPU are a NO on any machine, busy or not. */
	AT_CHECK(r.cpus_allowed == 1 && at_pingpong_verdict(&r, why, sizeof(why)) == AT_NO,
		 "two threads pinned to one CPU are a NO whatever the load: %s", why);
	AT_END();
}

Test(witness, sequential_gives_up, .description = "one side played after the other gives up at the deadline instead of hanging")
{
	struct at_pingpong pp;
	struct at_pingpong_result r;
	char why[300];

	at_pingpong_init(&pp, AT_PINGPONG_ROUNDS, 300);
	at_pingpong_play(&pp, 0);   /* alone: waits for side 1 until the deadline */
	at_pingpong_play(&pp, 1);   /* sees the give-up and returns at once */
	r = at_pingpong_result(&pp);
	AT_MEASURED("witness: sequential, %ld rounds in %.2f s", r.rounds_done, r.seconds);
	AT_CHECK(!r.parallel && r.rounds_done == 0, "sequential play must do no round");
	AT_CHECK(!r.overlapped, "the two sides never played at the same time");
	AT_CHECK(at_pingpong_verdict(&r, why, sizeof(why)) == AT_NO,
		 "sequential play is a NO whatever the load: %s", why);
	AT_END();
}

/* ---- a skip is not for sale ---------------------------------------------- */

static atomic_bool stop_spinning;

static void *spin_until_told(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_spinning))
		;
	return NULL;
}

Test(witness, own_load_is_no_excuse, .description = "a thread of the code's own that spins while the harness measures the machine makes it FREE-or-SELF, never BUSY")
{
	pthread_t t[2];
	char why[400];
	enum at_machine m;

	at_require_cpus(2);
	atomic_store(&stop_spinning, false);
	for (int i = 0; i < 2; i++)
		cr_assert(pthread_create(&t[i], NULL, spin_until_told, NULL) == 0);
	m = at_judge_machine(1.25, why, sizeof(why));
	atomic_store(&stop_spinning, true);
	for (int i = 0; i < 2; i++)
		cr_assert(pthread_join(t[i], NULL) == 0);
	AT_MEASURED("two spinning threads of the process's own: %s", why);
	AT_CHECK(m == AT_MACHINE_SELF, "a load made by this process itself must not excuse a skip: %s", why);
	AT_END();
}

Test(witness, own_child_is_no_excuse, .description = "a child process of the code's own that spins is its own load too")
{
	char why[400];
	enum at_machine m;
	pid_t kid[2];

	at_require_cpus(2);
	/* Spawned programs, not bare forks: a fork of a Criterion test shares
	 * its reporting socket with the test. */
	for (int i = 0; i < 2; i++) {
		static char sh[] = "sh", c[] = "-c", loop[] = "while :; do :; done";
		char *argv[] = { sh, c, loop, NULL };

		cr_assert(posix_spawnp(&kid[i], "sh", NULL, NULL, argv, environ) == 0);
	}
	at_sleep_ms(50);
	m = at_judge_machine(1.25, why, sizeof(why));
	for (int i = 0; i < 2; i++) {
		kill(kid[i], SIGKILL);
		waitpid(kid[i], NULL, 0);
	}
	AT_MEASURED("two spinning children: %s", why);
	AT_CHECK(m == AT_MACHINE_SELF, "spinning children of this process must not excuse a skip: %s", why);
	AT_END();
}

Test(witness, narrowed_cpus_are_no_excuse, .description = "code that narrows its own affinity to one CPU cannot turn a NO into a skip")
{
	cpu_set_t set, one;
	char why[400];
	enum at_machine m;
	int cpu = 0;

	if (at_usable_cpus_at_start() < 2)
		AT_SKIP("the test started with fewer than 2 usable CPUs");
	cr_assert(sched_getaffinity(0, sizeof(set), &set) == 0);
	while (!CPU_ISSET(cpu, &set))
		cpu++;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	cr_assert(sched_setaffinity(0, sizeof(one), &one) == 0);
	m = at_judge_machine(1.25, why, sizeof(why));
	cr_assert(sched_setaffinity(0, sizeof(set), &set) == 0);
	AT_MEASURED("narrowed to CPU %d: %s", cpu, why);
	AT_CHECK(m == AT_MACHINE_SELF, "a process that narrowed its own CPUs must not be excused: %s", why);
	AT_END();
}
