/*
 * at_cpu.c - usable CPUs and the CPU/wall ratio (see at_cpu.h).
 */
#include "at_cpu.h"
#include "at_time.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int at_parse_cpu_max(const char *text)
{
	char quota[32];
	long long period;
	double cpus;

	if (sscanf(text, "%31s %lld", quota, &period) != 2 || period <= 0)
		return 0;
	if (strcmp(quota, "max") == 0)
		return -1;
	cpus = atof(quota) / (double)period;
	if (cpus <= 0)
		return 0;
	/* A quota of 1.5 CPUs cannot keep two threads running all the time:
	 * round down, so that a parallelism check is never asked of it. */
	return cpus < 1 ? 1 : (int)cpus;
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -1;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	return ok ? 0 : -1;
}

/* The tightest cgroup v2 quota from our cgroup up to the root; -1: none. */
static int cgroup_v2_cpus(void)
{
	char line[4096], path[4400], text[128];
	int best = -1;

	if (read_line("/proc/self/cgroup", line, sizeof(line)) != 0 ||
	    strncmp(line, "0::", 3) != 0)
		return -1;
	line[strcspn(line, "\n")] = '\0';
	/* Walk up: a quota on any ancestor applies to us too. */
	for (char *dir = line + 3;;) {
		char *slash;

		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cpu.max", dir);
		if (read_line(path, text, sizeof(text)) == 0) {
			int n = at_parse_cpu_max(text);

			if (n > 0 && (best < 0 || n < best))
				best = n;
		}
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = '\0';
	}
	return best;
}

/* cgroup v1: cpu.cfs_quota_us / cpu.cfs_period_us; -1: none. */
static int cgroup_v1_cpus(void)
{
	char q[64], p[64], text[160];

	if (read_line("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", q, sizeof(q)) != 0 ||
	    read_line("/sys/fs/cgroup/cpu/cpu.cfs_period_us", p, sizeof(p)) != 0)
		return -1;
	if (atoll(q) < 0)
		return -1;
	q[strcspn(q, "\n")] = '\0';
	snprintf(text, sizeof(text), "%s %s", q, p);
	return at_parse_cpu_max(text);
}

int at_usable_cpus(char *why, size_t whylen)
{
	cpu_set_t set;
	int affinity = 1, quota, usable;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		affinity = CPU_COUNT(&set);
	quota = cgroup_v2_cpus();
	if (quota < 0)
		quota = cgroup_v1_cpus();
	usable = (quota > 0 && quota < affinity) ? quota : affinity;
	if (usable < 1)
		usable = 1;
	if (why) {
		char q[48] = "no cgroup CPU quota";

		if (quota > 0)
			snprintf(q, sizeof(q), "cgroup quota allows %d", quota);
		snprintf(why, whylen, "%d CPU%s usable (affinity allows %d, %s)",
			 usable, usable == 1 ? "" : "s", affinity, q);
	}
	return usable;
}

/* Without Criterion (the grader's probe, the pictures): say it and stop.
 * Test programs get at_test.c's version, which fails the test instead. */
__attribute__((weak)) void at_shared_run_violation(const char *message)
{
	fprintf(stderr, "%s\n", message);
	abort();
}

/* Without Criterion nothing names the test (at_test.c's version does). */
__attribute__((weak)) const char *at_current_test(void)
{
	return NULL;
}

static bool in_shared_run(void)
{
	const char *shared = getenv("ATONCE_SHARED_RUN");

	return shared && strcmp(shared, "1") == 0;
}

bool at_trial_run(void)
{
	const char *list = getenv("ATONCE_TRIAL_TESTS"), *me = at_current_test();
	size_t n;

	if (!in_shared_run() || !list || !me || !*me)
		return false;
	n = strlen(me);
	for (const char *p = list; (p = strstr(p, me)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

void at_need_machine(const char *what)
{
	char msg[400];

	if (!in_shared_run() || at_trial_run())
		return;
	snprintf(msg, sizeof(msg),
		 "this test uses %s, which needs the CPUs to itself, but it ran beside other programs "
		 "(ATONCE_SHARED_RUN=1): name it in EXCLUSIVE_TESTS in its lesson's harness/NN-name/lesson.mk", what);
	at_shared_run_violation(msg);
}

struct at_ratio at_measure_ratio(void (*fn)(void *), void *arg)
{
	struct at_ratio r;
	int64_t c0, w0;

	at_need_machine("a CPU/wall ratio");
	c0 = at_process_cpu_ns();
	w0 = at_now_ns();

	fn(arg);
	r.cpu_s = (double)(at_process_cpu_ns() - c0) / AT_NS_PER_S;
	r.wall_s = (double)(at_now_ns() - w0) / AT_NS_PER_S;
	r.ratio = r.wall_s > 0 ? r.cpu_s / r.wall_s : 0.0;
	return r;
}

void at_burn_ms(int ms)
{
	int64_t end = at_now_ns() + (int64_t)ms * AT_NS_PER_MS;
	volatile unsigned long sink = 0;

	while (at_now_ns() < end)
		for (int i = 0; i < 1000; i++)
			sink += (unsigned long)i;
}

static void *burner(void *arg)
{
	at_burn_ms(*(int *)arg);
	return NULL;
}

static void two_burners(void *arg)
{
	pthread_t t;
	int created = pthread_create(&t, NULL, burner, arg) == 0;

	burner(arg);
	if (created)
		pthread_join(t, NULL);
}

double at_calibrate_ratio(int ms)
{
	return at_measure_ratio(two_burners, &ms).ratio;
}

int at_usable_cpus_at_start(void)
{
	cpu_set_t set;
	int affinity, quota, usable;

	/* The parent is the runner: it forks each test and runs no code under
	 * test. Where it cannot be asked, fall back to this process. */
	if (sched_getaffinity(getppid(), sizeof(set), &set) != 0 &&
	    sched_getaffinity(0, sizeof(set), &set) != 0)
		return 1;
	affinity = CPU_COUNT(&set);
	quota = cgroup_v2_cpus();
	if (quota < 0)
		quota = cgroup_v1_cpus();
	usable = (quota > 0 && quota < affinity) ? quota : affinity;
	return usable < 1 ? 1 : usable;
}

/* CPU time (user + system) of every process descended from this one, in
 * ns, from /proc: a child that spins is a load of the code's own. */
static int64_t descendants_cpu_ns(void)
{
	enum { MAXP = 4096 };
	static pid_t pid[MAXP], ppid[MAXP];
	static int64_t ticks[MAXP];
	static bool mine[MAXP];
	long hz = sysconf(_SC_CLK_TCK);
	int n = 0, grew = 1;
	int64_t sum = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL && n < MAXP) {
		char path[300], buf[1024], *p;
		unsigned long ut, st;
		int pp, fd;
		ssize_t len;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		/* After the last ')': state ppid ... utime(14) stime(15). */
		if (!(p = strrchr(buf, ')')) ||
		    sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &pp, &ut, &st) != 3)
			continue;
		pid[n] = (pid_t)atoi(e->d_name);
		ppid[n] = pp;
		ticks[n] = (int64_t)(ut + st);
		mine[n] = pp == getpid();
		n++;
	}
	closedir(d);
	while (grew) {         /* grandchildren and further */
		grew = 0;
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n && !mine[i]; j++)
				if (mine[j] && ppid[i] == pid[j])
					mine[i] = true, grew = 1;
	}
	for (int i = 0; i < n; i++)
		if (mine[i])
			sum += ticks[i];
	return hz > 0 ? sum * (AT_NS_PER_S / hz) : 0;
}

struct burn_clock {
	int ms;
	int64_t cpu_ns;   /* the burner thread's own CPU time */
};

static void *clocked_burner(void *arg)
{
	struct burn_clock *b = arg;
	int64_t c0 = at_thread_cpu_ns();

	at_burn_ms(b->ms);
	b->cpu_ns = at_thread_cpu_ns() - c0;
	return NULL;
}

enum at_machine at_judge_machine(double bar, char *why, size_t whylen)
{
	struct burn_clock b[2] = { { 300, 0 }, { 300, 0 } };
	pthread_t t[2];
	int started = 0, now, at_start;
	int64_t w0, wall, p0, proc, k0, kids, me0, me;
	double ratio, own;
	char cpus[128];

	at_need_machine("the machine judge (at_judge_machine)");
	if (at_trial_run()) {
		/* Only a pass counts in a trial, and the judge is asked only on
		 * the way to a skip or a failure: the machine alone decides. */
		at_shared_run_violation("not shown in this trial beside other programs (ATONCE_TRIAL_TESTS): "
					"the grader measures this test again with the machine alone");
		snprintf(why, whylen, "a trial beside other programs");
		return AT_MACHINE_BUSY;
	}
	now = at_usable_cpus(cpus, sizeof(cpus));
	at_start = at_usable_cpus_at_start();
	if (now < 2 && at_start >= 2) {
		snprintf(why, whylen, "the code under test narrowed its own process to %d CPU (%s) though the test started with %d: that is no reason not to judge",
			 now, cpus, at_start);
		return AT_MACHINE_SELF;
	}
	if (now < 2) {
		snprintf(why, whylen, "%s: parallelism cannot be shown here", cpus);
		return AT_MACHINE_BUSY;
	}
	w0 = at_now_ns();
	p0 = at_process_cpu_ns();
	me0 = at_thread_cpu_ns();
	k0 = descendants_cpu_ns();
	/* Explicit attributes, on the CPUs the runner had: nothing the code
	 * under test set as a default may shape the harness's burners. */
	{
		pthread_attr_t attr;
		cpu_set_t set;
		bool have = pthread_attr_init(&attr) == 0;

		if (have && (sched_getaffinity(getppid(), sizeof(set), &set) == 0 ||
			     sched_getaffinity(0, sizeof(set), &set) == 0))
			(void)pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		for (int i = 0; i < 2; i++)
			started += pthread_create(&t[i], have ? &attr : NULL, clocked_burner, &b[i]) == 0;
		if (have)
			pthread_attr_destroy(&attr);
	}
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	wall = at_now_ns() - w0;
	me = at_thread_cpu_ns() - me0;
	kids = descendants_cpu_ns() - k0;
	proc = at_process_cpu_ns() - p0;
	ratio = wall > 0 ? (double)(b[0].cpu_ns + b[1].cpu_ns) / (double)wall : 0;
	/* What ran meanwhile besides our two burners and this thread (asleep
	 * in join): threads of the code under test, and its child processes. */
	own = wall > 0 ? (double)(proc - b[0].cpu_ns - b[1].cpu_ns - me + kids) / (double)wall : 0;
	if (started < 2) {
		snprintf(why, whylen, "the harness could not start its two calibration threads");
		return AT_MACHINE_BUSY;
	}
	/* Its own load: more than a sliver of a CPU, or (on a crowded machine,
	 * where every thread gets only a sliver) half of what one of our
	 * burners got: it competed with the harness like any other program. */
	if (own > 0.15 || (own > 0.02 && own > ratio / 4)) {
		snprintf(why, whylen, "while the harness measured the machine, the code under test itself kept %.2f CPUs busy (its own threads or processes, still running): a load of its own is no reason to skip",
			 own);
		return AT_MACHINE_SELF;
	}
	/* "the machine is overloaded" is how `make audit` (harness/tools/
	 * audit.sh) tells a skip for load from a steady one: keep the words. */
	if (ratio < bar) {
		snprintf(why, whylen, "the machine is overloaded: two busy threads of the harness reached only %.2fx CPU/wall (%.2fx needed), and the code under test was idle meanwhile, so other programs hold the CPUs",
			 ratio, bar);
		return AT_MACHINE_BUSY;
	}
	snprintf(why, whylen, "two busy threads of the harness reach %.2fx CPU/wall here", ratio);
	return AT_MACHINE_FREE;
}

enum at_verdict at_parallel_by_ratio(void (*fn)(void *), void *arg, double bar,
				     int tries, struct at_ratio *best,
				     char *why, size_t whylen)
{
	char cpus[128];

	best->cpu_s = best->wall_s = best->ratio = 0;
	if (at_usable_cpus(cpus, sizeof(cpus)) < 2 && at_usable_cpus_at_start() < 2) {
		snprintf(why, whylen, "%s: parallelism cannot be shown here", cpus);
		return AT_SKIP;
	}
	for (int i = 0; i < tries; i++) {
		struct at_ratio r = at_measure_ratio(fn, arg);

		if (r.ratio > best->ratio)
			*best = r;
		if (r.ratio >= bar) {
			snprintf(why, whylen, "CPU time %.2f s in %.2f s of wall time (%.2fx, bar %.2fx)",
				 r.cpu_s, r.wall_s, r.ratio, bar);
			return AT_YES;
		}
	}
	/* Correct code can fall short when other programs hold the CPUs.
	 * Ask the machine: can two busy threads of our own reach the bar,
	 * with the code under test idle? */
	{
		char m[400];
		enum at_machine st = at_judge_machine(bar, m, sizeof(m));

		if (st == AT_MACHINE_BUSY) {
			snprintf(why, whylen, "%s; best run %.2fx", m, best->ratio);
			return AT_SKIP;
		}
		snprintf(why, whylen, "best of %d runs: CPU time %.2f s in %.2f s of wall time (%.2fx, bar %.2fx); %s",
			 tries, best->cpu_s, best->wall_s, best->ratio, bar, m);
	}
	return AT_NO;
}

int at_pin_to_one_cpu(void)
{
	cpu_set_t set, one;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -1;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		return sched_setaffinity(0, sizeof(one), &one) == 0 ? c : -1;
	}
	return -1;
}
