/*
 * mpi_driver.c - lesson 09: the MPI program the tests run. Every rank
 * builds the same problems from its arguments and runs them in turn: for
 * each run, the first RANKS ranks of the job call the student's
 * heat_run() on a communicator of their own (MPI_Comm_create_group), with the
 * harness's kernel, then say what they saw; the other ranks sit it out.
 *
 *   heat-FLAVOUR OUTDIR ALPHA FLOPS_PER_CELL ALARM_S RUN...
 *   RUN = RANKS,N,MAX_STEPS,TOL,INIT_KIND       (e.g. 3,37,15,0,0)
 *
 * Launching MPI (mpirun, then MPI_Init on every rank) costs far more than
 * the tests' small problems: a test with six of them runs one job of as
 * many ranks as the largest needs, not six jobs.
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
#define HEAT_WIRED 1   /* the profiling layer is linked in: logs, live slots */
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

/* What every run shares: the physics and what a cell costs. */
struct kctx {
	double alpha;
	double flops;   /* per cell, for the simulator */
};

/* One run: heat_run() on the first `ranks` ranks of the job. */
struct run {
	int ranks, n, max_steps, kind;
	double tol;
};

static double kernel(const double *cur, double *next, int lo, int hi, void *arg)
{
	const struct kctx *k = arg;
	double worst = 0;

#ifdef HEAT_SMPI
	if (hi > lo && k->flops > 0)
		smpi_execute_flops(k->flops * (hi - lo));
#elif defined(HEAT_WIRED)
	wire_event(EV_KERNEL, lo, hi);
#endif
	for (int i = lo; i < hi; i++) {
		next[i] = wire_cell(cur[i - 1], cur[i], cur[i + 1], k->alpha);
		if (wire_abs(next[i] - cur[i]) > worst)
			worst = wire_abs(next[i] - cur[i]);
	}
#ifdef HEAT_WIRED
	wire_event(EV_KERNEL_END, lo, hi);
#endif
	return worst;
}

#ifdef HEAT_WIRED
/* The live slots in OUTDIR/wire, when the test made them; else NULL. */
static struct wire *map_wire(const char *dir)
{
	char path[4096];
	struct wire *w;
	int fd;

	snprintf(path, sizeof(path), "%s/wire", dir);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return NULL;
	w = mmap(NULL, sizeof(*w), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return w == MAP_FAILED || w->magic != WIRE_MAGIC ? NULL : w;
}

/* This rank's slot for run `idx` becomes its live state, its log empty. */
static void attach(struct wire *w, int idx, int rank, int partial)
{
	struct wire_slot *slot = NULL;

	if (w && idx < WIRE_MAX_RUNS && rank < WIRE_MAX_RANKS)
		slot = &w->slot[idx][rank];
	wire_attach(slot, partial);
	__atomic_store_n(&wire_me()->pid, (int)getpid(), __ATOMIC_RELAXED);
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

static void report(const char *dir, int idx, int rank, int size, int n, int rc, int steps, double time)
{
	char path[4096];
	int first = -1, count = -1;
	FILE *f;

	snprintf(path, sizeof(path), WIRE_RANK_FILE, dir, idx, rank);
	f = fopen(path, "w");
	if (!f)
		return;
	heat_block(n, size, rank, &first, &count);
	fprintf(f, "pid %d\nsize %d\nblock %d %d\nrc %d\nsteps %d\ntime %.9f\n",
		(int)getpid(), size, first, count, rc, steps, time);
#ifdef HEAT_WIRED
	wire_dump(f);
#endif
	fclose(f);
}

static void write_grid(const char *dir, int idx, const double *out, int n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), WIRE_GRID_FILE, dir, idx);
	f = fopen(path, "wb");
	if (!f)
		return;
	if (fwrite(out, sizeof(double), (size_t)n, f) != (size_t)n)
		perror("grid.bin");
	fclose(f);
}

/*
 * heat_run() on comm, this rank one of the run's, then its report. Real
 * runs report at once (a rank that returned alone must be seen even if
 * the others never do), with this rank's own time in heat_run(). The
 * simulator's clock is read when the last rank of the run is done.
 */
static void solve(const char *dir, int idx, const struct run *u, struct kctx *k, MPI_Comm comm)
{
	struct heat_problem p = { 0 };
	double *init, *out, t0, t1;
	int rank, size, rc, steps = -1;

	PMPI_Comm_rank(comm, &rank);
	PMPI_Comm_size(comm, &size);
	init = malloc(sizeof(double) * (size_t)(u->n > 0 ? u->n : 1));
	out = calloc((size_t)(u->n > 0 ? u->n : 1), sizeof(double));
	if (!init || !out)
		exit(4);
	for (int i = 0; i < u->n; i++)
		init[i] = wire_init(u->kind, u->n, i);
	p.n = u->n;
	p.init = init;
	p.left = wire_left(u->kind);
	p.right = wire_right(u->kind);
	p.max_steps = u->max_steps;
	p.tol = u->tol;
	p.kernel = kernel;
	p.arg = k;
	__atomic_store_n(&wire_me()->phase, PH_RUNNING, __ATOMIC_RELEASE);
	t0 = MPI_Wtime();
	rc = heat_run(comm, &p, out, &steps);
	t1 = MPI_Wtime();
	wire_me()->steps = steps;
	wire_me()->rc = rc;
	__atomic_store_n(&wire_me()->phase, PH_RETURNED, __ATOMIC_RELEASE);
#ifdef HEAT_SMPI
	PMPI_Barrier(comm);
	t1 = MPI_Wtime();
#endif
	report(dir, idx, rank, size, p.n, rc, steps, t1 - t0);
	if (rank == 0)
		write_grid(dir, idx, out, p.n);
	free(init);
	free(out);
}

/* A copy of comm. With the profiling layer: MPI_Comm_idup, waited for with
 * sleeps, since MPI_Comm_dup's blocking wait spins. SimGrid has no
 * MPI_Comm_idup (and a simulated wait costs nothing), the benchmark's
 * plain build does not time it. */
static int dup_comm(MPI_Comm comm, MPI_Comm *copy)
{
#ifdef HEAT_WIRED
	MPI_Request r;

	return wire_wait(PMPI_Comm_idup(comm, copy, &r), &r);
#else
	return PMPI_Comm_dup(comm, copy);
#endif
}

/*
 * A communicator of the first `ranks` ranks of team, for this rank if it
 * is one of them (else MPI_COMM_NULL); a new one for each run, so that
 * messages a faulty run left behind cannot reach the next. Not
 * MPI_Comm_split: its blocking collectives over the whole job spin (some
 * 40 ms of CPU a call, four ranks sharing two cores). All the ranks: a
 * copy; fewer: a group's communicator, made by its own ranks only.
 */
static MPI_Comm run_comm(MPI_Comm team, int rank, int size, int ranks)
{
	int range[1][3] = { { 0, ranks - 1, 1 } };
	MPI_Comm comm = MPI_COMM_NULL;
	MPI_Group all, first;

	if (rank >= ranks)
		return MPI_COMM_NULL;
	if (ranks == size) {
		dup_comm(team, &comm);
		return comm;
	}
	PMPI_Comm_group(team, &all);
	PMPI_Group_range_incl(all, 1, range, &first);
	PMPI_Comm_create_group(team, first, 0, &comm);
	PMPI_Group_free(&first);
	PMPI_Group_free(&all);
	return comm;
}

/* Run `idx` of the job, by its first u->ranks ranks; the others sit it out. */
static void run_one(const char *dir, int idx, const struct run *u, struct kctx *k, MPI_Comm team,
		    struct wire *w)
{
	MPI_Comm comm;
	int rank, size;

	PMPI_Comm_rank(team, &rank);
	PMPI_Comm_size(team, &size);
	/* Every rank is done with the run before (the test watches one run
	 * at a time), and waited for the others here, sleeping. Also the
	 * ranks through MPI_Init() first leave the CPU to those still in it. */
	wire_barrier(team);
	comm = run_comm(team, rank, size, u->ranks);
	if (comm == MPI_COMM_NULL)
		return;
#ifdef HEAT_WIRED
	attach(w, idx, rank, u->ranks < size);
#else
	(void)w;
#endif
	solve(dir, idx, u, k, comm);
	PMPI_Comm_free(&comm);
}

/* "RANKS,N,MAX_STEPS,TOL,INIT_KIND", of at most `size` ranks: 0, else -1. */
static int parse_run(const char *arg, int size, struct run *u)
{
	int used = 0;

	if (sscanf(arg, "%d,%d,%d,%lf,%d%n", &u->ranks, &u->n, &u->max_steps, &u->tol, &u->kind, &used) != 5 ||
	    arg[used] != '\0')
		return -1;
	return u->ranks >= 1 && u->ranks <= size && u->n >= 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct kctx k = { 0 };
	struct run *runs;
	MPI_Comm team;
	struct wire *w = NULL;
	int size, nruns = argc - 5, bad = nruns < 1;

#ifndef HEAT_SMPI
	/* The net under the test's net: whatever becomes of the test, no rank
	 * outlives this (the test kills a job at its deadline, by process
	 * group). */
	alarm(argc > 4 ? (unsigned)atoi(argv[4]) : 60);
#endif
	if (MPI_Init(&argc, &argv) != MPI_SUCCESS)
		return 3;
	PMPI_Comm_size(MPI_COMM_WORLD, &size);
	runs = calloc((size_t)(nruns > 0 ? nruns : 1), sizeof(*runs));
	if (!runs)
		return 4;
	for (int i = 0; i < nruns && !bad; i++)
		bad = parse_run(argv[5 + i], size, &runs[i]) != 0;
	if (bad) {
		fprintf(stderr, "usage: %s OUTDIR ALPHA FLOPS_PER_CELL ALARM_S RANKS,N,MAX_STEPS,TOL,INIT_KIND...\n"
			"  (each run on at most the job's %d rank(s))\n", argv[0], size);
		MPI_Finalize();
		return 2;
	}
	k.alpha = strtod(argv[2], NULL);
	k.flops = strtod(argv[3], NULL);
	/* The driver's own communicator: a collective that a faulty heat_run()
	 * makes on MPI_COMM_WORLD cannot be matched with the driver's. */
	if (dup_comm(MPI_COMM_WORLD, &team) != MPI_SUCCESS)
		return 3;
#ifdef HEAT_WIRED
	w = map_wire(argv[1]);
#endif
#ifdef HEAT_SMPI
	{
		int rank;

		PMPI_Comm_rank(team, &rank);
		if (rank == 0)
			started(argv[1]);
	}
#endif
	for (int i = 0; i < nruns; i++)
		run_one(argv[1], i, &runs[i], &k, team, w);
	/* The ranks done first sleep here, not in MPI_Finalize(), which may spin. */
	wire_barrier(team);
	PMPI_Comm_free(&team);
	free(runs);
	MPI_Finalize();
	__atomic_store_n(&wire_me()->phase, PH_FINALIZED, __ATOMIC_RELEASE);
	return 0;
}
