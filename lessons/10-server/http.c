/*
 * http.c - lesson 10, GIVEN: the request-head parser and the response-head
 * formatter (see http.h). Strict where strictness protects the server
 * (one request line, CRLF or LF line ends, no space before a colon, one
 * decimal Content-Length), no more: the concurrency is the lesson.
 */
#include "http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const known_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT",
};

long http_line_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\r' || buf[i] == '\n')
			return (long)i;
	return -1;
}

/* The end of the head: the offset just past the blank line, or 0. */
static size_t head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* "GET /x HTTP/1.1": the three parts, or a status. */
static int parse_line(const char *p, size_t n, struct http_request *req)
{
	const char *sp1 = memchr(p, ' ', n), *sp2;
	size_t mlen, tlen, vlen;
	bool known = false;

	if (!sp1 || !(sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - p))))
		return 400;
	mlen = (size_t)(sp1 - p);
	tlen = (size_t)(sp2 - sp1 - 1);
	vlen = n - (size_t)(sp2 + 1 - p);
	if (mlen == 0 || mlen >= sizeof(req->method) || tlen == 0 || memchr(sp2 + 1, ' ', vlen))
		return 400;
	for (size_t i = 0; i < mlen; i++)
		if (!is_tchar(p[i]))
			return 400;
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)sp1[1 + i] <= ' ' || sp1[1 + i] == 0x7f)
			return 400;
	if (vlen != 8 || memcmp(sp2 + 1, "HTTP/", 5) != 0 || sp2[6] < '0' || sp2[6] > '9' ||
	    sp2[7] != '.' || sp2[8] < '0' || sp2[8] > '9')
		return 400;
	memcpy(req->method, p, mlen);
	req->method[mlen] = '\0';
	if (sp1[1] != '/')
		return 400;
	memcpy(req->target, sp1 + 1, tlen);
	req->target[tlen] = '\0';
	if (sp2[6] != '1' || (sp2[8] != '0' && sp2[8] != '1'))
		return 505;
	req->minor = sp2[8] - '0';
	for (size_t i = 0; i < sizeof(known_methods) / sizeof(known_methods[0]); i++)
		known = known || strcmp(req->method, known_methods[i]) == 0;
	return known ? HTTP_OK : 501;
}

/* Does a comma-separated header value hold this token? */
static bool has_token(const char *v, size_t n, const char *tok)
{
	size_t t = strlen(tok), i = 0;

	while (i < n) {
		size_t s, e;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == t && strncasecmp(v + s, tok, t) == 0)
			return true;
	}
	return false;
}

static int parse_header(const char *p, size_t n, struct http_request *req,
			bool *seen_length, bool *keep_alive)
{
	const char *colon = memchr(p, ':', n);
	size_t nlen, vlen;
	const char *v;

	if (!colon || colon == p)
		return 400;
	nlen = (size_t)(colon - p);
	for (size_t i = 0; i < nlen; i++)
		if (!is_tchar(p[i]))
			return 400; /* also a space before the colon */
	v = colon + 1;
	vlen = n - nlen - 1;
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	for (size_t i = 0; i < vlen; i++)
		if ((unsigned char)v[i] < ' ' && v[i] != '\t')
			return 400;
	if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
		long cl = 0;

		if (*seen_length || vlen == 0 || vlen > 18)
			return 400;
		for (size_t i = 0; i < vlen; i++) {
			if (v[i] < '0' || v[i] > '9')
				return 400;
			cl = cl * 10 + (v[i] - '0');
		}
		*seen_length = true;
		req->content_length = cl;
	} else if (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
		return 501;
	} else if (nlen == 10 && strncasecmp(p, "Connection", 10) == 0) {
		if (has_token(v, vlen, "close"))
			req->close = true;
		if (has_token(v, vlen, "keep-alive"))
			*keep_alive = true;
	}
	return HTTP_OK;
}

int http_parse_head(const char *buf, size_t len, struct http_request *req)
{
	size_t end = head_end(buf, len), pos = 0;
	bool first = true, seen_length = false, keep_alive = false;
	int rc;

	if (end == 0)
		return HTTP_INCOMPLETE;
	memset(req, 0, sizeof(*req));
	req->head_len = end;
	while (pos < end) {
		const char *nl = memchr(buf + pos, '\n', end - pos);
		size_t n = (size_t)(nl - (buf + pos));

		if (n > 0 && buf[pos + n - 1] == '\r')
			n--;
		if (n == 0)
			break; /* the blank line */
		if (memchr(buf + pos, '\r', n))
			return 400; /* a bare CR inside a line */
		if (first) {
			if (n > SERVER_LINE_MAX)
				return 414;
			if ((rc = parse_line(buf + pos, n, req)) != HTTP_OK)
				return rc;
			first = false;
		} else if (buf[pos] == ' ' || buf[pos] == '\t') {
			return 400; /* obsolete line folding */
		} else if ((rc = parse_header(buf + pos, n, req, &seen_length, &keep_alive)) != HTTP_OK) {
			return rc;
		}
		pos += (size_t)(nl - (buf + pos)) + 1;
	}
	if (first)
		return 400; /* a head with no request line */
	if (req->minor == 0 && !keep_alive)
		req->close = true;
	return HTTP_OK;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default:  return "Unknown";
	}
}

const char *http_type(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (!dot || strchr(dot, '/'))
		return "application/octet-stream";
	if (strcmp(dot, ".html") == 0)
		return "text/html";
	if (strcmp(dot, ".txt") == 0)
		return "text/plain";
	if (strcmp(dot, ".pgm") == 0)
		return "image/x-portable-graymap";
	return "application/octet-stream";
}

size_t http_head(char *out, size_t cap, int status, size_t length, const char *type,
		 const char *allow, bool close)
{
	int n = snprintf(out, cap, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nContent-Type: %s\r\n%s%s%s%s\r\n",
			 status, http_reason(status), length, type,
			 allow ? "Allow: " : "", allow ? allow : "", allow ? "\r\n" : "",
			 close ? "Connection: close\r\n" : "");

	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
