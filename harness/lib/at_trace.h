/*
 * at_trace.h - a recorder for harness tasks, and three pictures of a run.
 *
 * Harness tasks call at_trace_begin()/at_trace_end() around their work (or
 * around each slice of it, for green threads). Each record holds the task's
 * name, a lane (one row of the picture), the OS thread and the CPU it ran
 * on, and its start and end on the monotonic clock. Recording is lock-free
 * and costs two clock reads, so it does not change what it measures.
 *
 * The same records become:
 *   - Chrome trace-event JSON, which Perfetto (ui.perfetto.dev) and
 *     chrome://tracing open: one row per OS thread, the CPU in each slice;
 *   - a Graphviz timeline (render with `dot -Tsvg`; it asks for the neato
 *     layout itself): one row per lane, boxes to scale, a time axis in ms;
 *   - a few lines of text for the terminal, shown beside a failed check.
 */
#ifndef AT_TRACE_H
#define AT_TRACE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AT_TRACE_MAX  4096
#define AT_TRACE_NAME 32

struct at_trace_event {
	char name[AT_TRACE_NAME];
	int lane;
	pid_t pid;
	pid_t tid;
	int cpu;
	int64_t t0_ns, t1_ns; /* t1_ns == 0 while running */
};

struct at_trace {
	_Atomic int n;
	int64_t origin_ns;
	struct at_trace_event ev[AT_TRACE_MAX];
};

/* The trace of the current test; allocated on first use, reset by at_trace_reset. */
struct at_trace *at_trace_global(void);
void at_trace_reset(struct at_trace *tr);

/* Begin a slice: returns its index (or -1 when the trace is full). */
int at_trace_begin(struct at_trace *tr, const char *name, int lane);
void at_trace_end(struct at_trace *tr, int slice);

/*
 * Keep the CPU busy for cpu_ms milliseconds of this thread's CPU time,
 * recording a new slice each time the thread was off the CPU for more than
 * 100 µs (it was preempted). On a CPU of its own a task is one slice; when
 * it shares the CPU, the picture shows the time slices the kernel gave it.
 */
void at_trace_busy(struct at_trace *tr, const char *name, int lane, int cpu_ms);

/* Writers. Each returns 0 or -1 with errno set. */
int at_trace_write_json(const struct at_trace *tr, const char *path);
int at_trace_write_dot(const struct at_trace *tr, const char *path, const char *title);

/*
 * The same timeline with a time axis of span_ns (or the run's own span
 * when that is longer): two runs drawn with one span_ns share one time
 * scale, and their pictures have the same width, so they compare at a
 * glance wherever they are shown at the same size.
 */
int at_trace_write_dot_span(const struct at_trace *tr, const char *path, const char *title, int64_t span_ns);

/* The span of a run: its first start to its last end, in ns (0 when empty). */
int64_t at_trace_span_ns(const struct at_trace *tr);

/*
 * A text timeline: one row per lane, `width` columns for the whole run, a
 * letter per lane where that lane's task was running. Returns buf.
 */
char *at_trace_ascii(const struct at_trace *tr, int width, char *buf, size_t len);

/*
 * Write <dir>/<name>.json and <dir>/<name>.dot when the environment
 * variable ATONCE_TRACE_DIR names a directory; else do nothing. Returns
 * the path of the JSON written (static buffer) or NULL.
 */
const char *at_trace_save(const struct at_trace *tr, const char *name, const char *title);

#endif
