/*
 * pictures.c - lesson 05's timelines of real runs, drawn for the chapter.
 *
 *   pictures OUTDIR    writes OUTDIR/run-loop.dot, OUTDIR/run-one-at-a-time.dot
 *                      and OUTDIR/run-gated.dot
 *
 * Linked with the reference solution (`make diagrams`). The same six
 * clients (each: connect, then three times "send a line, wait for its
 * answer, think 8 ms", then leave) talk first to the reference serve(),
 * then to a server written here that serves one client until it leaves
 * before accepting the next (what mutants/blocking_loop.patch does, its
 * sockets left blocking).
 * Each lane is a client: grey while its connection is open, coloured while
 * it waits for an answer. Both pictures share one time scale, and carry an
 * axis in ms. Compare: with
 * the event loop every answer is immediate and all six conversations
 * overlap; one at a time, each client waits for all those before it.
 *
 * The third picture is the `gated` test's run on the reference: eight
 * clients, their requests released one at a time in a secret order.
 *
 * Recording uses at_trace_begin/end; the drawing is done here rather than
 * by at_trace_write_dot() because it needs two kinds of boxes on one lane
 * and one scale for two runs.
 */
#include "at_gate.h"
#include "at_server.h"
#include "at_time.h"
#include "at_trace.h"
#include "server.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define N_CLIENTS 6
#define N_LINES   3
#define THINK_MS  8
#define WIDTH_PT  560.0

static int run_serve(int listen_fd, int stop_fd, void *unused)
{
	(void)unused;
	return serve(listen_fd, stop_fd);
}

/* ---- the mistake, for contrast: one client at a time ------------------- */

static bool readable(int fd, int stop_fd)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = stop_fd, .events = POLLIN } };

	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			return false;
	return !(p[1].revents & POLLIN);
}

/* Accept one client, answer its lines until it leaves, then the next. */
static int one_at_a_time(int listen_fd, int stop_fd, void *unused)
{
	char buf[SERVER_LINE_MAX + 1], line[SERVER_LINE_MAX + 1];

	(void)unused;
	while (readable(listen_fd, stop_fd)) {
		int c = accept(listen_fd, NULL, NULL);
		size_t len = 0;
		ssize_t n = 1;

		while (c >= 0 && n > 0 && readable(c, stop_fd)) {
			n = recv(c, buf, sizeof(buf), 0);
			for (ssize_t i = 0; i < n; i++) {
				if (buf[i] != '\n' && len < SERVER_LINE_MAX) {
					line[len++] = buf[i];
					continue;
				}
				for (size_t k = 0; k < len / 2; k++) {
					char t = line[k];

					line[k] = line[len - 1 - k];
					line[len - 1 - k] = t;
				}
				line[len++] = '\n';
				send(c, line, len, MSG_NOSIGNAL);
				len = 0;
			}
		}
		if (c >= 0)
			close(c);
	}
	return 0;
}

/* ---- six clients, driven by one poll() loop -------------------------- */

struct client {
	int fd;
	int answered;          /* lines answered so far */
	bool waiting;
	int64_t next_send;     /* when to send the next line */
	size_t want, got;
	int open_slice, wait_slice;
};

static void send_line(struct client *c, int i, struct at_trace *tr)
{
	char line[64];

	c->want = (size_t)snprintf(line, sizeof(line), "client %d, line %d\n", i, c->answered + 1);
	c->got = 0;
	c->waiting = true;
	c->wait_slice = at_trace_begin(tr, "wait", i);
	if (send(c->fd, line, c->want, MSG_NOSIGNAL) != (ssize_t)c->want)
		c->want = 0; /* cannot happen with a few bytes; end the wait */
}

/* Read what came for a waiting client; true when its whole answer is in. */
static bool take_answer(struct client *c)
{
	char buf[128];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n > 0)
		c->got += (size_t)n;
	return n <= 0 || c->got >= c->want;
}

static int drive_clients(struct at_server *s, struct at_trace *tr)
{
	struct client cl[N_CLIENTS];
	int64_t deadline = at_now_ns() + 5 * AT_NS_PER_S;
	int done = 0;

	at_trace_reset(tr);
	for (int i = 0; i < N_CLIENTS; i++) {
		cl[i] = (struct client){ .fd = at_client_connect(s, 0) };
		if (cl[i].fd < 0)
			return -1;
		cl[i].open_slice = at_trace_begin(tr, "open", i);
	}
	while (done < N_CLIENTS && at_now_ns() < deadline) {
		struct pollfd p[N_CLIENTS];
		int64_t now = at_now_ns(), wake = now + 5 * AT_NS_PER_MS;

		for (int i = 0; i < N_CLIENTS; i++) {
			struct client *c = &cl[i];

			p[i] = (struct pollfd){ .fd = -1 };
			if (c->fd < 0)
				continue;
			if (!c->waiting && now >= c->next_send)
				send_line(c, i, tr);
			if (c->waiting)
				p[i] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
			else if (c->next_send < wake)
				wake = c->next_send;
		}
		poll(p, N_CLIENTS, (int)((wake - now) / AT_NS_PER_MS) + 1);
		for (int i = 0; i < N_CLIENTS; i++) {
			struct client *c = &cl[i];

			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)) || !take_answer(c))
				continue;
			at_trace_end(tr, c->wait_slice);
			c->waiting = false;
			c->next_send = at_now_ns() + THINK_MS * AT_NS_PER_MS;
			if (++c->answered == N_LINES) {
				close(c->fd);
				c->fd = -1;
				at_trace_end(tr, c->open_slice);
				done++;
			}
		}
	}
	return done == N_CLIENTS ? 0 : -1;
}

/* ---- drawing --------------------------------------------------------- */

static const char *const lane_colors[] = {
	"#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69",
	"#fccde5", "#bc80bd",
};

struct run {
	struct at_trace *tr;
	int lanes;
	int64_t t0, t1;
};

static void span(struct run *r)
{
	int n = atomic_load(&r->tr->n);

	r->t0 = INT64_MAX;
	r->t1 = 0;
	for (int i = 0; i < n; i++) {
		if (r->tr->ev[i].t0_ns < r->t0)
			r->t0 = r->tr->ev[i].t0_ns;
		if (r->tr->ev[i].t1_ns > r->t1)
			r->t1 = r->tr->ev[i].t1_ns;
	}
}

/*
 * The geometry, in points, as lesson pictures drawn by at_trace_write_dot():
 * one font and size for every word, lane names right-aligned against time
 * 0, a time axis in ms under the lanes. Compact enough that two of these
 * pictures, one above the other, still draw their words at 18 px on a
 * 1280x720 slide.
 */
#define FONT   "DejaVu Sans,sans-serif"
#define FS     13.0
#define PITCH  19.0
#define LABEL  70.0   /* the lane names' column */

/* One box: x from x0 to x1 (points), on lane `lane`. */
static void box(FILE *f, int id, double x0, double x1, int lane, const char *color,
		const char *tip, double height)
{
	double w = x1 - x0 < 1.5 ? 1.5 : x1 - x0;

	fprintf(f, "  b%d [fillcolor=\"%s\", width=%.3f, height=%.3f, pos=\"%.1f,%.1f!\", tooltip=\"%s\"];\n",
		id, color, w / 72.0, height / 72.0, x0 + w / 2, -lane * PITCH, tip);
}

/*
 * The time axis for a span of `ms`: a round step (1, 2 or 5 x 10^k ms) and
 * how many of them make the axis, the first multiple at or after the span
 * (a span over it by less than 1% still ends there), 3 to 10 ticks; of
 * those, the shortest axis (as at_trace_write_dot() draws it).
 */
static double axis_for(double ms, int *ticks)
{
	double best_step = 1, best_end = 0;

	*ticks = 1;
	for (double p = 1e-3; p <= 1e7; p *= 10)
		for (int m = 0; m < 3; m++) {
			double step = p * (m == 0 ? 1 : m == 1 ? 2 : 5);
			int k = (int)(ms * 0.99 / step);

			if (ms * 0.99 / step - k > 1e-9)
				k++;
			if (k < 3 || k > 10)
				continue;
			if (best_end == 0 || k * step < best_end - 1e-9) {
				best_end = k * step;
				best_step = step;
				*ticks = k;
			}
		}
	return best_step;
}

/*
 * Draw run r, time scaled so that axis_ms fills WIDTH_PT: two runs drawn
 * with one axis_ms share one time scale (and one width).
 */
static int draw(const char *path, const char *title, const struct run *r, double axis_ms)
{
	FILE *f = fopen(path, "w");
	int n = atomic_load(&r->tr->n), ticks;
	double step, ns_per_pt, axis_y;

	if (!f)
		return -1;
	step = axis_for(axis_ms, &ticks);
	ns_per_pt = ticks * step * AT_NS_PER_MS / WIDTH_PT;
	fprintf(f, "// A timeline of one real run, written by harness/05-event-loop/pictures.c.\n"
		   "graph timeline {\n"
		   "  layout=neato; inputscale=72; splines=false; outputorder=nodesfirst; pad=0.1;\n"
		   "  label=\"%s; grey: connected, coloured: waiting\"; labelloc=t;\n"
		   "  fontname=\"%s\"; fontsize=%g;\n"
		   "  node [shape=box, style=filled, fixedsize=true, label=\"\", penwidth=0.4, pin=true, fontname=\"%s\", fontsize=%g];\n"
		   "  edge [penwidth=0.8, color=\"#444444\"];\n",
		title, FONT, FS, FONT, FS);
	for (int l = 0; l < r->lanes; l++)
		fprintf(f, "  lane%d [label=\"client %d\\r\", shape=plaintext, style=\"\", width=%.3f, height=%.3f, pos=\"%.1f,%.1f!\"];\n",
			l, l, LABEL / 72.0, PITCH / 72.0, -8 - LABEL / 2, -l * PITCH);
	/* Long boxes first (drawn below), then the waits on top. */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++) {
			const struct at_trace_event *e = &r->tr->ev[i];
			bool is_open = strcmp(e->name, "open") == 0;
			double x0 = (double)(e->t0_ns - r->t0) / ns_per_pt;
			double x1 = (double)((e->t1_ns ? e->t1_ns : r->t1) - r->t0) / ns_per_pt;
			char tip[96];

			if (is_open != (pass == 0))
				continue;
			snprintf(tip, sizeof(tip), "client %d %s: %.3f ms", e->lane,
				 is_open ? "connected" : "waits for an answer", (x1 - x0) * ns_per_pt / AT_NS_PER_MS);
			box(f, i, x0, x1, e->lane, is_open ? "#e4e4e4" : lane_colors[e->lane % 8], tip,
			    is_open ? 8.0 : 14.0);
		}
	/* The time axis: 0 to the scale's end, a tick and a label every round
	 * number of milliseconds, the last label with its unit. */
	axis_y = -(r->lanes - 1) * PITCH - PITCH * 0.75;
	fprintf(f, "  ax0 [label=\"\", shape=point, width=0.01, pos=\"0,%.1f!\"];\n"
		   "  ax1 [label=\"\", shape=point, width=0.01, pos=\"%.1f,%.1f!\"];\n"
		   "  ax0 -- ax1;\n",
		axis_y, WIDTH_PT, axis_y);
	for (int k = 0; k <= ticks; k++) {
		double x = WIDTH_PT * k / ticks;
		char num[32];

		snprintf(num, sizeof(num), "%g%s", k * step, k == ticks ? " ms" : "");
		fprintf(f, "  tk%d [shape=box, fillcolor=\"#444444\", penwidth=0, width=0.012, height=0.07, pos=\"%.1f,%.1f!\"];\n"
			   "  tl%d [label=\"%s\", shape=plaintext, style=\"\", width=%.3f, height=%.3f, pos=\"%.1f,%.1f!\"];\n",
			k, x, axis_y - 2.5,
			k, num, (strlen(num) * 0.6 * FS + 4) / 72.0, FS * 1.2 / 72.0,
			x + (k == ticks ? 0.6 * FS * 1.5 : 0), axis_y - 5 - FS * 0.6);
	}
	fprintf(f, "}\n");
	return fclose(f) == 0 ? 0 : -1;
}

/* ---- the runs -------------------------------------------------------- */

static struct at_trace *new_trace(void)
{
	struct at_trace *tr = calloc(1, sizeof(*tr));

	if (!tr)
		abort();
	at_trace_reset(tr);
	return tr;
}

static int clients_against(at_serve_fn fn, struct run *r)
{
	struct at_server s;
	int rc;

	r->tr = new_trace();
	r->lanes = N_CLIENTS;
	if (at_server_start(&s, fn, NULL, NULL) != 0) {
		fprintf(stderr, "pictures: %s\n", s.why);
		return -1;
	}
	rc = drive_clients(&s, r->tr);
	at_server_stop(&s, 300);
	span(r);
	return rc;
}

static char gate_req[8][2][48], gate_rep[8][2][48];

static void gate_script(int c, int round, struct at_gate_msg *m, void *arg)
{
	size_t len = (size_t)snprintf(gate_req[c][round], sizeof(gate_req[c][round]),
				      "client %d, request %d\n", c, round + 1);

	(void)arg;
	for (size_t i = 0; i + 1 < len; i++)
		gate_rep[c][round][i] = gate_req[c][round][len - 2 - i];
	gate_rep[c][round][len - 1] = '\n';
	*m = (struct at_gate_msg){ gate_req[c][round], len, gate_rep[c][round], len };
}

/* The gated test's run; each client's connection drawn from the start. */
static int gated(struct run *r)
{
	struct at_server s;
	struct at_gate_result res;
	struct at_gate g;
	int n;
	bool ok;

	r->tr = new_trace();
	r->lanes = 8;
	if (at_server_start(&s, run_serve, NULL, NULL) != 0)
		return -1;
	g = (struct at_gate){
		.addr = (const struct sockaddr *)&s.addr, .addrlen = sizeof(s.addr),
		.clients = 8, .rounds = 2, .step_timeout_ms = 1000,
		.script = gate_script, .trace = r->tr,
	};
	ok = at_gate_run(&g, &res);
	at_server_stop(&s, 300);
	if (!ok)
		return -1;
	span(r);
	n = atomic_load(&r->tr->n);
	for (int i = 0; i < n; i++)
		snprintf(r->tr->ev[i].name, sizeof(r->tr->ev[i].name), "wait");
	for (int l = 0; l < 8; l++) { /* connected from the first release to its last answer */
		int slice = at_trace_begin(r->tr, "open", l);
		int64_t last = r->t0;

		for (int i = 0; i < n; i++)
			if (r->tr->ev[i].lane == l && r->tr->ev[i].t1_ns > last)
				last = r->tr->ev[i].t1_ns;
		r->tr->ev[slice].t0_ns = r->t0;
		r->tr->ev[slice].t1_ns = last;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct run loop, seq, gate;
	char path[4096];
	double axis_ms;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	if (clients_against(run_serve, &loop) != 0 || clients_against(one_at_a_time, &seq) != 0 ||
	    gated(&gate) != 0) {
		fprintf(stderr, "pictures: a run failed\n");
		return 1;
	}
	/* One time scale for the two client runs: the longer fills the width. */
	axis_ms = (double)((seq.t1 - seq.t0) > (loop.t1 - loop.t0) ? seq.t1 - seq.t0 : loop.t1 - loop.t0) / AT_NS_PER_MS;
	snprintf(path, sizeof(path), "%s/run-loop.dot", argv[1]);
	if (draw(path, "serve(), the event loop: 6 clients, 3 lines each", &loop, axis_ms) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/run-one-at-a-time.dot", argv[1]);
	if (draw(path, "the same 6 clients, served one at a time", &seq, axis_ms) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/run-gated.dot", argv[1]);
	if (draw(path, "the gated test: 8 clients, released one at a time", &gate,
		 (double)(gate.t1 - gate.t0) / AT_NS_PER_MS) != 0)
		return 1;
	printf("  run-loop          %.1f ms for 6 clients x 3 lines\n", (double)(loop.t1 - loop.t0) / AT_NS_PER_MS);
	printf("  run-one-at-a-time %.1f ms for the same\n", (double)(seq.t1 - seq.t0) / AT_NS_PER_MS);
	printf("  run-gated         %.2f ms for 16 gated exchanges\n", (double)(gate.t1 - gate.t0) / AT_NS_PER_MS);
	return 0;
}
