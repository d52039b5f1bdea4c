/*
 * driver.h - lesson 10's sanitizer drivers (tsan_server.c, asan_server.c):
 * serve() on a thread of this process, and clients that go through every
 * path where the loop and the pool share memory: heavy requests pipelined
 * with cheap ones on many connections at once (jobs finishing together on
 * several workers, one wake-up for several jobs), clients that vanish while
 * their job runs (the connection closed, its job still to come home), and
 * a stop while jobs are out.
 *
 * Built by harness/mk/lesson.mk with the code under test, under
 * -fsanitize=thread or -fsanitize=address,undefined; run by the `races`
 * and `memory` tests. Nothing here judges the responses (the other tests
 * do): every socket has a receive timeout, and a failed exchange only ends
 * that client's turn.
 *
 * The stop comes while the job of a client that is gone is out, every time:
 * the job of GET /heavy?last has started, its client has reset, and the
 * server has closed that socket (or 2 s passed) when the stop is written.
 * The job holds for LAST_HOLD_MS, or until this driver has seen serve()
 * return. A serve() that waits for every job it started, as it must,
 * returns only after the hold. One that returned while the job still ran
 * (a thread that was never the pool's to wait for) is caught here, every
 * time, not by the luck of what that thread touches next.
 *
 * Exit status: 0 the run went through; 66 a sanitizer report; 3 the server
 * could not be exercised (serve() returned at once; the reason is printed);
 * 4 serve() did not return within 10 s of the stop; 5 serve() returned
 * while a heavy job was still running.
 */
#ifndef AT_DRIVER10_H
#define AT_DRIVER10_H

#include "given.h"
#include "server.h"
#include "at_time.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define N_CLIENTS 4
#define N_ROUNDS  40

static struct sockaddr_in addr;
static char root[64];
static int serve_rc = -2, serve_err;
static atomic_bool serve_done;
static atomic_int heavy_started, heavy_finished, last_started;
static atomic_bool last_release;   /* serve() returned and was judged */

#define LAST_HOLD_MS 1500

/* The C library's _exit (the drivers link with --wrap=_exit: at_driver_exit.c). */
void __real__exit(int status) __attribute__((noreturn));

/* A little real work, so that jobs overlap on the workers. */
/* Descriptors open in this process (the server's among them). */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void sleep_1ms(void)
{
	struct timespec t = { 0, 1000 * 1000 };

	nanosleep(&t, NULL);
}

static size_t drv_heavy(const char *query, char *out, size_t cap, void *arg)
{
	volatile unsigned long x = 0;
	int n;

	(void)arg;
	atomic_fetch_add(&heavy_started, 1);
	for (int i = 0; i < 20000; i++)
		x += (unsigned long)i * 7;
	if (strcmp(query, "last") == 0) {
		/* Out when the stop comes, and still out if serve() returns
		 * without waiting for it. */
		int64_t end = at_now_ns() + (int64_t)LAST_HOLD_MS * AT_NS_PER_MS;

		atomic_store(&last_started, 1);
		while (!atomic_load(&last_release) && at_now_ns() < end)
			sleep_1ms();
	} else if (strstr(query, "slow")) {
		/* long enough for its client to be gone before it is done */
		struct timespec t = { 0, 30 * 1000 * 1000 };

		nanosleep(&t, NULL);
	}
	n = snprintf(out, cap, "heavy %s\n", query);
	atomic_fetch_add(&heavy_finished, 1);
	return n > 0 ? (size_t)n : 0;
}

struct serve_args {
	int listen_fd, stop_fd;
};

static void *serve_thread(void *arg)
{
	struct serve_args *a = arg;
	struct server_config cfg = { .root = root, .workers = 3, .heavy = drv_heavy };

	serve_rc = serve(a->listen_fd, a->stop_fd, &cfg);
	serve_err = errno;
	atomic_store(&serve_done, true);
	return NULL;
}

static int client_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct timeval tv = { 2, 0 };

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void vanish(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* Read until `responses` whole responses (by Content-Length) or a failure. */
static int read_responses(int fd, int responses)
{
	char buf[8192];
	size_t got = 0;
	int done = 0;

	while (done < responses) {
		ssize_t k = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		char *end, *cl;

		if (k <= 0)
			return done;
		got += (size_t)k;
		buf[got] = '\0';
		while ((end = strstr(buf, "\r\n\r\n")) && (cl = strstr(buf, "Content-Length: ")) && cl < end) {
			size_t whole = (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10);

			if (got < whole)
				break;
			memmove(buf, buf + whole, got - whole);
			got -= whole;
			buf[got] = '\0';
			done++;
		}
		if (got >= sizeof(buf) - 1)
			return done;
	}
	return done;
}

static atomic_int answered;
/* A client waited 2 s for its answers in vain: the server is stuck (a
 * blocking call on the loop). No more rounds, which would each wait as
 * long: the stop comes next, and says the rest. */
static atomic_bool stalled;

static void *client(void *arg)
{
	int id = (int)(long)arg;

	for (int r = 0; r < N_ROUNDS && !atomic_load(&serve_done) && !atomic_load(&stalled); r++) {
		char req[512];
		int fd = client_connect(), n;

		if (fd < 0)
			continue;
		n = snprintf(req, sizeof(req),
			     "GET /heavy?c=%d&r=%d HTTP/1.1\r\nHost: d\r\n\r\n"
			     "GET /f.txt HTTP/1.1\r\nHost: d\r\n\r\n"
			     "GET /heavy?c=%d&r=%d&two HTTP/1.1\r\nHost: d\r\n\r\n"
			     "POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
			     id, r, id, r);
		if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
			close(fd);
			continue;
		}
		if (r % 4 == 1) {
			vanish(fd); /* gone at once: its job and its reset race */
			continue;
		}
		if (r % 4 == 3) {
			/* Gone while its jobs run: a slow one, surely submitted
			 * (its cheap response came back) before the reset. */
			static const char slow[] = "GET /heavy?slow HTTP/1.1\r\n\r\nGET /f.txt HTTP/1.1\r\n\r\n";

			if (read_responses(fd, 4) < 4)
				atomic_store(&stalled, true);
			if (send(fd, slow, sizeof(slow) - 1, MSG_NOSIGNAL) > 0) {
				struct timespec t = { 0, 5 * 1000 * 1000 };

				nanosleep(&t, NULL);
			}
			vanish(fd);
			continue;
		}
		n = read_responses(fd, 4);
		atomic_fetch_add(&answered, n);
		if (n < 4)
			atomic_store(&stalled, true);
		close(fd);
	}
	return NULL;
}

#define ROOT_DIR  "/tmp"
#define ROOT_NAME "atonce10-drv-"   /* then the pid of the run */

/* Remove the folders of earlier runs whose process is gone. */
static void sweep_roots(void)
{
	DIR *d = opendir(ROOT_DIR);
	struct dirent *e;
	char path[300];

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		long pid;

		if (strncmp(e->d_name, ROOT_NAME, strlen(ROOT_NAME)) != 0)
			continue;
		pid = strtol(e->d_name + strlen(ROOT_NAME), &end, 10);
		if (*end || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), ROOT_DIR "/%s/f.txt", e->d_name);
		unlink(path);
		snprintf(path, sizeof(path), ROOT_DIR "/%s", e->d_name);
		rmdir(path);
	}
	closedir(d);
}

int main(void)
{
	struct serve_args a;
	pthread_t st, ct[N_CLIENTS];
	socklen_t len = sizeof(addr);
	uint64_t one = 1;
	char path[128];
	FILE *f;
	int held;

	/* One folder per run: two drivers may run at once (make test runs
	 * two implementations side by side, each removes its folder at the
	 * end). A run that a sanitizer ends half-way leaves its own behind:
	 * the next run sweeps those first. */
	sweep_roots();
	snprintf(root, sizeof(root), ROOT_DIR "/" ROOT_NAME "%d", (int)getpid());
	mkdir(root, 0755);
	snprintf(path, sizeof(path), "%s/f.txt", root);
	if (!(f = fopen(path, "w")))
		return 3;
	fputs("a file\n", f);
	fclose(f);

	addr = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	a.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	a.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a.listen_fd < 0 || a.stop_fd < 0 || bind(a.listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    getsockname(a.listen_fd, (struct sockaddr *)&addr, &len) != 0 || listen(a.listen_fd, 256) != 0) {
		perror("driver: listener");
		return 3;
	}
	if (pthread_create(&st, NULL, serve_thread, &a) != 0)
		return 3;
	for (long i = 0; i < N_CLIENTS; i++)
		pthread_create(&ct[i], NULL, client, (void *)i);
	for (int i = 0; i < N_CLIENTS; i++)
		pthread_join(ct[i], NULL);
	/* The stop while jobs are out: one more heavy pipeline, left unread. */
	held = atomic_load(&stalled) ? -1 : client_connect();
	if (held >= 0) {
		static const char req[] = "GET /heavy?last HTTP/1.1\r\n\r\nGET /heavy?last2 HTTP/1.1\r\n\r\n";

		if (send(held, req, sizeof(req) - 1, MSG_NOSIGNAL) < 0)
			perror("driver: send");
		/* Its job out (10 s at most), the client goes, and the
		 * server closes its side (2 s at most): then the stop. */
		for (int i = 0; i < 10000 && !atomic_load(&last_started) && !atomic_load(&serve_done); i++)
			sleep_1ms();
		int fds = open_fds();
		struct linger rst = { .l_onoff = 1, .l_linger = 0 };

		/* Gone for good: a reset, not a half-close a server may wait out. */
		setsockopt(held, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
		close(held);
		held = -1;
		for (int i = 0; i < 2000 && open_fds() > fds - 2 && !atomic_load(&serve_done); i++)
			sleep_1ms();
	}
	if (write(a.stop_fd, &one, sizeof(one)) != sizeof(one))
		return 3;
	for (int i = 0; i < 1000 && !atomic_load(&serve_done); i++) {
		struct timespec t = { 0, 10 * 1000 * 1000 };

		nanosleep(&t, NULL);
	}
	if (held >= 0)
		close(held);
	unlink(path);
	rmdir(root);
	if (!atomic_load(&serve_done)) {
		fprintf(stderr, "driver: serve() did not return within 10 s of the stop\n");
		return 4;
	}
	pthread_join(st, NULL);
	/* Judged before the held job is let go: it cannot end meanwhile. */
	if (atomic_load(&heavy_started) != atomic_load(&heavy_finished)) {
		fprintf(stderr, "driver: serve() returned while %d heavy job(s) still ran: a job's thread outlives the server it reports to\n",
			atomic_load(&heavy_started) - atomic_load(&heavy_finished));
		/* At once, past the exit handlers and the leak check: a job
		 * thread still running must not get to speak first. */
		__real__exit(5);
	}
	atomic_store(&last_release, true);
	if (atomic_load(&answered) == 0) {
		fprintf(stderr, "driver: no response at all (serve() returned %d: %s)\n", serve_rc, strerror(serve_err));
		return 3;
	}
	printf("driver: %d responses, serve() returned %d\n", atomic_load(&answered), serve_rc);
	return 0;
}

#endif
