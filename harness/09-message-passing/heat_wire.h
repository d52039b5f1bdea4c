/*
 * heat_wire.h - lesson 09: what the MPI driver (mpi_driver.c) and its
 * profiling layer (pmpi_wrap.c) tell the tests (test_heat.c), which run
 * the driver under mpirun/smpirun and never share its memory otherwise.
 *
 * One job runs several problems in turn (runs: heat_run() on the first
 * ranks of the job), since each launch of MPI costs far more than the
 * small problems the tests check.
 *
 * Live, in a small file every rank maps (MAP_SHARED), one slot per run and
 * rank: its pid, where it is (before, inside or after heat_run), and
 * whether it is blocked in an MPI call and on whom. The test watches the
 * slots of the run under way: when every rank still inside heat_run is
 * blocked and none has moved for a while, nothing can move any more: a
 * deadlock, reported with its cycle.
 *
 * After each run K, one text file per rank of the run
 * (OUTDIR/run-K.rank-R.txt): pid, block, return value, steps, then the
 * events in order (posts, blocking calls, kernel calls), and rank 0's rod
 * as raw doubles in OUTDIR/run-K.grid.bin.
 */
#ifndef HEAT_WIRE_H
#define HEAT_WIRE_H

#define WIRE_MAX_RANKS 8
#define WIRE_MAX_RUNS  8
#define WIRE_MAGIC     0x68656174
#define WIRE_ALL       (-1)        /* waits on every rank (a collective) */
#define WIRE_ANY       (-3)        /* MPI_ANY_SOURCE */
#define WIRE_NOBODY    (-2)        /* MPI_PROC_NULL */

enum wire_phase { PH_START, PH_RUNNING, PH_RETURNED, PH_FINALIZED };

struct wire_slot {
	int pid;
	int phase;               /* enum wire_phase */
	int steps, rc;           /* once returned */
	int waiting;             /* blocked inside an MPI call */
	int peer;                /* on whom: a rank, WIRE_ALL, WIRE_ANY */
	int peer_send;           /* 1: a send to peer is not matched yet; 0: a receive */
	unsigned long progress;  /* MPI calls and kernel calls completed */
	char op[24];             /* the MPI call it is blocked in */
	char world[24];          /* the first MPI call made on MPI_COMM_WORLD in a
	                            run of fewer ranks than the job, or "" */
};

struct wire {
	int magic, nranks, nruns;
	struct wire_slot slot[WIRE_MAX_RUNS][WIRE_MAX_RANKS];   /* [run][rank] */
};

/* Run K's files in OUTDIR, written by the driver, read by the test. */
#define WIRE_RANK_FILE "%s/run-%d.rank-%d.txt"   /* OUTDIR, K, rank */
#define WIRE_GRID_FILE "%s/run-%d.grid.bin"      /* OUTDIR, K */

/* Event kinds, as written in run-K.rank-R.txt ("ev KIND A B T": T in ns, from
 * CLOCK_MONOTONIC, the same clock in every process of the machine).
 * A kernel event is written when the kernel call starts. */
enum wire_ev {
	EV_POST_RECV = 1,   /* a = peer: a non-blocking receive posted */
	EV_POST_SEND,       /* a = peer: a non-blocking send posted */
	EV_BLOCK,           /* a = op, b = peer: a blocking point-to-point call starts */
	EV_UNBLOCK,         /* a = op: it returned */
	EV_COLL,            /* a = op: a collective (blocks until the others join) */
	EV_KERNEL,          /* a = lo, b = hi: the kernel computes cells [lo, hi) */
	EV_KERNEL_END,      /* a = lo, b = hi: ... and is done */
	EV_COLL_END,        /* a = op: the collective returned */
};

/* Op codes for EV_BLOCK / EV_COLL. */
enum wire_op {
	OP_SEND, OP_SSEND, OP_RECV, OP_SENDRECV, OP_WAIT, OP_WAITALL, OP_WAITANY, OP_WAITSOME,
	OP_ALLREDUCE, OP_REDUCE, OP_BCAST, OP_GATHER, OP_GATHERV, OP_BARRIER, OP_ALLGATHER,
	OP_COUNT
};

static const char *const wire_op_name[OP_COUNT] = {
	"MPI_Send", "MPI_Ssend", "MPI_Recv", "MPI_Sendrecv", "MPI_Wait", "MPI_Waitall",
	"MPI_Waitany", "MPI_Waitsome", "MPI_Allreduce", "MPI_Reduce", "MPI_Bcast",
	"MPI_Gather", "MPI_Gatherv", "MPI_Barrier", "MPI_Allgather",
};

/*
 * The harness's physics, the same in the driver and in the test's
 * sequential loop, so the two agree bit for bit: one explicit step of
 * the heat equation, alpha < 0.5 for stability.
 */
static inline double wire_cell(double l, double c, double r, double alpha)
{
	return c + alpha * ((l - 2.0 * c) + r);
}

static inline double wire_abs(double x)
{
	return x < 0 ? -x : x;
}

/* Starting temperatures. Kind 0: noise in [0, 100) from a seed; kind 1: a
 * cold rod whose last tenth is hot (rank 0's cells barely change at first). */
static inline double wire_init(int kind, int n, int i)
{
	if (kind == 1)
		return i >= n - n / 10 - 1 ? 100.0 : 0.0;
	unsigned long x = 0x9e3779b97f4a7c15UL * (unsigned long)(i + 1) + (unsigned long)kind;
	x ^= x >> 31, x *= 0xbf58476d1ce4e5b9UL, x ^= x >> 27;
	return (double)(x % 10000) / 100.0;
}

/* The fixed temperatures beyond the two ends, for each kind. */
static inline double wire_left(int kind)
{
	return kind == 1 ? 0.0 : 37.5;
}

static inline double wire_right(int kind)
{
	return kind == 1 ? 0.0 : -12.25;
}

#endif
