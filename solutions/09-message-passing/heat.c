/*
 * heat.c - lesson 09, the reference: a heat-diffusion (Jacobi) simulation
 * of a rod split across MPI ranks. Each rank owns one block of cells plus
 * a halo cell on each side; every step it posts the halo exchange, computes
 * the cells that need no halo while the messages travel, waits, computes
 * its two edge cells, and joins one MPI_Allreduce that tells every rank the
 * largest change anywhere. Rank 0 gathers the rod at the end.
 */
#include "heat.h"

#include <errno.h>
#include <stdlib.h>

/* ANCHOR: tags */
/* A message's tag says which way it travels: the receiver of a cell going
 * right puts it in its LEFT halo. Two tags, so the two cells a pair of
 * neighbours swap each step can never be matched the wrong way round. */
#define TO_RIGHT 1
#define TO_LEFT  2
/* ANCHOR_END: tags */

/* ANCHOR: block */
void heat_block(int n, int size, int rank, int *first, int *count)
{
	int base = n / size, extra = n % size;

	/* The first n % size ranks take one cell more: sizes differ by at most
	 * one, and rank r starts after r blocks, `extra` of them long ones
	 * (or r of them, when r < extra). */
	*count = base + (rank < extra ? 1 : 0);
	*first = rank * base + (rank < extra ? rank : extra);
}
/* ANCHOR_END: block */

/* One rank's view of the rod. */
struct block {
	MPI_Comm comm;
	int rank, size;
	int left, right;         /* neighbours' ranks, MPI_PROC_NULL at an end */
	int first, count;        /* my cells: [first, first + count) of the rod */
	double *cur, *next;      /* count + 2 values: halo, my cells, halo */
	double *mem;             /* the allocation both live in */
	const struct heat_problem *p;
};

static double larger(double a, double b)
{
	return a > b ? a : b;
}

/* Every MPI call is checked by value: anything but MPI_SUCCESS is EIO. */
static int mpi_ok(int rc)
{
	return rc == MPI_SUCCESS;
}

static int block_init(struct block *b, MPI_Comm comm, const struct heat_problem *p)
{
	b->comm = comm;
	b->p = p;
	if (!mpi_ok(MPI_Comm_rank(comm, &b->rank)) || !mpi_ok(MPI_Comm_size(comm, &b->size)))
		return EIO;
	if (p->n < b->size || p->max_steps < 1 || !p->kernel || !p->init)
		return EINVAL;
	heat_block(p->n, b->size, b->rank, &b->first, &b->count);
	/* MPI_PROC_NULL at the ends: a send to it or a receive from it
	 * completes at once and moves nothing, so the end ranks run the same
	 * code as the others and their outer halo keeps the fixed value. */
	b->left = b->rank > 0 ? b->rank - 1 : MPI_PROC_NULL;
	b->right = b->rank < b->size - 1 ? b->rank + 1 : MPI_PROC_NULL;
	b->mem = b->cur = malloc(2 * ((size_t)b->count + 2) * sizeof(double));
	if (!b->mem)
		return ENOMEM;
	b->next = b->cur + b->count + 2;
	for (int i = 0; i < b->count; i++)
		b->cur[i + 1] = p->init[b->first + i];
	/* Both arrays hold the fixed outer temperatures: they swap each step. */
	b->cur[0] = b->next[0] = p->left;
	b->cur[b->count + 1] = b->next[b->count + 1] = p->right;
	return 0;
}

/* ANCHOR: post */
/*
 * Post the four messages of one step and return at once: my edge cells go
 * to my neighbours, theirs will land in my halos. Nothing here waits, so no
 * order of posting can deadlock, whether or not MPI buffers the sends.
 */
static int post_halos(struct block *b, MPI_Request req[4])
{
	double *c = b->cur;
	int n = b->count;

	if (!mpi_ok(MPI_Irecv(&c[0], 1, MPI_DOUBLE, b->left, TO_RIGHT, b->comm, &req[0])) ||
	    !mpi_ok(MPI_Irecv(&c[n + 1], 1, MPI_DOUBLE, b->right, TO_LEFT, b->comm, &req[1])) ||
	    !mpi_ok(MPI_Isend(&c[1], 1, MPI_DOUBLE, b->left, TO_LEFT, b->comm, &req[2])) ||
	    !mpi_ok(MPI_Isend(&c[n], 1, MPI_DOUBLE, b->right, TO_RIGHT, b->comm, &req[3])))
		return EIO;
	return 0;
}
/* ANCHOR_END: post */

/* ANCHOR: step */
/* One step; *change is the largest change of the step over the whole rod. */
static int step(struct block *b, double *change)
{
	const struct heat_problem *p = b->p;
	MPI_Request req[4] = { MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL };
	double mine = 0, *swap;
	int n = b->count, rc;

	rc = post_halos(b, req);
	/* While the halos travel: cells 2 .. n-1 read only my own cells. The
	 * send buffers (cur[1], cur[n]) are only read, never written, until
	 * the wait: the results go to next[]. */
	if (rc == 0 && n > 2)
		mine = p->kernel(b->cur, b->next, 2, n, p->arg);
	/* Even after a failed post: wait for whatever was posted, so no
	 * request outlives the buffers it points into. */
	if (!mpi_ok(MPI_Waitall(4, req, MPI_STATUSES_IGNORE)) && rc == 0)
		rc = EIO;
	if (rc != 0)
		return rc;
	/* The halos have arrived: now the two edge cells (one, if n == 1). */
	mine = larger(mine, p->kernel(b->cur, b->next, 1, 2, p->arg));
	if (n > 1)
		mine = larger(mine, p->kernel(b->cur, b->next, n, n + 1, p->arg));
	swap = b->cur, b->cur = b->next, b->next = swap;
	/* Every rank gets the same maximum, so every rank takes the same
	 * decision to go on or stop: no rank is left waiting for a message
	 * from a neighbour that has stopped. */
	if (!mpi_ok(MPI_Allreduce(&mine, change, 1, MPI_DOUBLE, MPI_MAX, b->comm)))
		return EIO;
	return 0;
}
/* ANCHOR_END: step */

/* ANCHOR: gather */
/* Rank 0 collects every block, in rank order, into out. */
static int gather(struct block *b, double *out)
{
	int *counts = NULL, *displs = NULL, rc = 0;

	if (b->rank == 0) {
		counts = malloc(2 * (size_t)b->size * sizeof(int));
		if (!counts)
			return ENOMEM;
		displs = counts + b->size;
		/* Every rank can compute every block: no message needed. */
		for (int r = 0; r < b->size; r++)
			heat_block(b->p->n, b->size, r, &displs[r], &counts[r]);
	}
	if (!mpi_ok(MPI_Gatherv(&b->cur[1], b->count, MPI_DOUBLE, out, counts, displs,
				MPI_DOUBLE, 0, b->comm)))
		rc = EIO;
	free(counts);
	return rc;
}
/* ANCHOR_END: gather */

/* ANCHOR: run */
int heat_run(MPI_Comm comm, const struct heat_problem *p, double *out, int *steps)
{
	struct block b = { 0 };
	double change = 0;
	int rc, s = 0;

	rc = block_init(&b, comm, p);
	while (rc == 0 && s < p->max_steps) {
		rc = step(&b, &change);
		if (rc == 0)
			s++;
		/* The same `change` on every rank: all stop at the same step. */
		if (rc == 0 && change < p->tol)
			break;
	}
	if (rc == 0)
		rc = gather(&b, out);
	*steps = s;
	free(b.mem);
	return rc;
}
/* ANCHOR_END: run */
