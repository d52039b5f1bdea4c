/*
 * uring_guard.h - lesson 06: run a call of the code under test where the
 * wrong path is impossible rather than uncounted, and see what its ring
 * really carried. Included by test_uring.c only (it defines functions).
 *
 * guard_run() calls the code on a thread of its own (that call's calling
 * thread) and, right before the call, installs a seccomp filter on that
 * thread alone: the test's own thread, which talks to Criterion, is never
 * filtered, and the filter ends with the thread (Criterion also runs each
 * test in its own process). Threads and processes the code creates
 * inherit it. The filter hands chosen system calls, on their way into the
 * kernel, to a supervisor thread of the harness (SECCOMP_RET_USER_NOTIF),
 * which decides and keeps count:
 *
 *  - GUARD_REFUSE: every system call that moves bytes between a descriptor
 *    and memory (read/write and their v/p/2 forms, recv/send*, splice,
 *    tee, vmsplice, sendfile, copy_file_range, mmap of a file, the reflink
 *    ioctls) is refused with EPERM when one of its descriptors is one of
 *    the harness's files, compared by device and inode, so a dup() or a
 *    reopen through /proc/self/fd does not help; on other descriptors
 *    (printing, an eventfd...) it goes on. Linux AIO and process_vm_* are
 *    refused outright, as are system calls of another ABI (int 0x80, x32).
 *    A list of the refused calls is kept for the failure message.
 *  - always: every io_uring_enter(), whatever made it (liburing's submit
 *    calls, its wait calls that also submit, a raw syscall()), is counted
 *    with what it carried: the supervisor reads the requests waiting in
 *    that ring from the kernel's own view of it (/proc/TID/fdinfo/RING:
 *    opcode and descriptor of every queued entry) and lets the call go on;
 *    every clone/fork the code makes is counted; and a ring asked for with
 *    a kernel submission thread (SQPOLL), which would submit without any
 *    system call, is set up without it (guard_setup()).
 *
 * The kernel's io_uring workers (io-wq) and SQPOLL thread never enter the
 * kernel by a system call, and the task work that finishes a read of a
 * pipe runs inside io_uring_enter: the filter cannot touch the ring's own
 * reads. guard_run() proves it before each call (a read forced onto a
 * worker with IOSQE_ASYNC, under the filter) and that the filter refuses
 * what it must; when either fails, or seccomp is not available, the call
 * is not made and the test skips with the reason, never fails.
 *
 * Compare with uring_refuse() in uring_test.h: a plain filter (no
 * supervisor) that makes io_uring_setup fail, for the `refused` test.
 */
#ifndef URING_GUARD_H
#define URING_GUARD_H

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#define GUARD_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define GUARD_ARCH AUDIT_ARCH_AARCH64
#else
#define GUARD_ARCH 0     /* another machine: the guard is not available */
#endif

#define GUARD_MAX_FDS  80
#define GUARD_MAX_KIND 24

enum guard_mode {
	GUARD_WATCH,    /* count io_uring_enter() and clone(); refuse nothing */
	GUARD_REFUSE,   /* also refuse every data-moving call on the harness's files */
};

enum guard_status {
	GUARD_RAN,          /* the call was made under the filter */
	GUARD_UNGUARDED,    /* GUARD_WATCH where seccomp is missing: made without it */
	GUARD_UNAVAILABLE,  /* not made: g->why says why */
};

/* A system call refused during the call, and how many times. */
struct guard_refusal {
	long nr;
	long times;
};

struct guard {
	/* set up by guard_init() and guard_protect() */
	enum guard_mode mode;
	bool required;           /* GUARD_WATCH: no seccomp means GUARD_UNAVAILABLE too */
	int nprotected;
	dev_t dev[GUARD_MAX_FDS];
	ino_t ino[GUARD_MAX_FDS];
	int probe_fd;            /* a protected descriptor, for the self-check */

	/* the call */
	void (*fn)(void *);
	void *arg;
	bool returned;           /* the call came back before the deadline */
	char why[320];           /* GUARD_UNAVAILABLE: the reason */

	/* counted by the supervisor while the call runs */
	long enters;             /* io_uring_enter() calls */
	long submit_enters;      /* ... that handed the kernel at least one request */
	long data_enters;        /* ... of which at least one read, write or splice */
	long reads, writes, moves, others, unknown;  /* requests, by kind */
	long max_reads_per_enter;
	long max_in_flight;      /* submitted, not yet reaped: the most at one submission */
	long clones;             /* clone/clone3/fork/vfork */
	bool sqes_seen;          /* the kernel showed the queued requests (fdinfo) */
	bool sqpoll;             /* a ring with a kernel submission thread was used */
	long sqpoll_off;         /* rings whose SQPOLL was turned off (see guard_setup) */
	int nrefusals;
	struct guard_refusal refused[GUARD_MAX_KIND];
	long refused_total;

	/* internal */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int listener;            /* the seccomp notification descriptor */
	bool listener_ready, done;
	int stop_pipe[2];
	atomic_bool counting;
};

static inline void guard_init(struct guard *g, enum guard_mode mode, bool required)
{
	memset(g, 0, sizeof(*g));
	g->mode = mode;
	g->required = required;
	g->probe_fd = -1;
	g->listener = -1;
	g->stop_pipe[0] = g->stop_pipe[1] = -1;
}

/* The file behind descriptor fd is the harness's: under GUARD_REFUSE no
 * system call may move its bytes. */
static inline bool guard_protect(struct guard *g, int fd)
{
	struct stat st;

	if (g->nprotected >= GUARD_MAX_FDS || fstat(fd, &st) != 0)
		return false;
	g->dev[g->nprotected] = st.st_dev;
	g->ino[g->nprotected] = st.st_ino;
	g->nprotected++;
	if (g->probe_fd < 0)
		g->probe_fd = fd;
	return true;
}

/* ---- the filter --------------------------------------------------------- */

/* The system calls that move bytes between a descriptor and memory. */
static const long guard_data_calls[] = {
	__NR_read, __NR_readv, __NR_pread64, __NR_preadv, __NR_preadv2,
	__NR_write, __NR_writev, __NR_pwrite64, __NR_pwritev, __NR_pwritev2,
	__NR_recvfrom, __NR_recvmsg, __NR_recvmmsg, __NR_sendto, __NR_sendmsg, __NR_sendmmsg,
	__NR_splice, __NR_tee, __NR_vmsplice, __NR_sendfile, __NR_copy_file_range,
	/* refused whatever their arguments: nothing in this lesson needs them */
	__NR_io_submit, __NR_process_vm_readv, __NR_process_vm_writev, __NR_remap_file_pages,
};

/* Creating a thread or a process: counted, never refused. */
static const long guard_clone_calls[] = {
	__NR_clone,
#ifdef __NR_clone3
	__NR_clone3,
#endif
#ifdef __NR_fork
	__NR_fork,
#endif
#ifdef __NR_vfork
	__NR_vfork,
#endif
};

static inline const char *guard_call_name(long nr)
{
	switch (nr) {
	case __NR_read: return "read";
	case __NR_readv: return "readv";
	case __NR_pread64: return "pread";
	case __NR_preadv: return "preadv";
	case __NR_preadv2: return "preadv2";
	case __NR_write: return "write";
	case __NR_writev: return "writev";
	case __NR_pwrite64: return "pwrite";
	case __NR_pwritev: return "pwritev";
	case __NR_pwritev2: return "pwritev2";
	case __NR_recvfrom: return "recvfrom";
	case __NR_recvmsg: return "recvmsg";
	case __NR_recvmmsg: return "recvmmsg";
	case __NR_sendto: return "sendto";
	case __NR_sendmsg: return "sendmsg";
	case __NR_sendmmsg: return "sendmmsg";
	case __NR_splice: return "splice";
	case __NR_tee: return "tee";
	case __NR_vmsplice: return "vmsplice";
	case __NR_sendfile: return "sendfile";
	case __NR_copy_file_range: return "copy_file_range";
	case __NR_io_submit: return "io_submit (Linux AIO)";
	case __NR_process_vm_readv: return "process_vm_readv";
	case __NR_process_vm_writev: return "process_vm_writev";
	case __NR_remap_file_pages: return "remap_file_pages";
	case __NR_mmap: return "mmap of the file";
	case __NR_ioctl: return "ioctl(FICLONE...)";
	default: return "a system call of another ABI";
	}
}

struct guard_prog {
	struct sock_filter f[128];
	unsigned short n;
};

static inline void guard_emit(struct guard_prog *p, struct sock_filter insn)
{
	if (p->n < sizeof(p->f) / sizeof(p->f[0]))
		p->f[p->n++] = insn;
}

#define GUARD_NOTIFY SECCOMP_RET_USER_NOTIF
#define GUARD_ARG_LO(i) (offsetof(struct seccomp_data, args) + (i) * sizeof(__u64))

/* "if nr == this call: ask the supervisor". */
static inline void guard_notify_on(struct guard_prog *p, long nr)
{
	guard_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)nr, 0, 1));
	guard_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, GUARD_NOTIFY));
}

/*
 * The filter, in classic BPF. Arguments are read as their low 32 bits
 * (little-endian machines): descriptors, mmap flags and ioctl commands
 * are 32-bit values to the kernel too.
 */
static inline void guard_build(struct guard_prog *p, enum guard_mode mode)
{
	const __u32 refuse = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);

	p->n = 0;
	/* Another ABI (int 0x80 on x86_64) numbers its calls differently:
	 * in refuse mode, none gets through. */
	guard_emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
	guard_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, GUARD_ARCH, 1, 0));
	guard_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, mode == GUARD_REFUSE ? refuse : SECCOMP_RET_ALLOW));
	guard_emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
#ifdef __x86_64__
	if (mode == GUARD_REFUSE) {   /* the x32 ABI: the same calls, numbered from 0x40000000 */
		guard_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));
		guard_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, refuse));
	}
#endif
	guard_notify_on(p, __NR_io_uring_enter);
	guard_notify_on(p, __NR_io_uring_setup);
	for (size_t i = 0; i < sizeof(guard_clone_calls) / sizeof(guard_clone_calls[0]); i++)
		guard_notify_on(p, guard_clone_calls[i]);
	if (mode == GUARD_REFUSE) {
		for (size_t i = 0; i < sizeof(guard_data_calls) / sizeof(guard_data_calls[0]); i++)
			guard_notify_on(p, guard_data_calls[i]);
		/* mmap: anonymous memory (malloc, stacks) passes here; a file
		 * (the ring's, or the data's) goes to the supervisor. */
		guard_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 4));
		guard_emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, GUARD_ARG_LO(3)));
		guard_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MAP_ANONYMOUS, 0, 1));
		guard_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
		guard_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, GUARD_NOTIFY));
		/* ioctl: only the ones that make one file share another's bytes */
		guard_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 6));
		guard_emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, GUARD_ARG_LO(1)));
		guard_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)FICLONE, 3, 0));
		guard_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)FICLONERANGE, 2, 0));
		guard_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)FIDEDUPERANGE, 1, 0));
		guard_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
		guard_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, GUARD_NOTIFY));
	}
	guard_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
}

/* Install the filter on the calling thread; returns the notification
 * descriptor, or -errno. */
static inline int guard_install(enum guard_mode mode)
{
	struct guard_prog p;
	struct sock_fprog prog;
	long fd;

	guard_build(&p, mode);
	prog = (struct sock_fprog){ .len = p.n, .filter = p.f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -errno;
	fd = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	return fd < 0 ? -errno : (int)fd;
}

/* ---- what a ring carried: the kernel's view (fdinfo) --------------------- */

enum guard_kind { KIND_READ, KIND_WRITE, KIND_MOVE, KIND_OTHER };

static inline enum guard_kind guard_kind_of_number(int op)
{
	switch (op) {
	case IORING_OP_READV: case IORING_OP_READ_FIXED: case IORING_OP_READ:
	case IORING_OP_RECV: case IORING_OP_RECVMSG:
		return KIND_READ;
	case IORING_OP_WRITEV: case IORING_OP_WRITE_FIXED: case IORING_OP_WRITE:
	case IORING_OP_SEND: case IORING_OP_SENDMSG:
		return KIND_WRITE;
	case IORING_OP_SPLICE: case IORING_OP_TEE:
		return KIND_MOVE;
	default:
		return KIND_OTHER;
	}
}

/* The kernel names opcodes (READ, WRITE_FIXED, NOP...) since 5.19;
 * earlier ones printed the number. */
static inline enum guard_kind guard_kind_of(const char *op)
{
	static const char *reads[] = { "READ", "READV", "READ_FIXED", "READ_MULTISHOT", "RECV",
				       "RECVMSG", "RECV_ZC", "READV_FIXED", NULL };
	static const char *writes[] = { "WRITE", "WRITEV", "WRITE_FIXED", "SEND", "SENDMSG",
					"SEND_ZC", "SENDMSG_ZC", "WRITEV_FIXED", NULL };

	if (op[0] >= '0' && op[0] <= '9')
		return guard_kind_of_number(atoi(op));
	for (int i = 0; reads[i]; i++)
		if (strcmp(op, reads[i]) == 0)
			return KIND_READ;
	for (int i = 0; writes[i]; i++)
		if (strcmp(op, writes[i]) == 0)
			return KIND_WRITE;
	if (strcmp(op, "SPLICE") == 0 || strcmp(op, "TEE") == 0)
		return KIND_MOVE;
	return KIND_OTHER;
}

struct ring_view {
	bool ok;                 /* the counters were there */
	bool sqes_listed;        /* the queued entries were listed */
	bool sqpoll;
	unsigned sq_tail, cached_sq_head, cq_head;
	int nkinds;
	enum guard_kind kind[256];   /* of the queued entries, in order */
};

static inline unsigned field_u(const char *text, const char *name, bool *found)
{
	const char *p = strstr(text, name);

	if (!p) {
		*found = false;
		return 0;
	}
	return (unsigned)strtoul(p + strlen(name), NULL, 10);
}

/* Read /proc/TID/fdinfo/FD of a ring into v. */
static inline void ring_view_read(pid_t tid, int fd, struct ring_view *v)
{
	static char text[65536];
	char path[64], *line;
	ssize_t got, total = 0;
	int f;

	memset(v, 0, sizeof(*v));
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)tid, fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return;
	while (total < (ssize_t)sizeof(text) - 1 &&
	       (got = read(f, text + total, sizeof(text) - 1 - (size_t)total)) > 0)
		total += got;
	close(f);
	text[total] = '\0';
	v->ok = true;
	v->sq_tail = field_u(text, "SqTail:\t", &v->ok);
	v->cached_sq_head = field_u(text, "CachedSqHead:\t", &v->ok);
	v->cq_head = field_u(text, "CqHead:\t", &v->ok);
	line = strstr(text, "SqThread:\t");
	v->sqpoll = line && atoi(line + 10) > 0;
	/* "    3: opcode:READ, fd:7, flags:0, ..." one line per queued entry */
	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		unsigned idx;
		char op[32];

		if (sscanf(line, " %u: opcode:%31[^,],", &idx, op) == 2 && v->nkinds < 256) {
			v->kind[v->nkinds++] = guard_kind_of(op);
			v->sqes_listed = true;
		}
	}
}

/* With IORING_ENTER_REGISTERED_RING the first argument is an index, not a
 * descriptor: take the thread's only io_uring descriptor (-1 if not one). */
static inline int guard_only_ring(pid_t tid)
{
	char link[64], target[64];
	int found = -1, count = 0;

	for (int fd = 0; fd < 1024 && count < 2; fd++) {
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)tid, fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:[io_uring]") == 0) {
			found = fd;
			count++;
		}
	}
	return count == 1 ? found : -1;
}

#ifndef IORING_ENTER_REGISTERED_RING
#define IORING_ENTER_REGISTERED_RING (1U << 4)
#endif

/* One io_uring_enter(fd, to_submit, min_complete, flags, ...) of tid. */
static inline void guard_count_enter(struct guard *g, pid_t tid, const __u64 *args)
{
	static struct ring_view v;
	unsigned to_submit = (unsigned)args[1], flags = (unsigned)args[3];
	int fd = (int)(unsigned)args[0];
	long k, reads = 0, data = 0;

	if (flags & IORING_ENTER_REGISTERED_RING)
		fd = guard_only_ring(tid);
	if (fd >= 0)
		ring_view_read(tid, fd, &v);
	else
		memset(&v, 0, sizeof(v));
	g->enters++;
	if (v.sqpoll)
		g->sqpoll = true;
	/* What this call hands the kernel: what is queued, at most to_submit. */
	k = v.ok ? (long)(unsigned)(v.sq_tail - v.cached_sq_head) : (long)to_submit;
	if (k > (long)to_submit)
		k = (long)to_submit;
	if (k < 0)
		k = 0;
	if (v.ok) {
		/* Taken by the kernel so far and not yet reaped by the code,
		 * plus these: the requests in flight once this call has
		 * submitted. Counted at a call that only waits too: with a
		 * kernel submission thread (SQPOLL) no call submits at all. */
		long out = (long)(unsigned)(v.cached_sq_head - v.cq_head) + k;

		if (out > g->max_in_flight)
			g->max_in_flight = out;
	}
	if (k == 0)
		return;
	g->submit_enters++;
	for (long i = 0; i < k; i++) {
		if (!v.sqes_listed || i >= v.nkinds) {
			g->unknown++;          /* not listed by this kernel: could be a read */
			data++;
			continue;
		}
		switch (v.kind[i]) {
		case KIND_READ: g->reads++; reads++; data++; break;
		case KIND_WRITE: g->writes++; data++; break;
		case KIND_MOVE: g->moves++; data++; break;
		default: g->others++; break;
		}
	}
	if (v.sqes_listed)
		g->sqes_seen = true;
	if (data > 0)
		g->data_enters++;
	if (reads > g->max_reads_per_enter)
		g->max_reads_per_enter = reads;
}

/* ---- the supervisor's decisions --------------------------------------------- */

/* Is descriptor fd of thread tid one of the harness's files? */
static inline bool guard_is_protected(const struct guard *g, pid_t tid, long fd)
{
	char path[64];
	struct stat st;

	if (fd < 0 || fd > 0x7fffffff)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fd/%ld", (int)tid, fd);
	if (stat(path, &st) != 0)
		return false;            /* not open: the call fails by itself */
	for (int i = 0; i < g->nprotected; i++)
		if (st.st_dev == g->dev[i] && st.st_ino == g->ino[i])
			return true;
	return false;
}

static inline void guard_note_refusal(struct guard *g, long nr)
{
	g->refused_total++;
	for (int i = 0; i < g->nrefusals; i++)
		if (g->refused[i].nr == nr) {
			g->refused[i].times++;
			return;
		}
	if (g->nrefusals < GUARD_MAX_KIND)
		g->refused[g->nrefusals++] = (struct guard_refusal){ nr, 1 };
}

/* Refuse the data-moving call (nr, args) of tid? Counts the refusal. */
static inline bool guard_refuses(struct guard *g, pid_t tid, long nr, const __u64 *args)
{
	long fd0 = (long)(unsigned)args[0], fd1 = (long)(unsigned)args[1], fd2 = (long)(unsigned)args[2];
	bool refuse;

	switch (nr) {
	case __NR_io_submit: case __NR_process_vm_readv: case __NR_process_vm_writev:
	case __NR_remap_file_pages: case __NR_ioctl:
		refuse = true;
		break;
	case __NR_mmap:
		refuse = guard_is_protected(g, tid, (long)(unsigned)args[4]);
		break;
	case __NR_splice: case __NR_copy_file_range:       /* (in, _, out, ...) */
		refuse = guard_is_protected(g, tid, fd0) || guard_is_protected(g, tid, fd2);
		break;
	case __NR_tee: case __NR_sendfile:                  /* (a, b, ...) */
		refuse = guard_is_protected(g, tid, fd0) || guard_is_protected(g, tid, fd1);
		break;
	default:                                            /* (fd, ...) */
		refuse = guard_is_protected(g, tid, fd0);
		break;
	}
	if (refuse && atomic_load(&g->counting))
		guard_note_refusal(g, nr);
	return refuse;
}

static inline bool guard_is_clone(long nr)
{
	for (size_t i = 0; i < sizeof(guard_clone_calls) / sizeof(guard_clone_calls[0]); i++)
		if (guard_clone_calls[i] == nr)
			return true;
	return false;
}

/*
 * io_uring_setup(entries, params) of the code: a ring with a kernel
 * submission thread (IORING_SETUP_SQPOLL) takes requests without any
 * system call, so nothing could be counted. Turn that flag off in the
 * caller's params before the kernel reads them (the caller waits at the
 * door of the system call; it is our own address space, reached through
 * process_vm_* so a bad pointer is an error, not a crash). liburing reads
 * the flags back and submits with io_uring_enter(): the same requests,
 * the same completions, seen.
 */
static inline void guard_setup(struct guard *g, const __u64 *args)
{
	struct io_uring_params p;
	struct iovec here = { &p, sizeof(p) }, there = { (void *)(uintptr_t)args[1], sizeof(p) };
	const unsigned off = IORING_SETUP_SQPOLL | IORING_SETUP_SQ_AFF;

	if (process_vm_readv(getpid(), &here, 1, &there, 1, 0) != (ssize_t)sizeof(p) || !(p.flags & IORING_SETUP_SQPOLL))
		return;
	p.flags &= ~off;
	if (process_vm_writev(getpid(), &here, 1, &there, 1, 0) == (ssize_t)sizeof(p))
		g->sqpoll_off++;
}

/* Answer one notification: go on, or fail with EPERM. */
static inline void guard_answer(struct guard *g, struct seccomp_notif *req, struct seccomp_notif_resp *resp)
{
	long nr = req->data.nr;
	bool counting = atomic_load(&g->counting);

	resp->id = req->id;
	resp->val = 0;
	resp->error = 0;
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	if (nr == __NR_io_uring_enter) {
		if (counting)
			guard_count_enter(g, (pid_t)req->pid, req->data.args);
	} else if (nr == __NR_io_uring_setup) {
		if (counting)
			guard_setup(g, req->data.args);
	} else if (guard_is_clone(nr)) {
		if (counting)
			g->clones++;
	} else if (guard_refuses(g, (pid_t)req->pid, nr, req->data.args)) {
		resp->flags = 0;
		resp->error = -EPERM;
	}
}

static inline void *guard_supervisor(void *arg)
{
	struct guard *g = arg;
	struct seccomp_notif_sizes sizes = { 0, 0, 0 };
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	size_t req_size = sizeof(*req), resp_size = sizeof(*resp);

	/* The kernel's structures may be larger than ours: ask. */
	if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0) {
		if (sizes.seccomp_notif > req_size)
			req_size = sizes.seccomp_notif;
		if (sizes.seccomp_notif_resp > resp_size)
			resp_size = sizes.seccomp_notif_resp;
	}
	req = calloc(1, req_size);
	resp = calloc(1, resp_size);
	for (;;) {
		struct pollfd pf[2] = { { g->listener, POLLIN, 0 }, { g->stop_pipe[0], POLLIN, 0 } };

		if (!req || !resp || poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents)
			break;               /* the call is over */
		if (pf[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			break;               /* no filtered thread is left */
		memset(req, 0, req_size);
		if (ioctl(g->listener, SECCOMP_IOCTL_NOTIF_RECV, req) != 0)
			continue;            /* that thread was gone already */
		memset(resp, 0, resp_size);
		guard_answer(g, req, resp);
		(void)ioctl(g->listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
	}
	free(req);
	free(resp);
	return NULL;
}

/* ---- the calling thread ---------------------------------------------------------- */

/*
 * Under the filter, before the call: a read forced onto an io_uring worker
 * (IOSQE_ASYNC) must still work, and (refuse mode) a read(2) of a
 * protected descriptor must be refused. Returns NULL or what went wrong.
 */
static inline const char *guard_self_check(struct guard *g)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	char in = 0;
	int p[2], res = -1, rc;

	rc = io_uring_queue_init(2, &ring, 0);
	if (rc < 0)
		return "a ring cannot be set up under the filter";
	if (pipe2(p, O_CLOEXEC) != 0) {
		io_uring_queue_exit(&ring);
		return "pipe() failed";
	}
	if (write(p[1], "x", 1) == 1 && (sqe = io_uring_get_sqe(&ring)) != NULL) {
		io_uring_prep_read(sqe, p[0], &in, 1, 0);
		sqe->flags |= IOSQE_ASYNC;      /* onto a worker thread of the kernel */
		if (io_uring_submit_and_wait(&ring, 1) >= 0 && io_uring_peek_cqe(&ring, &cqe) == 0) {
			res = cqe->res;
			io_uring_cqe_seen(&ring, cqe);
		}
	}
	io_uring_queue_exit(&ring);
	close(p[0]);
	close(p[1]);
	if (res != 1 || in != 'x')
		return "the kernel's io_uring workers are stopped by the filter on this kernel, so the ring's reads cannot be told from the others";
	if (g->mode == GUARD_REFUSE && g->probe_fd >= 0 &&
	    !(read(g->probe_fd, &in, 0) < 0 && errno == EPERM))
		return "the filter did not refuse a read(2) of the harness's descriptor";
	return NULL;
}

/* A pthread call of the harness that cannot fail unless the harness is
 * broken: say which, and stop. */
static inline void guard_must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "atonce harness: guard: %s: %s\n", what, strerror(rc));
		abort();
	}
}

/* Set a flag of g under its lock and wake the waiter. */
static inline void guard_set(struct guard *g, bool *flag)
{
	guard_must(pthread_mutex_lock(&g->mu), "lock");
	*flag = true;
	guard_must(pthread_cond_broadcast(&g->cv), "broadcast");
	guard_must(pthread_mutex_unlock(&g->mu), "unlock");
}

static inline void guard_signal_done(struct guard *g)
{
	guard_set(g, &g->done);
}

static inline void *guard_calling_thread(void *arg)
{
	struct guard *g = arg;
	int fd = guard_install(g->mode);
	const char *wrong = NULL;

	g->listener = fd;                  /* published by guard_set's lock */
	guard_set(g, &g->listener_ready);
	if (fd < 0) {
		snprintf(g->why, sizeof(g->why),
			 "this check watches your code's system calls with a seccomp filter and a supervisor (Linux 5.5 or newer; some containers forbid it), refused here: %s",
			 strerror(-fd));
		if (g->mode == GUARD_REFUSE || g->required) {
			guard_signal_done(g);
			return NULL;
		}
	} else if ((wrong = guard_self_check(g)) != NULL) {
		snprintf(g->why, sizeof(g->why), "this check cannot be made here: %s", wrong);
		guard_signal_done(g);
		return NULL;
	}
	atomic_store(&g->counting, true);
	g->fn(g->arg);
	atomic_store(&g->counting, false);
	g->returned = true;
	guard_signal_done(g);
	return NULL;
}

/* Wait until `flag` is set or the deadline passes (CLOCK_MONOTONIC cv). */
static inline bool guard_wait(struct guard *g, bool *flag, int ms)
{
	struct timespec end;
	bool set;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	guard_must(pthread_mutex_lock(&g->mu), "lock");
	while (!*flag) {
		int rc = pthread_cond_timedwait(&g->cv, &g->mu, &end);

		if (rc == ETIMEDOUT)
			break;
		guard_must(rc, "timed wait");
	}
	set = *flag;
	guard_must(pthread_mutex_unlock(&g->mu), "unlock");
	return set;
}

/* Tell the supervisor the call is over. */
static inline void guard_stop(struct guard *g)
{
	ssize_t rc = write(g->stop_pipe[1], "x", 1);

	(void)rc;   /* a pipe of our own, empty: it cannot fail */
}

/*
 * Run fn(arg) on a thread of its own under the guard; wait for it at most
 * deadline_ms. g->returned says whether it came back in time; the counts
 * in g are what it did. No assertion inside (the caller asserts).
 */
static inline enum guard_status guard_run(struct guard *g, void (*fn)(void *), void *arg, int deadline_ms)
{
	pthread_condattr_t ca;
	pthread_t caller, supervisor;
	bool supervised = false, guarded;

	g->fn = fn;
	g->arg = arg;
	if (GUARD_ARCH == 0 && (g->mode == GUARD_REFUSE || g->required)) {
		snprintf(g->why, sizeof(g->why), "this check's seccomp filter knows x86_64 and aarch64 only");
		return GUARD_UNAVAILABLE;
	}
	if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&g->cv, &ca) != 0 || pthread_mutex_init(&g->mu, NULL) != 0 ||
	    pipe2(g->stop_pipe, O_CLOEXEC) != 0) {
		snprintf(g->why, sizeof(g->why), "harness: cannot set up the guard (condition variable, mutex or pipe)");
		return GUARD_UNAVAILABLE;
	}
	pthread_condattr_destroy(&ca);
	if (pthread_create(&caller, NULL, guard_calling_thread, g) != 0) {
		snprintf(g->why, sizeof(g->why), "harness: pthread_create failed");
		return GUARD_UNAVAILABLE;
	}
	/* The supervisor starts once the filter is in: until then the calling
	 * thread waits in its first notified call, which is harmless. */
	if (guard_wait(g, &g->listener_ready, 5000) && g->listener >= 0) {
		supervised = pthread_create(&supervisor, NULL, guard_supervisor, g) == 0;
		if (!supervised) {
			/* Nobody to answer: with the listener closed, the notified
			 * calls fail (ENOSYS), the self-check says so, no call is made. */
			close(g->listener);
			g->listener = -1;
		}
	}
	if (!guard_wait(g, &g->done, deadline_ms)) {
		/* Still running: leave it, the test fails and its process
		 * ends. Its next filtered call waits for an answer that never
		 * comes, so it cannot do anything meanwhile. */
		guard_stop(g);
		guard_must(pthread_detach(caller), "detach");
		if (supervised)
			guard_must(pthread_join(supervisor, NULL), "join the supervisor");
		return GUARD_RAN;
	}
	guard_stop(g);
	if (supervised)
		guard_must(pthread_join(supervisor, NULL), "join the supervisor");
	guard_must(pthread_join(caller, NULL), "join the calling thread");
	guarded = g->listener >= 0;
	if (guarded)
		close(g->listener);
	close(g->stop_pipe[0]);
	close(g->stop_pipe[1]);
	if (!g->returned)
		return GUARD_UNAVAILABLE;
	return guarded ? GUARD_RAN : GUARD_UNGUARDED;
}

/* "vmsplice x16, read x2" (empty when nothing was refused). */
static inline const char *guard_refused_text(const struct guard *g, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < g->nrefusals && o + 40 < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s() x%ld", i ? ", " : "",
				      guard_call_name(g->refused[i].nr), g->refused[i].times);
	return buf;
}

#endif
