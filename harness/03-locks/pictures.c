/*
 * pictures.c - lesson 03's timelines of real runs, drawn for the chapter.
 *
 *   pictures OUTDIR    writes OUTDIR/run-big-lock.dot and OUTDIR/run-fine-grained.dot
 *
 * Linked with the reference solution (`make diagrams`), it hands the same
 * three tasks to run_with_big_lock() and to run_fine_grained(). Each task
 * computes, waits for "I/O" inside blocking_io(), and computes again; the
 * computing records the time slices the kernel gave it (at_trace_busy),
 * the waiting is one grey slice. Compare the two pictures: under the big
 * lock no two coloured slices ever overlap (one task computes at a time),
 * yet the grey waits overlap other tasks' computing (concurrency); without
 * it, coloured slices of different tasks sit one above the other on two
 * CPUs (parallelism). Both pictures share one time scale (ms).
 */
#include "at_cpu.h"
#include "at_time.h"
#include "at_trace.h"
#include "biglock.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_TASKS    3
#define COMPUTE_MS 12   /* CPU time of each of a task's two stretches of work */
#define IO_MS      24   /* the wait in between */
#define TRIES      5

struct job {
	int lane;
	char name[16], wait_name[24];
};

static void wait_io(void *arg)
{
	(void)arg;
	at_sleep_ms(IO_MS);
}

/* Compute, wait in blocking_io(), compute: the shape of a request handler. */
static void job_task(void *arg)
{
	struct job *j = arg;
	int slice;

	at_trace_busy(at_trace_global(), j->name, j->lane, COMPUTE_MS);
	slice = at_trace_begin(at_trace_global(), j->wait_name, j->lane);
	blocking_io(wait_io, NULL);
	at_trace_end(at_trace_global(), slice);
	at_trace_busy(at_trace_global(), j->name, j->lane, COMPUTE_MS);
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
 * Paint the waiting slices grey and dashed, with a label, in the .dot the
 * library wrote (it colours slices by task only). A slice is a line with
 * tooltip="task N waits...".
 */
static int grey_the_waits(const char *path)
{
	char *text, *out, *p, *q;
	size_t len;
	FILE *f = fopen(path, "r");
	int rc = -1;

	if (!f)
		return -1;
	text = malloc(1 << 20);
	out = malloc(1 << 21);
	if (!text || !out)
		goto done;
	len = fread(text, 1, (1 << 20) - 1, f);
	text[len] = '\0';
	fclose(f);
	f = NULL;
	q = out;
	for (p = text; *p;) {
		char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
		char *fill = memmem(p, n, "fillcolor=\"", 11);

		if (memmem(p, n, " waits", 6) && fill) {
			/* Keep the line up to fillcolor, minus its empty label,
			 * then our own style. */
			char *after = memchr(fill + 11, '"', n - (size_t)(fill + 11 - p));
			char *empty = memmem(p, n, "label=\"\", ", 10);
			int head = (int)((empty && empty < fill ? empty : fill) - p);
			int tail_from = empty && empty < fill ? (int)(empty + 10 - p) : (int)(fill - p);

			q += sprintf(q, "%.*s%.*sfillcolor=\"#f2f2f2\", style=\"filled,dashed\", color=\"#888888\", label=\"waits\", fontcolor=\"#666666\"",
				     head, p, (int)(fill - p) - tail_from, p + tail_from);
			if (after) {
				size_t rest = n - (size_t)(after + 1 - p);

				memcpy(q, after + 1, rest);
				q += rest;
			}
		} else {
			memcpy(q, p, n);
			q += n;
		}
		p += n;
	}
	*q = '\0';
	f = fopen(path, "w");
	if (f && fputs(out, f) >= 0)
		rc = 0;
done:
	if (f)
		fclose(f);
	free(text);
	free(out);
	return rc;
}

/* Run the jobs through `run` and keep the trace in *out. A run is tried
 * again (a moment later) while other work on the machine stretched it far
 * beyond what the code alone takes. */
static int record(struct at_trace *out, const char *name, int (*run)(const struct task *, size_t),
		  double ideal_ms)
{
	struct job job[N_TASKS];
	struct task t[N_TASKS];
	double ms = 0;
	int err = 0;

	for (int i = 0; i < N_TASKS; i++) {
		job[i].lane = i;
		snprintf(job[i].name, sizeof(job[i].name), "task %d", i);
		snprintf(job[i].wait_name, sizeof(job[i].wait_name), "task %d waits", i);
		t[i] = (struct task){ job_task, &job[i] };
	}
	for (int try = 0; try < TRIES; try++) {
		if (try > 0)
			at_sleep_ms(200);
		at_trace_reset(at_trace_global());
		err = run(t, N_TASKS);
		ms = span_ms(at_trace_global());
		if (err != 0 || ms < 1.2 * ideal_ms)
			break;
	}
	if (err != 0) {
		fprintf(stderr, "pictures: %s: %s\n", name, strerror(err));
		return -1;
	}
	memcpy(out, at_trace_global(), sizeof(*out));
	printf("  %-18s %d tasks, %.1f ms of wall time\n", name, N_TASKS, ms);
	return 0;
}

/* Draw a run into dir/name.dot, its time axis spanning scale_ns. */
static int draw(const char *dir, const char *name, const struct at_trace *tr,
		int64_t scale_ns, const char *title)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s.dot", dir, name);
	if (at_trace_write_dot_span(tr, path, title, scale_ns) != 0 || grey_the_waits(path) != 0) {
		fprintf(stderr, "pictures: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct at_trace big_run, fine_run;
	char big[256], fine[256];
	int64_t scale;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	snprintf(big, sizeof(big),
		 "run_with_big_lock(): %d tasks compute %d ms, wait %d ms in blocking_io(), compute %d ms\\n"
		 "coloured: computing (holding the big lock); grey: waiting (lock released)",
		 N_TASKS, COMPUTE_MS, IO_MS, COMPUTE_MS);
	snprintf(fine, sizeof(fine),
		 "run_fine_grained(): the same %d tasks, no big lock, %d CPU(s)\\n"
		 "coloured: computing; grey: waiting",
		 N_TASKS, at_usable_cpus(NULL, 0));
	/* Big lock: all computing in a row, the last wait sticking out. */
	if (record(&big_run, "run-big-lock", run_with_big_lock,
		   2.0 * N_TASKS * COMPUTE_MS + IO_MS / 2) != 0 ||
	    record(&fine_run, "run-fine-grained", run_fine_grained,
		   2.0 * COMPUTE_MS * ((N_TASKS + 1) / 2) + IO_MS) != 0)
		return 1;
	/* One time scale for both pictures: the big lock's run is the longer. */
	scale = at_trace_span_ns(&big_run) > at_trace_span_ns(&fine_run) ?
		at_trace_span_ns(&big_run) : at_trace_span_ns(&fine_run);
	if (draw(argv[1], "run-big-lock", &big_run, scale, big) != 0 ||
	    draw(argv[1], "run-fine-grained", &fine_run, scale, fine) != 0)
		return 1;
	return 0;
}
