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

int at_trace_write_dot(const struct at_trace *tr, const char *path, const char *title)
{
	const double width_pt = 600.0, row_pt = 30.0, label_pt = 70.0;
	int64_t t0, t1;
	int n = count(tr), lanes = max_lane(tr) + 1;
	double scale;
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	span(tr, &t0, &t1);
	scale = t1 > t0 ? width_pt / (double)(t1 - t0) : 0;
	/* neato with pinned positions draws boxes exactly where we put them:
	 * x is time, y is the lane. `dot -Tsvg` honours layout=neato. */
	fprintf(f, "// A timeline of one real run, written by the atonce harness.\n"
		   "// Render: dot -Tsvg this.dot > this.svg\n"
		   "graph timeline {\n"
		   "  layout=neato; inputscale=72; splines=false; outputorder=nodesfirst;\n"
		   "  label=\"%s\\ntime runs left to right: %.2f ms in all\"; labelloc=t; fontname=\"Helvetica\";\n"
		   "  node [shape=box, style=filled, fixedsize=true, fontname=\"Helvetica\", fontsize=9, pin=true, penwidth=0.5];\n",
		title ? title : "a run", (double)(t1 - t0) / AT_NS_PER_MS);
	/* A row is named after its first slice: the harness names its tasks. */
	for (int l = 0; l < lanes; l++) {
		const char *name = lane_name(tr, l);

		fprintf(f, "  lane%d [label=\"%s\", shape=plaintext, style=\"\", width=0.9, height=0.3, pos=\"%.1f,%.1f!\"];\n",
			l, name ? name : "", -label_pt / 2, -l * row_pt);
	}
	for (int i = 0; i < n; i++) {
		const struct at_trace_event *e = &tr->ev[i];
		double x0 = (double)(e->t0_ns - t0) * scale;
		double w = (double)(end_of(e, t1) - e->t0_ns) * scale;

		if (w < 1.0)
			w = 1.0; /* a slice too short to see still shows */
		/* The row says whose slice it is; the tooltip says where it ran. */
		fprintf(f, "  e%d [label=\"\", tooltip=\"%s: thread %d, CPU %d, %.3f ms\", fillcolor=\"%s\", width=%.3f, height=0.3, pos=\"%.1f,%.1f!\"];\n",
			i, e->name, (int)e->tid, e->cpu,
			(double)(end_of(e, t1) - e->t0_ns) / AT_NS_PER_MS,
			lane_colors[e->lane % 8], w / 72.0, x0 + w / 2, -e->lane * row_pt);
	}
	fprintf(f, "}\n");
	return fclose(f) == 0 ? 0 : -1;
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
