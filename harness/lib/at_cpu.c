/*
 * at_cpu.c - usable CPUs and the CPU/wall ratio (see at_cpu.h).
 */
#include "at_cpu.h"
#include "at_time.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

struct at_ratio at_measure_ratio(void (*fn)(void *), void *arg)
{
	struct at_ratio r;
	int64_t c0 = at_process_cpu_ns(), w0 = at_now_ns();

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

enum at_verdict at_parallel_by_ratio(void (*fn)(void *), void *arg, double bar,
				     int tries, struct at_ratio *best,
				     char *why, size_t whylen)
{
	char cpus[128];
	double calib;

	best->cpu_s = best->wall_s = best->ratio = 0;
	if (at_usable_cpus(cpus, sizeof(cpus)) < 2) {
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
	 * Ask the machine: can two busy threads of our own reach the bar? */
	calib = at_calibrate_ratio(200);
	if (calib < bar) {
		snprintf(why, whylen, "the machine is overloaded: two busy threads of the harness reached only %.2fx CPU/wall (bar %.2fx), so this check cannot judge; best run %.2fx",
			 calib, bar, best->ratio);
		return AT_SKIP;
	}
	snprintf(why, whylen, "best of %d runs: CPU time %.2f s in %.2f s of wall time (%.2fx, bar %.2fx; the harness's own two threads reach %.2fx here)",
		 tries, best->cpu_s, best->wall_s, best->ratio, bar, calib);
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
