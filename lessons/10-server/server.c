/*
 * server.c - lesson 10: YOUR CODE. An HTTP/1.1 server: one epoll loop for
 * every connection, a pool for the heavy requests, an eventfd from the
 * pool back to the loop.
 *
 * Read the chapter (README.md beside this file) first, then replace each
 * TODO. `make check LESSON=10` tells you what your server does, measured.
 * You may reshape everything below except serve()'s signature. Lesson 05's
 * server.c is a good place to start from: this one adds the pool, the
 * responses' order, and the limits.
 */
#include "server.h"

#include "http.h"
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ANCHOR: state */
/*
 * A suggested shape for the state (yours to change).
 *
 * One response owed to a client. Responses wait in a queue per connection,
 * in the order of the requests: a heavy request's response takes its place
 * when the request is read, and gets its bytes when its job is done.
 */
struct resp {
	char *buf;                  /* head and body, once ready */
	size_t len, sent;
	bool ready;                 /* false while its job runs on the pool */
	bool close;                 /* close the connection once it is sent */
	struct resp *next;
};

/* A heavy request on its way: loop -> pool -> done list -> loop. */
struct job {
	struct server *s;
	struct conn *c;
	struct resp *r;             /* where its response goes */
	char query[SERVER_LINE_MAX + 1];
	char *body;                 /* SERVER_HEAVY_MAX bytes, filled on the worker */
	size_t len;
	struct job *next;           /* on the done list */
};

struct conn {
	int fd;
	char *in;                   /* received, not yet consumed */
	size_t in_len, in_cap;
	struct resp *first, *last;  /* responses owed, oldest first */
	int pending;                /* its jobs on the pool now */
	bool dead;                  /* socket closed; freed when pending reaches 0 */
	int64_t started_ns;         /* first byte of a request still arriving; 0: none */
	struct conn *prev, *next;
};

struct server {
	int epfd, listen_fd, stop_fd, wake_fd;
	const struct server_config *cfg;
	struct pool *pool;
	pthread_mutex_t done_mu;    /* guards the done list: loop and workers */
	struct job *done_first, *done_last;
	struct conn *conns;
};
/* ANCHOR_END: state */

int serve(int listen_fd, int stop_fd, const struct server_config *cfg)
{
	/*
	 * TODO 1: set up. Check cfg (EINVAL). An epoll instance watching
	 *         listen_fd, stop_fd and an eventfd (EFD_NONBLOCK), the
	 *         wake-up the pool's jobs will write to. pool_create() with
	 *         cfg->workers threads: the only threads you ever create.
	 *
	 * TODO 2: the loop, as in lesson 05: epoll_wait(), then each event.
	 *         Its timeout is -1 unless a request is half-received (then
	 *         the time left until the first one's SERVER_REQUEST_MS is up).
	 *
	 * TODO 3: a readable connection: read what is there into its buffer;
	 *         then take each whole request with http_parse_head(), in
	 *         order. While a head is incomplete, enforce SERVER_LINE_MAX
	 *         (414) and SERVER_HEAD_MAX (431); before waiting for a body,
	 *         SERVER_BODY_MAX (413); a status from the parser is the
	 *         response. Route the request (server.h: /heavy, /echo, files,
	 *         404, 405 with Allow) to a response at the end of its queue.
	 *
	 * TODO 4: the hand-off. GET /heavy: its response takes its place in
	 *         the queue, not ready; a job goes to pool_submit(). On the
	 *         worker the job calls cfg->heavy(), puts itself on the done
	 *         list (under the mutex) and writes 1 to the eventfd. The loop,
	 *         woken by the eventfd, takes the whole list and fills in each
	 *         response. The loop never calls cfg->heavy() itself, and never
	 *         waits for a job.
	 *
	 * TODO 5: sending: from the front of the queue only, while the front
	 *         is ready; send() with MSG_NOSIGNAL until EAGAIN, then watch
	 *         EPOLLOUT (only while a ready response is owed). After a
	 *         response that says Connection: close, close. Stop reading a
	 *         client owed too much (bounded memory).
	 *
	 * TODO 6: deadlines and closing. A request not whole SERVER_REQUEST_MS
	 *         after its first byte: 408 and close. Close every socket on
	 *         every path; a connection with a job still running keeps its
	 *         struct until the job comes back.
	 *
	 * TODO 7: the stop (stop_fd readable): stop accepting and reading,
	 *         answer what was read (jobs included) within SERVER_STOP_MS,
	 *         close everything, pool_shutdown(), close your descriptors,
	 *         return 0.
	 */
	(void)listen_fd;
	(void)stop_fd;
	(void)cfg;
	errno = ENOSYS;
	return -1;
}
