/*
 * procs.c - lesson 04, the reference: every task in a child process of its
 * own, all started before any is waited for; each child sends its result
 * through a pipe of its own and ends with _exit(); the parent reads every
 * pipe, reaps every child and says what became of each.
 *
 * Compare with solutions/02-threads/threads.c (the same shape on threads)
 * and with harness/04-processes/mutants/: wait_each.patch waits for each
 * child right after forking it (processes, but one task at a time),
 * pipe_left_open.patch keeps its copy of the write ends (a dead child's
 * pipe never reaches end-of-file), no_waitpid.patch leaves zombies.
 */
#include "procs.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* What the parent keeps about one child between starting and collecting it. */
struct child {
	pid_t pid;  /* 0: never started */
	int fd;     /* the read end of its pipe; -1 once closed */
};

/* ANCHOR: child */
/* The child's whole life: run the task, send the result, end. Writes of up
 * to PIPE_BUF bytes to a pipe are atomic, so one write() sends it whole.
 * _exit(), not exit() and not return: the child is a copy of the caller,
 * with the caller's stdio buffers and exit handlers; running those twice
 * would print twice and clean up twice. */
static _Noreturn void be_child(proc_task_fn fn, void *arg, int fd)
{
	long value = fn(arg);
	ssize_t w;

	do
		w = write(fd, &value, sizeof(value));
	while (w < 0 && errno == EINTR);
	_exit(w == (ssize_t)sizeof(value) ? 0 : 1);
}
/* ANCHOR_END: child */

/* ANCHOR: start */
/* Make a pipe and a child for task i. In the parent, keep the read end and
 * close the write end at once: the pipe reaches end-of-file only when no
 * process holds a write end, and the parent must not be one of them (nor
 * hand its copy down to the children it forks next). */
static int start_child(proc_task_fn fn, void *arg, struct child *c)
{
	int fd[2];
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
		close(fd[0]);            /* the child only writes */
		be_child(fn, arg, fd[1]);  /* never returns */
	}
	close(fd[1]);                    /* the parent only reads */
	c->pid = pid;
	c->fd = fd[0];
	return 0;
}
/* ANCHOR_END: start */

/* ANCHOR: read */
/* Read one result: true when all its bytes came. A return of 0 from read()
 * is end-of-file: the child ended (every write end is closed) without
 * sending a whole result, because it crashed or exited early. */
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
/* ANCHOR_END: read */

/* ANCHOR: collect */
/* Read child c's result, close its pipe, reap it, and say what became of
 * it. waitpid() is what removes the dead child from the process table;
 * until then it is a zombie, holding its PID and its exit status for us. */
static void collect_child(struct child *c, struct proc_result *r)
{
	long value = 0;
	bool whole = read_value(c->fd, &value);
	int status = 0;  /* stays 0 only if waitpid fails: SIGCHLD ignored */

	close(c->fd);
	c->fd = -1;
	*r = (struct proc_result){ .pid = c->pid, .value = value };
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		r->status = PROC_CRASHED;
		r->signal = WTERMSIG(status);
	} else if (WEXITSTATUS(status) == 0 && whole) {
		r->status = PROC_OK;
	} else {
		r->status = PROC_EXITED;
		r->exit_code = WEXITSTATUS(status);
	}
}
/* ANCHOR_END: collect */

/* ANCHOR: run */
int run_in_processes(proc_task_fn fn, void *const args[],
		     struct proc_result out[], size_t n)
{
	struct child *kids = calloc(n ? n : 1, sizeof(*kids));
	size_t started = 0;
	int err = 0;

	if (kids == NULL)
		return ENOMEM;
	/* First start every child, so that all n tasks are in progress at
	 * once: waiting for one here would run the tasks one after another. */
	for (; started < n; started++) {
		err = start_child(fn, args[started], &kids[started]);
		if (err != 0)
			break;
	}
	/* Then collect them in order. Reading child 0 first while child 3
	 * has long finished costs nothing: a finished child's result waits
	 * in its pipe, and the child itself waits, a zombie, until reaped. */
	for (size_t i = 0; i < started; i++)
		collect_child(&kids[i], &out[i]);
	free(kids);
	return err;
}
/* ANCHOR_END: run */
