/*
 * pictures.c - lesson 02's timelines of real runs, drawn for the chapter.
 *
 *   pictures OUTDIR    writes OUTDIR/run-parallel.dot and OUTDIR/run-pinned.dot
 *
 * Linked with the reference solution (`make diagrams`), it hands the same
 * CPU-bound tasks to run_parallel() and to run_pinned(). Each task records
 * the time slices the kernel gave it (at_trace_busy), and each row is
 * labelled with its task and the CPU(s) it ran on. Compare the two pictures
 * (one time scale, in ms): free, every task is one unbroken bar on a CPU of
 * its own (parallel); pinned, the bars break into slices that take turns
 * on one CPU (concurrent, not parallel), and the run lasts longer.
 */
#include "at_cpu.h"
#include "at_time.h"
#include "at_trace.h"
#include "threads.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#define TASK_CPU_MS 40  /* CPU time each task burns: a few time slices */
#define MAX_TASKS   4
#define TRIES       10

struct busy_job {
	int lane;
};

/* A CPU-bound harness task that records its own time slices. */
static long busy_task(void *arg)
{
	const struct busy_job *j = arg;

	at_trace_busy(at_trace_global(), "busy", j->lane, TASK_CPU_MS);
	return 0;
}

/*
 * Name every slice "task L · CPU c" (or "CPUs a,b" when the task moved):
 * the timeline names each row after its first slice, and which CPU ran a
 * task is what these two pictures are for.
 */
static void label_with_cpus(struct at_trace *tr, int lanes)
{
	int n = atomic_load(&tr->n);

	if (n > AT_TRACE_MAX)
		n = AT_TRACE_MAX;
	for (int l = 0; l < lanes; l++) {
		char name[AT_TRACE_NAME], cpus[AT_TRACE_NAME] = "";
		unsigned long long seen = 0;
		int count = 0;
		size_t off = 0;

		for (int i = 0; i < n; i++)
			if (tr->ev[i].lane == l && tr->ev[i].cpu >= 0 && tr->ev[i].cpu < 64)
				seen |= 1ULL << tr->ev[i].cpu;
		for (int c = 0; c < 64; c++)
			if (seen & (1ULL << c))
				off += (size_t)snprintf(cpus + off, off < sizeof(cpus) ? sizeof(cpus) - off : 0,
							"%s%d", count++ ? "," : "", c);
		snprintf(name, sizeof(name), "task %d · CPU%s %s", l, count > 1 ? "s" : "", cpus);
		for (int i = 0; i < n; i++)
			if (tr->ev[i].lane == l)
				memcpy(tr->ev[i].name, name, sizeof(name));
	}
}

/* The run's wall time: first start to last end, in ms. */
static double span_ms(const struct at_trace *tr)
{
	int n = atomic_load(&((struct at_trace *)tr)->n);
	int64_t t0 = INT64_MAX, t1 = 0;

	for (int i = 0; i < n && i < AT_TRACE_MAX; i++) {
		if (tr->ev[i].t0_ns < t0)
			t0 = tr->ev[i].t0_ns;
		if (tr->ev[i].t1_ns > t1)
			t1 = tr->ev[i].t1_ns;
	}
	return n > 0 && t1 > t0 ? (double)(t1 - t0) / 1e6 : 0;
}

/*
 * Run n busy tasks through run_parallel (cpu < 0) or run_pinned(cpu), and
 * keep the trace of the run in *out. A run is tried again (up to TRIES times,
 * a moment apart) while the machine's other work stretched it well beyond
 * what the code alone takes (free: one task's CPU time; pinned: all of
 * theirs), so that the picture shows what the code does, not what the
 * neighbours did.
 */
static int run(struct at_trace *out, const char *name, int n, int cpu)
{
	struct busy_job job[MAX_TASKS];
	struct task t[MAX_TASKS];
	double ms = 0;
	int err = 0;

	for (int i = 0; i < n; i++) {
		job[i] = (struct busy_job){ i };
		t[i] = (struct task){ busy_task, &job[i], -1 };
	}
	for (int try = 0; try < TRIES; try++) {
		double ideal = cpu < 0 ? TASK_CPU_MS : (double)n * TASK_CPU_MS;

		if (try > 0)
			at_sleep_ms(200);
		at_trace_reset(at_trace_global());
		err = cpu < 0 ? run_parallel(t, (size_t)n) : run_pinned(t, (size_t)n, cpu);
		ms = span_ms(at_trace_global());
		if (err != 0 || ms < 1.15 * ideal)
			break;
	}
	if (err != 0) {
		fprintf(stderr, "pictures: %s: %s\n", name, strerror(err));
		return -1;
	}
	label_with_cpus(at_trace_global(), n);
	memcpy(out, at_trace_global(), sizeof(*out));
	printf("  %-16s %d tasks, %.1f ms of wall time for %d ms of CPU work\n",
	       name, n, ms, n * TASK_CPU_MS);
	return 0;
}

/* Draw a run into dir/name.dot, its time axis spanning scale_ns. */
static int draw(const char *dir, const char *name, const char *title,
		const struct at_trace *tr, int64_t scale_ns)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s.dot", dir, name);
	if (at_trace_write_dot_span(tr, path, title, scale_ns) != 0) {
		fprintf(stderr, "pictures: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The first CPU this process may use. */
static int first_cpu(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 0;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			return c;
	return 0;
}

int main(int argc, char **argv)
{
	static struct at_trace free_run, pinned_run;
	int n = at_usable_cpus(NULL, 0), cpu = first_cpu();
	char title[2][256];
	int64_t scale;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	/* One task per CPU, so that free they can all run at once. */
	n = n < 2 ? 2 : n > MAX_TASKS ? MAX_TASKS : n;
	if (run(&free_run, "run-parallel", n, -1) != 0 ||
	    run(&pinned_run, "run-pinned", n, cpu) != 0)
		return 1;
	/* One time scale for both: the pinned run is visibly the longer. */
	scale = at_trace_span_ns(&free_run) > at_trace_span_ns(&pinned_run) ?
		at_trace_span_ns(&free_run) : at_trace_span_ns(&pinned_run);
	snprintf(title[0], sizeof(title[0]),
		 "run_parallel(): %d tasks of %d ms of CPU work each, free to use any CPU", n, TASK_CPU_MS);
	snprintf(title[1], sizeof(title[1]),
		 "run_pinned(..., %d): the same %d tasks, all on CPU %d", cpu, n, cpu);
	if (draw(argv[1], "run-parallel", title[0], &free_run, scale) != 0 ||
	    draw(argv[1], "run-pinned", title[1], &pinned_run, scale) != 0)
		return 1;
	return 0;
}
