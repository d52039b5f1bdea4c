/*
 * ring_read.c - one read through io_uring, step by step: get a submission
 * queue entry, describe the read, submit, wait for the completion, read
 * its result. Compare with blocking_copy.c, where read() did all of it in
 * one call and the thread waited inside it.
 */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	struct io_uring ring;
	char buf[64] = "";
	int p[2], rc;

	if (pipe(p) != 0 || write(p[1], "hello, ring", 11) != 11)
		return perror("pipe"), 1;
	/* ANCHOR: ring */
	rc = io_uring_queue_init(8, &ring, 0);        /* 8 entries each way */
	if (rc < 0) {                                   /* e.g. -EPERM in a container */
		printf("io_uring refused here: %s\n", strerror(-rc));
		return 0;
	}
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);  /* a free entry */
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf) - 1, 0); /* what to do */
	io_uring_sqe_set_data64(sqe, 42);              /* our tag, comes back */
	io_uring_submit(&ring);                         /* one system call */

	struct io_uring_cqe *cqe;
	io_uring_wait_cqe(&ring, &cqe);                 /* sleep until done */
	printf("completion %llu: res = %d, buf = \"%s\"\n",
	       (unsigned long long)io_uring_cqe_get_data64(cqe), cqe->res, buf);
	io_uring_cqe_seen(&ring, cqe);                  /* hand the slot back */
	io_uring_queue_exit(&ring);
	/* ANCHOR_END: ring */
	return 0;
}
