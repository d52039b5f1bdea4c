/*
 * at_bench.c - side-by-side benchmarks with medians and ratios (see at_bench.h).
 */
#include "at_bench.h"
#include "at_cpu.h"
#include "at_time.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double time_once(const struct at_bench_case *c)
{
	int64_t t0 = at_now_ns();

	c->run(c->arg);
	return (double)(at_now_ns() - t0) / AT_NS_PER_S;
}

static void print_machine(void)
{
	char why[160], load[64] = "?";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (!fgets(load, sizeof(load), f))
			strcpy(load, "?");
		fclose(f);
		load[strcspn(load, " ")] = '\0';
	}
	at_usable_cpus(why, sizeof(why));
	printf("  machine: %s; load average %s (a busy machine makes every case slower, ratios hold better than times)\n",
	       why, load);
}

/* A horizontal bar chart of the medians: one bar per case. */
static void write_svg(const char *title, const struct at_bench_case *cases, int n,
		      const struct at_bench_stat *st)
{
	const char *dir = getenv("ATONCE_BENCH_DIR");
	char path[4096], slug[128];
	double max = 0;
	size_t k = 0;
	FILE *f;

	if (!dir || !*dir)
		return;
	for (const char *p = title; *p && k < sizeof(slug) - 1; p++)
		slug[k++] = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '-';
	slug[k] = '\0';
	snprintf(path, sizeof(path), "%s/%s.svg", dir, slug);
	if (!(f = fopen(path, "w")))
		return;
	for (int i = 0; i < n; i++)
		if (st[i].median_s > max)
			max = st[i].median_s;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"%d\" font-family=\"Helvetica, sans-serif\" font-size=\"13\">\n"
		   "<text x=\"10\" y=\"20\" font-size=\"15\">%s: median wall time (shorter is faster)</text>\n",
		60 + 30 * n, title);
	for (int i = 0; i < n; i++) {
		double w = max > 0 ? 380.0 * st[i].median_s / max : 0;
		int y = 40 + 30 * i;

		fprintf(f, "<text x=\"10\" y=\"%d\">%s</text>\n"
			   "<rect x=\"170\" y=\"%d\" width=\"%.1f\" height=\"20\" fill=\"%s\"/>\n"
			   "<text x=\"%.1f\" y=\"%d\">%.4f s (%.2fx)</text>\n",
			y + 15, cases[i].name, y, w, i ? "#80b1d3" : "#fb8072",
			175 + w, y + 15, st[i].median_s,
			st[0].median_s > 0 ? st[i].median_s / st[0].median_s : 0);
	}
	fprintf(f, "</svg>\n");
	fclose(f);
	printf("  chart: %s\n", path);
}

int at_bench_run(const char *title, const struct at_bench_case *cases, int n,
		 int rounds, double work, const char *unit, struct at_bench_stat *stats)
{
	double *t = calloc((size_t)n * (size_t)rounds, sizeof(*t));
	struct at_bench_stat *st = calloc((size_t)n, sizeof(*st));

	if (!t || !st) {
		free(t);
		free(st);
		return -1;
	}
	printf("\n%s (%d rounds each, interleaved, after one warm-up)\n", title, rounds);
	print_machine();
	for (int i = 0; i < n; i++)
		time_once(&cases[i]);  /* warm-up: caches, page faults, thread stacks */
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < n; i++)
			t[i * rounds + r] = time_once(&cases[i]);

	printf("  %-26s %12s %12s %16s %10s\n", "case", "median", "best",
	       work > 0 ? "throughput" : "", "vs first");
	for (int i = 0; i < n; i++) {
		double *ti = &t[i * rounds];
		char thr[48] = "";

		qsort(ti, (size_t)rounds, sizeof(*ti), cmp_double);
		st[i].median_s = ti[rounds / 2];
		st[i].best_s = ti[0];
		st[i].worst_s = ti[rounds - 1];
		if (work > 0 && st[i].median_s > 0)
			snprintf(thr, sizeof(thr), "%.3g %s/s", work / st[i].median_s, unit);
		printf("  %-26s %10.4f s %10.4f s %16s %9.2fx\n", cases[i].name,
		       st[i].median_s, st[i].best_s, thr,
		       st[0].median_s > 0 ? st[i].median_s / st[0].median_s : 0);
	}
	printf("  (vs first: the case's median time over the first case's; above 1 means slower than the first)\n");
	write_svg(title, cases, n, st);
	if (stats)
		memcpy(stats, st, (size_t)n * sizeof(*st));
	free(t);
	free(st);
	return 0;
}
