/*
 * batch.c - lesson 06: YOUR CODE. Read a batch of requests at once, on one
 * thread, through one io_uring.
 *
 * Read the chapter (README.md beside this file) first, then replace each
 * TODO. `make check LESSON=6` tells you what your code does, measured.
 * You may reshape everything below except the signature in uring.h.
 */
#include "uring.h"

#include <errno.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

int uring_read_batch(struct uring_read *reqs, int n)
{
	/*
	 * TODO 1: n outside 1 .. URING_BATCH_MAX: return -EINVAL, touching
	 *         nothing. Then set up a ring with room for n entries:
	 *         io_uring_queue_init(n, &ring, 0). It returns -errno on
	 *         failure: where io_uring is refused (-EPERM in many
	 *         containers) return that value at once, touching nothing.
	 *
	 * TODO 2: queue one read per request, without submitting yet:
	 *         io_uring_get_sqe(), io_uring_prep_read(sqe, fd, buf, len,
	 *         offset), and io_uring_sqe_set_data64(sqe, i) so that the
	 *         completion will tell you which request it belongs to.
	 *
	 * TODO 3: submit the whole batch in ONE call (io_uring_submit, or
	 *         io_uring_submit_and_wait to submit and sleep in the same
	 *         system call). One submission per request is what io_uring
	 *         exists to avoid; waiting for each request before sending
	 *         the next would make the reads one-at-a-time again.
	 *
	 * TODO 4: reap completions until every request has its result
	 *         (io_uring_wait_cqe, or io_uring_for_each_cqe for all that
	 *         are there; io_uring_cqe_seen / io_uring_cq_advance after).
	 *         They come in the order the data arrives, not the order
	 *         you queued them. cqe->res is what read() would have returned:
	 *           res < 0: -errno; this request fails ALONE (result = res);
	 *           res == 0: end of file; result = the bytes read so far;
	 *           0 < res < what you asked: a short read (a pipe hands over
	 *           what it holds). Not the end: queue a read for the rest
	 *           (buf + done, len - done, offset + done) and submit it.
	 *
	 * TODO 5: io_uring_queue_exit(&ring) and return 0.
	 */
	(void)reqs;
	(void)n;
	return -ENOSYS;
}
