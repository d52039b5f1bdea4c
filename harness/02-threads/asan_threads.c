/*
 * asan_threads.c - lesson 02's AddressSanitizer driver (harness/mk/lesson.mk
 * builds it, with the code under test, as $ATONCE_OUT/asan_threads;
 * test_threads.c::memory_errors runs it).
 *
 *   asan_threads all   run_parallel() of 0, 1 and 64 tasks, run_pinned() of
 *                      16; both again with the 5th pthread_create() and
 *                      every later one failing; run_pinned() on CPU -1
 *
 * What it is for: the memory run_parallel() and run_pinned() manage (the
 * thread ids, an attribute object, anything else) must be used only while
 * it is allocated and be freed on every path, the error paths included.
 * It judges no result (that is the other tests' business).
 *
 * Exit 0 when clean; 66 when AddressSanitizer, LeakSanitizer or UBSan
 * reports (the test sets the options, see at_memcheck.h); 3 when the code
 * is not written yet (ENOSYS); 2 when a call that should succeed failed.
 */
#include "threads.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/*
 * A pthread_create() that fails when armed: the FAIL_AT-th call and every
 * later one return EAGAIN. The code under test calls this definition (the
 * program's own comes first); the real one, found with RTLD_NEXT, is
 * AddressSanitizer's, which then calls the C library's.
 */
#define FAIL_AT 5

static atomic_int create_calls, create_fail_from;
static void *_Atomic next_create;

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	int k = atomic_load(&create_fail_from);
	void *real = atomic_load(&next_create);
	create_fn call;

	if (k > 0 && atomic_fetch_add(&create_calls, 1) + 1 >= k)
		return EAGAIN;
	if (!real) {
		real = dlsym(RTLD_NEXT, "pthread_create");
		if (!real)
			return ENOSYS;
		atomic_store(&next_create, real);
	}
	memcpy(&call, &real, sizeof(call));
	return call(t, attr, fn, arg);
}

#define MAX_TASKS 64

/* Uses a little stack and returns a value that depends on its argument. */
static long work(void *arg)
{
	volatile char scratch[256];
	long i = (long)(intptr_t)arg;

	memset((char *)scratch, (int)(i & 0x7f), sizeof(scratch));
	return i * i + scratch[i % 256];
}

static struct task tasks[MAX_TASKS];

static void fill(int n)
{
	for (int i = 0; i < n; i++)
		tasks[i] = (struct task){ work, (void *)(intptr_t)i, -1 };
}

static int first_cpu(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 0;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			return c;
	return 0;
}

/* A call that must succeed: 0, or the driver's exit status. */
static int must_succeed(const char *what, int rc)
{
	if (rc == 0)
		return 0;
	fprintf(stderr, "asan_threads: %s returned %d (%s)\n", what, rc, strerror(rc));
	return rc == ENOSYS ? 3 : 2;
}

/* The same calls with pthread_create() failing part-way; any error number
 * is fine here, what counts is the memory. */
static void with_failing_create(int cpu)
{
	atomic_store(&create_calls, 0);
	atomic_store(&create_fail_from, FAIL_AT);
	fill(8);
	(void)run_parallel(tasks, 8);
	atomic_store(&create_calls, 0);
	fill(8);
	(void)run_pinned(tasks, 8, cpu);
	atomic_store(&create_fail_from, 0);
}

int main(int argc, char **argv)
{
	int cpu = first_cpu(), status;

	if (argc != 2 || strcmp(argv[1], "all") != 0) {
		fprintf(stderr, "usage: asan_threads all\n");
		return 2;
	}
	fill(1);
	if ((status = must_succeed("run_parallel() of 0 tasks", run_parallel(tasks, 0))) != 0 ||
	    (status = must_succeed("run_parallel() of 1 task", run_parallel(tasks, 1))) != 0)
		return status;
	fill(MAX_TASKS);
	if ((status = must_succeed("run_parallel() of 64 tasks", run_parallel(tasks, MAX_TASKS))) != 0)
		return status;
	fill(16);
	if ((status = must_succeed("run_pinned() of 16 tasks", run_pinned(tasks, 16, cpu))) != 0)
		return status;
	with_failing_create(cpu);
	fill(4);
	(void)run_pinned(tasks, 4, -1);   /* refused: what was allocated is freed */
	printf("asan_threads: done\n");
	return 0;
}
