/*
 * pictures.c - lesson 10's timeline of a real run of serve(), for the
 * chapter (`make diagrams LESSON=10`, on the reference):
 *
 *   pictures OUTDIR    writes OUTDIR/run-handoff.dot
 *
 * Two clients ask for GET /heavy at once; the heavy function (ours, in the
 * server's process) burns 200 ms of CPU on whichever worker runs it,
 * recorded slice by slice. Meanwhile a third client sends a cheap GET
 * every 25 ms, until both heavy ones are done, and records each from its
 * send to its whole response. The
 * trace lives in memory shared with the server's process, so both sides
 * draw on one clock.
 */
#include "at_server.h"
#include "at_time.h"
#include "at_trace.h"
#include "given.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HEAVY_MS 200
#define CHEAP_EVERY_MS 25

static struct at_trace *tr;
static char root[64];
static _Atomic int heavy_lane;
static _Atomic int *heavy_done; /* shared with the server's process */

static size_t heavy(const char *query, char *out, size_t cap, void *arg)
{
	int lane = atomic_fetch_add(&heavy_lane, 1);
	int n;

	(void)arg;
	(void)query;
	at_trace_busy(tr, lane == 0 ? "heavy 1" : "heavy 2", lane, HEAVY_MS);
	atomic_fetch_add(heavy_done, 1);
	n = snprintf(out, cap, "done\n");
	return n > 0 ? (size_t)n : 0;
}

static int run_serve(int listen_fd, int stop_fd, void *arg)
{
	struct server_config cfg = { .root = root, .workers = 2, .heavy = heavy };

	(void)arg;
	return serve(listen_fd, stop_fd, &cfg);
}

/* Read one whole response (head + Content-Length) from fd. */
static bool read_response(struct at_server *s, int fd)
{
	char buf[4096];
	size_t got = 0, want = 0;
	bool eof;

	while (got < sizeof(buf) - 1) {
		size_t k = at_client_recv(s, fd, buf + got, 1, 2000, &eof);
		char *end, *cl;

		if (k == 0)
			return false;
		got += k;
		buf[got] = '\0';
		if (!want && (end = strstr(buf, "\r\n\r\n")) && (cl = strstr(buf, "Content-Length: ")))
			want = (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10);
		if (want && got >= want)
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	static const char get_heavy[] = "GET /heavy HTTP/1.1\r\nHost: p\r\n\r\n";
	static const char get_cheap[] = "GET /hello.txt HTTP/1.1\r\nHost: p\r\n\r\n";
	struct at_server s;
	char path[4096];
	int h1, h2, cheap, answered = 0;
	int64_t end;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	tr = mmap(NULL, sizeof(*tr), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tr == MAP_FAILED)
		return 1;
	at_trace_reset(tr);
	heavy_done = mmap(NULL, sizeof(*heavy_done), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (heavy_done == MAP_FAILED)
		return 1;
	snprintf(root, sizeof(root), "/tmp/atonce10-pictures-%d", (int)getpid());
	mkdir(root, 0755);
	snprintf(path, sizeof(path), "%s/hello.txt", root);
	if (!(f = fopen(path, "w")))
		return 1;
	fputs("hello, world\n", f);
	fclose(f);
	if (at_server_start(&s, run_serve, NULL, NULL) != 0) {
		fprintf(stderr, "pictures: %s\n", s.why);
		return 1;
	}
	h1 = at_client_connect(&s, 0);
	h2 = at_client_connect(&s, 0);
	cheap = at_client_connect(&s, 0);
	at_client_send(&s, h1, get_heavy, strlen(get_heavy), 1000);
	at_client_send(&s, h2, get_heavy, strlen(get_heavy), 1000);
	/* Cheap requests until both heavy ones are done (10 s at most). */
	end = at_now_ns() + 10 * AT_NS_PER_S;
	while (atomic_load(heavy_done) < 2 && at_now_ns() < end) {
		struct timespec t = { 0, CHEAP_EVERY_MS * 1000 * 1000 };
		int slice = at_trace_begin(tr, "cheap", 2);

		at_client_send(&s, cheap, get_cheap, strlen(get_cheap), 1000);
		answered += read_response(&s, cheap);
		at_trace_end(tr, slice);
		nanosleep(&t, NULL);
	}
	read_response(&s, h1);
	read_response(&s, h2);
	close(h1);
	close(h2);
	close(cheap);
	at_server_stop(&s, 3000);
	unlink(path);
	rmdir(root);
	snprintf(path, sizeof(path), "%s/run-handoff.dot", argv[1]);
	if (at_trace_write_dot(tr, path,
			       "serve() with a pool of 2: two heavy requests (200 ms of CPU each) on the workers\\n"
			       "and a cheap GET every 25 ms, each answered at once") != 0)
		return 1;
	printf("  run-handoff       %d cheap requests answered while 2 heavy ones ran\n", answered);
	return 0;
}
