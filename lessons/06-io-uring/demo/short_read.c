/*
 * short_read.c - a read that asks for 300 bytes from a pipe holding 100
 * completes with res = 100: a short read, not the end of the data. The
 * rest must be asked for again. Compare with end of file: res = 0.
 */
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int read_once(struct io_uring *ring, int fd, char *buf, unsigned len)
{
	struct io_uring_cqe *cqe;
	int res;

	io_uring_prep_read(io_uring_get_sqe(ring), fd, buf, len, 0);
	io_uring_submit(ring);
	if (io_uring_wait_cqe(ring, &cqe) < 0)
		return -1;
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

int main(void)
{
	struct io_uring ring;
	static char buf[300], data[100];
	int p[2], rc;

	memset(data, 'a', sizeof(data));
	if (pipe(p) != 0 || write(p[1], data, sizeof(data)) != (ssize_t)sizeof(data))
		return perror("pipe"), 1;
	rc = io_uring_queue_init(4, &ring, 0);
	if (rc < 0) {
		printf("io_uring refused here: %s\n", strerror(-rc));
		return 0;
	}
	/* ANCHOR: short */
	printf("asked 300, got %d (a short read: the pipe held 100)\n",
	       read_once(&ring, p[0], buf, 300));
	close(p[1]);                                   /* no more writers */
	printf("asked 300 again, got %d (end of file)\n", read_once(&ring, p[0], buf, 300));
	/* ANCHOR_END: short */
	io_uring_queue_exit(&ring);
	return 0;
}
