/*
 * pictures.c - lesson 09's timeline of a real run, drawn for the chapter.
 *
 *   pictures OUTDIR    writes OUTDIR/run-ranks.svg
 *
 * Runs the reference on 3 ranks of MPICH (or Open MPI) through the
 * profiling layer, 600000 cells for 4 steps, and draws one row per rank
 * from the ranks' own logs (every event stamped with CLOCK_MONOTONIC, the
 * same clock in every process): the kernel on the interior and on the
 * edges, the waits, the collectives, and a tick where a message was
 * posted. Built by `make diagrams` on the solution.
 */
#include "heat.h"
#include "heat_wire.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RANKS 3
#define N     600000
#define STEPS 4
#define MAX_EV 4096

struct ev {
	int kind, a, b;
	long long t;
};

static struct ev evs[RANKS][MAX_EV];
static int n_ev[RANKS], counts[RANKS];

static int load(const char *dir)
{
	char path[PATH_MAX + 32], line[160];

	for (int r = 0; r < RANKS; r++) {
		FILE *f;

		snprintf(path, sizeof(path), WIRE_RANK_FILE, dir, 0, r);
		f = fopen(path, "r");
		if (!f)
			return -1;
		while (fgets(line, sizeof(line), f)) {
			struct ev e;
			int first;

			if (sscanf(line, "ev %d %d %d %lld", &e.kind, &e.a, &e.b, &e.t) == 4 && n_ev[r] < MAX_EV)
				evs[r][n_ev[r]++] = e;
			else
				sscanf(line, "block %d %d", &first, &counts[r]);
		}
		fclose(f);
	}
	return 0;
}

static void box(FILE *f, double x0, double x1, double y, double h, const char *fill, const char *title)
{
	if (x1 - x0 < 0.8)
		x1 = x0 + 0.8;
	fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"><title>%s</title></rect>\n",
		x0, y, x1 - x0, h, fill, title);
}

static int draw(const char *path)
{
	/* Sized in px for an 880 px column; 15 px text stays above 18 px
	 * when a slide stretches the picture to its width. */
	const double W = 900, L = 80, R = 20, T = 50, ROW = 46, H = T + RANKS * ROW + 80;
	long long t0 = -1, t1 = 0;
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	for (int r = 0; r < RANKS; r++)
		for (int k = 0; k < n_ev[r]; k++) {
			/* From the first post to the last event: the steps. */
			if (evs[r][k].kind == EV_POST_RECV && (t0 < 0 || evs[r][k].t < t0))
				t0 = evs[r][k].t;
			if (evs[r][k].t > t1)
				t1 = evs[r][k].t;
		}
	if (t0 < 0 || t1 <= t0) {
		fclose(f);
		return -1;
	}
#define X(t) (L + (W - L - R) * (double)((t) - t0) / (double)(t1 - t0))
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" font-family=\"DejaVu Sans, Helvetica, sans-serif\" font-size=\"15\">\n", W, H);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(f, "<text x=\"8\" y=\"24\" font-size=\"16\">%d ranks of MPI, %d cells, %d steps, every send synchronous: %.2f ms</text>\n",
		RANKS, N, STEPS, (double)(t1 - t0) / 1e6);
	for (int r = 0; r < RANKS; r++) {
		double y = T + r * ROW;
		long long open_kernel = -1, open_wait = -1, open_coll = -1;
		int kl = 0, kh = 0;

		fprintf(f, "<text x=\"8\" y=\"%g\">rank %d</text>\n", y + 20, r);
		fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#dee2e6\"/>\n", L, y + 14, W - R, y + 14);
		for (int k = 0; k < n_ev[r]; k++) {
			const struct ev *e = &evs[r][k];

			if (e->t < t0)
				continue;
			switch (e->kind) {
			case EV_KERNEL:
				open_kernel = e->t, kl = e->a, kh = e->b;
				break;
			case EV_KERNEL_END:
				if (open_kernel >= 0) {
					bool interior = kl >= 2 && kh <= counts[r];
					char title[64];

					snprintf(title, sizeof(title), "kernel, cells [%d, %d)", kl, kh);
					box(f, X(open_kernel), X(e->t), y + 4, 20, interior ? "#ffa94d" : "#d9480f", title);
				}
				open_kernel = -1;
				break;
			case EV_BLOCK:
				open_wait = e->t;
				break;
			case EV_UNBLOCK:
				if (open_wait >= 0)
					box(f, X(open_wait), X(e->t), y + 4, 20, "#4dabf7", wire_op_name[e->a]);
				open_wait = -1;
				break;
			case EV_COLL:
				open_coll = e->t;
				break;
			case EV_COLL_END:
				if (open_coll >= 0)
					box(f, X(open_coll), X(e->t), y + 4, 20, "#69db7c", wire_op_name[e->a]);
				open_coll = -1;
				break;
			case EV_POST_RECV:
			case EV_POST_SEND:
				if (e->a >= 0)
					fprintf(f, "<line x1=\"%.2f\" y1=\"%g\" x2=\"%.2f\" y2=\"%g\" stroke=\"%s\" stroke-width=\"1.5\"/>\n",
						X(e->t), y + 26, X(e->t), y + 34,
						e->kind == EV_POST_RECV ? "#1864ab" : "#862e9c");
				break;
			default:
				break;
			}
		}
	}
	{
		double y = T + RANKS * ROW + 10;
		static const struct { const char *fill, *what; } key[] = {
			{ "#ffa94d", "kernel: interior (no halo needed)" }, { "#d9480f", "kernel: edge cells" },
			{ "#4dabf7", "MPI_Waitall" }, { "#69db7c", "MPI_Allreduce / MPI_Gatherv" },
			{ "#1864ab", "tick: MPI_Irecv posted" }, { "#862e9c", "tick: MPI_Isend posted" },
		};

		for (int k = 0; k < 6; k++) {
			double x = 8 + (k % 2) * 440, yy = y + (k / 2) * 22;

			fprintf(f, "<rect x=\"%g\" y=\"%g\" width=\"16\" height=\"14\" fill=\"%s\"/><text x=\"%g\" y=\"%g\">%s</text>\n",
				x, yy, key[k].fill, x + 22, yy + 13, key[k].what);
		}
	}
	fprintf(f, "</svg>\n");
#undef X
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	char bindir[PATH_MAX], dir[] = "/tmp/atonce-pictures-XXXXXX", cmd[3 * PATH_MAX], out[PATH_MAX + 32];
	const char *flavour;
	char *slash;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	snprintf(bindir, sizeof(bindir), "%s", argv[0]);
	slash = strrchr(bindir, '/');
	if (slash)
		*slash = '\0';
	flavour = access("/usr/bin/mpirun.mpich", X_OK) == 0 ? "mpich" : "openmpi";
	setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
	setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
	setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
	setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 1);
	setenv("OMPI_MCA_plm", "isolated", 1);
	if (!mkdtemp(dir))
		return 1;
	snprintf(cmd, sizeof(cmd), "timeout -k 5 60 mpirun.%s -n %d %s/mpi/heat-%s %s 0.3 0 60 %d,%d,%d,0,0 >/dev/null 2>&1",
		 flavour, RANKS, bindir, flavour, dir, RANKS, N, STEPS);
	if (system(cmd) != 0 || load(dir) != 0) {
		fprintf(stderr, "pictures: the run failed: %s\n", cmd);
		return 1;
	}
	snprintf(out, sizeof(out), "%s/run-ranks.svg", argv[1]);
	if (draw(out) != 0) {
		fprintf(stderr, "pictures: cannot draw %s\n", out);
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	printf("  wrote %s\n", out);
	return 0;
}
