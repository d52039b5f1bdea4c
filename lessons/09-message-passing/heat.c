/*
 * heat.c - lesson 09: YOUR CODE. A heat-diffusion (Jacobi) simulation of a
 * rod split across MPI ranks: blocks, halos, an exchange overlapped with
 * the interior, a global convergence test, a gather.
 *
 * Read the chapter (README.md beside this file) first, then replace each
 * TODO. `make check LESSON=9` runs your code on real MPIs and on a
 * simulated cluster and tells you what it did, measured.
 */
#include "heat.h"

#include <errno.h>
#include <stdlib.h>

void heat_block(int n, int size, int rank, int *first, int *count)
{
	/*
	 * TODO 1: rank `rank` of `size` owns cells [*first, *first + *count):
	 *         n / size cells each, one more for the first n % size ranks
	 *         (n = 10, size = 4: [0,3) [3,6) [6,8) [8,10)). No rank may be
	 *         left out and no cell either.
	 */
	(void)n;
	(void)size;
	(void)rank;
	*first = 0;
	*count = 0;
}

int heat_run(MPI_Comm comm, const struct heat_problem *p, double *out, int *steps)
{
	/*
	 * TODO 2: find your rank, the rank count and your block; check the
	 *         problem (EINVAL when p->n < ranks, p->max_steps < 1, or no
	 *         kernel). Your neighbours are rank - 1 and rank + 1, or
	 *         MPI_PROC_NULL past an end: a message to or from MPI_PROC_NULL
	 *         completes at once and moves nothing.
	 * TODO 3: two arrays of count + 2 doubles, cur and next: cur[1 ..
	 *         count] your cells from p->init, cur[0] and cur[count + 1] the
	 *         halos. Beyond the rod's ends the halo is fixed: p->left on
	 *         rank 0, p->right on the last rank (in both arrays: they swap).
	 * TODO 4: one step: post MPI_Irecv for both halos and MPI_Isend of
	 *         your two edge cells (a tag per direction), then compute the
	 *         interior, cells [2, count), with p->kernel while the
	 *         messages travel; then MPI_Waitall; then the edge cells 1 and
	 *         count (one call each; just one when count == 1). Keep the
	 *         largest value the kernel calls returned. Swap cur and next.
	 * TODO 5: MPI_Allreduce(MPI_MAX) of that largest change: every rank
	 *         gets the same value, so every rank stops at the same step,
	 *         the first whose change is below p->tol (or at max_steps).
	 * TODO 6: rank 0 gathers every block, in rank order, into out with
	 *         MPI_Gatherv (counts and offsets from heat_block); every rank
	 *         stores the number of steps in *steps. Check every MPI return
	 *         value (MPI_SUCCESS, else EIO) and free what you allocated.
	 */
	(void)comm;
	(void)p;
	(void)out;
	*steps = 0;
	return ENOSYS;
}
