/*
 * mpi_driver.c - lesson 09: the MPI program the tests run. Every rank
 * builds the same problem from its arguments, calls the student's
 * heat_run() with the harness's kernel, then says what it saw:
 *
 *   heat-FLAVOUR OUTDIR N MAX_STEPS TOL ALPHA INIT_KIND [FLOPS_PER_CELL [ALARM_S]]
 *
 * Built three times by harness/09-message-passing/lesson.mk: with MPICH's
 * and Open MPI's mpicc, linked with pmpi_wrap.c (synchronous sends, the
 * call log, the live slot), and with SimGrid's smpicc (-DHEAT_SMPI), where
 * the kernel also tells the simulator what each cell costs
 * (smpi_execute_flops) and rank 0 writes the simulated time. The
 * benchmark also builds it without the profiling layer (-DHEAT_PLAIN),
 * so that its timings are the MPI library's alone.
 */
#include "heat.h"
#include "heat_wire.h"
#if !defined(HEAT_SMPI) && !defined(HEAT_PLAIN)
#include "pmpi_wrap.h"
#else
/* Without the profiling layer (the simulator; the benchmark's plain build). */
static struct wire_slot scratch;
static struct wire_slot *wire_me(void)
{
	return &scratch;
}

static void wire_barrier(MPI_Comm comm)
{
	PMPI_Barrier(comm);
}
#endif

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct kctx {
	double alpha;
	double flops;   /* per cell, for the simulator */
};

static double kernel(const double *cur, double *next, int lo, int hi, void *arg)
{
	const struct kctx *k = arg;
	double worst = 0;

#ifdef HEAT_SMPI
	if (hi > lo && k->flops > 0)
		smpi_execute_flops(k->flops * (hi - lo));
#elif !defined(HEAT_PLAIN)
	wire_event(EV_KERNEL, lo, hi);
#endif
	for (int i = lo; i < hi; i++) {
		next[i] = wire_cell(cur[i - 1], cur[i], cur[i + 1], k->alpha);
		if (wire_abs(next[i] - cur[i]) > worst)
			worst = wire_abs(next[i] - cur[i]);
	}
#if !defined(HEAT_SMPI) && !defined(HEAT_PLAIN)
	wire_event(EV_KERNEL_END, lo, hi);
#endif
	return worst;
}

#if !defined(HEAT_SMPI) && !defined(HEAT_PLAIN)
/* The live slot in OUTDIR/wire, when the test made one. */
static void attach(const char *dir, int rank)
{
	char path[4096];
	struct wire *w;
	int fd;

	snprintf(path, sizeof(path), "%s/wire", dir);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return;
	w = mmap(NULL, sizeof(*w), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (w == MAP_FAILED || w->magic != WIRE_MAGIC || rank >= WIRE_MAX_RANKS)
		return;
	wire_attach(&w->slot[rank]);
	__atomic_store_n(&w->slot[rank].pid, (int)getpid(), __ATOMIC_RELAXED);
}
#endif

#ifdef HEAT_SMPI
/* The simulator is up and about to run the code under test. */
static void started(const char *dir)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/started", dir);
	f = fopen(path, "w");
	if (f)
		fclose(f);
}
#endif

static void report(const char *dir, int rank, int size, int n, int rc, int steps, double simtime)
{
	char path[4096];
	int first = -1, count = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/rank-%d.txt", dir, rank);
	f = fopen(path, "w");
	if (!f)
		return;
	heat_block(n, size, rank, &first, &count);
	fprintf(f, "pid %d\nsize %d\nblock %d %d\nrc %d\nsteps %d\ntime %.9f\n",
		(int)getpid(), size, first, count, rc, steps, simtime);
#if !defined(HEAT_SMPI) && !defined(HEAT_PLAIN)
	wire_dump(f);
#endif
	fclose(f);
}

static void write_grid(const char *dir, const double *out, int n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/grid.bin", dir);
	f = fopen(path, "wb");
	if (!f)
		return;
	if (fwrite(out, sizeof(double), (size_t)n, f) != (size_t)n)
		perror("grid.bin");
	fclose(f);
}

int main(int argc, char **argv)
{
	struct heat_problem p = { 0 };
	struct kctx k = { 0 };
	double *init, *out, t0, t1;
	int rank, size, rc, steps = -1, kind;

#ifndef HEAT_SMPI
	/* The net under the test's net: whatever becomes of the test, no rank
	 * outlives this (the test kills a job after 30 s, by process group). */
	alarm(argc > 8 ? (unsigned)atoi(argv[8]) : 60);
#endif
	if (MPI_Init(&argc, &argv) != MPI_SUCCESS)
		return 3;
	if (argc < 7) {
		fprintf(stderr, "usage: %s OUTDIR N MAX_STEPS TOL ALPHA INIT_KIND [FLOPS [ALARM_S]]\n", argv[0]);
		MPI_Finalize();
		return 2;
	}
	PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
	PMPI_Comm_size(MPI_COMM_WORLD, &size);
	p.n = atoi(argv[2]);
	p.max_steps = atoi(argv[3]);
	p.tol = strtod(argv[4], NULL);
	k.alpha = strtod(argv[5], NULL);
	kind = atoi(argv[6]);
	k.flops = argc > 7 ? strtod(argv[7], NULL) : 0;
	init = malloc(sizeof(double) * (size_t)(p.n > 0 ? p.n : 1));
	out = calloc((size_t)(p.n > 0 ? p.n : 1), sizeof(double));
	if (!init || !out)
		return 4;
	for (int i = 0; i < p.n; i++)
		init[i] = wire_init(kind, p.n, i);
	p.init = init;
	p.left = wire_left(kind);
	p.right = wire_right(kind);
	p.kernel = kernel;
	p.arg = &k;
#if !defined(HEAT_SMPI) && !defined(HEAT_PLAIN)
	attach(argv[1], rank);
#endif
	__atomic_store_n(&wire_me()->phase, PH_RUNNING, __ATOMIC_RELEASE);
#ifdef HEAT_SMPI
	if (rank == 0)
		started(argv[1]);
#endif
	wire_barrier(MPI_COMM_WORLD);
	t0 = MPI_Wtime();
	rc = heat_run(MPI_COMM_WORLD, &p, out, &steps);
	t1 = MPI_Wtime();
	wire_me()->steps = steps;
	wire_me()->rc = rc;
	__atomic_store_n(&wire_me()->phase, PH_RETURNED, __ATOMIC_RELEASE);
	/* Real runs report at once (a rank that returned alone must be seen
	 * even if the others never do), with this rank's own time in
	 * heat_run(). The simulator's clock is read when the last rank is
	 * done. */
#ifdef HEAT_SMPI
	PMPI_Barrier(MPI_COMM_WORLD);
	t1 = MPI_Wtime();
#endif
	report(argv[1], rank, size, p.n, rc, steps, t1 - t0);
	if (rank == 0)
		write_grid(argv[1], out, p.n);
	free(init);
	free(out);
	MPI_Finalize();
	__atomic_store_n(&wire_me()->phase, PH_FINALIZED, __ATOMIC_RELEASE);
	return 0;
}
