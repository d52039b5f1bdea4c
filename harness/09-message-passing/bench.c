/*
 * bench.c - lesson 09's benchmark: heat_run() on this machine's real MPI
 * with 1, 2 and 4 ranks beside the sequential loop, then on the simulated
 * cluster (SimGrid SMPI, cluster.xml: 64 nodes of 1 Gflop/s, 10 Gb/s links,
 * 2 us latency) from 1 to 64 ranks: simulated time, speedup, efficiency,
 * and the strong-scaling curve as an SVG chart.
 *
 *   make bench LESSON=9 [IMPL=solution]
 *
 * Real runs time heat_run() inside each rank (MPI_Wtime, the slowest rank
 * counts), without the profiling layer (plain-mpich), median of ROUNDS.
 * 4 ranks on 2 cores is oversubscribed: two ranks share each core, so it
 * cannot beat 2 ranks; it is shown because a cluster job is often tried
 * out this way on a laptop first. A benchmark never passes or fails.
 */
#include "heat.h"
#include "heat_wire.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REAL_N      1000000
#define REAL_STEPS  200
#define ROUNDS      3
#define SIM_N       16384
#define SIM_STEPS   20
#define SIM_FLOPS   1000.0
#define ALPHA       0.3

static char bindir[PATH_MAX];

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The same physics, one core, no MPI: the baseline. */
static double sequential_s(void)
{
	double *cur = malloc(2 * (REAL_N + 2) * sizeof(double)), *next, *t, t0;

	if (!cur)
		return -1;
	next = cur + REAL_N + 2;
	cur[0] = next[0] = wire_left(0);
	cur[REAL_N + 1] = next[REAL_N + 1] = wire_right(0);
	for (int i = 0; i < REAL_N; i++)
		cur[i + 1] = wire_init(0, REAL_N, i);
	t0 = now_s();
	for (int s = 0; s < REAL_STEPS; s++) {
		double worst = 0;

		for (int i = 1; i <= REAL_N; i++) {
			next[i] = wire_cell(cur[i - 1], cur[i], cur[i + 1], ALPHA);
			if (wire_abs(next[i] - cur[i]) > worst)
				worst = wire_abs(next[i] - cur[i]);
		}
		t = cur, cur = next, next = t;
		if (worst < 0)
			break;
	}
	t0 = now_s() - t0;
	free(cur < next ? cur : next);
	return t0;
}

/* Run one job; the largest "time" any rank reported, or -1. */
static double job_s(const char *launcher, int ranks, int n, int steps, double flops)
{
	char dir[] = "/tmp/atonce-bench-XXXXXX", cmd[4 * PATH_MAX], path[PATH_MAX + 64], line[128];
	double worst = -1;

	if (!mkdtemp(dir))
		return -1;
	if (strcmp(launcher, "smpirun") == 0)
		snprintf(cmd, sizeof(cmd),
			 "timeout -k 5 300 smpirun -np %d -platform %s/cluster.xml -hostfile %s/hosts.txt "
			 "--cfg=smpi/simulate-computation:no --cfg=smpi/host-speed:1Gf --log=root.thres:critical "
			 "%s/heat-smpi %s %g %g 0 %d,%d,%d,0,0 >%s/out.txt 2>&1",
			 ranks, bindir, bindir, bindir, dir, ALPHA, flops, ranks, n, steps, dir);
	else
		snprintf(cmd, sizeof(cmd), "timeout -k 5 300 %s -n %d %s/plain-%s %s %g 0 300 %d,%d,%d,0,0 >%s/out.txt 2>&1",
			 launcher, ranks, bindir, strstr(launcher, "openmpi") ? "openmpi" : "mpich", dir, ALPHA,
			 ranks, n, steps, dir);
	if (system(cmd) == 0)
		for (int r = 0; r < ranks; r++) {
			FILE *f;
			double t;

			snprintf(path, sizeof(path), WIRE_RANK_FILE, dir, 0, r);
			f = fopen(path, "r");
			if (!f) {
				worst = -1;
				break;
			}
			while (fgets(line, sizeof(line), f))
				if (sscanf(line, "time %lf", &t) == 1 && t > worst)
					worst = t;
			fclose(f);
		}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return worst;
}

static void real_runs(void)
{
	const char *launcher = access("/usr/bin/mpirun.mpich", X_OK) == 0 ? "mpirun.mpich" : "mpirun.openmpi";
	double seq[ROUNDS], t[3][ROUNDS], base;
	static const int ranks[3] = { 1, 2, 4 };

	printf("\nreal runs: %d cells, %d steps, %s (time inside heat_run, slowest rank, median of %d)\n",
	       REAL_N, REAL_STEPS, launcher, ROUNDS);
	for (int k = 0; k < ROUNDS; k++) {
		seq[k] = sequential_s();
		for (int c = 0; c < 3; c++)
			t[c][k] = job_s(launcher, ranks[c], REAL_N, REAL_STEPS, 0);
	}
	qsort(seq, ROUNDS, sizeof(double), cmp_double);
	base = seq[ROUNDS / 2];
	printf("  %-36s %10s %9s\n", "case", "median", "speedup");
	printf("  %-36s %8.1f ms %8.2fx\n", "sequential loop (1 core)", 1e3 * base, 1.0);
	for (int c = 0; c < 3; c++) {
		char name[64];

		qsort(t[c], ROUNDS, sizeof(double), cmp_double);
		snprintf(name, sizeof(name), "heat_run, %d rank%s%s", ranks[c], ranks[c] > 1 ? "s" : "",
			 ranks[c] > 2 ? " (oversubscribed)" : "");
		if (t[c][ROUNDS / 2] <= 0)
			printf("  %-36s did not run\n", name);
		else
			printf("  %-36s %8.1f ms %8.2fx\n", name, 1e3 * t[c][ROUNDS / 2], base / t[c][ROUNDS / 2]);
	}
}

/* The strong-scaling chart: speedup against ranks, both on log2 axes.  Its
 * text is 14 px at 640 px wide: 18 px or more on a 1280x720 slide. */
static void chart(const char *dir, const int *ranks, const double *speedup, int n)
{
	char path[PATH_MAX];
	FILE *f;
	const double W = 640, H = 400, L = 60, B = 50, R = 56, T = 40;   /* R: room for the last label */
	double xmax = 6, ymax = 6;   /* log2(64) */

	if (!dir)
		return;
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/simulated-scaling.svg", dir);
	f = fopen(path, "w");
	if (!f)
		return;
#define X(r) (L + (W - L - R) * (__builtin_log2((double)(r)) / xmax))
#define Y(s) (H - B - (H - B - T) * (__builtin_log2((s) < 1 ? 1 : (s)) / ymax))
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" font-family=\"Helvetica\" font-size=\"14\">\n", W, H);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(f, "<text x=\"%g\" y=\"22\" font-size=\"16\">strong scaling of heat_run, simulated: %d cells, %d steps</text>\n", L, SIM_N, SIM_STEPS);
	for (int k = 0; k <= 6; k++) {
		int v = 1 << k;

		fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#dee2e6\"/>\n", X(v), T, X(v), H - B);
		fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%d</text>\n", X(v), H - B + 18, v);
		fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#dee2e6\"/>\n", L, Y(v), W - R, Y(v));
		fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">%dx</text>\n", L - 6, Y(v) + 4, v);
	}
	fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">ranks (one per simulated node)</text>\n", (L + W - R) / 2, H - 12);
	fprintf(f, "<text x=\"16\" y=\"%g\" transform=\"rotate(-90 16 %g)\" text-anchor=\"middle\">speedup</text>\n", (T + H - B) / 2, (T + H - B) / 2);
	fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#adb5bd\" stroke-dasharray=\"6 4\"/>\n", X(1), Y(1), X(64), Y(64));
	fprintf(f, "<text x=\"%g\" y=\"%g\" fill=\"#868e96\">ideal</text>\n", X(32) - 10, Y(32) - 8);
	fprintf(f, "<polyline fill=\"none\" stroke=\"#e8590c\" stroke-width=\"2.5\" points=\"");
	for (int k = 0; k < n; k++)
		if (speedup[k] > 0)
			fprintf(f, "%g,%g ", X(ranks[k]), Y(speedup[k]));
	fprintf(f, "\"/>\n");
	for (int k = 0; k < n; k++) {
		if (speedup[k] <= 0)
			continue;
		fprintf(f, "<circle cx=\"%g\" cy=\"%g\" r=\"4\" fill=\"#e8590c\"/>\n", X(ranks[k]), Y(speedup[k]));
		/* labelled below the curve; 1 rank is 1.0x by definition */
		if (ranks[k] > 1)
			fprintf(f, "<text x=\"%g\" y=\"%g\">%.1fx</text>\n",
				X(ranks[k]) + 6, Y(speedup[k]) + 18, speedup[k]);
	}
	fprintf(f, "</svg>\n");
#undef X
#undef Y
	fclose(f);
	printf("  chart: %s\n", path);
}

static void simulated_runs(void)
{
	static const int ranks[7] = { 1, 2, 4, 8, 16, 32, 64 };
	double t[7], speedup[7];

	if (access(strcat(strcpy((char[PATH_MAX + 16]){ 0 }, bindir), "/heat-smpi"), X_OK) != 0) {
		printf("\nsimulated runs: SimGrid is not installed (harness/tools/deps.sh mpi)\n");
		return;
	}
	printf("\nsimulated cluster (cluster.xml: 64 nodes, 1 Gflop/s, 10 Gb/s, 2 us): %d cells x %.0f flops, %d steps\n",
	       SIM_N, SIM_FLOPS, SIM_STEPS);
	printf("  %-6s %14s %9s %11s\n", "ranks", "simulated", "speedup", "efficiency");
	for (int k = 0; k < 7; k++) {
		t[k] = job_s("smpirun", ranks[k], SIM_N, SIM_STEPS, SIM_FLOPS);
		speedup[k] = t[k] > 0 && t[0] > 0 ? t[0] / t[k] : -1;
		if (t[k] <= 0)
			printf("  %-6d did not run\n", ranks[k]);
		else
			printf("  %-6d %11.3f ms %8.2fx %10.0f%%\n", ranks[k], 1e3 * t[k], speedup[k],
			       100 * speedup[k] / ranks[k]);
	}
	chart(getenv("ATONCE_BENCH_DIR"), ranks, speedup, 7);
}

int main(int argc, char **argv)
{
	char *slash;

	(void)argc;
	snprintf(bindir, sizeof(bindir), "%s", argv[0]);
	slash = strrchr(bindir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(bindir, sizeof(bindir), ".");
	strncat(bindir, "/mpi", sizeof(bindir) - strlen(bindir) - 1);
	setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
	setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
	setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
	setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 1);
	setenv("OMPI_MCA_plm", "isolated", 1);
	{
		double load[1] = { -1 };

		getloadavg(load, 1);
		printf("lesson 09 benchmark: %ld CPUs online, load average %.2f (real runs suffer from load; simulated ones do not)\n",
		       sysconf(_SC_NPROCESSORS_ONLN), load[0]);
	}
	real_runs();
	simulated_runs();
	return 0;
}
