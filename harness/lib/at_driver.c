/*
 * at_driver.c - threads and helper programs waited for with a deadline
 * (see at_driver.h).
 */
#include "at_driver.h"
#include "at_time.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Wait at most ms for thread t to end; true when it was joined. A thread
 * that is still stuck is left behind: the test process ends soon after. */
bool at_join_within(pthread_t t, int ms)
{
	struct timespec ts;

	/* pthread_timedjoin_np wants an absolute CLOCK_REALTIME deadline. */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(t, NULL, &ts) == 0;
}


/*
 * make test builds a mutant's sanitizer drivers only when one of the tests
 * it runs needs them (ATONCE_DRIVERS_ON_DEMAND set): a missing driver is
 * then written down in $ATONCE_OUT/.drivers-wanted, and make test builds
 * them all and runs the tests again. Nothing else sets that variable.
 */
static void note_driver_wanted(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	if (!getenv("ATONCE_DRIVERS_ON_DEMAND"))
		return;
	snprintf(path, sizeof(path), "%s/.drivers-wanted", dir);
	f = fopen(path, "a");
	if (f) {
		fprintf(f, "%s\n", name);
		fclose(f);
	}
}

/*
 * Run $ATONCE_OUT/<name> <arg> with TSAN_OPTIONS set, for at most
 * timeout_ms. Returns NULL when it ran (see r), else why it could not
 * (a sentence for a skip).
 */
const char *at_run_driver(const char *name, const char *arg,
				     int timeout_ms, struct at_driver_run *r)
{
	static char why[4096 + 256];
	const char *dir = getenv("ATONCE_OUT");
	char path[4096];
	char *argv[3];
	posix_spawn_file_actions_t fa;
	int pipefd[2], rc, status;
	size_t used = 0;
	pid_t pid;
	int64_t deadline;

	memset(r, 0, sizeof(*r));
	if (!dir || !*dir)
		return "ATONCE_OUT is not set, so the ThreadSanitizer driver cannot be found: run the tests through `make check`";
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (access(path, X_OK) != 0) {
		snprintf(why, sizeof(why), "%s was not built (%s): run the tests through `make check`",
			 path, strerror(errno));
		note_driver_wanted(dir, name);
		return why;
	}
	/* exitcode: a report makes the driver exit 66, whatever its own code
	 * would have done; halt_on_error: stop at the first report. */
	setenv("TSAN_OPTIONS", "exitcode=66:halt_on_error=1:second_deadlock_stack=1", 1);
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		snprintf(why, sizeof(why), "pipe: %s", strerror(errno));
		return why;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
	argv[0] = path;
	argv[1] = (char *)arg;
	argv[2] = NULL;
	rc = posix_spawn(&pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		snprintf(why, sizeof(why), "cannot start %s: %s", path, strerror(rc));
		return why;
	}
	r->ran = true;
	/* Read until EOF or the deadline; keep the start, drain the rest so
	 * the driver never blocks on a full pipe. */
	deadline = at_now_ns() + (int64_t)timeout_ms * AT_NS_PER_MS;
	for (;;) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		int64_t left = (deadline - at_now_ns()) / AT_NS_PER_MS;
		char chunk[4096];
		ssize_t got;

		if (left <= 0) {
			r->timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			break;
		if (p.revents == 0)
			continue;
		got = read(pipefd[0], chunk, sizeof(chunk));
		if (got <= 0)
			break;
		if (used < sizeof(r->out) - 1) {
			size_t take = (size_t)got;

			if (take > sizeof(r->out) - 1 - used)
				take = sizeof(r->out) - 1 - used;
			memcpy(r->out + used, chunk, take);
			used += take;
		}
	}
	r->out[used] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status))
		r->exit_status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		r->signal = WTERMSIG(status);
	return NULL;
}

/*
 * The part of a ThreadSanitizer report a student needs: the WARNING line;
 * each access (or lock) with the first three frames of our own code
 * (file:line), without TSan's own frames and addresses, ten lines at most;
 * the SUMMARY. The "created by main thread" and "Location is" sections are
 * left out.
 * Writes into buf; returns buf ("" when there is no report).
 */
char *at_tsan_excerpt(const char *out, char *buf, size_t len)
{
	const char *p = strstr(out, "WARNING: ThreadSanitizer");
	size_t off = 0;
	bool skip = false;
	int frames = 0, lines = 0;

	buf[0] = '\0';
	while (p && *p && off < len) {
		const char *nl = strchr(p, '\n');
		int n = (int)(nl ? (size_t)(nl - p) : strlen(p));
		bool emit = false;

		if (n == 0 || strncmp(p, "==", 2) == 0) {
			/* a blank line or the closing rule */
		} else if (strncmp(p, "    #", 5) == 0) {
			/* a stack frame: ours only, at most three per section */
			if (!skip && frames < 3 && !memmem(p, (size_t)n, "libsanitizer", 12) &&
			    !memmem(p, (size_t)n, "libtsan", 7)) {
				const char *paren = memmem(p, (size_t)n, " (", 2);

				if (paren)
					n = (int)(paren - p);   /* drop "(binary+0x...)" */
				emit = true;
				frames++;
			}
		} else if (strncmp(p, "  ", 2) == 0) {
			/* a section: which access, which lock, which thread */
			skip = strncmp(p, "  Thread T", 10) == 0 || strncmp(p, "  Location is", 13) == 0 ||
			       (strncmp(p, "  Mutex M", 9) == 0 && memmem(p, (size_t)n, "created at", 10));
			frames = 0;
			emit = !skip;
		} else {
			emit = true;   /* WARNING and SUMMARY */
			lines = 0;
		}
		/* Ten lines tell the story; the SUMMARY line always comes. */
		if (emit && (lines < 10 || strncmp(p, "SUMMARY:", 8) == 0)) {
			off += (size_t)snprintf(buf + off, len - off, "%s%.*s", off ? "\n" : "", n, p);
			lines++;
		}
		if (!nl || strncmp(p, "SUMMARY:", 8) == 0)
			break;
		p = nl + 1;
	}
	return buf;
}

/* The first line of out that holds `what`, copied into buf ("" if none). */
char *at_line_with(const char *out, const char *what, char *buf, size_t len)
{
	const char *p = strstr(out, what), *start, *nl;

	buf[0] = '\0';
	if (!p)
		return buf;
	for (start = p; start > out && start[-1] != '\n'; start--)
		;
	nl = strchr(start, '\n');
	snprintf(buf, len, "%.*s", (int)(nl ? (size_t)(nl - start) : strlen(start)), start);
	return buf;
}
