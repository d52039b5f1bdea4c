/*
 * Mutant submit_wait_each: the ring, used one request at a time: queue a
 * read, submit it, wait for its completion, then the next. One system
 * call per request, and a pipe whose turn has not come blocks the rest.
 * Caught by: io_uring::gated, io_uring::batching
 */
#include "uring.h"

#include <errno.h>
#include <liburing.h>

int uring_read_batch(struct uring_read *reqs, int n)
{
	struct io_uring ring;
	int rc = io_uring_queue_init((unsigned)n, &ring, 0);

	if (rc < 0)
		return rc;
	for (int i = 0; i < n; i++) {
		struct uring_read *r = &reqs[i];
		size_t done = 0;

		r->result = 0;
		while (done < r->len) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			struct io_uring_cqe *cqe;
			int res;

			io_uring_prep_read(sqe, r->fd, (char *)r->buf + done,
					   (unsigned)(r->len - done), (unsigned long long)(r->offset + (off_t)done));
			rc = io_uring_submit_and_wait(&ring, 1);   /* the mistake: one at a time */
			if (rc < 0 || io_uring_wait_cqe(&ring, &cqe) < 0) {
				r->result = rc < 0 ? rc : -EIO;
				break;
			}
			res = cqe->res;
			io_uring_cqe_seen(&ring, cqe);
			if (res < 0) {
				r->result = res;
				break;
			}
			if (res == 0)
				break;
			done += (size_t)res;
		}
		if (r->result == 0)
			r->result = (ssize_t)done;
	}
	io_uring_queue_exit(&ring);
	return 0;
}
