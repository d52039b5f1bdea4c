/*
 * pictures.c - lesson 04's timelines of real runs, drawn for the chapter.
 *
 *   pictures OUTDIR    writes OUTDIR/run-children.dot and OUTDIR/run-wait-each.dot
 *
 * Linked with the reference solution (`make diagrams`), it hands CPU-bound
 * tasks to run_in_processes(): one row per child process, each box a
 * stretch of time that child spent on a CPU (at_trace_busy); each row says
 * which CPUs its child ran on. The trace lives in MAP_SHARED memory, made before the fork, so
 * the children record into the very trace the parent writes out.
 *
 * For contrast it also runs the same tasks the way the wait_each mutant
 * does (fork, wait, fork, wait: a loop of its own, below), so the chapter
 * can show both runs one above the other, on one time scale (ms). Compare with harness/02-threads/
 * pictures.c, which draws the same work on threads.
 */
#include "at_cpu.h"
#include "at_trace.h"
#include "procs.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TASK_CPU_MS 40  /* CPU time each task burns: several time slices */
#define N_CHILDREN  4
#define TRIES       5

/* A CPU-bound harness task that records its own time slices. */
static long busy_task(void *arg)
{
	int lane = (int)(intptr_t)arg;

	at_trace_busy(at_trace_global(), "busy", lane, TASK_CPU_MS);
	return lane;
}

/* The wait_each mistake, for the second picture: each child is waited
 * for before the next one is made. */
static int run_waiting_for_each(proc_task_fn fn, void *const args[], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return errno;
		if (pid == 0) {
			fn(args[i]);
			_exit(0);
		}
		if (waitpid(pid, NULL, 0) < 0)
			return errno;
	}
	return 0;
}

/*
 * Name every slice "child L · CPU c" (or "· 2 CPUs" when the child moved):
 * the timeline names each row after its first slice, and its tooltips give
 * each slice's PID (a child has one thread: its thread id is its PID).
 */
static void label_rows(struct at_trace *tr, int lanes)
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
		if (count > 1) /* "CPUs 0,1" would not fit beside the row */
			snprintf(name, sizeof(name), "child %d · %d CPUs", l, count);
		else
			snprintf(name, sizeof(name), "child %d · CPU %s", l, cpus);
		for (int i = 0; i < n; i++)
			if (tr->ev[i].lane == l)
				memcpy(tr->ev[i].name, name, sizeof(name));
	}
}

/*
 * at_trace_busy() closes a task's first slice at the time it read before
 * opening it when the first look finds a gap (in a fresh child, the first
 * writes fault in copy-on-write pages): a slice that ends before it begins.
 * Drop those: they are bookkeeping, not time on a CPU.
 */
static void drop_backwards_slices(struct at_trace *tr)
{
	int n = atomic_load(&tr->n), kept = 0;

	for (int i = 0; i < n && i < AT_TRACE_MAX; i++)
		if (tr->ev[i].t1_ns == 0 || tr->ev[i].t1_ns >= tr->ev[i].t0_ns)
			tr->ev[kept++] = tr->ev[i];
	atomic_store(&tr->n, kept);
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
 * Run N_CHILDREN busy tasks (waiting for each child before the next fork,
 * or not) and keep the trace in *out. The concurrent run is tried again
 * (up to TRIES times) while the machine's other work kept it from
 * two-at-a-time, so that the picture shows what the code does, not what
 * the neighbours did.
 */
static int record(struct at_trace *out, const char *name, bool waits)
{
	struct proc_result res[N_CHILDREN];
	void *args[N_CHILDREN];
	int cpus = at_usable_cpus(NULL, 0);
	double ideal = (double)TASK_CPU_MS * N_CHILDREN / (cpus < N_CHILDREN ? cpus : N_CHILDREN);
	double ms = 0;
	int err = 0;

	for (int i = 0; i < N_CHILDREN; i++)
		args[i] = (void *)(intptr_t)i;
	for (int try = 0; try < TRIES; try++) {
		at_trace_reset(at_trace_global());
		err = waits ? run_waiting_for_each(busy_task, args, N_CHILDREN)
			    : run_in_processes(busy_task, args, res, N_CHILDREN);
		drop_backwards_slices(at_trace_global());
		ms = span_ms(at_trace_global());
		if (err != 0 || waits || ms < 1.3 * ideal)
			break;
	}
	if (err != 0) {
		fprintf(stderr, "pictures: %s: %s\n", name, strerror(err));
		return -1;
	}
	label_rows(at_trace_global(), N_CHILDREN);
	memcpy(out, at_trace_global(), sizeof(*out));
	printf("  %-16s %d children, %.1f ms of wall time for %d ms of CPU work\n",
	       name, N_CHILDREN, ms, N_CHILDREN * TASK_CPU_MS);
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

int main(int argc, char **argv)
{
	static struct at_trace together, one_by_one;
	char title[256];
	int cpus = at_usable_cpus(NULL, 0);
	int64_t scale;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	/* Made here, before any fork: the children write into this mapping. */
	at_trace_global();
	if (record(&together, "run-children", false) != 0 ||
	    record(&one_by_one, "run-wait-each", true) != 0)
		return 1;
	/* One time scale for both pictures: waiting after each fork is the longer. */
	scale = at_trace_span_ns(&together) > at_trace_span_ns(&one_by_one) ?
		at_trace_span_ns(&together) : at_trace_span_ns(&one_by_one);
	snprintf(title, sizeof(title),
		 "run_in_processes(): %d child processes, %d ms of CPU work each, %d CPU%s",
		 N_CHILDREN, TASK_CPU_MS, cpus, cpus == 1 ? "" : "s");
	if (draw(argv[1], "run-children", title, &together, scale) != 0)
		return 1;
	if (draw(argv[1], "run-wait-each", "the same, with waitpid() right after each fork(): one child at a time",
		 &one_by_one, scale) != 0)
		return 1;
	return 0;
}

/* The test binaries are linked with --wrap=_exit (lesson.mk), and so is
 * this program: here a child's _exit() is just _exit(). */
void __real__exit(int status) __attribute__((noreturn));
void __wrap__exit(int status) __attribute__((noreturn));

void __wrap__exit(int status)
{
	__real__exit(status);
}
