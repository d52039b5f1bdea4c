/*
 * Mutant threads_not_processes: runs each task on a thread, as in lesson 02.
 * The tasks overlap and even run in parallel, but all in the caller's own
 * process: the same PID, the same memory.
 * Caught by: procs::own_process.
 */
#include "procs.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct job {
	proc_task_fn fn;
	void *arg;
	struct proc_result *out;
};

static void *run_one(void *p)
{
	struct job *j = p;

	j->out->value = j->fn(j->arg);
	j->out->status = PROC_OK;
	j->out->pid = getpid();  /* the caller's: there is no child */
	return NULL;
}

int run_in_processes(proc_task_fn fn, void *const args[],
		     struct proc_result out[], size_t n)
{
	pthread_t *tid = malloc((n ? n : 1) * sizeof(*tid));
	struct job *job = malloc((n ? n : 1) * sizeof(*job));
	size_t started = 0;
	int err = 0;

	if (!tid || !job) {
		free(tid);
		free(job);
		return ENOMEM;
	}
	for (; started < n; started++) {
		job[started] = (struct job){ fn, args[started], &out[started] };
		err = pthread_create(&tid[started], NULL, run_one, &job[started]);
		if (err != 0)
			break;
	}
	for (size_t i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	free(tid);
	free(job);
	return err;
}
