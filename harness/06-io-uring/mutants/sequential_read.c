/*
 * Mutant sequential_read: no ring at all. read(2) each request in turn,
 * to the end: it waits on the first pipe while the data is elsewhere.
 * Caught by: io_uring::gated, io_uring::through_ring
 */
#include "uring.h"

#include <errno.h>
#include <unistd.h>

int uring_read_batch(struct uring_read *reqs, int n)
{
	for (int i = 0; i < n; i++) {
		struct uring_read *r = &reqs[i];
		size_t done = 0;

		r->result = 0;
		while (done < r->len) {
			ssize_t got = pread(r->fd, (char *)r->buf + done, r->len - done,
					    r->offset + (off_t)done);

			if (got < 0 && errno == ESPIPE)
				got = read(r->fd, (char *)r->buf + done, r->len - done);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0) {
				r->result = -errno;
				break;
			}
			if (got == 0)
				break;
			done += (size_t)got;
		}
		if (r->result == 0)
			r->result = (ssize_t)done;
	}
	return 0;
}
