/*
 * Description: lesson 09 - does heat_run() split the rod across ranks that
 * are separate processes (distinct pids, each computing exactly its own
 * block, blocks balanced when the rank count does not divide the rod), get
 * the sequential loop's answer bit for bit on 1 to 4 ranks, exchange halos
 * in a way that cannot deadlock even when every send is synchronous, post
 * the exchange before the interior and wait for it after, stop at the same
 * step on every rank, run on Open MPI as on MPICH, and scale on a simulated
 * cluster of 64 nodes?
 *
 * The code under test runs inside MPI jobs (harness/09-message-passing/
 * mpi_driver.c, built per MPI by lesson.mk), never in this process. A job
 * runs one or more problems in turn (runs), each on a communicator of the
 * job's first ranks: one launch of MPI costs more than all of a test's
 * problems. Each job is started in a process group of its own and killed
 * at the deadline of the run under way. While it runs, every rank
 * publishes in a shared file whether it is blocked in MPI and on whom
 * (pmpi_wrap.c): when every rank of the run still in heat_run() is
 * blocked and nothing has moved for STALL_MS, nothing can move again, and
 * the test reports the cycle instead of waiting.
 */
#include "at_test.h"
#include "heat.h"
#include "heat_wire.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define JOB_MS      30000   /* the most any one run of a job may take */
#define STALL_MS    3000    /* every rank blocked, nothing moving: a deadlock */
#define NET_S       45      /* coreutils timeout around a job of one run (JOB_MS more
                               per further run), should this test die */
#define MAX_RANKS   64
#define ALPHA       0.3     /* the harness's physics (not the chapter's 0.25) */
#define SIM_N       16384   /* the simulated rod ... */
#define SIM_STEPS   20
#define SIM_FLOPS   1000.0  /* ... each cell costing this many flops ... */
#define SIM_SPEED   1e9     /* ... on nodes of 1 Gflop/s (cluster.xml) */

TestSuite(heat, .timeout = 150);

/* Inside loops: an assertion only when it fails (each passing assertion is
 * a message to the runner, and a rod has thousands of cells). */
#define AT_REQUIRE(cond, ...) do { if (!(cond)) AT_CHECK(0, __VA_ARGS__); } while (0)

/* ---- the MPIs ----------------------------------------------------------- */

enum flavour { F_MPICH, F_OPENMPI, F_SMPI };
static const char *const flavour_name[] = { "MPICH", "Open MPI", "SimGrid SMPI" };
static const char *const flavour_prog[] = { "heat-mpich", "heat-openmpi", "heat-smpi" };

static const char *out_dir(void)
{
	const char *o = getenv("ATONCE_OUT");

	return o && *o ? o : "/tmp";
}

static bool have(enum flavour f)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/mpi/%s", out_dir(), flavour_prog[f]);
	return access(path, X_OK) == 0;
}

/* The real MPI the tests use: MPICH (starts in ~50 ms), else Open MPI. */
static enum flavour real_mpi(void)
{
	if (have(F_MPICH))
		return F_MPICH;
	if (have(F_OPENMPI))
		return F_OPENMPI;
	AT_SKIP("no MPI program was built: neither MPICH (mpicc.mpich) nor Open MPI (mpicc.openmpi) is "
		"installed (harness/tools/deps.sh mpi installs them)");
	return F_MPICH;
}

/* ---- one job, several runs ----------------------------------------------- */

/*
 * A job is one launch of MPI; it runs its problems in turn, each on the
 * first ranks of the job (mpi_driver.c): launching costs about half a
 * CPU-second, whatever the job then does, far more than these problems.
 */
#define MAX_RUNS WIRE_MAX_RUNS

struct ev {
	int kind, a, b;
};

struct rank_info {
	bool reported;
	int pid, size, first, count, rc, steps;
	double time;
	int n_ev;
	struct ev *ev;
};

/* One problem of a job, heat_run() on its first `ranks` ranks, and what came of it. */
struct run {
	/* the problem */
	int ranks, n, max_steps, kind;
	double tol;
	/* what happened */
	bool timed_out, deadlock; /* the job was killed during this run */
	char why[1024];           /* deadlock: who waits on whom */
	char world[96];           /* who called MPI on MPI_COMM_WORLD instead of comm, or "" */
	struct rank_info r[MAX_RANKS];
	double *grid;             /* rank 0's rod, n values, or NULL */
};

struct job {
	enum flavour f;
	double flops;
	bool sync_sim;            /* SMPI: every send synchronous */
	int ranks;                /* as many as its largest run needs */
	int n_runs;
	struct run run[MAX_RUNS];
	/* what happened */
	bool started;             /* the code under test was called */
	int status;               /* the launcher's wait status */
	char out[4096];           /* the end of the launcher's output */
};

/* One more problem for the job (runs in the order added). */
static struct run *add_run(struct job *j, int ranks, int n, int max_steps, double tol, int kind)
{
	struct run *u = &j->run[j->n_runs];

	cr_assert(j->n_runs < MAX_RUNS && ranks >= 1 && ranks <= MAX_RANKS, "a job of more than %d runs or %d ranks",
		  MAX_RUNS, MAX_RANKS);
	j->n_runs++;
	u->ranks = ranks, u->n = n, u->max_steps = max_steps, u->tol = tol, u->kind = kind;
	if (ranks > j->ranks)
		j->ranks = ranks;
	return u;
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX + 300];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(dir);
}

/* Who waits on whom, from one run's live slots: "rank 0 is blocked in
 * MPI_Send, sending to rank 1; rank 1 ...", and the cycle when there is one;
 * "" when no rank is blocked in MPI. */
static void describe_stall(const struct wire_slot *slot, int ranks, char *buf, size_t len)
{
	size_t o = 0;
	int next[WIRE_MAX_RANKS], waiting = 0;

	buf[0] = '\0';
	for (int r = 0; r < ranks && r < WIRE_MAX_RANKS; r++) {
		const struct wire_slot *s = &slot[r];

		next[r] = -1;
		if (s->phase >= PH_RETURNED)
			o += snprintf(buf + o, len - o, "rank %d has returned from heat_run() after %d step(s); ",
				      r, s->steps);
		else if (s->phase == PH_START)
			o += snprintf(buf + o, len - o, "rank %d has not called heat_run() yet; ", r);
		else if (!s->waiting)
			/* Its op and peer are those of its last wait, if any. */
			o += snprintf(buf + o, len - o, "rank %d is in heat_run(), not blocked in MPI; ", r);
		else if (s->peer == WIRE_ALL)
			o += snprintf(buf + o, len - o, "rank %d is in %.23s, waiting for every rank; ", r, s->op);
		else if (s->peer >= 0) {
			next[r] = s->peer;
			o += snprintf(buf + o, len - o, "rank %d is blocked in %.23s, on a %s rank %d; ", r, s->op,
				      s->peer_send ? "send to" : "receive from", s->peer);
		} else
			o += snprintf(buf + o, len - o, "rank %d is blocked in %.23s; ", r, s->op);
		waiting += s->phase == PH_RUNNING && s->waiting;
		if (o >= len)
			return;
	}
	if (!waiting) {
		buf[0] = '\0';   /* nobody waits on anybody: no stall to describe */
		return;
	}
	/* Follow "waits on" from each rank: a rank seen twice closes a cycle. */
	for (int start = 0; start < ranks && start < WIRE_MAX_RANKS; start++) {
		int seen[WIRE_MAX_RANKS] = { 0 }, r = start, k = 0;

		while (r >= 0 && r < ranks && !seen[r]) {
			seen[r] = ++k;
			r = next[r];
		}
		if (r >= 0 && r < ranks && seen[r]) {
			int c = r;

			o += snprintf(buf + o, len - o, "a cycle: rank %d", c);
			do {
				c = next[c];
				if (o < len)
					o += snprintf(buf + o, len - o, " -> rank %d", c);
			} while (c != r && o < len);
			return;
		}
	}
	if (o >= 2 && o < len)
		buf[o - 2] = '\0';   /* no cycle: drop the last "; " */
}

/* Read one rank's OUTDIR/run-K.rank-R.txt. */
static void collect_rank(struct rank_info *ri, const char *path)
{
	char line[256];
	FILE *f = fopen(path, "r");
	int cap = 0;

	if (!f)
		return;
	ri->reported = true;
	while (fgets(line, sizeof(line), f)) {
		struct ev e;

		if (sscanf(line, "ev %d %d %d", &e.kind, &e.a, &e.b) == 3) {
			if (ri->n_ev == cap) {
				cap = cap ? 2 * cap : 1024;
				ri->ev = realloc(ri->ev, (size_t)cap * sizeof(*ri->ev));
				cr_assert(ri->ev, "out of memory");
			}
			ri->ev[ri->n_ev++] = e;
		} else if (sscanf(line, "pid %d", &ri->pid) == 1 || sscanf(line, "size %d", &ri->size) == 1 ||
			   sscanf(line, "block %d %d", &ri->first, &ri->count) == 2 ||
			   sscanf(line, "rc %d", &ri->rc) == 1 || sscanf(line, "steps %d", &ri->steps) == 1 ||
			   sscanf(line, "time %lf", &ri->time) == 1) {
		}
	}
	fclose(f);
}

/* Run k's files: every rank's report and rank 0's rod. */
static void collect_run(struct run *u, const char *dir, int k)
{
	char path[PATH_MAX + 64];
	FILE *f;

	for (int r = 0; r < u->ranks; r++) {
		snprintf(path, sizeof(path), WIRE_RANK_FILE, dir, k, r);
		collect_rank(&u->r[r], path);
	}
	snprintf(path, sizeof(path), WIRE_GRID_FILE, dir, k);
	f = fopen(path, "rb");
	if (f) {
		u->grid = calloc((size_t)u->n, sizeof(double));
		if (u->grid && fread(u->grid, sizeof(double), (size_t)u->n, f) != (size_t)u->n) {
			free(u->grid);
			u->grid = NULL;
		}
		fclose(f);
	}
}

/* Read every run's files, and the end of the launcher's output. */
static void collect(struct job *j, const char *dir)
{
	char path[PATH_MAX + 64];
	FILE *f;

	for (int k = 0; k < j->n_runs; k++)
		collect_run(&j->run[k], dir, k);
	snprintf(path, sizeof(path), "%s/started", dir);
	if (j->f == F_SMPI && access(path, F_OK) == 0)
		j->started = true;
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	f = fopen(path, "r");
	if (f) {
		static char all[1 << 16];
		size_t got = fread(all, 1, sizeof(all) - 1, f);
		const char *tail;

		all[got] = '\0';
		tail = got > sizeof(j->out) - 1 ? all + got - (sizeof(j->out) - 1) : all;
		memcpy(j->out, tail, strlen(tail) + 1);
		fclose(f);
	}
}

static void kill_job(pid_t pg, const struct wire *w)
{
	kill(-pg, SIGKILL);
	for (int k = 0; w && k < WIRE_MAX_RUNS; k++)
		for (int r = 0; r < WIRE_MAX_RANKS; r++)
			if (w->slot[k][r].pid > 0)
				kill(w->slot[k][r].pid, SIGKILL);
}

/* exec the launcher with the driver and its runs (in the child). */
static void launch(const struct job *j, const char *dir)
{
	static char prog[PATH_MAX], platform[PATH_MAX], hosts[PATH_MAX], np[16], net[16], alarm_s[16],
		alpha[64], flops[64], spec[MAX_RUNS][128], out[PATH_MAX + 64];
	const char *argv[32 + MAX_RUNS];
	int fd, a = 0;

	snprintf(prog, sizeof(prog), "%s/mpi/%s", out_dir(), flavour_prog[j->f]);
	snprintf(platform, sizeof(platform), "%s/mpi/cluster.xml", out_dir());
	snprintf(hosts, sizeof(hosts), "%s/mpi/hosts.txt", out_dir());
	snprintf(np, sizeof(np), "%d", j->ranks);
	/* The nets, should this test die: each run may take up to JOB_MS. */
	snprintf(net, sizeof(net), "%d", NET_S + JOB_MS / 1000 * (j->n_runs - 1));
	snprintf(alarm_s, sizeof(alarm_s), "%d", NET_S + 15 + JOB_MS / 1000 * (j->n_runs - 1));
	snprintf(alpha, sizeof(alpha), "%.17g", ALPHA);
	snprintf(flops, sizeof(flops), "%.17g", j->flops);
	snprintf(out, sizeof(out), "%s/out.txt", dir);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0) {
		dup2(fd, 0);
		close(fd);
	}
	/* What a cluster's admin would set once, not the student: Open MPI as
	 * root, more ranks than cores, no ssh and no CMA in a container. */
	setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
	setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
	setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
	setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 1);
	setenv("OMPI_MCA_plm", "isolated", 1);
	setenv("OMPI_MCA_mpi_yield_when_idle", "1", 1);
	/* Starting the ranks was most of a job's CPU time. On one machine no
	 * job needs what these find: hwloc's plugins (GPUs, PCI, XML) and its
	 * reading of every PCI device's config space, Open MPI's UCX layer
	 * (its shared-memory transport, vader, is the one used), and MPICH's
	 * own shared-memory setup, whose barrier spins while the other ranks
	 * start (with NOLOCAL, UCX's shared memory carries the messages).
	 * A 4-rank job of MPICH: 0.65 -> 0.28 CPU-s; of Open MPI, 3 ranks:
	 * 0.55 -> 0.40. The code under test sees the same MPI either way. */
	setenv("HWLOC_PLUGINS_BLACKLIST", "hwloc_gl,hwloc_opencl,hwloc_pci,hwloc_xml_libxml", 1);
	setenv("HWLOC_COMPONENTS", "-linuxio", 1);
	setenv("OMPI_MCA_pml", "ob1", 1);
	setenv("OMPI_MCA_btl", "self,vader", 1);
	setenv("MPIR_CVAR_NOLOCAL", "1", 1);
	argv[a++] = "timeout", argv[a++] = "-k", argv[a++] = "2", argv[a++] = net;
	switch (j->f) {
	case F_MPICH:
		argv[a++] = "mpirun.mpich", argv[a++] = "-n", argv[a++] = np;
		break;
	case F_OPENMPI:
		argv[a++] = "mpirun.openmpi", argv[a++] = "-n", argv[a++] = np;
		break;
	case F_SMPI:
		/* Simulated time only: the real CPU time of the code is not
		 * measured (it depends on this machine's load); the kernel
		 * declares each cell's flops instead. */
		argv[a++] = "smpirun", argv[a++] = "-np", argv[a++] = np, argv[a++] = "-platform";
		argv[a++] = platform, argv[a++] = "-hostfile", argv[a++] = hosts;
		argv[a++] = "--cfg=smpi/simulate-computation:no", argv[a++] = "--cfg=smpi/host-speed:1Gf";
		argv[a++] = j->sync_sim ? "--cfg=smpi/send-is-detached-thresh:0" : "--cfg=smpi/send-is-detached-thresh:65536";
		argv[a++] = "--log=root.thres:critical", argv[a++] = "--log=ker_engine.thres:info";
		break;
	}
	argv[a++] = prog, argv[a++] = dir, argv[a++] = alpha, argv[a++] = flops, argv[a++] = alarm_s;
	for (int k = 0; k < j->n_runs; k++) {
		const struct run *u = &j->run[k];

		snprintf(spec[k], sizeof(spec[k]), "%d,%d,%d,%.17g,%d", u->ranks, u->n, u->max_steps, u->tol, u->kind);
		argv[a++] = spec[k];
	}
	argv[a] = NULL;
	execvp(argv[0], (char *const *)argv);
	_exit(127);
}

static const char *runs_root(void)
{
	const char *t = getenv("TMPDIR");

	return t && *t ? t : "/tmp";
}

/* A fresh scratch folder for the job, and its live slots (NULL for SMPI). */
static struct wire *job_dir(const struct job *j, char *dir, size_t len)
{
	static int seq;
	char wpath[PATH_MAX + 64];
	struct wire *w;
	int fd;

	/* Under TMPDIR, not beside the drivers: the grader keeps the build
	 * folder read-only, so code under test cannot swap a driver. */
	snprintf(dir, len, "%s/atonce-09-runs", runs_root());
	mkdir(dir, 0700);
	snprintf(dir, len, "%s/atonce-09-runs/%d-%d", runs_root(), (int)getpid(), seq++);
	remove_dir(dir);
	cr_assert(mkdir(dir, 0755) == 0, "cannot create %s: %s", dir, strerror(errno));
	if (j->f == F_SMPI)
		return NULL;
	snprintf(wpath, sizeof(wpath), "%s/wire", dir);
	fd = open(wpath, O_RDWR | O_CREAT | O_TRUNC, 0644);
	cr_assert(fd >= 0 && ftruncate(fd, sizeof(*w)) == 0, "cannot create %s", wpath);
	w = mmap(NULL, sizeof(*w), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	cr_assert(w != MAP_FAILED, "mmap %s", wpath);
	w->nranks = j->ranks;
	w->nruns = j->n_runs;
	w->magic = WIRE_MAGIC;
	return w;
}

/* The run under way: the last one a rank has entered (the driver lets no
 * rank into run k + 1 before every rank is done with run k). */
static int current_run(const struct job *j, const struct wire *w)
{
	int cur = 0;

	for (int k = 0; k < j->n_runs; k++)
		for (int r = 0; r < j->run[k].ranks; r++)
			if (__atomic_load_n(&w->slot[k][r].phase, __ATOMIC_ACQUIRE) != PH_START)
				cur = k;
	return cur;
}

/* Every rank of the run started, some still inside heat_run(), every one
 * of those blocked in MPI. *progress: the calls its ranks completed. */
static bool all_blocked(const struct wire_slot *slot, int ranks, unsigned long *progress)
{
	int running = 0, blocked = 0, all_started = 1;

	*progress = 0;
	for (int r = 0; r < ranks && r < WIRE_MAX_RANKS; r++) {
		const struct wire_slot *s = &slot[r];
		int ph = __atomic_load_n(&s->phase, __ATOMIC_ACQUIRE);

		all_started &= ph != PH_START;
		running += ph == PH_RUNNING;
		blocked += ph == PH_RUNNING && __atomic_load_n(&s->waiting, __ATOMIC_ACQUIRE);
		*progress += __atomic_load_n(&s->progress, __ATOMIC_RELAXED);
	}
	return all_started && running > 0 && blocked == running;
}

/*
 * Wait for the job to end; kill it when a run is past its deadline (JOB_MS
 * from its start; without live slots, JOB_MS per run from the launch) or
 * deadlocked (every rank of the run blocked, no call completed anywhere
 * for STALL_MS). Returns the run killed, or -1; *deadlock says which way.
 */
static int watch(struct job *j, pid_t pid, const struct wire *w, bool *deadlock)
{
	unsigned long last_progress = 0, progress = 0;
	long since = now_ms(), stall_since = -1, limit = w ? JOB_MS : (long)JOB_MS * j->n_runs;
	int cur = 0;

	for (;;) {
		int now_in = w ? current_run(j, w) : 0;

		if (waitpid(pid, &j->status, WNOHANG) == pid)
			return -1;
		if (now_in != cur) {
			/* A new run: its own deadline, its own stall. */
			cur = now_in;
			since = now_ms(), stall_since = -1;
		}
		if (now_ms() - since > limit) {
			*deadlock = false;
			break;
		}
		if (w && all_blocked(w->slot[cur], j->run[cur].ranks, &progress) && progress == last_progress) {
			if (stall_since < 0)
				stall_since = now_ms();
			else if (now_ms() - stall_since > STALL_MS) {
				*deadlock = true;
				break;
			}
		} else
			stall_since = -1;
		if (w)
			last_progress = progress;
		usleep(10000);
	}
	if (w)
		describe_stall(w->slot[cur], j->run[cur].ranks, j->run[cur].why, sizeof(j->run[cur].why));
	kill_job(pid, w);
	waitpid(pid, &j->status, 0);
	return cur;
}

/* What the live slots know once the job is over: whether any rank started,
 * each rank's steps and return value even if it was killed before it wrote
 * its report, and who called MPI on MPI_COMM_WORLD. */
static void read_slots(struct job *j, const struct wire *w)
{
	for (int k = 0; k < j->n_runs; k++) {
		struct run *u = &j->run[k];

		for (int r = 0; r < u->ranks && r < WIRE_MAX_RANKS; r++) {
			const struct wire_slot *s = &w->slot[k][r];

			j->started |= s->phase != PH_START;
			u->r[r].steps = s->steps;
			u->r[r].rc = s->rc;
			u->r[r].pid = s->pid;
			if (s->world[0] && !u->world[0])
				snprintf(u->world, sizeof(u->world), "rank %d called %.23s on MPI_COMM_WORLD", r, s->world);
		}
	}
}

/* The first run some rank of which did not report: where a job that
 * died without live slots to tell (SimGrid) was. */
static int first_unreported(const struct job *j)
{
	for (int k = 0; k < j->n_runs; k++)
		for (int r = 0; r < j->run[k].ranks; r++)
			if (!j->run[k].r[r].reported)
				return k;
	return j->n_runs - 1;
}

/* Run the job to its end, or to the deadlock or deadline of one of its runs. */
static void run_job(struct job *j)
{
	char dir[PATH_MAX];
	struct wire *w;
	bool deadlock = false;
	pid_t pid;
	int killed;

	w = job_dir(j, dir, sizeof(dir));
	/* No Criterion call in the child: its assertions talk to the runner. */
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		launch(j, dir);
	}
	cr_assert(pid > 0, "fork: %s", strerror(errno));
	setpgid(pid, pid);
	killed = watch(j, pid, w, &deadlock);
	if (w) {
		read_slots(j, w);
		munmap(w, sizeof(*w));
	}
	kill(-pid, SIGKILL);   /* anything left of the job's process group */
	collect(j, dir);
	if (killed < 0 && j->f == F_SMPI && strstr(j->out, "Deadlock detected")) {
		const char *d = strstr(j->out, "Deadlock detected");
		const char *e = strstr(d, "Stalling SMPI");

		killed = first_unreported(j);
		deadlock = true;
		snprintf(j->run[killed].why, sizeof(j->run[killed].why), "SimGrid: %.*s", e ? (int)(e - d) : 600, d);
	}
	if (killed >= 0) {
		j->run[killed].deadlock = deadlock;
		j->run[killed].timed_out = !deadlock;
	}
	if (!getenv("ATONCE_KEEP_RUNS"))
		remove_dir(dir);
}

static void free_job(struct job *j)
{
	for (int k = 0; k < j->n_runs; k++) {
		for (int r = 0; r < j->run[k].ranks; r++)
			free(j->run[k].r[r].ev);
		free(j->run[k].grid);
	}
}

/* The first line of the launcher's output worth showing. */
static const char *out_excerpt(const struct job *j)
{
	static char buf[600];
	const char *p = j->out;

	while (*p == '\n' || *p == ' ')
		p++;
	snprintf(buf, sizeof(buf), "%.599s", p);
	for (char *c = buf; *c; c++)
		if (*c == '\n')
			*c = ' ';
	return buf;
}

/* Skip (never fail) when the MPI itself could not start the ranks. */
static const char *rc_name(int rc)
{
	switch (rc) {
	case 0: return "0";
	case ENOSYS: return "ENOSYS (not written yet)";
	case EINVAL: return "EINVAL";
	case EIO: return "EIO";
	case ENOMEM: return "ENOMEM";
	default: return "an unexpected value";
	}
}

/* How one run ended, in a few words; false if it went wrong. */
static bool run_outcome(const struct run *u, char *out, size_t len)
{
	if (u->world[0])
		snprintf(out, len, "heat_run() called MPI on MPI_COMM_WORLD, not on comm");
	else if (u->deadlock)
		snprintf(out, len, "deadlocked");
	else if (u->timed_out)
		snprintf(out, len, "still running at the deadline, killed");
	else {
		for (int r = 0; r < u->ranks; r++) {
			if (!u->r[r].reported) {
				snprintf(out, len, "rank %d never reported back", r);
				return false;
			}
			if (u->r[r].rc != 0) {
				snprintf(out, len, "heat_run() returned %s on rank %d", rc_name(u->r[r].rc), r);
				return false;
			}
		}
		snprintf(out, len, "every rank returned 0, rank 0 after %d step(s)", u->r[0].steps);
		return true;
	}
	return false;
}

/*
 * What the job showed, as the test's measured line until its own
 * AT_MEASURED (which comes only once every check passed): the runs that
 * ended well, counted, then the first that did not.
 */
static void job_so_far(const struct job *j)
{
	char what[200] = "";
	int good = 0;

	while (good < j->n_runs && run_outcome(&j->run[good], what, sizeof(what)))
		good++;
	if (j->n_runs == 1)
		AT_MEASURED_SO_FAR("%s, %d rank(s), %d cells: %s", flavour_name[j->f], j->run[0].ranks, j->run[0].n, what);
	else if (good == j->n_runs)
		AT_MEASURED_SO_FAR("%s: %d runs, in each every rank returned 0", flavour_name[j->f], good);
	else
		AT_MEASURED_SO_FAR("%s: %d of %d runs ended well; run %d (%d rank(s), %d cells): %s",
				   flavour_name[j->f], good, j->n_runs, good + 1, j->run[good].ranks, j->run[good].n, what);
}

/* The job reached the code under test (else skip: the machine could not
 * start MPI), and the measured line says how its runs ended. */
static void require_started(const struct job *j)
{
	if (!j->started)
		AT_SKIP("%s could not start %d rank(s) on this machine (the code under test was never called): %s",
			flavour_name[j->f], j->ranks, out_excerpt(j));
	job_so_far(j);
}

/* The run ended, every rank of it returned 0: else fail saying how not. */
static void check_completed(const struct job *j, const struct run *u, const char *what)
{
	/* First: on MPI_COMM_WORLD, a run of fewer ranks than the job talks
	 * to ranks outside it, which never answer: the cause of what follows. */
	AT_CHECK(!u->world[0],
		 "%s: %s, not on comm: heat_run() must use the communicator it is given, not MPI_COMM_WORLD (here comm holds the first %d of the job's %d ranks, the others are not in heat_run())%s%s",
		 what, u->world, u->ranks, j->ranks,
		 u->deadlock ? "; the run deadlocked: " : u->timed_out ? "; the run was killed at its deadline: " : "",
		 u->deadlock || u->timed_out ? u->why : "");
	AT_CHECK(!u->deadlock, "%s: deadlock, killed after %d s with no rank able to move: %s", what,
		 STALL_MS / 1000, u->why);
	AT_CHECK(!u->timed_out, "%s: still running after %d s, killed: %s", what, JOB_MS / 1000,
		 u->why[0] ? u->why : "(no rank was blocked in MPI: a loop that does not end?)");
	for (int r = 0; r < u->ranks; r++) {
		AT_REQUIRE(u->r[r].reported, "%s: rank %d never reported back (the job ended with status %d): %s",
			 what, r, WIFEXITED(j->status) ? WEXITSTATUS(j->status) : 128 + WTERMSIG(j->status),
			 out_excerpt(j));
		AT_REQUIRE(u->r[r].rc == 0, "%s: heat_run() returned %d on rank %d: %s", what, u->r[r].rc, r,
			 rc_name(u->r[r].rc));
	}
}

/* ---- the truth ----------------------------------------------------------- */

/* The sequential loop: the rod after the steps, and how many were run. */
static int sequential(int n, int max_steps, double tol, int kind, double *grid)
{
	double *cur = malloc(2 * ((size_t)n + 2) * sizeof(double)), *next, *t;
	int s = 0;

	cr_assert(cur, "out of memory");
	next = cur + n + 2;
	cur[0] = next[0] = wire_left(kind);
	cur[n + 1] = next[n + 1] = wire_right(kind);
	for (int i = 0; i < n; i++)
		cur[i + 1] = wire_init(kind, n, i);
	while (s < max_steps) {
		double worst = 0;

		for (int i = 1; i <= n; i++) {
			next[i] = wire_cell(cur[i - 1], cur[i], cur[i + 1], ALPHA);
			if (wire_abs(next[i] - cur[i]) > worst)
				worst = wire_abs(next[i] - cur[i]);
		}
		t = cur, cur = next, next = t;
		s++;
		if (worst < tol)
			break;
	}
	for (int i = 0; i < n; i++)
		grid[i] = cur[i + 1];
	free(cur < next ? cur : next);
	return s;
}

/* The rank whose block holds cell i, by the harness's own split. */
static int owner(int n, int ranks, int i)
{
	int base = n / ranks, extra = n % ranks, r = 0;

	while (r < ranks - 1 && i >= (r + 1) * base + (r + 1 < extra ? r + 1 : extra))
		r++;
	return r;
}

/* Rank 0's rod equals the sequential loop's, bit for bit; steps agree. */
static void check_result(const struct run *u, const char *what)
{
	double *want = calloc((size_t)u->n, sizeof(double));
	int steps = sequential(u->n, u->max_steps, u->tol, u->kind, want);

	for (int r = 0; r < u->ranks; r++)
		AT_REQUIRE(u->r[r].steps == steps, "%s: rank %d ran %d step(s), the sequential loop %d", what, r,
			 u->r[r].steps, steps);
	AT_CHECK(u->grid, "%s: rank 0 gathered no rod", what);
	for (int i = 0; i < u->n; i++)
		AT_REQUIRE(memcmp(&u->grid[i], &want[i], sizeof(double)) == 0,
			 "%s: cell %d (in rank %d's block, if blocks are split evenly) is %.17g, the sequential loop gives %.17g",
			 what, i, owner(u->n, u->ranks, i), u->grid[i], want[i]);
	free(want);
}

/* ---- reading a rank's log ------------------------------------------------ */

struct reading {
	int steps;            /* steps whose every cell was computed exactly once */
	char cover[300];      /* the first cell computed twice, out of the block, ... */
	char order[300];      /* the first step that did not overlap */
};

/*
 * Walk one rank's log step by step (a step ends when each of its `count`
 * cells has been computed once). Cells 2 .. count-1 (the interior: no halo
 * needed) must be computed after the step's receives AND sends to each
 * neighbour were posted, and before any blocking call (a wait, a blocking
 * send or receive, a collective); a cell next to a neighbour only after
 * such a wait.
 */
static void read_log(const struct rank_info *ri, int rank, int ranks, struct reading *rd)
{
	bool has_l = rank > 0, has_r = rank < ranks - 1;
	bool rl = false, rr = false, sl = false, sr = false, posted = false, waited = false;
	int count = ri->count, done = 0, wait_op = -1;
	char *cov = calloc((size_t)count + 2, 1);

	memset(rd, 0, sizeof(*rd));
	cr_assert(cov, "out of memory");
	for (int k = 0; k < ri->n_ev; k++) {
		const struct ev *e = &ri->ev[k];

		switch (e->kind) {
		case EV_POST_RECV:
		case EV_POST_SEND: {
			bool recv = e->kind == EV_POST_RECV;

			if (e->a == rank - 1)
				*(recv ? &rl : &sl) = true;
			if (e->a == rank + 1)
				*(recv ? &rr : &sr) = true;
			posted = true;
			break;
		}
		case EV_BLOCK:
		case EV_COLL:
			if (posted && !waited) {
				waited = true;
				wait_op = e->a;
			}
			break;
		case EV_KERNEL:
			if (e->a < 1 || e->b > count + 1 || e->a > e->b) {
				if (!rd->cover[0])
					snprintf(rd->cover, sizeof(rd->cover),
						 "rank %d called the kernel on cells [%d, %d) of a block of %d (local cells are 1 .. %d)",
						 rank, e->a, e->b, count, count);
				goto out;
			}
			for (int i = e->a; i < e->b; i++) {
				bool interior = i >= 2 && i <= count - 1;
				bool edge = (i == 1 && has_l) || (i == count && has_r);

				if (cov[i] && !rd->cover[0])
					snprintf(rd->cover, sizeof(rd->cover),
						 "rank %d computed its cell %d twice in step %d", rank, i, rd->steps + 1);
				cov[i] = 1;
				done++;
				if (rd->order[0])
					continue;
				if (interior && ((has_l && !(rl && sl)) || (has_r && !(rr && sr))))
					snprintf(rd->order, sizeof(rd->order),
						 "step %d, rank %d: the interior (cell %d) was computed before the %s %s neighbour was posted",
						 rd->steps + 1, rank, i, (has_l && !rl) || (has_r && !rr) ? "receive from" : "send to",
						 has_l && !(rl && sl) ? "its left" : "its right");
				else if (interior && waited)
					snprintf(rd->order, sizeof(rd->order),
						 "step %d, rank %d: the interior (cell %d) was computed after %s: nothing was left to overlap with the messages in flight",
						 rd->steps + 1, rank, i, wire_op_name[wait_op]);
				else if (edge && !waited)
					snprintf(rd->order, sizeof(rd->order),
						 "step %d, rank %d: edge cell %d was computed before any wait for its halo",
						 rd->steps + 1, rank, i);
			}
			if (done == count) {
				rd->steps++;
				memset(cov, 0, (size_t)count + 2);
				done = 0;
				rl = rr = sl = sr = posted = waited = false;
			}
			break;
		default:
			break;
		}
	}
out:
	free(cov);
}

/* A job of one run, on all its ranks. */
static struct job job_of(enum flavour f, int ranks, int n, int max_steps, double tol, int kind)
{
	struct job j = { .f = f };

	add_run(&j, ranks, n, max_steps, tol, kind);
	return j;
}

/* ---- the tests ----------------------------------------------------------- */

/* The first thing wrong with heat_block()'s split of n cells among size
 * ranks, written to why; false if the split is right. */
static bool split_wrong(int n, int size, char *why, size_t len)
{
	int next = 0, lo = n, hi = 0;

	for (int r = 0; r < size; r++) {
		int first = -1, count = -1;

		heat_block(n, size, r, &first, &count);
		if (first != next || count < 0) {
			snprintf(why, len, "n = %d, %d ranks: rank %d's block starts at %d with %d cells, expected to start at %d (right after rank %d's)",
				 n, size, r, first, count, next, r - 1);
			return true;
		}
		next = first + count;
		lo = count < lo ? count : lo;
		hi = count > hi ? count : hi;
	}
	if (hi == 0)
		snprintf(why, len, "n = %d, %d rank(s): every block is empty (heat_block() not written yet?)", n, size);
	else if (next != n)
		snprintf(why, len, "n = %d, %d ranks: the blocks end at cell %d, not at %d", n, size, next, n);
	else if (hi - lo > 1)
		snprintf(why, len, "n = %d, %d ranks: blocks of %d to %d cells: sizes must differ by one at most", n, size, lo, hi);
	else
		return false;
	return true;
}

Test(heat, block, .description = "heat_block() splits n cells among 1 to 8 ranks (and 7 ranks of 1,000,003 cells) into contiguous blocks in rank order that cover the rod, their sizes differing by at most one")
{
	int right = 0, splits = 0;
	char first_wrong[300] = "", why[300];

	AT_HINT("n / size cells each, and one more for the first n %% size ranks: rank r starts after the r blocks before it");
	for (int size = 1; size <= 8; size++)
		for (int n = size; n <= 45; n++) {
			splits++;
			if (!split_wrong(n, size, why, sizeof(why)))
				right++;
			else if (!first_wrong[0])
				snprintf(first_wrong, sizeof(first_wrong), "%s", why);
		}
	/* Seven ranks of 1,000,003 cells: blocks of 142857 or 142858. */
	splits++;
	why[0] = '\0';
	if (!split_wrong(1000003, 7, why, sizeof(why))) {
		for (int r = 0; r < 7 && !why[0]; r++) {
			int first, count;

			heat_block(1000003, 7, r, &first, &count);
			if (count != 142857 && count != 142858)
				snprintf(why, sizeof(why), "n = 1000003, 7 ranks: rank %d's block is [%d, +%d)", r, first, count);
		}
	}
	if (!why[0])
		right++;
	else if (!first_wrong[0])
		snprintf(first_wrong, sizeof(first_wrong), "%s", why);
	AT_MEASURED("%d of %d splits right (contiguous, in rank order, covering the rod, balanced)", right, splits);
	AT_CHECK(right == splits, "%d split(s) wrong; the first: %s", splits - right, first_wrong);
	AT_END();
}

Test(heat, processes, .description = "4 ranks of a real MPI, 103 cells: 4 distinct processes, each computing exactly its own block at every step (the harness's kernel records which cells each rank computed)")
{
	struct job j = job_of(real_mpi(), 4, 103, 12, 0, 0);
	const struct run *u = &j.run[0];
	int pids[4], cells = 0;

	AT_HINT("every rank computes its own block (heat_block(n, size, rank)) and only that: rank 0 does not do the others' work");
	run_job(&j);
	require_started(&j);
	check_completed(&j, u, "4 ranks");
	for (int r = 0; r < 4; r++) {
		struct reading rd;

		pids[r] = u->r[r].pid;
		AT_CHECK(pids[r] > 0 && pids[r] != getpid(), "rank %d reported pid %d", r, pids[r]);
		for (int q = 0; q < r; q++)
			AT_CHECK(pids[q] != pids[r], "ranks %d and %d are the same process (pid %d)", q, r, pids[r]);
		read_log(&u->r[r], r, 4, &rd);
		AT_CHECK(!rd.cover[0], "%s", rd.cover);
		AT_CHECK(rd.steps == u->r[r].steps,
			 "rank %d computed its %d cells completely in %d step(s) but ran %d: a rank must compute its whole block at every step, and no other cell",
			 r, u->r[r].count, rd.steps, u->r[r].steps);
		cells += u->r[r].count;
	}
	AT_CHECK(cells == 103, "the 4 blocks hold %d cells, not 103", cells);
	AT_MEASURED("4 processes (pids %d %d %d %d), blocks of %d %d %d %d cells, each computed by its rank at each of %d steps",
		    pids[0], pids[1], pids[2], pids[3], u->r[0].count, u->r[1].count, u->r[2].count, u->r[3].count,
		    u->r[0].steps);
	free_job(&j);
	AT_END();
}

Test(heat, results, .description = "on 1, 2, 3 and 4 ranks a rod of 37 cells (uneven blocks), on 4 ranks rods of 7 cells and of 4 (one cell each): rank 0 gathers the rod the sequential loop computes, bit for bit, after 15 steps (the six runs in one job of 4 ranks, each on a communicator of its first ranks)")
{
	static const struct { int ranks, n; } runs[] = { { 1, 37 }, { 2, 37 }, { 3, 37 }, { 4, 37 }, { 4, 7 }, { 4, 4 } };
	struct job j = { .f = real_mpi() };
	int k;

	AT_HINT("halos refreshed at every step from both neighbours, the fixed temperatures beyond the two ends, and the gather in rank order with each rank's count and offset");
	/* One job of 4 ranks runs all six, in turn. */
	for (k = 0; k < (int)(sizeof(runs) / sizeof(runs[0])); k++)
		add_run(&j, runs[k].ranks, runs[k].n, 15, 0, 0);
	run_job(&j);
	require_started(&j);
	for (k = 0; k < j.n_runs; k++) {
		char what[64];

		snprintf(what, sizeof(what), "%d rank(s), %d cells", j.run[k].ranks, j.run[k].n);
		check_completed(&j, &j.run[k], what);
		check_result(&j.run[k], what);
	}
	AT_MEASURED("%d runs on %s, every rod equal to the sequential loop's, bit for bit", k, flavour_name[j.f]);
	free_job(&j);
	AT_END();
}

Test(heat, safe_exchange, .description = "with every send made synchronous (through the MPI profiling interface), 3 ranks complete 30 steps: an exchange that works only while MPI buffers the sends would deadlock, and the test names the cycle")
{
	enum flavour f = real_mpi();

	AT_HINT("post every receive and every send with MPI_Irecv/MPI_Isend, then wait for all of them: no rank then needs its neighbour to receive first");
	{
		struct job j = job_of(f, 3, 30, 30, 0, 0);

		run_job(&j);
		require_started(&j);
		check_completed(&j, &j.run[0], "3 ranks, synchronous sends");
		check_result(&j.run[0], "3 ranks, synchronous sends");
		free_job(&j);
	}
	AT_MEASURED("3 ranks ran 30 steps with every send synchronous: no deadlock");
	AT_END();
}

Test(heat, overlap, .description = "3 ranks, 60 cells, 10 steps: at every step each rank posts its receives and sends to each neighbour before computing a cell that needs no halo, computes all of those before any blocking call, and its edge cells only after a wait")
{
	struct job j = job_of(real_mpi(), 3, 60, 10, 0, 0);
	const struct run *u = &j.run[0];
	int steps = 0;

	AT_HINT("post (MPI_Irecv, MPI_Isend), then the interior cells 2 .. count-1, then MPI_Waitall, then cells 1 and count");
	run_job(&j);
	require_started(&j);
	check_completed(&j, u, "3 ranks");
	for (int r = 0; r < 3; r++) {
		struct reading rd;

		read_log(&u->r[r], r, 3, &rd);
		AT_CHECK(!rd.cover[0], "%s", rd.cover);
		AT_CHECK(!rd.order[0], "%s", rd.order);
		AT_CHECK(rd.steps == u->r[r].steps && rd.steps == 10, "rank %d computed %d whole steps of 10", r, rd.steps);
		steps += rd.steps;
	}
	AT_MEASURED("%d rank-steps, each: posted, interior computed with the messages in flight, waited, edges", steps);
	free_job(&j);
	AT_END();
}

Test(heat, convergence, .description = "a cold rod with a hot end, on 3 and 4 ranks: every rank stops at the same step as the sequential loop (the first step whose largest change over the whole rod is below tol), and a rank that stops alone is reported, not waited for (both runs in one job of 4 ranks)")
{
	struct job j = { .f = real_mpi() };
	int steps = 0;

	AT_HINT("after each step, MPI_Allreduce(MPI_MAX) of each rank's largest change: every rank gets the same number and takes the same decision");
	/* One job of 4 ranks: the run on 3, then the run on 4. */
	for (int ranks = 3; ranks <= 4; ranks++)
		add_run(&j, ranks, 24, 5000, 0.2, 1);
	run_job(&j);
	require_started(&j);
	for (int k = 0; k < j.n_runs; k++) {
		const struct run *u = &j.run[k];
		char what[64];

		snprintf(what, sizeof(what), "%d ranks, tol 0.2", u->ranks);
		check_completed(&j, u, what);
		check_result(u, what);
		AT_CHECK(u->r[0].steps < 5000, "%s: never converged", what);
		steps = u->r[0].steps;
	}
	free_job(&j);
	AT_MEASURED("every rank stopped after %d steps (on 4 ranks), as the sequential loop does", steps);
	AT_END();
}

Test(heat, open_mpi, .description = "the same code on Open MPI: 3 ranks, the cold rod of 37 cells run to convergence, equal to the sequential loop's bit for bit")
{
	AT_HINT("use only the MPI standard: Open MPI's MPI_Comm and MPI_Datatype are pointers, MPICH's are integers");
	if (!have(F_OPENMPI))
		AT_SKIP("Open MPI is not installed here (mpicc.openmpi): harness/tools/deps.sh mpi installs it");
	{
		struct job j = job_of(F_OPENMPI, 3, 37, 5000, 0.2, 1);

		run_job(&j);
		require_started(&j);
		check_completed(&j, &j.run[0], "Open MPI, 3 ranks, tol 0.2");
		check_result(&j.run[0], "Open MPI, 3 ranks, tol 0.2");
		AT_MEASURED("Open MPI: 3 ranks stopped after %d steps, the rod equal to the sequential loop's", j.run[0].r[0].steps);
		free_job(&j);
	}
	AT_END();
}

Test(heat, sim_scaling, .description = "on a simulated cluster of 64 nodes (SimGrid SMPI, every send synchronous): 16384 cells of 1000 flops each for 20 steps on 8 and on 64 ranks; efficiency (the sequential loop's simulated time / ranks / the run's) at least 0.7 on 8 ranks and 0.5 on 64, the rod still exact")
{
	static const int counts[] = { 8, 64 };
	double ideal = (double)SIM_N * SIM_STEPS * SIM_FLOPS / SIM_SPEED, eff[2];
	char line[400];
	size_t o = 0;

	AT_HINT("the work must be split (each rank its block) and the exchange must not pass from rank to rank in a chain: all ranks exchange at once");
	if (!have(F_SMPI))
		AT_SKIP("SimGrid is not installed here (smpicc): harness/tools/deps.sh mpi installs it");
	for (int k = 0; k < 2; k++) {
		struct job j = job_of(F_SMPI, counts[k], SIM_N, SIM_STEPS, 0, 0);
		const struct run *u = &j.run[0];
		char what[64];

		j.flops = SIM_FLOPS;
		j.sync_sim = true;
		snprintf(what, sizeof(what), "simulated, %d rank(s)", counts[k]);
		run_job(&j);
		AT_CHECK(!u->deadlock, "%s: %s", what, u->why);
		require_started(&j);
		check_completed(&j, u, what);
		if (k == 0)
			check_result(u, what);
		AT_CHECK(u->r[0].time > 0, "%s: no simulated time", what);
		eff[k] = ideal / u->r[0].time / counts[k];
		o += snprintf(line + o, sizeof(line) - o, "%s%d: %.2f ms (eff. %.2f)", k ? ", " : "", counts[k],
			      1e3 * u->r[0].time, eff[k]);
		free_job(&j);
	}
	AT_MEASURED("simulated time (sequential loop: %.2f ms), %s", 1e3 * ideal, line);
	AT_CHECK(eff[0] >= 0.7 && eff[1] >= 0.5,
		 "efficiency %.2f on 8 ranks (0.7 needed) and %.2f on 64 (0.5 needed), where efficiency = (the sequential loop's simulated time / ranks) / your simulated time: %s",
		 eff[0], eff[1], line);
	AT_END();
}
