/*
 * bench.c - lesson 10's benchmark: the server under test beside nginx, with
 * wrk as the load, all on loopback; then what the pool is for.
 *
 *   make bench LESSON=10 [IMPL=solution]
 *
 * 1. Static file: wrk (1 thread, 64 connections, 3 s, --latency) fetches a
 *    13-byte file from our server (one loop thread; a pool of 2 that stays
 *    idle), from nginx with worker_processes 1 (one event loop too), and
 *    from nginx with worker_processes auto (Debian's default: one loop per
 *    CPU). Five rounds, interleaved; medians of requests/s and p99, and
 *    the ratios to nginx at 1 worker.
 * 2. Responsiveness: p99 of cheap requests (wrk, 8 connections) while 4
 *    clients of ours keep the heavy endpoint (a Mandelbrot tile) busy: the
 *    implementation under test beside the heavy_on_loop mutant (built and
 *    run by this program with --responsiveness).
 * 3. Heavy throughput: Mandelbrot tiles per second with a pool of 1 and a
 *    pool of 2.
 *
 * With --serve [PORT], it is the lesson's demo server instead: serve() on
 * 127.0.0.1:PORT (8080) with the Mandelbrot tile behind GET /heavy (a PGM
 * image), static files from build/bench/10-server/www, until SIGTERM or
 * SIGINT, which make the stop descriptor readable (a graceful stop).
 *
 * nginx runs from a config under build/bench/10-server/ on a loopback port,
 * in a process group of its own, and is stopped by its PID (never the
 * system's service). A benchmark reports; it never passes or fails. With
 * ATONCE_BENCH_DIR set, the figures are drawn as an SVG there too.
 */
#include "at_server.h"
#include "given.h"
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define ROUNDS    5
#define WRK_SECS  "3"

static char dir[512], docroot[600];

/* ---- the heavy work: a Mandelbrot tile as a PGM ---------------------------- */

/* ANCHOR: mandelbrot */
static size_t mandelbrot(const char *query, char *out, size_t cap, void *arg)
{
	const int w = 160, h = 120, iters = 600;
	int n = snprintf(out, cap, "P5\n%d %d\n255\n", w, h);

	(void)query;
	(void)arg;
	if (n < 0 || (size_t)n + (size_t)(w * h) > cap)
		return 0;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double cr = -2.2 + 3.0 * x / w, ci = -1.2 + 2.4 * y / h, zr = 0, zi = 0;
			int k = 0;

			while (k < iters && zr * zr + zi * zi < 4.0) {
				double t = zr * zr - zi * zi + cr;

				zi = 2 * zr * zi + ci;
				zr = t;
				k++;
			}
			out[n + y * w + x] = (char)(k == iters ? 0 : 255 - (k * 4) % 256);
		}
	return (size_t)n + (size_t)(w * h);
}
/* ANCHOR_END: mandelbrot */

/* ---- our server, in a child process ------------------------------------------ */

static int bench_workers = 2;

static int run_ours(int listen_fd, int stop_fd, void *arg)
{
	struct server_config cfg = { .root = docroot, .workers = bench_workers, .heavy = mandelbrot };

	(void)arg;
	signal(SIGPIPE, SIG_IGN);
	return serve(listen_fd, stop_fd, &cfg);
}

static int start_ours(struct at_server *s, int workers)
{
	struct at_server_opts o = { .nofile = 4096 };

	bench_workers = workers;
	if (at_server_start(s, run_ours, NULL, &o) != 0) {
		fprintf(stderr, "bench: cannot start our server: %s\n", s->why);
		return -1;
	}
	return ntohs(s->addr.sin_port);
}

/* ---- running tools -------------------------------------------------------------- */

static pid_t spawn(const char *const argv[], int out_fd, bool own_group)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	if (out_fd >= 0) {
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
		posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
	}
	if (own_group) {
		posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
		posix_spawnattr_setpgroup(&at, 0);
	}
	rc = posix_spawn(&pid, argv[0], &fa, &at, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return rc == 0 ? pid : -1;
}

/* Run argv, its output into out; -1 when it could not run or took > 60 s. */
static int run_capture(const char *const argv[], char *out, size_t cap)
{
	int p[2], status;
	size_t n = 0;
	pid_t pid;
	time_t end = time(NULL) + 60;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid = spawn(argv, p[1], true);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	for (;;) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		ssize_t k;

		if (time(NULL) > end) {
			kill(-pid, SIGKILL);
			break;
		}
		if (poll(&pf, 1, 1000) <= 0)
			continue;
		k = read(p[0], n + 1 < cap ? out + n : (char[256]){ 0 }, n + 1 < cap ? cap - 1 - n : 256);
		if (k <= 0)
			break;
		if (n + 1 < cap)
			n += (size_t)k;
	}
	out[n] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- wrk ------------------------------------------------------------------------ */

struct wrk {
	double rps;
	double p50_ms, p99_ms;
	bool ok;
};

static double to_ms(double v, const char *unit)
{
	if (strncmp(unit, "us", 2) == 0)
		return v / 1000;
	if (strncmp(unit, "ms", 2) == 0)
		return v;
	if (unit[0] == 's')
		return v * 1000;
	if (unit[0] == 'm')
		return v * 60000;
	return v;
}

static double percentile(const char *out, const char *pct)
{
	const char *p = strstr(out, "Latency Distribution");
	char key[16], unit[8];
	double v;

	snprintf(key, sizeof(key), " %s ", pct);
	if (!p || !(p = strstr(p, key)) || sscanf(p + strlen(key), " %lf%7s", &v, unit) != 2)
		return -1;
	return to_ms(v, unit);
}

static struct wrk run_wrk(int port, const char *path, const char *conns)
{
	char url[128], out[8192];
	const char *argv[] = { "/usr/bin/wrk", "-t1", "-c", conns, "-d", WRK_SECS, "--latency", url, NULL };
	struct wrk w = { 0 };
	const char *r;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	if (run_capture(argv, out, sizeof(out)) != 0)
		return w;
	if ((r = strstr(out, "Requests/sec:")))
		w.rps = strtod(r + 13, NULL);
	w.p50_ms = percentile(out, "50%");
	w.p99_ms = percentile(out, "99%");
	w.ok = w.rps > 0 && w.p99_ms >= 0 && !strstr(out, "Non-2xx");
	return w;
}

/* ---- nginx ------------------------------------------------------------------------ */

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static bool port_answers(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Start nginx on a free loopback port with `workers` ("1" or "auto");
 * its master's PID in *pid. Returns the port, or -1. */
static int start_nginx(const char *workers, pid_t *pid)
{
	char conf[700], prefix[700], errlog[700];
	FILE *f;
	int port = free_port();

	snprintf(prefix, sizeof(prefix), "%s/nginx/", dir);
	mkdir(prefix, 0755);
	snprintf(conf, sizeof(conf), "%s/nginx/nginx-%s.conf", dir, workers);
	snprintf(errlog, sizeof(errlog), "%s/nginx/error.log", dir);
	if (port < 0 || !(f = fopen(conf, "w")))
		return -1;
	fprintf(f,
		"# lesson 10's benchmark peer: written by harness/10-server/bench.c\n"
		"worker_processes %s;\n"
		"daemon off;\n"
		"pid %s/nginx/nginx.pid;\n"
		"error_log %s warn;\n"
		"%s"
		"events { worker_connections 4096; }\n"
		"http {\n"
		"  access_log off;\n"
		"  types { text/plain txt; text/html html; }\n"
		"  default_type application/octet-stream;\n"
		"  keepalive_requests 1000000;\n"
		"  client_body_temp_path %s/nginx/tmp;\n"
		"  proxy_temp_path %s/nginx/tmp; fastcgi_temp_path %s/nginx/tmp;\n"
		"  uwsgi_temp_path %s/nginx/tmp; scgi_temp_path %s/nginx/tmp;\n"
		"  server { listen 127.0.0.1:%d; root %s; }\n"
		"}\n",
		workers, dir, errlog, geteuid() == 0 ? "user root;\n" : "", dir, dir, dir, dir, dir, port, docroot);
	fclose(f);
	{
		const char *argv[] = { "/usr/sbin/nginx", "-p", prefix, "-e", errlog, "-c", conf, NULL };
		int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

		*pid = spawn(argv, devnull, true);
		if (devnull >= 0)
			close(devnull);
	}
	if (*pid < 0)
		return -1;
	for (int i = 0; i < 200; i++) {
		struct timespec t = { 0, 10 * 1000 * 1000 };

		if (port_answers(port))
			return port;
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = -1;
			return -1;
		}
		nanosleep(&t, NULL);
	}
	return port;
}

/* Stop nginx by its PID: TERM, then KILL its whole group after 3 s. */
static void stop_nginx(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 300; i++) {
		struct timespec t = { 0, 10 * 1000 * 1000 };

		if (waitpid(pid, NULL, WNOHANG) == pid) {
			kill(-pid, SIGKILL); /* any worker left behind */
			return;
		}
		nanosleep(&t, NULL);
	}
	kill(-pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* ---- part 1: a static file beside nginx ------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n ? v[n / 2] : 0;
}

struct figures {
	double rps, p99;
};

static void static_file(struct figures fig[3])
{
	static const char *const names[3] = { "ours (1 loop)", "nginx, 1 worker", "nginx, auto" };
	double rps[3][ROUNDS], p99[3][ROUNDS];
	int got[3] = { 0 };

	printf("\n1. a 13-byte file, wrk -t1 -c64 -d%ss, %d rounds interleaved (medians)\n", WRK_SECS, ROUNDS);
	for (int r = 0; r < ROUNDS; r++)
		for (int k = 0; k < 3; k++) {
			struct at_server s;
			pid_t ng = -1;
			int port = k == 0 ? start_ours(&s, 2) : start_nginx(k == 1 ? "1" : "auto", &ng);
			struct wrk w;

			if (port < 0) {
				fprintf(stderr, "bench: %s could not be started\n", names[k]);
				continue;
			}
			w = run_wrk(port, "/hello.txt", "64");
			if (k == 0)
				at_server_stop(&s, 3000);
			else
				stop_nginx(ng);
			if (w.ok) {
				rps[k][got[k]] = w.rps;
				p99[k][got[k]] = w.p99_ms;
				got[k]++;
			}
		}
	printf("  %-18s %12s %10s %14s %12s\n", "server", "requests/s", "p99 ms", "rps / nginx-1", "p99 / nginx-1");
	for (int k = 0; k < 3; k++) {
		fig[k].rps = median(rps[k], got[k]);
		fig[k].p99 = median(p99[k], got[k]);
	}
	for (int k = 0; k < 3; k++)
		printf("  %-18s %12.0f %10.2f %14.2f %12.2f\n", names[k], fig[k].rps, fig[k].p99,
		       fig[1].rps > 0 ? fig[k].rps / fig[1].rps : 0, fig[1].p99 > 0 ? fig[k].p99 / fig[1].p99 : 0);
}

/* ---- part 2: responsiveness while the pool is busy ------------------------------------ */

static atomic_bool heavy_stop;
static int heavy_port;
static atomic_long heavy_done;

/* A client of ours: GET /heavy again and again on one connection. */
static void *heavy_client(void *arg)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)heavy_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	static const char req[] = "GET /heavy HTTP/1.1\r\nHost: b\r\n\r\n";
	char buf[65536];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)arg;
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		goto out;
	while (!atomic_load(&heavy_stop)) {
		size_t want = 0, got = 0;

		if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1))
			break;
		/* head, then Content-Length bytes */
		for (;;) {
			ssize_t k = recv(fd, buf + got, sizeof(buf) - got, 0);
			char *end, *cl;

			if (k <= 0)
				goto out;
			got += (size_t)k;
			buf[got < sizeof(buf) ? got : sizeof(buf) - 1] = '\0';
			if (!want && (end = strstr(buf, "\r\n\r\n")) && (cl = strstr(buf, "Content-Length: ")))
				want = (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10);
			if (want && got >= want)
				break;
		}
		atomic_fetch_add(&heavy_done, 1);
	}
out:
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* p99 of cheap requests while 4 clients keep the heavy endpoint busy. */
static struct wrk responsiveness(void)
{
	struct at_server s;
	pthread_t t[4];
	struct wrk w = { 0 };

	if ((heavy_port = start_ours(&s, 2)) < 0)
		return w;
	atomic_store(&heavy_stop, false);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, heavy_client, NULL);
	w = run_wrk(heavy_port, "/hello.txt", "8");
	atomic_store(&heavy_stop, true);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	at_server_stop(&s, 3000);
	return w;
}

/* Tiles per second with a pool of `workers`, 4 clients. */
static double heavy_throughput(int workers)
{
	struct at_server s;
	pthread_t t[4];
	struct timespec d = { 3, 0 };
	long n;

	if ((heavy_port = start_ours(&s, workers)) < 0)
		return 0;
	atomic_store(&heavy_stop, false);
	atomic_store(&heavy_done, 0);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, heavy_client, NULL);
	nanosleep(&d, NULL);
	n = atomic_load(&heavy_done);
	atomic_store(&heavy_stop, true);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	at_server_stop(&s, 3000);
	return n / 3.0;
}

/* The heavy_on_loop mutant's figure: its own bench binary, built by make. */
static struct wrk mutant_responsiveness(const char *self)
{
	char bin[700], out[2048];
	struct wrk w = { 0 };
	const char *make[] = { "/usr/bin/make", "--no-print-directory", "-s", "-f", "harness/mk/lesson.mk",
			       "LESSON_NAME=10-server", "IMPL=mutant:heavy_on_loop", bin, NULL };
	const char *run[] = { bin, "--responsiveness", NULL };
	const char *b = getenv("BUILD");

	(void)self;
	snprintf(bin, sizeof(bin), "%s/10-server/mutant-heavy_on_loop/bench", b && *b ? b : "build");
	/* A students' repository (make student-repo) has no mutants: the row
	 * is left out, with the reason, not an error. */
	if (access("harness/10-server/mutants/heavy_on_loop.patch", R_OK) != 0) {
		fprintf(stderr, "bench: no heavy_on_loop mutant here (a students' repository): its row is left out\n");
		return w;
	}
	if (run_capture(make, out, sizeof(out)) != 0) {
		fprintf(stderr, "bench: could not build the heavy_on_loop mutant's bench:\n%s\n", out);
		return w;
	}
	if (run_capture(run, out, sizeof(out)) == 0 &&
	    sscanf(out, "responsiveness %lf %lf %lf", &w.rps, &w.p50_ms, &w.p99_ms) == 3)
		w.ok = true;
	return w;
}

static const char *load_average(void)
{
	static char load[64];
	FILE *f = fopen("/proc/loadavg", "r");

	snprintf(load, sizeof(load), "?");
	if (f) {
		if (!fgets(load, sizeof(load), f))
			snprintf(load, sizeof(load), "?");
		fclose(f);
		load[strcspn(load, " ")] = '\0'; /* the last minute's */
	}
	return load;
}

/* ---- the picture ---------------------------------------------------------------------- */

/* The chart's text is 16 px (labels) and 15 px (the footnote) on 760 x 400:
 * 18 px or more where a slide shows it 520 px high, 14 px in a chapter. */
enum { LABEL_PX = 16, ROW = 27, BAR_X = 215, BAR_W = 400 };

static void bar(FILE *f, double y, const char *label, double v, double max, const char *text, const char *color)
{
	double wpx = max > 0 ? BAR_W * v / max : 0;

	fprintf(f, "<text x=\"10\" y=\"%.0f\" font-size=\"%d\">%s</text>\n", y + 16, LABEL_PX, label);
	fprintf(f, "<rect x=\"%d\" y=\"%.0f\" width=\"%.1f\" height=\"21\" fill=\"%s\"/>\n", BAR_X, y, wpx < 1 ? 1 : wpx, color);
	fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"%d\">%s</text>\n", BAR_X + 6 + wpx, y + 16, LABEL_PX, text);
}

static void heading(FILE *f, double y, const char *text)
{
	fprintf(f, "<text x=\"10\" y=\"%.0f\" font-size=\"17\" font-weight=\"bold\">%s</text>\n", y, text);
}

static double max3(double a, double b, double c)
{
	double m = a > b ? a : b;

	return c > m ? c : m;
}

static void chart(const struct figures fig[3], const struct wrk *ours, const struct wrk *mutant,
		  double t1, double t2)
{
	const char *d = getenv("ATONCE_BENCH_DIR");
	char path[700], txt[64];
	double max, y;
	FILE *f;

	if (!d || !*d)
		return;
	snprintf(path, sizeof(path), "%s/server.svg", d);
	if (!(f = fopen(path, "w")))
		return;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"400\" font-family=\"Helvetica,sans-serif\">\n"
		   "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	heading(f, 22, "a 13-byte file: requests/s (wrk -c64)");
	max = max3(fig[0].rps, fig[1].rps, fig[2].rps);
	y = 32;
	snprintf(txt, sizeof(txt), "%.0f", fig[0].rps);
	bar(f, y, "ours (1 loop)", fig[0].rps, max, txt, "#1f5fa8");
	snprintf(txt, sizeof(txt), "%.0f", fig[1].rps);
	bar(f, y += ROW, "nginx, 1 worker", fig[1].rps, max, txt, "#999999");
	snprintf(txt, sizeof(txt), "%.0f", fig[2].rps);
	bar(f, y += ROW, "nginx, auto", fig[2].rps, max, txt, "#bbbbbb");
	heading(f, y += ROW + 30, "cheap requests beside 4 heavy clients: ms (lower is better)");
	max = ours->p99_ms > mutant->p99_ms ? ours->p99_ms : mutant->p99_ms;
	y += 10;
	snprintf(txt, sizeof(txt), "%.2f ms", ours->p50_ms);
	bar(f, y, "p50, heavy on the pool", ours->p50_ms, max, txt, "#2a8a2a");
	snprintf(txt, sizeof(txt), "%.2f ms", mutant->p50_ms);
	bar(f, y += ROW, "p50, heavy on the loop", mutant->p50_ms, max, mutant->ok ? txt : "(not run)", "#a81f1f");
	snprintf(txt, sizeof(txt), "%.2f ms", ours->p99_ms);
	bar(f, y += ROW, "p99, heavy on the pool", ours->p99_ms, max, txt, "#2a8a2a");
	snprintf(txt, sizeof(txt), "%.2f ms", mutant->p99_ms);
	bar(f, y += ROW, "p99, heavy on the loop", mutant->p99_ms, max, mutant->ok ? txt : "(not run)", "#a81f1f");
	heading(f, y += ROW + 30, "Mandelbrot tiles per second, 4 clients");
	max = t1 > t2 ? t1 : t2;
	y += 10;
	snprintf(txt, sizeof(txt), "%.1f", t1);
	bar(f, y, "pool of 1", t1, max, txt, "#a85c1f");
	snprintf(txt, sizeof(txt), "%.1f", t2);
	bar(f, y += ROW, "pool of 2", t2, max, txt, "#a85c1f");
	fprintf(f, "<text x=\"10\" y=\"%.0f\" font-size=\"15\" fill=\"#555555\">make bench LESSON=10: wrk and nginx on loopback, %ld CPUs, load average %s</text>\n",
		y + ROW + 28, sysconf(_SC_NPROCESSORS_ONLN), load_average());
	fprintf(f, "</svg>\n");
	fclose(f);
	printf("\nchart: %s\n", path);
}

/* ---- the demo server: --serve [PORT] ------------------------------------------------- */

static int stop_efd = -1;

static void on_term(int sig)
{
	uint64_t one = 1;

	(void)sig;
	/* write() is async-signal-safe: the loop sees stop_fd readable. */
	if (write(stop_efd, &one, sizeof(one)) < 0)
		_exit(1);
}

static int demo_server(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct server_config cfg = { .root = docroot, .workers = 2, .heavy = mandelbrot };
	struct sigaction sa = { .sa_handler = on_term };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), rc;

	stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0 || stop_efd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 1024) != 0) {
		perror("serve: 127.0.0.1");
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("serving http://127.0.0.1:%d/ (files from %s; GET /heavy renders a Mandelbrot tile as PGM)\n"
	       "try: curl -s http://127.0.0.1:%d/heavy > tile.pgm   stop: Ctrl-C or kill -TERM %d\n",
	       port, docroot, port, (int)getpid());
	fflush(stdout);
	rc = serve(fd, stop_efd, &cfg);
	printf("serve() returned %d%s%s\n", rc, rc ? ": " : "", rc ? strerror(errno) : "");
	close(fd);
	close(stop_efd);
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *b = getenv("BUILD");
	struct figures fig[3] = { { 0, 0 } };
	struct wrk ours, mutant;
	double t1, t2;

	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "%s/bench/10-server", b && *b ? b : "build");
	if (dir[0] != '/') {
		char cwd[256];

		if (getcwd(cwd, sizeof(cwd))) {
			char rel[512];

			snprintf(rel, sizeof(rel), "%s", dir);
			snprintf(dir, sizeof(dir), "%.200s/%.300s", cwd, rel);
		}
	}
	snprintf(docroot, sizeof(docroot), "%s/www", dir);
	{
		char cmd[2400];

		snprintf(cmd, sizeof(cmd), "mkdir -p '%.500s/nginx/tmp' '%.600s' && printf 'hello, world\\n' > '%.600s/hello.txt'",
			 dir, docroot, docroot);
		if (system(cmd) != 0)
			return 1;
	}
	if (argc > 1 && strcmp(argv[1], "--serve") == 0)
		return demo_server(argc > 2 ? atoi(argv[2]) : 8080);
	if (argc > 1 && strcmp(argv[1], "--responsiveness") == 0) {
		ours = responsiveness();
		printf("responsiveness %.0f %.3f %.3f\n", ours.rps, ours.p50_ms, ours.p99_ms);
		return ours.ok ? 0 : 1;
	}
	if (access("/usr/bin/wrk", X_OK) != 0 || access("/usr/sbin/nginx", X_OK) != 0) {
		printf("bench: wrk and nginx are needed (harness/tools/deps.sh http)\n");
		return 0;
	}
	printf("lesson 10 bench: loopback, %ld CPUs online, load average %s (figures from a busy machine are noisy)\n",
	       sysconf(_SC_NPROCESSORS_ONLN), load_average());
	static_file(fig);

	printf("\n2. p99 of cheap requests (wrk -c8) while 4 clients keep GET /heavy busy (pool of 2)\n");
	ours = responsiveness();
	mutant = mutant_responsiveness(argv[0]);
	printf("  %-28s %12s %10s %10s\n", "server", "requests/s", "p50 ms", "p99 ms");
	printf("  %-28s %12.0f %10.2f %10.2f\n", "this implementation", ours.rps, ours.p50_ms, ours.p99_ms);
	if (mutant.ok)
		printf("  %-28s %12.0f %10.2f %10.2f   (p99 %.0fx)\n", "mutant heavy_on_loop", mutant.rps, mutant.p50_ms,
		       mutant.p99_ms, ours.p99_ms > 0 ? mutant.p99_ms / ours.p99_ms : 0);

	printf("\n3. Mandelbrot tiles (160x120, 600 iterations) per second, 4 clients\n");
	t1 = heavy_throughput(1);
	t2 = heavy_throughput(2);
	printf("  pool of 1: %.1f/s   pool of 2: %.1f/s   (x%.2f)\n", t1, t2, t1 > 0 ? t2 / t1 : 0);
	chart(fig, &ours, &mutant, t1, t2);
	return 0;
}
