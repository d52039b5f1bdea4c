/*
 * Mutant ignores_short_reads: takes the first completion of each request
 * as its end, so a pipe that held only part of the bytes cuts it short.
 * Caught by: io_uring::short_reads
 */
#include "uring.h"

#include <errno.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Put the unread part of request i on the submission queue. Nothing
 * reaches the kernel yet: the next submission takes every entry queued
 * so far, in one system call. The user_data comes back in the completion:
 * it is how we know which request a completion is for.
 */
static void queue_read(struct io_uring *ring, struct uring_read *r, int i, size_t done)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	/* The ring has one entry per request and each request has at most one
	 * read queued at a time, so there is always a free entry. */
	io_uring_prep_read(sqe, r->fd, (char *)r->buf + done,
			   (unsigned)(r->len - done), (uint64_t)(r->offset + (off_t)done));
	io_uring_sqe_set_data64(sqe, (uint64_t)i);
}

/*
 * One completion for request i, with res = what read() would have
 * returned. Returns true when the request is finished (full, end of file,
 * or failed); false when the rest was queued again after a short read.
 */
static bool complete(struct io_uring *ring, struct uring_read *r, int i,
		     size_t *done, int res)
{
	if (res == -EINTR || res == -EAGAIN) {   /* nothing happened: again */
		queue_read(ring, r, i, *done);
		return false;
	}
	if (res < 0) {                           /* this request fails, alone */
		r->result = res;
		return true;
	}
	*done += (size_t)res;
	/* the mistake: a short read is taken for the end */
	r->result = (ssize_t)*done;              /* full, or end of file */
	return true;
}

int uring_read_batch(struct uring_read *reqs, int n)
{
	struct io_uring ring;
	size_t done[URING_BATCH_MAX] = { 0 };
	bool finished[URING_BATCH_MAX] = { false };
	int pending = n, rc;

	if (n < 1 || n > URING_BATCH_MAX)
		return -EINVAL;
	rc = io_uring_queue_init((unsigned)n, &ring, 0);
	if (rc < 0)
		return rc;                       /* e.g. -EPERM: io_uring refused */
	for (int i = 0; i < n; i++)
		queue_read(&ring, &reqs[i], i, 0);

	while (pending > 0) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;

		/* Hand the kernel everything queued (all n reads, the first
		 * time; the rests of short reads after that) and sleep until
		 * at least one completion is there: one system call. */
		rc = io_uring_submit_and_wait(&ring, 1);
		if (rc < 0 && rc != -EINTR)
			goto fail;
		/* Reap every completion already there, not just one. */
		io_uring_for_each_cqe(&ring, head, cqe) {
			int i = (int)io_uring_cqe_get_data64(cqe);

			if (complete(&ring, &reqs[i], i, &done[i], cqe->res)) {
				finished[i] = true;
				pending--;
			}
			seen++;
		}
		io_uring_cq_advance(&ring, seen);
	}
	io_uring_queue_exit(&ring);
	return 0;

fail:
	/* The ring itself broke (not one request): say so in every result
	 * not yet set, and return the error. Closing the ring cancels what
	 * is still in flight. */
	for (int i = 0; i < n; i++)
		if (!finished[i])
			reqs[i].result = rc;
	io_uring_queue_exit(&ring);
	return rc;
}
