/*
 * at_driver_exit.c - linked into every sanitizer driver (harness/NN/tsan_*.c,
 * asan_*.c) with -Wl,--wrap=exit,--wrap=_exit,--wrap=_Exit: code under test
 * that ends the driver's process early, with exit(0) say, would otherwise
 * make the run look clean ("exit 0, no report") without running the rest.
 * In the driver's own process such a call ends it with status 67 and says
 * so; in a child the code under test forked (lesson 04, a server's
 * children) exit and _exit work as always. The driver's own end, a return
 * from main, does not pass through here.
 *
 * In a ThreadSanitizer driver it also stops the run at a second free() of a
 * block (or a free() of a pointer malloc never returned). TSan does not
 * report those: its allocator takes the block back twice, later hands it
 * to two allocations at once, and what TSan says next (a race, a use after
 * free, a destroyed mutex, or nothing at all) depends on which allocations
 * got it: the verdict would be luck. A free hook asks TSan's allocator
 * whether the block is allocated (__sanitizer_get_allocated_size() is 0
 * only for one that is not: malloc(0) counts as 1 byte) and, when not,
 * reports "ERROR: atonce driver: attempting double-free" with the stack
 * and ends the run with status 66, like a sanitizer report
 * (harness/lib/at_sanreport.c reads it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define EXITED_EARLY 67

void __real_exit(int status) __attribute__((noreturn));
void __real__exit(int status) __attribute__((noreturn));
void __real__Exit(int status) __attribute__((noreturn));
void __wrap_exit(int status) __attribute__((noreturn));
void __wrap__exit(int status) __attribute__((noreturn));
void __wrap__Exit(int status) __attribute__((noreturn));

static pid_t driver_pid;

__attribute__((constructor)) static void note_driver(void)
{
	driver_pid = getpid();
}

static void early(const char *call, int status)
{
	if (getpid() != driver_pid)
		return;
	fprintf(stderr, "atonce driver: the code under test called %s(%d): the run ended before the driver's checks were done\n",
		call, status);
	fflush(NULL);
	__real__exit(EXITED_EARLY);
}

void __wrap_exit(int status)
{
	early("exit", status);
	__real_exit(status);
}

void __wrap__exit(int status)
{
	early("_exit", status);
	__real__exit(status);
}

void __wrap__Exit(int status)
{
	early("_Exit", status);
	__real__Exit(status);
}

/* ---- ThreadSanitizer drivers: a second free() stops the run -------------- */

#if defined(__SANITIZE_THREAD__)
#define AT_TSAN_DRIVER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define AT_TSAN_DRIVER 1
#endif
#endif

#ifdef AT_TSAN_DRIVER
#include <stddef.h>

/* sanitizer/allocator_interface.h and common_interface_defs.h, which
 * Debian's gcc does not install. */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
					       void (*free_hook)(const volatile void *));
size_t __sanitizer_get_allocated_size(const volatile void *p);
void __sanitizer_print_stack_trace(void);

#define SAN_REPORTED 66   /* what every sanitizer report exits with here */

static void on_malloc(const volatile void *p, size_t size)
{
	(void)p;
	(void)size;
}

static int reporting;

static void on_free(const volatile void *p)
{
	char msg[400];
	int n;

	if (!p || __sanitizer_get_allocated_size(p) != 0)
		return;
	/* One report: another thread that gets here meanwhile waits for the end. */
	if (__atomic_exchange_n(&reporting, 1, __ATOMIC_SEQ_CST))
		for (;;)
			pause();
	n = snprintf(msg, sizeof(msg),
		     "==%d==ERROR: atonce driver: attempting double-free on address %p: free() of a block that is not allocated (freed already, or never returned by malloc)\n",
		     (int)getpid(), (void *)p);
	if (n > 0)
		(void)!write(STDERR_FILENO, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	__sanitizer_print_stack_trace();
	n = snprintf(msg, sizeof(msg), "SUMMARY: atonce driver: attempting double-free\n");
	(void)!write(STDERR_FILENO, msg, (size_t)n);
	__real__exit(SAN_REPORTED);
}

__attribute__((constructor)) static void watch_frees(void)
{
	__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}
#endif
