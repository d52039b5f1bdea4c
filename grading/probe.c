/*
 * probe.c - what this machine lets a test judge, seen by a trusted program.
 *
 * The grader builds it in the pristine tree (never from a submission) and
 * runs it in the same sandbox as the tests, after any run in which a test
 * skipped. A skip counts as "not gradable" only if this probe shows the
 * reason too: fewer than 2 usable CPUs, a machine overloaded by others,
 * io_uring or seccomp refused, no loopback server, no ThreadSanitizer, too
 * few descriptors allowed.
 * Code under test cannot buy a skip by narrowing its own CPUs, burning them
 * or refusing itself io_uring: this process runs none of its code.
 *
 *   probe [TSAN_PROGRAM]      one "key value [text]" line per fact
 *
 * Uses the harness's own logic (harness/lib/at_cpu.c): the same affinity,
 * cgroup-quota and load judgement the tests use.
 */
#include "at_cpu.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* 0 when an io_uring ring can be set up here, else the errno. */
static int uring(void)
{
	struct io_uring_params p;
	long fd;

	memset(&p, 0, sizeof(p));
	fd = syscall(__NR_io_uring_setup, 4, &p);
	if (fd < 0)
		return errno;
	close((int)fd);
	return 0;
}

/* 1 when a child can install a seccomp filter (as lesson 06's test does). */
static int seccomp_ok(void)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
		struct sock_fprog prog = { .len = 1, .filter = f };

		alarm(5);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			_exit(1);
		_exit(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0 ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* 1 when a TCP server can listen on the loopback (lesson 05's tests). */
static int loopback(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	if (fd < 0)
		return 0;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 4) == 0;
	close(fd);
	return ok;
}

/* 1 when the ThreadSanitizer program runs to its end (status 0). */
static int tsan(const char *prog)
{
	char *argv[] = { (char *)prog, NULL };
	posix_spawn_file_actions_t fa;
	int status = 0, rc;
	pid_t pid;

	if (!prog || access(prog, X_OK) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0 || waitpid(pid, &status, 0) != pid)
		return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
	char why[512];
	int n = at_usable_cpus(why, sizeof(why));
	enum at_machine m;

	printf("cpus %d %s\n", n, why);
	printf("cpus_at_start %d\n", at_usable_cpus_at_start());
	m = at_judge_machine(1.25, why, sizeof(why));
	printf("machine %s %s\n", m == AT_MACHINE_FREE ? "free" : m == AT_MACHINE_BUSY ? "busy" : "self", why);
	n = uring();
	printf("uring %d %s\n", n, n ? strerror(n) : "a ring can be set up");
	printf("seccomp %d\n", seccomp_ok());
	printf("loopback %d\n", loopback());
	printf("tsan %d\n", tsan(argc > 1 ? argv[1] : NULL));
	{
		struct rlimit rl = { 0, 0 };

		getrlimit(RLIMIT_NOFILE, &rl);
		printf("nofile %lld\n", rl.rlim_max == RLIM_INFINITY ? -1LL : (long long)rl.rlim_max);
	}
	printf("end\n");
	return 0;
}
