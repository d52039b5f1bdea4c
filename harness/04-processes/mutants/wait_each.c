/*
 * Mutant wait_each: waits for each child right after forking it. Processes,
 * yet no concurrency: each task ends before the next child is even made.
 * Caught by: procs::overlap.
 */
#include "procs.h"

#include <errno.h>
#include <stdbool.h>
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
	for (size_t i = 0; i < n; i++) {
		int fd[2], status = 0;
		long value = 0;
		bool whole;
		pid_t pid;

		if (pipe(fd) != 0)
			return errno;
		pid = fork();
		if (pid < 0) {
			int err = errno;

			close(fd[0]);
			close(fd[1]);
			return err;
		}
		if (pid == 0) {
			close(fd[0]);
			value = fn(args[i]);
			_exit(write(fd[1], &value, sizeof(value)) == (ssize_t)sizeof(value) ? 0 : 1);
		}
		close(fd[1]);
		/* The mistake: read and reap this child before making the next. */
		whole = read_value(fd[0], &value);
		close(fd[0]);
		waitpid(pid, &status, 0);
		out[i] = (struct proc_result){ .pid = pid, .value = value };
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
	return 0;
}
