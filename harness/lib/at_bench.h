/*
 * at_bench.h - benchmarks: the code under test beside real peers, in one
 * run, reported as medians and ratios. Never a pass/fail verdict.
 *
 * A benchmark program (harness/NN-name/bench.c, built by `make bench
 * LESSON=n` against the student's code or IMPL=solution) fills an array of
 * cases and calls at_bench_run():
 *
 *   struct at_bench_case c[] = {
 *       { "pool (ours)",   run_pool,   &args },
 *       { "GThreadPool",   run_glib,   &args },
 *       { "thread/task",   run_naive,  &args },
 *   };
 *   at_bench_run("100000 empty tasks", c, 3, 7, 100000, "tasks");
 *
 * Rounds are interleaved (ABC ABC ABC ...), so that a noisy moment hurts
 * every case alike; one warm-up round is not counted. The table gives, per
 * case, the median and best wall time, the throughput (work / median) and
 * the ratio to the first case's median; a line says how loaded the machine
 * was (load average, usable CPUs). With ATONCE_BENCH_DIR set, a bar chart
 * <dir>/<slug of title>.svg is written too.
 */
#ifndef AT_BENCH_H
#define AT_BENCH_H

struct at_bench_case {
	const char *name;
	void (*run)(void *arg);  /* one round of the work */
	void *arg;
};

struct at_bench_stat {
	double median_s, best_s, worst_s;
};

/*
 * Run every case `rounds` times (plus one warm-up), print the table to
 * stdout, and return 0. `work` units of `unit` are done per round (for the
 * throughput column; 0 to omit it). stats, if not NULL, receives one entry
 * per case.
 */
int at_bench_run(const char *title, const struct at_bench_case *cases, int n,
		 int rounds, double work, const char *unit, struct at_bench_stat *stats);

#endif
