/*
 * Mutant copy_read_write: the blocking copy: read() a block, write() it,
 * again, never a ring. Byte for byte right, but two system calls per
 * block and one block in flight.
 * Caught by: io_uring::copy_through_ring
 */
#include "uring.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

ssize_t uring_copy(int in_fd, int out_fd, size_t block, unsigned depth)
{
	char *buf = malloc(block);
	ssize_t copied = 0;

	(void)depth;
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t got = read(in_fd, buf, block), put = 0;

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got < 0)
				copied = -errno;
			break;
		}
		while (put < got) {
			ssize_t w = write(out_fd, buf + put, (size_t)(got - put));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				free(buf);
				return -errno;
			}
			put += w;
		}
		copied += got;
	}
	free(buf);
	return copied;
}
