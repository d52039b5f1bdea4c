/*
 * at_cpu.h - how many CPUs this process may really use, and the CPU/wall
 * ratio test of simultaneity.
 *
 * Parallelism needs two CPUs that the process is allowed to run on at the
 * same time. Two things can take them away: the affinity mask (taskset,
 * sched_setaffinity) and a cgroup CPU quota (containers, systemd slices).
 * at_usable_cpus() looks at both and says which one limits.
 *
 * CPU/wall: if the process used more CPU time than wall-clock time passed,
 * two threads must have run at the same instant. A pass is never false;
 * but on a busy machine correct code can fall short, so the policy is:
 * retry, and when even our own calibration burners cannot reach the bar,
 * skip with that reason instead of failing.
 */
#ifndef AT_CPU_H
#define AT_CPU_H

#include <stdbool.h>

#include <stddef.h>

/*
 * CPUs usable at once: min(affinity mask, cgroup quota rounded down), at
 * least 1. If why is not NULL it receives a sentence naming the limit,
 * e.g. "2 CPUs usable (affinity allows 2, no cgroup quota)".
 */
int at_usable_cpus(char *why, size_t whylen);

/*
 * CPUs a cgroup quota allows: the text of a cgroup v2 cpu.max file
 * ("max 100000" or "50000 100000"). Returns -1 for no limit, 0 on bad
 * input, else the quota in whole CPUs rounded down (at least 1).
 */
int at_parse_cpu_max(const char *text);

struct at_ratio {
	double cpu_s;   /* process CPU time during the run, all threads */
	double wall_s;  /* wall-clock time during the run */
	double ratio;   /* cpu_s / wall_s */
};

/* Run fn(arg) once and measure it. */
struct at_ratio at_measure_ratio(void (*fn)(void *), void *arg);

enum at_verdict { AT_NO = 0, AT_YES = 1, AT_SKIP = 2 };

/*
 * Was fn(arg) parallel? Up to `tries` runs; YES as soon as one reaches
 * `bar` (e.g. 1.5). Otherwise, SKIP when fewer than 2 CPUs are usable or
 * when two busy threads of our own cannot reach the bar either (the
 * machine is overloaded), else NO. *best gets the best run; why gets a
 * sentence for the student.
 */
enum at_verdict at_parallel_by_ratio(void (*fn)(void *), void *arg, double bar,
				     int tries, struct at_ratio *best,
				     char *why, size_t whylen);

/* CPU/wall of two harness threads spinning for `ms`: the machine's best. */
double at_calibrate_ratio(int ms);

/*
 * CPUs usable when the test started: the runner's (this process's parent,
 * which runs no code under test) affinity and the cgroup quota. Code under
 * test that narrows its own process's affinity changes at_usable_cpus(),
 * never this.
 */
int at_usable_cpus_at_start(void);

/*
 * Can a parallelism check judge now? A skip must not be for sale, so the
 * machine is called busy only for a load that the code under test did not
 * make itself. Two harness threads spin for a while, measured by their
 * own thread clocks; meanwhile the CPU used by the rest of this process
 * and by every process it started is counted.
 *   AT_MACHINE_FREE  the harness's threads ran at once (>= bar): judge;
 *   AT_MACHINE_BUSY  they could not, and the load came from elsewhere, or
 *                    fewer than 2 CPUs were usable from the start: skip;
 *   AT_MACHINE_SELF  the code under test narrowed the CPUs it was given,
 *                    or kept CPUs busy itself meanwhile: no excuse, judge.
 * why receives the sentence to print.
 */
enum at_machine { AT_MACHINE_FREE, AT_MACHINE_BUSY, AT_MACHINE_SELF };
enum at_machine at_judge_machine(double bar, char *why, size_t whylen);

/*
 * The checks that need the CPUs to themselves (the ping-pong witness, CPU/
 * wall ratios, the machine judge) call this first. The grader runs a
 * lesson's other tests beside other students' runs, with
 * ATONCE_SHARED_RUN=1, and only the tests named in EXCLUSIVE_TESTS
 * (harness/NN-name/lesson.mk) alone: a test that reaches such a check in a
 * shared run is missing from that list, and fails saying so (through
 * at_shared_run_violation(); without Criterion: a message and abort()).
 */
void at_need_machine(const char *what);
void at_shared_run_violation(const char *message);

/*
 * A trial: a test of EXCLUSIVE_TESTS that the grader first runs beside
 * other students' runs, because a pass there is already a proof (the
 * lesson's PASS_ANYWHERE: a witness that completed, CPU time outrunning
 * the wall clock, threads confined by their masks: no load makes a wrong
 * program do that). The grader names such tests in ATONCE_TRIAL_TESTS of a
 * shared run; at_need_machine() lets them measure, and it keeps only a
 * pass: anything else is measured again with the machine alone. So in a
 * trial the machine judge is not asked (the test fails at once: its answer
 * would be about other students' load), and the witness waits at most
 * AT_TRIAL_TIMEOUT_MS (on a machine shared fairly, two CPUs at once finish
 * its rounds in milliseconds; a wrong program would spin until the end).
 */
#define AT_TRIAL_TIMEOUT_MS 1000
bool at_trial_run(void);
const char *at_current_test(void);   /* the running test's name, or NULL */

/* Spin on the CPU for ms milliseconds of wall time (a CPU-bound task). */
void at_burn_ms(int ms);

/*
 * Confine the calling thread, and every thread it creates from now on, to
 * one CPU it may use; returns that CPU, or -1. A check of *results* runs
 * this way: its threads still interleave (concurrency), but a data race in
 * the code under test then shows only if a thread is preempted inside the
 * race's window of a few instructions, which almost never happens, so the
 * verdict does not hang on luck. Races are the ThreadSanitizer check's to
 * find, which needs no luck at all.
 */
int at_pin_to_one_cpu(void);

#endif
