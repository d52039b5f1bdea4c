/*
 * Mutant thread_per_read: a thread per request, each blocking in read(2).
 * Every read is in flight at once (the gate is satisfied), but with n
 * threads, not one, and no ring.
 * Caught by: io_uring::one_thread
 */
#include "uring.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

static void *read_one(void *arg)
{
	struct uring_read *r = arg;
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
			return NULL;
		}
		if (got == 0)
			break;
		done += (size_t)got;
	}
	r->result = (ssize_t)done;
	return NULL;
}

int uring_read_batch(struct uring_read *reqs, int n)
{
	pthread_t t[URING_BATCH_MAX];
	int started = 0, rc = 0;

	for (; started < n; started++) {
		rc = pthread_create(&t[started], NULL, read_one, &reqs[started]);
		if (rc != 0)
			break;
	}
	for (int i = 0; i < started; i++) {
		int jr = pthread_join(t[i], NULL);

		if (jr != 0 && rc == 0)
			rc = jr;
	}
	return -rc;
}
