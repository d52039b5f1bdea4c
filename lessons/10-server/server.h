/*
 * server.h - lesson 10: the combined server. One thread runs an epoll
 * event loop for every connection (concurrency, as in lesson 05); a fixed
 * pool of worker threads runs the CPU-heavy requests (parallelism, as in
 * lesson 07); a finished job wakes the loop through an eventfd, and the
 * loop writes its response.
 *
 * You write server.c. Given beside it: http.h / http.c (a request-head
 * parser and the response-head formatter, so the lesson stays about
 * concurrency) and pool.h / pool.c (a small fixed pool: lesson 07's
 * interface without pool_wait, so your own 07 pool can replace it).
 *
 * The tests run serve() in a process of its own and count its threads,
 * descriptors and wake-ups from outside; the heavy work is a function they
 * supply, which holds requests open until the test says so.
 */
#ifndef SERVER_H
#define SERVER_H

#include <stddef.h>

/* ANCHOR: limits */
/*
 * The limits. Every one of them bounds the memory a client can make the
 * server hold, or the time it can hold a connection half-open.
 */
#define SERVER_HEAD_MAX     8192    /* request line + headers + blank line, bytes: else 431 */
#define SERVER_LINE_MAX     2048    /* the request line, bytes without CRLF: else 414 */
#define SERVER_BODY_MAX     65536   /* a request body (Content-Length): else 413 */
#define SERVER_HEAVY_MAX    65536   /* the most bytes a heavy function may write */
#define SERVER_REQUEST_MS   1000    /* a request must arrive whole within this
                                     * time from its first byte: else 408 and close */
#define SERVER_STOP_MS      2000    /* at the stop, in-flight requests get this long */
/* ANCHOR_END: limits */

/* ANCHOR: heavy */
/*
 * The CPU-heavy work: whoever runs the server supplies it. The demo renders
 * a Mandelbrot tile; the tests supply one that records which thread ran it
 * and holds it open until they release it.
 *
 * query  what followed "/heavy?" in the request target ("" when nothing),
 *        NUL-terminated;
 * out    where the response body goes, room for cap (SERVER_HEAVY_MAX) bytes.
 * Returns the body's length (<= cap). It may take a long time: it runs on a
 * pool worker, never on the loop's thread. Safe to call from many threads
 * at once.
 */
typedef size_t (*server_heavy_fn)(const char *query, char *out, size_t cap, void *arg);
/* ANCHOR_END: heavy */

/* ANCHOR: config */
struct server_config {
	const char *root;         /* the folder of static files */
	int workers;              /* pool size N (>= 1): the server has 1 + N threads */
	server_heavy_fn heavy;    /* the work behind GET /heavy */
	void *heavy_arg;          /* its last argument */
};
/* ANCHOR_END: config */

/* ANCHOR: routes */
/*
 * What the server answers. Every response head is made by http_head()
 * (http.h), so its bytes are exactly what the tests expect.
 *
 *   GET|HEAD /heavy[?query]  200, body = cfg->heavy(query) run on the pool,
 *                            Content-Type application/octet-stream
 *   POST /echo               200, body = the request's body (Content-Length,
 *                            at most SERVER_BODY_MAX), text/plain
 *   GET|HEAD /NAME           200, the file root/NAME (type by http_type());
 *                            "/" is /index.html; ".." in a path or a missing
 *                            file: 404
 *
 *   a method these routes do not allow   405 with Allow: "GET, HEAD" (files,
 *                                        /heavy) or "POST" (/echo)
 *   errors found by http_parse_head()    its status (400, 414, 501, 505)
 *   a request line over SERVER_LINE_MAX  414      a head over SERVER_HEAD_MAX  431
 *   Content-Length > SERVER_BODY_MAX     413      no whole request within
 *                                                 SERVER_REQUEST_MS of its
 *                                                 first byte: 408
 *
 * Error bodies are http_reason(status) and "\n", text/plain. After 400, 408,
 * 413, 414, 431, 501 and 505 the server closes the connection (it cannot
 * trust where the next request starts): the response says Connection:
 * close. So does the response to a request asking for it (Connection:
 * close, or HTTP/1.0 without Connection: keep-alive). Otherwise the
 * connection stays open for the next request (keep-alive), and a client may
 * send many requests without waiting (pipelining): responses leave in the
 * order of the requests, whatever order their work finishes in.
 */
/* ANCHOR_END: routes */

/* ANCHOR: interface */
/*
 * Serve HTTP/1.1 on listen_fd until stop_fd is readable.
 *
 * listen_fd  a listening TCP socket, already non-blocking;
 * stop_fd    a descriptor that becomes readable when it is time to stop.
 * Both belong to the caller: watch them, never close them.
 *
 * The rules of the house:
 *  - the loop runs on the calling thread, the only place it waits is
 *    epoll_wait(), and it never computes a heavy request itself;
 *  - heavy requests go to a pool of cfg->workers threads, created once:
 *    1 + N threads whatever the number of connections or requests;
 *  - a finished job wakes the loop through a descriptor it watches (an
 *    eventfd), never through a timeout: an idle server does not wake up,
 *    nor does a loop whose every worker is busy;
 *  - every socket is non-blocking: a slow reader costs memory it is owed,
 *    never the loop's time;
 *  - on stop: stop accepting and reading; the requests already read still
 *    get their responses, within SERVER_STOP_MS; then close every
 *    connection, shut the pool down (its threads joined) and return.
 *
 * Returns 0 after a stop; -1 with errno set if the server cannot be set up
 * (EINVAL for a bad cfg).
 */
int serve(int listen_fd, int stop_fd, const struct server_config *cfg);
/* ANCHOR_END: interface */

#endif
