/*
 * at_trace.c - the trace recorder and its writers (see at_trace.h).
 */
#include "at_trace.h"
#include "at_count.h"
#include "at_time.h"

#include <errno.h>
#include <stdbool.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct at_trace *at_trace_global(void)
{
	static struct at_trace *tr;

	if (!tr) {
		/* Shared, so that forked children (lesson 04) record into the
		 * parent's trace too. */
		tr = mmap(NULL, sizeof(*tr), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (tr == MAP_FAILED)
			abort();
		at_trace_reset(tr);
	}
	return tr;
}

void at_trace_reset(struct at_trace *tr)
{
	atomic_store(&tr->n, 0);
	tr->origin_ns = at_now_ns();
}

int at_trace_begin(struct at_trace *tr, const char *name, int lane)
{
	int i = atomic_fetch_add(&tr->n, 1);
	struct at_trace_event *e;

	if (i >= AT_TRACE_MAX) {
		atomic_store(&tr->n, AT_TRACE_MAX);
		return -1;
	}
	e = &tr->ev[i];
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->lane = lane;
	e->pid = getpid();
	e->tid = at_gettid();
	e->cpu = sched_getcpu();
	e->t1_ns = 0;
	e->t0_ns = at_now_ns();
	return i;
}

void at_trace_end(struct at_trace *tr, int slice)
{
	if (slice >= 0 && slice < AT_TRACE_MAX)
		tr->ev[slice].t1_ns = at_now_ns();
}

void at_trace_busy(struct at_trace *tr, const char *name, int lane, int cpu_ms)
{
	const int64_t gap_ns = 100 * 1000;
	int64_t cpu_end = at_thread_cpu_ns() + (int64_t)cpu_ms * AT_NS_PER_MS;
	int slice = at_trace_begin(tr, name, lane);
	/* After begin: its first write may fault in a copy-on-write page
	 * (a forked child), and a slice must not end before it starts. */
	int64_t last = at_now_ns();
	volatile unsigned long sink = 0;

	while (at_thread_cpu_ns() < cpu_end) {
		int64_t now = at_now_ns();

		if (now - last > gap_ns) {
			/* We were off the CPU between two looks: close the
			 * slice where we left, open one where we came back. */
			if (slice >= 0)
				tr->ev[slice].t1_ns = last;
			slice = at_trace_begin(tr, name, lane);
		}
		last = now;
		for (int i = 0; i < 200; i++)
			sink += (unsigned long)i;
	}
	at_trace_end(tr, slice);
}

static int count(const struct at_trace *tr)
{
	int n = atomic_load(&((struct at_trace *)tr)->n);

	return n > AT_TRACE_MAX ? AT_TRACE_MAX : n;
}

static int64_t end_of(const struct at_trace_event *e, int64_t last)
{
	return e->t1_ns ? e->t1_ns : last;
}

/* The span of the run: earliest start and latest end. */
static void span(const struct at_trace *tr, int64_t *t0, int64_t *t1)
{
	int n = count(tr);

	*t0 = INT64_MAX;
	*t1 = 0;
	for (int i = 0; i < n; i++) {
		if (tr->ev[i].t0_ns < *t0)
			*t0 = tr->ev[i].t0_ns;
		if (tr->ev[i].t1_ns > *t1)
			*t1 = tr->ev[i].t1_ns;
		if (tr->ev[i].t0_ns > *t1)
			*t1 = tr->ev[i].t0_ns;
	}
	if (n == 0)
		*t0 = *t1 = 0;
}

int64_t at_trace_span_ns(const struct at_trace *tr)
{
	int64_t t0, t1;

	span(tr, &t0, &t1);
	return t1 - t0;
}

static int max_lane(const struct at_trace *tr);

/* A lane's name: its first slice's (the harness names its tasks). */
static const char *lane_name(const struct at_trace *tr, int lane)
{
	int n = count(tr);

	for (int i = 0; i < n; i++)
		if (tr->ev[i].lane == lane)
			return tr->ev[i].name;
	return NULL;
}

/*
 * Chrome trace-event JSON, as Perfetto reads it: one process track named
 * after the file, and in it one thread track per lane (task, client,
 * worker), named and ordered like the rows of the SVG timeline. The OS
 * process, thread and CPU of each slice are in its args: a lane's task may
 * move between threads (a pool) or share one (green threads).
 */
int at_trace_write_json(const struct at_trace *tr, const char *path)
{
	FILE *f = fopen(path, "w");
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	int64_t t0, t1;
	int n = count(tr), lanes = max_lane(tr) + 1, me = (int)getpid();

	if (!f)
		return -1;
	span(tr, &t0, &t1);
	fprintf(f, "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n");
	fprintf(f, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":0,\"args\":{\"name\":\"atonce %.*s\"}}\n",
		me, (int)(strlen(base) > 5 && strcmp(base + strlen(base) - 5, ".json") == 0 ? strlen(base) - 5 : strlen(base)), base);
	for (int l = 0; n > 0 && l < lanes; l++) {
		const char *name = lane_name(tr, l);

		if (!name)
			continue;
		/* Two lanes of one name (two "busy" tasks) still get two names. */
		bool twin = false;

		for (int k = 0; k < lanes && !twin; k++)
			twin = k != l && lane_name(tr, k) && strcmp(lane_name(tr, k), name) == 0;
		fprintf(f, ",{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":\"%s%s%.0d\"}}\n",
			me, l + 1, name, twin ? " #" : "", twin ? l + 1 : 0);
		fprintf(f, ",{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"args\":{\"sort_index\":%d}}\n",
			me, l + 1, l);
	}
	for (int i = 0; i < n; i++) {
		const struct at_trace_event *e = &tr->ev[i];

		/* "X" is a complete event: a start and a duration, in µs. */
		fprintf(f, ",{\"name\":\"%s\",\"ph\":\"X\",\"pid\":%d,\"tid\":%d,"
			"\"ts\":%.3f,\"dur\":%.3f,\"args\":{\"lane\":%d,\"os_pid\":%d,\"os_tid\":%d,\"cpu\":%d}}\n",
			e->name, me, e->lane + 1,
			(double)(e->t0_ns - t0) / 1000.0,
			(double)(end_of(e, t1) - e->t0_ns) / 1000.0, e->lane, (int)e->pid, (int)e->tid, e->cpu);
	}
	fprintf(f, "]}\n");
	return fclose(f) == 0 ? 0 : -1;
}

static int max_lane(const struct at_trace *tr)
{
	int n = count(tr), m = 0;

	for (int i = 0; i < n; i++)
		if (tr->ev[i].lane > m)
			m = tr->ev[i].lane;
	return m;
}

static const char *const lane_colors[] = {
	"#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69",
	"#fccde5", "#d9d9d9",
};

/*
 * The timeline's geometry, in points (neato with inputscale=72 places
 * nodes in points). One font and one size for every word: the picture is
 * shown at its natural size in a chapter (an 880 px column: 12 pt draws at
 * about 15 px) and stretched on a slide, where a picture of about 700 x 150
 * points still draws its words at 18 px or more.
 */
#define TL_FONT   "DejaVu Sans,sans-serif"
#define TL_FS     12.0    /* every text: title, lane names, tick labels */
#define TL_DATA   560.0   /* the time axis, from 0 to the span drawn */
#define TL_PITCH  20.0    /* lane to lane */
#define TL_BOX    14.0    /* a slice's height */
#define TL_GAP    8.0     /* lane names to time 0 */

/*
 * The time axis for a span of span_ms: a round step (1, 2 or 5 x 10^k ms)
 * and the axis's end, the first multiple of the step at or after the span
 * (a span over it by less than 1% still ends there), with 3 to 10 ticks;
 * of those, the shortest axis. Returns the step; *end_ms gets the end.
 */
static double axis_for(double span_ms, double *end_ms)
{
	double best_step = 1, best_end = 0;

	if (!(span_ms > 0))
		span_ms = 1;
	for (double p = 1e-3; p <= 1e7; p *= 10)
		for (int m = 0; m < 3; m++) {
			double step = p * (m == 0 ? 1 : m == 1 ? 2 : 5);
			int64_t k = (int64_t)(span_ms * 0.99 / step);

			if (span_ms * 0.99 / step - (double)k > 1e-9)
				k++;
			if (k < 3 || k > 10)
				continue;
			if (best_end == 0 || k * step < best_end - 1e-9) {
				best_end = (double)k * step;
				best_step = step;
			}
		}
	if (best_end == 0)
		best_end = span_ms;
	*end_ms = best_end;
	return best_step;
}

/* Width in points of a line of text at TL_FS, generously (DejaVu Sans is
 * wide: about 0.6 em per character, and Graphviz measures with it). */
static double text_pt(const char *s)
{
	size_t chars = 0;

	for (; *s; s++)
		chars += ((unsigned char)*s & 0xC0) != 0x80; /* UTF-8: count characters */
	return (double)chars * 0.6 * TL_FS;
}

/* Write s into a double-quoted Graphviz string: quotes and backslashes
 * escaped, except "\n" (a title's line break), kept as Graphviz's. */
static void dot_string(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 'n') {
			fputs("\\n", f);
			s++;
		} else if (*s == '"' || *s == '\\') {
			fprintf(f, "\\%c", *s);
		} else {
			fputc(*s, f);
		}
	}
}

int at_trace_write_dot_span(const struct at_trace *tr, const char *path, const char *title, int64_t span_ns)
{
	int64_t t0, t1;
	int n = count(tr), lanes = max_lane(tr) + 1;
	/* Lane names get a column of 130 pt (wider only for longer names), so
	 * that two pictures drawn to one time scale have one width too. */
	double scale, label_w = 130, axis_y, step, span_ms;
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	span(tr, &t0, &t1);
	/* The axis covers span_ns (a scale shared with another picture), or
	 * this run's own span, whichever is longer. */
	if (span_ns < t1 - t0)
		span_ns = t1 - t0;
	if (span_ns <= 0)
		span_ns = AT_NS_PER_MS;
	/* The axis ends on a round tick at (or just before) the span's end. */
	step = axis_for((double)span_ns / AT_NS_PER_MS, &span_ms);
	scale = TL_DATA / (span_ms * AT_NS_PER_MS);
	for (int l = 0; l < lanes; l++) {
		const char *name = lane_name(tr, l);

		if (name && text_pt(name) > label_w)
			label_w = text_pt(name);
	}
	/* neato with pinned positions draws boxes exactly where we put them:
	 * x is time, y is the lane. `dot -Tsvg` honours layout=neato. */
	fprintf(f, "// A timeline of one real run, written by the atonce harness.\n"
		   "// Render: dot -Tsvg this.dot > this.svg\n"
		   "graph timeline {\n"
		   "  layout=neato; inputscale=72; splines=false; outputorder=nodesfirst; pad=0.1;\n"
		   "  label=\"");
	dot_string(f, title ? title : "a run");
	fprintf(f, "\"; labelloc=t; fontname=\"%s\"; fontsize=%g;\n"
		   "  node [shape=box, style=filled, fixedsize=true, fontname=\"%s\", fontsize=%g, pin=true, penwidth=0.5];\n"
		   "  edge [penwidth=0.8, color=\"#444444\"];\n",
		TL_FONT, TL_FS, TL_FONT, TL_FS);
	/* A row is named after its first slice: the harness names its tasks.
	 * The names are right-aligned against time 0. */
	for (int l = 0; l < lanes; l++) {
		const char *name = lane_name(tr, l);

		fprintf(f, "  lane%d [label=\"", l);
		dot_string(f, name ? name : "");
		fprintf(f, "\\r\", shape=plaintext, style=\"\", width=%.3f, height=%.3f, pos=\"%.1f,%.1f!\"];\n",
			label_w / 72.0, TL_PITCH / 72.0, -TL_GAP - label_w / 2, -l * TL_PITCH);
	}
	for (int i = 0; i < n; i++) {
		const struct at_trace_event *e = &tr->ev[i];
		double x0 = (double)(e->t0_ns - t0) * scale;
		double w = (double)(end_of(e, t1) - e->t0_ns) * scale;

		if (w < 1.0)
			w = 1.0; /* a slice too short to see still shows */
		/* The row says whose slice it is; the tooltip says where it ran. */
		fprintf(f, "  e%d [label=\"\", tooltip=\"%s: thread %d, CPU %d, %.3f ms\", fillcolor=\"%s\", width=%.3f, height=%.3f, pos=\"%.1f,%.1f!\"];\n",
			i, e->name, (int)e->tid, e->cpu,
			(double)(end_of(e, t1) - e->t0_ns) / AT_NS_PER_MS,
			lane_colors[e->lane % 8], w / 72.0, TL_BOX / 72.0, x0 + w / 2, -e->lane * TL_PITCH);
	}
	/* The time axis: a line from 0 to the span drawn, a tick and a label
	 * every round number of milliseconds, the last label with its unit. */
	axis_y = -(lanes - 1) * TL_PITCH - TL_PITCH * 0.75;
	fprintf(f, "  ax0 [label=\"\", shape=point, width=0.01, pos=\"0,%.1f!\"];\n"
		   "  ax1 [label=\"\", shape=point, width=0.01, pos=\"%.1f,%.1f!\"];\n"
		   "  ax0 -- ax1;\n",
		axis_y, TL_DATA, axis_y);
	{
		int ticks = (int)(span_ms / step + 0.5);

		for (int k = 0; k <= ticks; k++) {
			double x = k * step / span_ms * TL_DATA;
			char num[32];

			snprintf(num, sizeof(num), "%g%s", k * step, k == ticks ? " ms" : "");
			fprintf(f, "  tk%d [label=\"\", shape=box, style=filled, fillcolor=\"#444444\", penwidth=0, width=0.012, height=0.07, pos=\"%.1f,%.1f!\"];\n"
				   "  tl%d [label=\"%s\", shape=plaintext, style=\"\", width=%.3f, height=%.3f, pos=\"%.1f,%.1f!\"];\n",
				k, x, axis_y - 2.5,
				k, num, (text_pt(num) + 4) / 72.0, TL_FS * 1.2 / 72.0, x + (k == ticks && ticks > 0 ? text_pt(" ms") / 2 : 0),
				axis_y - 5 - TL_FS * 0.6);
		}
	}
	fprintf(f, "}\n");
	return fclose(f) == 0 ? 0 : -1;
}

int at_trace_write_dot(const struct at_trace *tr, const char *path, const char *title)
{
	return at_trace_write_dot_span(tr, path, title, 0);
}

char *at_trace_ascii(const struct at_trace *tr, int width, char *buf, size_t len)
{
	int64_t t0, t1;
	int n = count(tr), lanes = max_lane(tr) + 1;
	size_t off = 0;

	buf[0] = '\0';
	span(tr, &t0, &t1);
	if (n == 0 || t1 <= t0 || width < 10)
		return buf;
	for (int l = 0; l < lanes && l < 26; l++) {
		char row[256];

		if (width > (int)sizeof(row) - 1)
			width = sizeof(row) - 1;
		memset(row, '.', (size_t)width);
		row[width] = '\0';
		for (int i = 0; i < n; i++) {
			const struct at_trace_event *e = &tr->ev[i];
			int a, b;

			if (e->lane != l)
				continue;
			a = (int)((double)(e->t0_ns - t0) * width / (double)(t1 - t0));
			b = (int)((double)(end_of(e, t1) - t0) * width / (double)(t1 - t0));
			if (b <= a)
				b = a + 1; /* a short slice still shows */
			for (int c = a; c < b && c < width; c++)
				row[c] = (char)('A' + l);
		}
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0,
					"%stask %c |%s|", l ? "\n" : "", 'A' + l, row);
		if (off >= len)
			break;
	}
	return buf;
}

const char *at_trace_save(const struct at_trace *tr, const char *name, const char *title)
{
	static char json[4096];
	char dot[4096];
	const char *dir = getenv("ATONCE_TRACE_DIR");

	if (!dir || !*dir)
		return NULL;
	snprintf(json, sizeof(json), "%s/%s.json", dir, name);
	snprintf(dot, sizeof(dot), "%s/%s.dot", dir, name);
	if (at_trace_write_json(tr, json) != 0 || at_trace_write_dot(tr, dot, title) != 0)
		return NULL;
	return json;
}
