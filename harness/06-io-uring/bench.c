/*
 * bench.c - lesson 06's benchmark: copying a 256 MiB file three ways.
 *
 *   uring_copy      the code under test: 128 KiB blocks, 8 in flight;
 *   read/write      the blocking loop with the same 128 KiB buffer;
 *   cp              coreutils cp, started with posix_spawn (it may use
 *                   copy_file_range(2): the kernel copies without the
 *                   bytes ever reaching user space).
 *
 * The source file is written once and stays in the page cache (24 GiB of
 * RAM here): this measures system-call and copying overhead, not a disk.
 * Each round copies into a fresh, empty file. `make bench LESSON=6`.
 * Never a verdict: the target (copy at least as fast as cp) is reported,
 * met or not. Compare with demo/blocking_copy.c.
 */
#include "at_bench.h"
#include "uring.h"
#include "uring_test.h"   /* the --wrap counters the link asks for */

#include <spawn.h>
#include <sys/wait.h>

#define FILE_MB   256
#ifndef BLOCK
#define BLOCK     (128 * 1024)   /* cp's own buffer size when it must copy */
#endif
#ifndef DEPTH
#define DEPTH     8
#endif
#define ROUNDS    9

extern char **environ;

struct bench {
	char in[64], out[64];
	size_t size;
	int failures;
};

static int fresh_out(struct bench *b)
{
	return open(b->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

static void check_size(struct bench *b, const char *who)
{
	struct stat st;

	if (stat(b->out, &st) != 0 || (size_t)st.st_size != b->size) {
		if (!b->failures++)
			fprintf(stderr, "  %s: the copy has the wrong size\n", who);
	}
}

static void run_uring(void *arg)
{
	struct bench *b = arg;
	int in = open(b->in, O_RDONLY | O_CLOEXEC), out = fresh_out(b);
	ssize_t n = uring_copy(in, out, BLOCK, DEPTH);

	if (n != (ssize_t)b->size && !b->failures++)
		fprintf(stderr, "  uring_copy() returned %zd (%s)\n", n, n < 0 ? strerror((int)-n) : "short");
	close(in);
	close(out);
	check_size(b, "uring_copy");
}

static void run_loop(void *arg)
{
	static char buf[BLOCK];
	struct bench *b = arg;
	int in = open(b->in, O_RDONLY | O_CLOEXEC), out = fresh_out(b);
	ssize_t got;

	while ((got = read(in, buf, sizeof(buf))) > 0)
		for (ssize_t put = 0, w; put < got; put += w)
			if ((w = write(out, buf + put, (size_t)(got - put))) < 0)
				goto out;
out:
	close(in);
	close(out);
	check_size(b, "read/write");
}

static void run_cp(void *arg)
{
	struct bench *b = arg;
	char cp[] = "cp", *argv[] = { cp, b->in, b->out, NULL };
	pid_t pid;
	int status;

	unlink(b->out);
	if (posix_spawnp(&pid, "cp", NULL, NULL, argv, environ) != 0 ||
	    waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		if (!b->failures++)
			fprintf(stderr, "  cp failed\n");
		return;
	}
	check_size(b, "cp");
}

static bool make_source(struct bench *b)
{
	static char chunk[1 << 20];
	unsigned seed = 6;
	int fd;

	snprintf(b->in, sizeof(b->in), "/tmp/atonce-bench06-in-%d", (int)getpid());
	snprintf(b->out, sizeof(b->out), "/tmp/atonce-bench06-out-%d", (int)getpid());
	b->size = (size_t)FILE_MB << 20;
	fd = open(b->in, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return false;
	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (char)(rand_r(&seed) >> 5);
	for (int i = 0; i < FILE_MB; i++) {
		chunk[0] = (char)i;   /* no two megabytes alike */
		if (write(fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk)) {
			close(fd);
			return false;
		}
	}
	close(fd);
	return true;
}

/* The copy in b->out is byte for byte the source. */
static bool same_bytes(struct bench *b)
{
	static char x[1 << 20], y[1 << 20];
	int in = open(b->in, O_RDONLY | O_CLOEXEC), out = open(b->out, O_RDONLY | O_CLOEXEC);
	bool same = in >= 0 && out >= 0;

	for (size_t at = 0; same && at < b->size; at += sizeof(x))
		same = pread(in, x, sizeof(x), (off_t)at) == (ssize_t)sizeof(x) &&
		       pread(out, y, sizeof(y), (off_t)at) == (ssize_t)sizeof(y) &&
		       memcmp(x, y, sizeof(x)) == 0;
	close(in);
	close(out);
	return same;
}

int main(void)
{
	struct bench b = { .failures = 0 };
	struct at_bench_stat st[3];
	int err = uring_available();

	if (err) {
		printf("lesson 06 benchmark skipped: %s\n", uring_refusal(err));
		return 0;
	}
	if (!make_source(&b)) {
		perror("writing the source file in /tmp");
		unlink(b.in);
		return 1;
	}
	char ours[64], loop[64];

	snprintf(ours, sizeof(ours), "uring_copy (%d KiB x %d)", BLOCK / 1024, DEPTH);
	snprintf(loop, sizeof(loop), "read/write loop (%d KiB)", BLOCK / 1024);
	struct at_bench_case cases[] = {
		{ ours, run_uring, &b },
		{ loop, run_loop, &b },
		{ "cp (copy_file_range)", run_cp, &b },
	};
	printf("lesson 06: copying a %d MiB file in /tmp (page cache warm: no disk in the figures)\n", FILE_MB);
	run_uring(&b);                   /* is the copy right, before timing it? */
	if (b.failures || !same_bytes(&b)) {
		printf("  uring_copy() does not copy the file right yet: timing the peers only\n");
		b.failures = 0;
		at_bench_run("copy a 256 MiB file", cases + 1, 2, ROUNDS, (double)FILE_MB, "MiB", NULL);
		unlink(b.in);
		unlink(b.out);
		return 0;
	}
	at_bench_run("copy a 256 MiB file", cases, 3, ROUNDS, (double)FILE_MB, "MiB", st);
	printf("  target (not a test): uring_copy at least as fast as cp: %s (%.2fx cp's time)\n",
	       st[0].median_s <= st[2].median_s ? "met" : "NOT met", st[0].median_s / st[2].median_s);
	if (b.failures)
		printf("  WARNING: %d copies were wrong (see above): their times mean nothing\n", b.failures);
	unlink(b.in);
	unlink(b.out);
	return 0;
}
