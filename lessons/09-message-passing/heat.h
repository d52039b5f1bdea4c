/*
 * heat.h - lesson 09: a heat-diffusion (Jacobi) simulation of a rod, split
 * across MPI ranks: separate processes that share no memory and talk only
 * by messages.
 *
 * You write heat.c. The rod has n cells; each rank owns one contiguous
 * block of them and keeps one extra cell on each side, its halo: a copy of
 * the neighbour's edge cell, refreshed by a message before every step.
 * The tests run your heat_run() on 1 to 64 ranks of a real MPI (MPICH,
 * Open MPI) and of a simulated cluster (SimGrid's SMPI), with a kernel of
 * their own that records which cells each rank computed and when, beside a
 * profiling layer (PMPI) that makes every send synchronous and records
 * the order of your MPI calls.
 */
#ifndef HEAT_H
#define HEAT_H

#include <mpi.h>

/* ANCHOR: interface */
/*
 * One step of the physics for cells [lo, hi) of a rank's block: for each i,
 * next[i] = f(cur[i-1], cur[i], cur[i+1]). Indices are LOCAL: the block's
 * cells are cur[1] .. cur[count], cur[0] is the left halo and cur[count+1]
 * the right one. Returns the largest |next[i] - cur[i]| over the range (0
 * for an empty range). The tests pass kernels of their own: call it, do
 * not compute the physics yourself.
 */
typedef double heat_kernel(const double *cur, double *next, int lo, int hi, void *arg);

struct heat_problem {
	int n;                /* cells in the whole rod, n >= the rank count */
	const double *init;   /* their starting temperatures: n values, on every rank */
	double left, right;   /* fixed temperatures just beyond each end of the rod */
	int max_steps;        /* stop after this many steps (>= 1) ... */
	double tol;           /* ... or after the first step whose largest change,
	                         over the WHOLE rod, is below tol (0: never) */
	heat_kernel *kernel;  /* the physics of one step, for a range of cells */
	void *arg;            /* given to kernel */
};

/*
 * The block of rank `rank` of `size`: cells [*first, *first + *count) of
 * the rod. Blocks are contiguous, in rank order, cover the rod exactly,
 * and their sizes differ by at most one cell (n = 10, size = 4: 3, 3, 2, 2).
 */
void heat_block(int n, int size, int rank, int *first, int *count);

/*
 * Called by every rank of comm, with the same problem. Each step: the
 * halos are exchanged with both neighbours (non-blocking sends and
 * receives, posted first), the cells that need no halo are computed while
 * the messages travel, then the wait, then the two edge cells. After each
 * step all ranks agree, with one MPI_Allreduce, whether the largest change
 * anywhere is below tol. At the end rank 0 gathers the whole rod, in
 * order, into out (n values; out is ignored on the other ranks), and every
 * rank stores the number of steps run in *steps.
 *
 * Returns 0; EINVAL for a problem it cannot run (n < ranks, max_steps < 1,
 * no kernel); EIO when an MPI call failed; ENOMEM.
 */
int heat_run(MPI_Comm comm, const struct heat_problem *p, double *out, int *steps);
/* ANCHOR_END: interface */

#endif
