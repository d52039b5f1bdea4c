/*
 * copy.c - lesson 06, the reference: a file copy that keeps `depth`
 * requests in flight, through one io_uring on one thread.
 *
 * Each of `depth` slots owns a buffer and walks one block through two
 * steps: read it from in_fd at its offset, then write it to out_fd at the
 * same offset. Offsets make the order of completions irrelevant: block 7
 * may be written before block 3. Compare with the blocking loop in
 * lessons/06-io-uring/demo/blocking_copy.c: one block at a time, and a
 * system call for every read and every write.
 */
#include "uring.h"

#include <errno.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

/* ANCHOR: slot */
/* One block on its way: read into buf, then written out from it. */
struct slot {
	char *buf;
	off_t offset;    /* where the block sits, in both files */
	size_t len;      /* the block's length (the last one may be shorter) */
	size_t done;     /* bytes of this step done so far */
	bool writing;    /* false: reading it in; true: writing it out */
	bool busy;
};
/* ANCHOR_END: slot */

/* Queue this slot's next step (the rest of it, after a short one). */
static void queue_step(struct io_uring *ring, int in_fd, int out_fd, struct slot *s, int i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	uint64_t at = (uint64_t)(s->offset + (off_t)s->done);

	/* depth slots, depth entries, at most one step queued per slot:
	 * there is always a free entry. */
	if (s->writing)
		io_uring_prep_write(sqe, out_fd, s->buf + s->done, (unsigned)(s->len - s->done), at);
	else
		io_uring_prep_read(sqe, in_fd, s->buf + s->done, (unsigned)(s->len - s->done), at);
	io_uring_sqe_set_data64(sqe, (uint64_t)i);
}

/* ANCHOR: advance */
/*
 * A completion for slot s. Returns the bytes it finished copying (its
 * block is written out: the slot is free again), 0 when it goes on (next
 * step or the rest of a short one, queued), or -errno.
 */
static ssize_t advance(struct io_uring *ring, int in_fd, int out_fd, struct slot *s, int i, int res)
{
	if (res == -EINTR || res == -EAGAIN)
		res = 0;                         /* nothing happened: again */
	else if (res < 0)
		return res;
	else if (res == 0 && !s->writing)
		s->len = s->done;                /* end of file came early: the file shrank */
	s->done += (size_t)res;
	if (s->done < s->len) {                  /* short (or retried): the rest */
		queue_step(ring, in_fd, out_fd, s, i);
		return 0;
	}
	if (!s->writing && s->len > 0) {         /* read in: now write it out */
		s->writing = true;
		s->done = 0;
		queue_step(ring, in_fd, out_fd, s, i);
		return 0;
	}
	s->busy = false;
	return (ssize_t)s->len;
}
/* ANCHOR_END: advance */

/* ANCHOR: copy */
ssize_t uring_copy(int in_fd, int out_fd, size_t block, unsigned depth)
{
	struct io_uring ring;
	struct slot slots[URING_BATCH_MAX] = { { 0 } };
	struct stat st;
	off_t next = 0, size;
	ssize_t copied = 0, err = 0;
	unsigned in_flight = 0;
	char *bufs;
	int rc;

	if (block < 1 || depth < 1 || depth > URING_BATCH_MAX)
		return -EINVAL;
	if (fstat(in_fd, &st) < 0)
		return -errno;
	size = st.st_size;
	bufs = malloc(block * depth);
	if (!bufs)
		return -ENOMEM;
	rc = io_uring_queue_init(depth, &ring, 0);
	if (rc < 0) {
		free(bufs);
		return rc;                       /* e.g. -EPERM: io_uring refused */
	}

	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;

		/* Fill every free slot with the next block to read (not after
		 * an error: then we only wait for what is in flight). */
		for (unsigned i = 0; i < depth && next < size && !err; i++) {
			struct slot *s = &slots[i];

			if (s->busy)
				continue;
			*s = (struct slot){ .buf = bufs + (size_t)i * block, .offset = next,
					    .len = (size_t)(size - next) < block ? (size_t)(size - next) : block,
					    .busy = true };
			next += (off_t)s->len;
			queue_step(&ring, in_fd, out_fd, s, (int)i);
			in_flight++;
		}
		if (in_flight == 0)
			break;
		/* One system call: submit all that is queued, wait for one. */
		rc = io_uring_submit_and_wait(&ring, 1);
		if (rc < 0 && rc != -EINTR) {
			err = rc;
			break;   /* the ring broke: closing it cancels the rest */
		}
		io_uring_for_each_cqe(&ring, head, cqe) {
			int i = (int)io_uring_cqe_get_data64(cqe);
			ssize_t got = advance(&ring, in_fd, out_fd, &slots[i], i, cqe->res);

			if (got < 0 && !err)
				err = got;
			if (got < 0 || slots[i].busy == false) {
				slots[i].busy = false;
				in_flight--;
			}
			if (got > 0)
				copied += got;
			seen++;
		}
		io_uring_cq_advance(&ring, seen);
	}
	io_uring_queue_exit(&ring);
	free(bufs);
	return err ? err : copied;
}
/* ANCHOR_END: copy */
