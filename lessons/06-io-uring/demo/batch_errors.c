/*
 * batch_errors.c - three reads in one submission, the middle one on a
 * descriptor that is not open. Each completion carries its own result:
 * the bad one says -EBADF, the others their bytes. Completions are
 * matched to requests by their user data, not by their order.
 */
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	struct io_uring ring;
	char buf[3][16] = { "", "", "" };
	int p[2], q[2], fds[3], rc;

	if (pipe(p) != 0 || write(p[1], "abc", 3) != 3 || pipe(q) != 0 || write(q[1], "xyz", 3) != 3)
		return perror("pipe"), 1;
	fds[0] = p[0];
	fds[1] = 999;          /* not open */
	fds[2] = q[0];
	rc = io_uring_queue_init(4, &ring, 0);
	if (rc < 0) {
		printf("io_uring refused here: %s\n", strerror(-rc));
		return 0;
	}
	/* ANCHOR: batch */
	for (int i = 0; i < 3; i++) {                 /* queue three... */
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		io_uring_prep_read(sqe, fds[i], buf[i], sizeof(buf[i]) - 1, 0);
		io_uring_sqe_set_data64(sqe, (unsigned long long)i);
	}
	printf("submitted %d reads in one call\n", io_uring_submit(&ring));
	for (int done = 0; done < 3; done++) {        /* ...reap three */
		struct io_uring_cqe *cqe;

		io_uring_wait_cqe(&ring, &cqe);
		unsigned long long i = io_uring_cqe_get_data64(cqe);

		printf("request %llu: res = %d%s%s\n", i, cqe->res,
		       cqe->res < 0 ? " (-EBADF: this one alone failed)" : ", read ",
		       cqe->res < 0 ? "" : buf[i]);
		io_uring_cqe_seen(&ring, cqe);
	}
	/* ANCHOR_END: batch */
	io_uring_queue_exit(&ring);
	return 0;
}
