/*
 * pictures.c - lesson 08's pictures of real runs, drawn for the chapter.
 *
 *   pictures OUTDIR   writes OUTDIR/run-static.dot, OUTDIR/run-dynamic.dot
 *                     (who mapped what, when, on skewed work) and
 *                     OUTDIR/speedup.svg (measured speedup beside Amdahl's law)
 *
 * Linked with the reference solution (`make diagrams`). The timelines: one
 * thread per usable CPU (2 to 4) maps 240 elements whose first quarter costs 20 times more; each
 * box is a run of consecutive elements one thread mapped (a static chunk,
 * or dynamic chunks it claimed one after another), each row is a thread,
 * labelled with its share of the work; both timelines share one time scale
 * (ms). The chart: dp_static on uniform
 * work with 1 to 4 threads, with no serial part and with a serial part of
 * a quarter, best of 7 runs each, beside Amdahl's predictions. The date and
 * the machine's CPU count are written into the chart.
 */
#include "at_count.h"
#include "at_cpu.h"
#include "at_time.h"
#include "at_trace.h"
#include "chunks.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile unsigned long sink;

static void spin(long steps, long seed)
{
	unsigned long h = (unsigned long)seed;

	for (long i = 0; i < steps; i++)
		h = h * 6364136223846793005UL + 1442695040888963407UL;
	sink = h;
}

/* ---- timelines --------------------------------------------------------- */

#define TL_N      240
#define TL_CHEAP  40000L     /* LCG steps: ~50 us */

struct tl {
	pthread_mutex_t mu;
	pid_t tid[16];
	long cost[16];
	int lanes;
};

static struct tl TL = { .mu = PTHREAD_MUTEX_INITIALIZER };
static __thread int tl_lane = -1, tl_slice = -1;
static __thread long tl_last = -2;
static __thread unsigned tl_gen;
static unsigned tl_run = 1;
static int tl_threads = 2;   /* one per usable CPU, 2 to 4 */

static long tl_map(long x, void *arg)
{
	long steps = x < TL_N / 4 ? 20 * TL_CHEAP : TL_CHEAP;

	(void)arg;
	if (tl_gen != tl_run) {
		tl_gen = tl_run;
		tl_last = -2;
		pthread_mutex_lock(&TL.mu);
		tl_lane = TL.lanes < 16 ? TL.lanes++ : 15;
		TL.tid[tl_lane] = at_gettid();
		pthread_mutex_unlock(&TL.mu);
	}
	/* A new box whenever this thread jumps to elements not next to its last. */
	if (x != tl_last + 1)
		tl_slice = at_trace_begin(at_trace_global(), "thread", tl_lane);
	spin(steps, x);
	at_trace_end(at_trace_global(), tl_slice);
	tl_last = x;
	TL.cost[tl_lane] += steps / TL_CHEAP;
	return x;
}

static void tl_fold(long *acc, long y, void *arg)
{
	(void)arg;
	*acc += y;
}

/* Name each row "thread t · share%" (a row takes its first slice's name). */
static void label_lanes(struct at_trace *tr)
{
	int n = atomic_load(&tr->n);
	long total = 0;

	for (int l = 0; l < TL.lanes; l++)
		total += TL.cost[l];
	for (int i = 0; i < n && i < AT_TRACE_MAX; i++) {
		int l = tr->ev[i].lane;

		snprintf(tr->ev[i].name, sizeof(tr->ev[i].name), "thread %d: %.0f%%", l,
			 total ? 100.0 * (double)TL.cost[l] / (double)total : 0.0);
	}
}

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

/* The quietest of a few traced runs through dp_static (chunk 0) or
 * dp_dynamic(chunk), kept in *out with its title. */
static int timeline(struct at_trace *out, char *title, size_t title_len, const char *name, size_t chunk)
{
	static long in[TL_N];
	struct job job = { in, TL_N, tl_map, tl_fold, 0, NULL };
	double best = 1e18;
	long r;
	int err = 0;

	for (int i = 0; i < TL_N; i++)
		in[i] = i;
	/* The quietest of a few runs: the picture should show the code, not
	 * the neighbours. */
	for (int try = 0; try < 12; try++) {
		if (try > 0)
			at_sleep_ms(150);  /* another moment, maybe a quieter one */
		tl_run++;
		TL.lanes = 0;
		memset(TL.cost, 0, sizeof(TL.cost));
		at_trace_reset(at_trace_global());
		err = chunk ? dp_dynamic(&job, tl_threads, chunk, &r) : dp_static(&job, tl_threads, &r);
		if (err != 0)
			break;
		if (span_ms(at_trace_global()) < best) {
			best = span_ms(at_trace_global());
			label_lanes(at_trace_global());
			memcpy(out, at_trace_global(), sizeof(*out));
		}
	}
	if (err != 0) {
		fprintf(stderr, "pictures: %s: %s\n", name, strerror(err));
		return -1;
	}
	if (chunk)
		snprintf(title, title_len, "dp_dynamic(): %d threads claim chunks of %zu of %d elements; the first quarter costs 20x more",
			 tl_threads, chunk, TL_N);
	else
		snprintf(title, title_len, "dp_static(): %d threads, one chunk of %d elements each; the first quarter costs 20x more",
			 tl_threads, TL_N / tl_threads);
	printf("  %-14s %.1f ms of wall time (quietest of 12 runs)\n", name, best);
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

/* ---- the speedup chart ---------------------------------------------------- */

#define SP_N      4000
#define SP_STEPS  25000L     /* per element: 100 M steps in all */
#define SP_MAXT   4

static long sp_map(long x, void *arg)
{
	(void)arg;
	spin(SP_STEPS, x);
	return x;
}

/* Wall time of one run: a serial part of `serial` x the parallel part's
 * one-thread work, then dp_static on `threads` threads. */
static double sp_run(int threads, double serial)
{
	static long in[SP_N];
	struct job job = { in, SP_N, sp_map, tl_fold, 0, NULL };
	int64_t t0 = at_now_ns();
	long r;

	spin((long)(serial * SP_N * SP_STEPS), 1);
	if (dp_static(&job, threads, &r) != 0)
		return -1;
	return (double)(at_now_ns() - t0) / 1e9;
}

static double amdahl(double p, double n)
{
	return 1.0 / ((1.0 - p) + p / n);
}

static double x_of(double t) { return 70 + (t - 1) * 130; }
static double y_of(double s) { return 295 - (s - 0) * 60; }

static void polyline(FILE *f, const double *s, const char *color, const char *dash)
{
	fprintf(f, "  <polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s%s%s points=\"", color,
		dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "");
	for (int t = 1; t <= SP_MAXT; t++)
		fprintf(f, "%.1f,%.1f ", x_of(t), y_of(s[t]));
	fprintf(f, "\"/>\n");
}

static int speedup_chart(const char *dir)
{
	static const double serial_of[2] = { 0.0, 1.0 / 3.0 }; /* of the parallel part: 0% and 25% of the whole */
	static const char *color[2] = { "#1f77b4", "#d62728" };
	double best[2][SP_MAXT + 1], model[2][SP_MAXT + 1], ideal[SP_MAXT + 1], base_ms[2];
	int cpus = at_usable_cpus(NULL, 0);
	char path[4096], date[32];
	time_t now = time(NULL);
	double load = 0;
	FILE *f;

	if (getloadavg(&load, 1) != 1)
		load = 0;

	for (int c = 0; c < 2; c++)
		for (int t = 1; t <= SP_MAXT; t++)
			best[c][t] = 1e18;
	/* Interleaved, best of 7: a noisy moment hurts every point alike. */
	for (int rep = 0; rep < 7; rep++)
		for (int c = 0; c < 2; c++)
			for (int t = 1; t <= SP_MAXT; t++) {
				double w = sp_run(t, serial_of[c]);

				if (w < 0)
					return -1;
				if (w < best[c][t])
					best[c][t] = w;
			}
	for (int c = 0; c < 2; c++) {
		double p = 1.0 / (1.0 + serial_of[c]);

		double base = best[c][1];

		base_ms[c] = base * 1e3;
		for (int t = 1; t <= SP_MAXT; t++) {
			best[c][t] = base / best[c][t];
			model[c][t] = amdahl(p, t < cpus ? t : cpus);
		}
	}
	for (int t = 1; t <= SP_MAXT; t++)
		ideal[t] = t;
	strftime(date, sizeof(date), "%Y-%m-%d", gmtime(&now));
	snprintf(path, sizeof(path), "%s/speedup.svg", dir);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "pictures: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"370\" viewBox=\"0 0 720 370\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">\n"
		   "  <!-- Written by harness/08-data-parallel/pictures.c (make diagrams): measured, not drawn by hand. -->\n"
		   "  <rect width=\"720\" height=\"370\" fill=\"white\"/>\n"
		   "  <text x=\"360\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">Speedup of dp_static() over 1 thread, uniform work, best of 7</text>\n"
		   "  <text x=\"360\" y=\"38\" text-anchor=\"middle\" fill=\"#555\">measured %s on %d usable CPUs, load average %.1f when it started</text>\n",
		date, cpus, load);
	for (int s = 0; s <= 4; s++)
		fprintf(f, "  <line x1=\"70\" x2=\"460\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"62\" y=\"%.1f\" text-anchor=\"end\">%dx</text>\n",
			y_of(s), y_of(s), y_of(s) + 4, s);
	for (int t = 1; t <= SP_MAXT; t++)
		fprintf(f, "  <text x=\"%.1f\" y=\"310\" text-anchor=\"middle\">%d</text>\n", x_of(t), t);
	fprintf(f, "  <text x=\"265\" y=\"332\" text-anchor=\"middle\">threads</text>\n");
	fprintf(f, "  <line x1=\"70\" x2=\"460\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/>\n", y_of(0), y_of(0));
	polyline(f, ideal, "#999", "2,4");
	for (int c = 0; c < 2; c++) {
		polyline(f, model[c], color[c], "6,4");
		polyline(f, best[c], color[c], NULL);
		for (int t = 1; t <= SP_MAXT; t++)
			fprintf(f, "  <circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\">%.2f</text>\n",
				x_of(t), y_of(best[c][t]), color[c], x_of(t), y_of(best[c][t]) + (c ? 18 : -9), color[c], best[c][t]);
	}
	fprintf(f, "  <g font-size=\"13\">\n"
		   "    <line x1=\"495\" x2=\"525\" y1=\"60\" y2=\"60\" stroke=\"%s\" stroke-width=\"2\"/><text x=\"530\" y=\"64\">measured, all parallel</text>\n"
		   "    <line x1=\"495\" x2=\"525\" y1=\"82\" y2=\"82\" stroke=\"%s\" stroke-width=\"2\"/><text x=\"530\" y=\"86\">measured, 1/4 serial</text>\n"
		   "    <line x1=\"495\" x2=\"525\" y1=\"104\" y2=\"104\" stroke=\"#555\" stroke-width=\"2\" stroke-dasharray=\"6,4\"/><text x=\"530\" y=\"108\">Amdahl, %d CPUs</text>\n"
		   "    <line x1=\"495\" x2=\"525\" y1=\"126\" y2=\"126\" stroke=\"#999\" stroke-width=\"2\" stroke-dasharray=\"2,4\"/><text x=\"530\" y=\"130\">ideal: n threads, nx</text>\n"
		   "    <text x=\"495\" y=\"160\">1 thread alone:</text>\n"
		   "    <text x=\"495\" y=\"178\">%.0f ms, all parallel</text>\n"
		   "    <text x=\"495\" y=\"196\">%.0f ms, 1/4 serial</text>\n"
		   "  </g>\n</svg>\n",
		color[0], color[1], cpus, base_ms[0], base_ms[1]);
	fclose(f);
	printf("  speedup.svg    %d threads: %.2fx (all parallel), %.2fx (1/4 serial); %d usable CPUs\n",
	       SP_MAXT, best[0][SP_MAXT], best[1][SP_MAXT], cpus);
	return 0;
}

int main(int argc, char **argv)
{
	static struct at_trace st, dy;
	char st_title[256], dy_title[256];
	int64_t scale;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	/* One thread per CPU: then every box is a thread really computing. */
	tl_threads = at_usable_cpus(NULL, 0);
	tl_threads = tl_threads < 2 ? 2 : tl_threads > 4 ? 4 : tl_threads;
	if (timeline(&st, st_title, sizeof(st_title), "run-static", 0) != 0 ||
	    timeline(&dy, dy_title, sizeof(dy_title), "run-dynamic", 4) != 0)
		return 1;
	/* One time scale for both timelines: static chunks take the longer. */
	scale = at_trace_span_ns(&st) > at_trace_span_ns(&dy) ? at_trace_span_ns(&st) : at_trace_span_ns(&dy);
	if (draw(argv[1], "run-static", st_title, &st, scale) != 0 ||
	    draw(argv[1], "run-dynamic", dy_title, &dy, scale) != 0 ||
	    speedup_chart(argv[1]) != 0)
		return 1;
	return 0;
}
