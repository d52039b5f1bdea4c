/*
 * uring_probe.c - can this process set up an io_uring? Prints "yes" or
 * "no: <why>" and exits 0 or 1. Used by `make doctor`; lesson 06's tests
 * make the same attempt and skip with the same reason.
 */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	struct io_uring ring;
	int rc = io_uring_queue_init(4, &ring, 0);

	if (rc < 0) {
		const char *why = -rc == EPERM ? "refused (EPERM: a seccomp profile, e.g. Docker's default, or kernel.io_uring_disabled)" :
				  -rc == ENOSYS ? "not in this kernel (ENOSYS)" : strerror(-rc);
		printf("no: io_uring_queue_init() failed: %s\n", why);
		return 1;
	}
	io_uring_queue_exit(&ring);
	printf("yes\n");
	return 0;
}
