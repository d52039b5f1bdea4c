/*
 * Description: a server under test in a child process (at_server.h) is
 * counted right from outside: its threads, its child processes, its
 * descriptors, the CPU it burns asleep or spinning; its end is reported in
 * words (returned, killed by a signal, exit()); the stop ends it either way;
 * and a client's wait ends at its deadline, or early when the server dies.
 */
#include "at_server.h"
#include "at_test.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(server, .timeout = 30);

/* ---- servers that do one thing each ---------------------------------- */

static void wait_stop(int stop_fd)
{
	struct pollfd p = { .fd = stop_fd, .events = POLLIN };

	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
}

static int sleeper(int listen_fd, int stop_fd, void *arg)
{
	(void)listen_fd;
	(void)arg;
	wait_stop(stop_fd);
	return 0;
}

static int spinner(int listen_fd, int stop_fd, void *arg)
{
	struct pollfd p = { .fd = stop_fd, .events = POLLIN };

	(void)listen_fd;
	(void)arg;
	while (poll(&p, 1, 0) == 0)
		;
	return 0;
}

static void *park(void *stop)
{
	wait_stop((int)(intptr_t)stop);
	return NULL;
}

static int three_threads(int listen_fd, int stop_fd, void *arg)
{
	pthread_t t[3];

	(void)listen_fd;
	(void)arg;
	for (int i = 0; i < 3; i++)
		if (pthread_create(&t[i], NULL, park, (void *)(intptr_t)stop_fd) != 0)
			return -1;
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	return 0;
}

static int two_children(int listen_fd, int stop_fd, void *arg)
{
	(void)listen_fd;
	(void)arg;
	for (int i = 0; i < 2; i++)
		if (fork() == 0) {
			pause(); /* until the group is killed */
			_exit(0);
		}
	wait_stop(stop_fd);
	return 0;
}

static int three_pipes(int listen_fd, int stop_fd, void *arg)
{
	int p[3][2];

	(void)listen_fd;
	(void)arg;
	for (int i = 0; i < 3; i++)
		if (pipe(p[i]) != 0)
			return -1;
	wait_stop(stop_fd);
	return 0; /* and never closes them */
}

static int not_implemented(int listen_fd, int stop_fd, void *arg)
{
	(void)listen_fd;
	(void)stop_fd;
	(void)arg;
	errno = ENOSYS;
	return -1;
}

static int writes_to_closed_pipe(int listen_fd, int stop_fd, void *arg)
{
	int p[2];

	(void)listen_fd;
	(void)stop_fd;
	(void)arg;
	if (pipe(p) != 0)
		return -1;
	close(p[0]);
	return write(p[1], "x", 1) == 1 ? 0 : -2; /* SIGPIPE first */
}

static int calls_exit(int listen_fd, int stop_fd, void *arg)
{
	(void)listen_fd;
	(void)stop_fd;
	(void)arg;
	exit(3);
}

static int deaf(int listen_fd, int stop_fd, void *arg)
{
	(void)listen_fd;
	(void)stop_fd;
	(void)arg;
	for (;;)
		pause();
	return 0;
}

/* Start fn; then poll `count` until it gives `want` (or 1 s passes). */
static int settle(struct at_server *s, int (*count)(struct at_server *), int want)
{
	int n = -1;

	for (int i = 0; i < 100 && (n = count(s)) != want; i++)
		at_sleep_ms(10);
	return n;
}

static int alive_count(struct at_server *s)
{
	return at_server_alive(s);
}

static void start(struct at_server *s, at_serve_fn fn)
{
	cr_assert(at_server_start(s, fn, NULL, NULL) == 0, "harness: %s", s->why);
}

/* Processes of process group `group` that are still running (not zombies
 * waiting for a parent to reap them). */
static int running_in_group(pid_t group)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)) != NULL) {
		char path[300], buf[512], *p, state;
		int pgrp;
		FILE *f;
		size_t len;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		if ((p = strrchr(buf, ')')) && sscanf(p + 1, " %c %*d %d", &state, &pgrp) == 2 &&
		    pgrp == group && state != 'Z')
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* ---- the tests --------------------------------------------------------- */

Test(server, counts_threads, .description = "one thread for a plain server, four for one that starts three")
{
	struct at_server a, b;
	int one, four;

	start(&a, sleeper);
	start(&b, three_threads);
	one = settle(&a, at_server_threads, 1);
	four = settle(&b, at_server_threads, 4);
	at_server_stop(&a, 300);
	at_server_stop(&b, 300);
	AT_MEASURED("threads: %d and %d", one, four);
	AT_CHECK(one == 1 && four == 4, "expected 1 and 4 threads");
	AT_END();
}

Test(server, counts_children, .description = "two forked children are counted, and the stop kills them with the server")
{
	struct at_server s;
	int kids, left;
	pid_t group;

	start(&s, two_children);
	kids = settle(&s, at_server_children, 2);
	group = s.pid;
	at_server_stop(&s, 300);
	for (int i = 0; i < 50 && (left = running_in_group(group)) > 0; i++)
		at_sleep_ms(10);
	AT_MEASURED("children: %d; the group %s after the stop", kids, left ? "lives on" : "is gone");
	AT_CHECK(kids == 2, "expected 2 children");
	AT_CHECK(!left, "the stop must kill the server's whole process group");
	AT_END();
}

Test(server, counts_fds, .description = "three pipes opened by the server show as six more descriptors")
{
	struct at_server a, b;
	int base, more;

	start(&a, sleeper);
	start(&b, three_pipes);
	for (int i = 0; i < 100 && (atomic_load(&a.report->state) != AT_SERVER_SERVING ||
				    atomic_load(&b.report->state) != AT_SERVER_SERVING); i++)
		at_sleep_ms(10);
	base = at_server_fds(&a);
	more = settle(&b, at_server_fds, base + 6);
	at_server_stop(&a, 300);
	at_server_stop(&b, 300);
	AT_MEASURED("descriptors: %d for a plain server, %d with three pipes", base, more);
	AT_CHECK(base > 0 && more == base + 6, "expected 6 more");
	AT_END();
}

Test(server, cpu_asleep_vs_spin, .description = "a server asleep in poll() burns ~0 CPU; one that spins burns most of the time")
{
	struct at_server a, b;
	int64_t a0, a1, b0, b1;

	start(&a, sleeper);
	start(&b, spinner);
	at_sleep_ms(20);
	a0 = at_server_cpu_ns(&a);
	b0 = at_server_cpu_ns(&b);
	at_sleep_ms(300);
	a1 = at_server_cpu_ns(&a);
	b1 = at_server_cpu_ns(&b);
	at_server_stop(&a, 300);
	at_server_stop(&b, 300);
	AT_MEASURED("CPU in 300 ms: asleep %.1f ms, spinning %.1f ms",
		    (double)(a1 - a0) / AT_NS_PER_MS, (double)(b1 - b0) / AT_NS_PER_MS);
	AT_CHECK(a0 >= 0 && b0 >= 0, "the CPU clocks must be readable");
	AT_CHECK(a1 - a0 < 5 * AT_NS_PER_MS, "a sleeping server must burn almost nothing");
	/* Even on a loaded CPU a spinner gets a fair share (>= 1/3 here). */
	AT_CHECK(b1 - b0 > 50 * AT_NS_PER_MS, "a spinning server must burn a lot");
	AT_END();
}

Test(server, fates_in_words, .description = "returned -1, killed by SIGPIPE, and exit() are each reported as such")
{
	struct at_server a, b, c;
	char fa[200], fb[200], fc[200];

	start(&a, not_implemented);
	start(&b, writes_to_closed_pipe);
	start(&c, calls_exit);
	settle(&a, alive_count, 0);
	settle(&b, alive_count, 0);
	settle(&c, alive_count, 0);
	at_server_fate(&a, fa, sizeof(fa));
	at_server_fate(&b, fb, sizeof(fb));
	at_server_fate(&c, fc, sizeof(fc));
	at_server_stop(&a, 300);
	at_server_stop(&b, 300);
	at_server_stop(&c, 300);
	AT_MEASURED("fates: \"%s\" / \"%s\" / \"%s\"", fa, fb, fc);
	AT_CHECK(strstr(fa, "returned -1") && strstr(fa, strerror(ENOSYS)), "want: returned -1 (%s)", strerror(ENOSYS));
	AT_CHECK(strstr(fb, "signal 13") != NULL, "want: killed by signal 13");
	AT_CHECK(strstr(fc, "status 3") && strstr(fc, "exit()"), "want: exited with status 3 ... exit()");
	AT_END();
}

Test(server, stop_or_kill, .description = "a server that watches stop_fd returns by itself; one that does not is killed at the deadline")
{
	struct at_server a, b;
	bool a_itself, b_itself;
	int64_t t0;
	double b_ms;

	start(&a, sleeper);
	start(&b, deaf);
	at_sleep_ms(20);
	a_itself = at_server_stop(&a, 1000);
	t0 = at_now_ns();
	b_itself = at_server_stop(&b, 200);
	b_ms = (double)(at_now_ns() - t0) / AT_NS_PER_MS;
	AT_MEASURED("stop: the sleeper returned by itself: %s (rc %d, fds %d -> %d); the deaf one was killed after %.0f ms",
		    a_itself ? "yes" : "no", a.report->rc, a.report->fds_before, a.report->fds_after, b_ms);
	AT_CHECK(a_itself && a.report->rc == 0 && a.report->fds_before == a.report->fds_after,
		 "the sleeper must return 0 by itself, holding what it held before");
	AT_CHECK(!b_itself && b.reaped && WIFSIGNALED(b.status), "the deaf server must be killed and reaped");
	AT_END();
}

Test(server, client_waits_end, .description = "a client's wait ends at its deadline, or early when the server dies")
{
	struct at_server a, b;
	char buf[16];
	bool eof;
	int fa, fb;
	int64_t t0;
	double waited_ms, early_ms;
	size_t got_a, got_b;

	start(&a, sleeper);
	start(&b, calls_exit);
	fa = at_client_connect(&a, 0);
	fb = at_client_connect(&b, 0);
	cr_assert(fa >= 0 && fb >= 0, "harness: connect failed");
	t0 = at_now_ns();
	got_a = at_client_recv(&a, fa, buf, sizeof(buf), 200, &eof);
	waited_ms = (double)(at_now_ns() - t0) / AT_NS_PER_MS;
	t0 = at_now_ns();
	got_b = at_client_recv(&b, fb, buf, sizeof(buf), 5000, &eof);
	early_ms = (double)(at_now_ns() - t0) / AT_NS_PER_MS;
	close(fa);
	close(fb);
	at_server_stop(&a, 300);
	at_server_stop(&b, 300);
	AT_MEASURED("recv: %zu bytes after %.0f ms (deadline 200); from a dead server %zu bytes after %.0f ms (deadline 5000)",
		    got_a, waited_ms, got_b, early_ms);
	AT_CHECK(got_a == 0 && waited_ms >= 190, "the wait must last until its deadline");
	AT_CHECK(got_b == 0 && early_ms < 2500, "a dead server must end the wait early");
	AT_END();
}
