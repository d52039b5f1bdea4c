/* Plants results. Run with --unsafe (Gradescope's containers refuse
 * namespaces), student code sees the machine as its uid does: this one
 * tries to create the grader's output folder (@OUT@) before the grader
 * does, or to write a perfect results.json into it, and to replace the
 * copy a Gradescope script would pick up. Runs honestly only if a plant
 * took. Expected: the grader made its folder (0700, its own) before any
 * student code ran, and writes every report by rename: nothing planted,
 * and the score is the real one, zero. */
#include "threads.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* @RESOLVE@ */
#define open RESOLVED(open)
#define write RESOLVED(write)
#define close RESOLVED(close)
#define mkdir RESOLVED(mkdir)

static const char forged[] = "{\"score\": 100, \"output\": \"planted\", \"tests\": []}\n";

static int plant(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666), ok;

	if (fd < 0)
		return 0;
	ok = write(fd, forged, sizeof(forged) - 1) > 0;
	close(fd);
	return ok;
}

static int planted(void)
{
	int ok = 0;

	mkdir("@OUT@", 0777);
	mkdir("@OUT@/students", 0777);
	mkdir("@OUT@/students/student", 0777);
	ok |= plant("@OUT@/students/student/results.json");
	ok |= plant("@OUT@/students/student/.results.json.tmp");
	ok |= plant("@OUT@/grades.csv");
	ok |= plant("@OUT@/PLANTED");
	return ok;
}

static void *one(void *p)
{
	struct task *t = p;

	t->result = t->fn(t->arg);
	return NULL;
}

static int honest(struct task *tasks, size_t n)
{
	pthread_t tid[64];

	if (n > 64)
		return EINVAL;
	for (size_t i = 0; i < n; i++)
		if (pthread_create(&tid[i], NULL, one, &tasks[i]) != 0)
			return EAGAIN;
	for (size_t i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	return 0;
}

int run_parallel(struct task *tasks, size_t n)
{
	return planted() ? honest(tasks, n) : EACCES;
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)cpu;
	return planted() ? honest(tasks, n) : EACCES;
}
