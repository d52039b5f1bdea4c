/*
 * copy.c - lesson 06: YOUR CODE. Copy a file through one io_uring, with up
 * to `depth` requests in flight at once.
 *
 * Do batch.c first: this is the same ring, with requests that come back
 * to you again and again. Compare with demo/blocking_copy.c, which copies
 * one block at a time with read() and write().
 */
#include "uring.h"

#include <errno.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

ssize_t uring_copy(int in_fd, int out_fd, size_t block, unsigned depth)
{
	/*
	 * TODO 1: block 0, depth 0 or depth > URING_BATCH_MAX: -EINVAL.
	 *         Then the size of in_fd (fstat), `depth` buffers of `block`
	 *         bytes, and a ring of `depth` entries (return its error
	 *         as it is, e.g. -EPERM, and free what you allocated).
	 *
	 * TODO 2: a "slot" per buffer: which block it holds (offset, length:
	 *         the last block may be shorter; an empty file has none), how
	 *         much of the current step is done, and whether it is
	 *         reading that block in or writing it out.
	 *
	 * TODO 3: the loop. Give every free slot the next block and queue its
	 *         read (io_uring_prep_read at the block's offset); submit all
	 *         that is queued and wait for a completion in one call
	 *         (io_uring_submit_and_wait(&ring, 1)). Stop when no block is
	 *         left and nothing is in flight.
	 *
	 * TODO 4: a completion for a slot (use the sqe's user data to know
	 *         which): a read done -> queue the write of the same bytes at
	 *         the same offset (io_uring_prep_write); a write done -> the
	 *         slot is free. Short (res smaller than asked)? Queue the rest
	 *         of that step. res < 0: remember the error, queue nothing
	 *         new, but wait for what is still in flight before returning.
	 *
	 * TODO 5: io_uring_queue_exit, free, and return the bytes copied (or
	 *         the error).
	 */
	(void)in_fd;
	(void)out_fd;
	(void)block;
	(void)depth;
	return -ENOSYS;
}
