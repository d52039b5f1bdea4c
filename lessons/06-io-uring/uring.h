/*
 * uring.h - lesson 06: asynchronous I/O on one thread with io_uring.
 *
 * You write batch.c (many reads at once) and copy.c (a file copy that keeps
 * several requests in flight), with liburing. The tests hand your code
 * pipes whose data arrives in a secret order, watch the system calls it
 * makes (refusing read(2) and the like where the bytes must come through
 * the ring, counting what each submission carried), and compare every byte.
 * Compare with lesson 05: there the loop asked "which descriptor is
 * ready?" and then did the I/O itself; here the kernel does the I/O and
 * tells you when it is done.
 */
#ifndef URING_H
#define URING_H

#include <stddef.h>
#include <sys/types.h>

/* ANCHOR: request */
/*
 * One read request: fill buf[0 .. len) from fd, starting at `offset` in
 * the file (pipes and sockets have no offset: use 0). The result says how
 * it ended:
 *     result == len      all the bytes came;
 *     0 <= result < len  the end of file came first (that many bytes);
 *     result < 0         -errno, e.g. -EBADF: this request failed.
 */
struct uring_read {
	int fd;
	void *buf;
	size_t len;
	off_t offset;
	ssize_t result;   /* set by uring_read_batch() */
};
/* ANCHOR_END: request */

/* ANCHOR: interface */
#define URING_BATCH_MAX 64

/*
 * Read every request of reqs[0 .. n) at once, on the calling thread, through
 * one io_uring; return when each has its result.
 *
 *  - all n reads are in flight together: submit them as one batch (one
 *    io_uring_submit() for the lot, not one per request), then reap the
 *    completions in whatever order they come;
 *  - a read may return fewer bytes than asked (a pipe hands over what it
 *    holds): that is not the end. Submit the rest of that request again,
 *    until it is full or a read returns 0 (end of file); never more than
 *    the rest: bytes past len stay where they are, for the next reader;
 *  - one bad request (a bad descriptor...) fails alone: its result is
 *    -errno, the others carry on;
 *  - no read(2), pread(2) or threads: the ring does the reading.
 *
 * 1 <= n <= URING_BATCH_MAX, else -EINVAL (nothing read). Returns 0 once
 * every result is set, or -errno if the ring cannot be set up (e.g. -EPERM
 * where io_uring is refused); then no request was read.
 */
int uring_read_batch(struct uring_read *reqs, int n);

/*
 * Copy the regular file in_fd to out_fd (both at offset 0; out_fd is
 * empty), `block` bytes per request, with up to `depth` requests in flight
 * at once, through one io_uring on the calling thread. Every size works:
 * empty, smaller than a block, not a multiple of the block size. Short
 * reads and short writes are continued, never lost.
 *
 * block >= 1, 1 <= depth <= URING_BATCH_MAX, else -EINVAL (nothing
 * copied). Returns the number of bytes copied, or -errno (the ring cannot
 * be set up, a read or write failed: e.g. -EFBIG past the file size limit,
 * after a write that came back short).
 */
ssize_t uring_copy(int in_fd, int out_fd, size_t block, unsigned depth);
/* ANCHOR_END: interface */

#endif
