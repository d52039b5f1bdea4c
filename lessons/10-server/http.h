/*
 * http.h - lesson 10, GIVEN (not yours to change): the HTTP/1.1 parts that
 * are not about concurrency. A request-head parser that can be called
 * again as more bytes arrive, and the formatter of every response head.
 *
 * The parser copies nothing it does not return and keeps no state between
 * calls but what it returns: call it on the bytes received so far; it says
 * "incomplete" until the blank line that ends the head has arrived. Bytes
 * after the head (a body, the next pipelined request) are the caller's.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "server.h"

/* ANCHOR: request */
struct http_request {
	char method[16];                   /* "GET", "POST", ... */
	char target[SERVER_LINE_MAX + 1];  /* "/hello.txt", "/heavy?x=1" */
	int minor;                         /* HTTP/1.<minor>: 0 or 1 */
	long content_length;               /* 0 when absent */
	bool close;                        /* the client wants the connection closed
	                                    * after this response (Connection: close,
	                                    * or HTTP/1.0 without keep-alive) */
	size_t head_len;                   /* bytes of the head, blank line included */
};

enum { HTTP_INCOMPLETE = 0, HTTP_OK = 1 };

/*
 * Parse the head of the request at buf[0..len).
 * Returns HTTP_INCOMPLETE when the blank line has not arrived yet (the
 * caller enforces SERVER_LINE_MAX and SERVER_HEAD_MAX meanwhile);
 * HTTP_OK with *req filled in; or the status for a bad head: 400 (malformed:
 * request line, header syntax, Content-Length), 414 (a request line longer
 * than SERVER_LINE_MAX), 501 (a method it does not know, or Transfer-Encoding:
 * bodies in chunks are not implemented), 505 (not HTTP/1.0 or 1.1).
 * Known methods: GET HEAD POST PUT DELETE OPTIONS PATCH TRACE CONNECT.
 */
int http_parse_head(const char *buf, size_t len, struct http_request *req);

/* Where the request line ends: the offset of its '\r' or '\n', or -1 when
 * it has not ended within buf[0..len). */
long http_line_end(const char *buf, size_t len);
/* ANCHOR_END: request */

/* ANCHOR: response */
/*
 * Write a response head into out (room for cap bytes), exactly:
 *
 *   HTTP/1.1 <status> <reason>\r\n
 *   Content-Length: <length>\r\n
 *   Content-Type: <type>\r\n
 *   Allow: <allow>\r\n          only when allow is not NULL
 *   Connection: close\r\n       only when close
 *   \r\n
 *
 * Returns its length (< cap), or 0 when it does not fit.
 */
size_t http_head(char *out, size_t cap, int status, size_t length, const char *type,
		 const char *allow, bool close);

/* "OK", "Not Found", ... for every status this lesson uses. */
const char *http_reason(int status);

/* The Content-Type of a file, by its name's ending: text/html, text/plain,
 * image/x-portable-graymap, else application/octet-stream. */
const char *http_type(const char *path);
/* ANCHOR_END: response */

#endif
