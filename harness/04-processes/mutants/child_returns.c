/*
 * Mutant child_returns: written in one loop, and the child, once it has
 * sent its result, simply returns. It returns from run_in_processes() into
 * the caller's code, which now runs twice: once in the parent, once in
 * each child (here: the test runner's).
 * Caught by: procs::children_exit.
 */
#include "procs.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static bool read_value(int fd, long *value)
{
	size_t got = 0;

	while (got < sizeof(*value)) {
		ssize_t r = read(fd, (char *)value + got, sizeof(*value) - got);

		if (r > 0)
			got += (size_t)r;
		else if (r == 0 || errno != EINTR)
			break;
	}
	return got == sizeof(*value);
}

int run_in_processes(proc_task_fn fn, void *const args[],
		     struct proc_result out[], size_t n)
{
	pid_t *pid = calloc(n ? n : 1, sizeof(*pid));
	int *fd = calloc(n ? n : 1, sizeof(*fd));
	size_t started = 0;
	int err = 0;

	if (!pid || !fd) {
		free(pid);
		free(fd);
		return ENOMEM;
	}
	for (; started < n; started++) {
		int p[2];

		if (pipe(p) != 0) {
			err = errno;
			break;
		}
		pid[started] = fork();
		if (pid[started] < 0) {
			err = errno;
			close(p[0]);
			close(p[1]);
			break;
		}
		if (pid[started] == 0) {
			long value = fn(args[started]);

			close(p[0]);
			if (write(p[1], &value, sizeof(value)) < 0)
				return errno;
			close(p[1]);
			return 0;  /* the mistake: the child returns into the caller */
		}
		close(p[1]);
		fd[started] = p[0];
	}
	for (size_t i = 0; i < started; i++) {
		long value = 0;
		bool whole = read_value(fd[i], &value);
		int status = 0;

		close(fd[i]);
		waitpid(pid[i], &status, 0);
		out[i] = (struct proc_result){ .pid = pid[i], .value = value };
		if (WIFSIGNALED(status)) {
			out[i].status = PROC_CRASHED;
			out[i].signal = WTERMSIG(status);
		} else if (WEXITSTATUS(status) == 0 && whole) {
			out[i].status = PROC_OK;
		} else {
			out[i].status = PROC_EXITED;
			out[i].exit_code = WEXITSTATUS(status);
		}
	}
	free(pid);
	free(fd);
	return err;
}
