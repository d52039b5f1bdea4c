/*
 * at_driver_exit.c - linked into every sanitizer driver (harness/NN/tsan_*.c,
 * asan_*.c) with -Wl,--wrap=exit,--wrap=_exit,--wrap=_Exit: code under test
 * that ends the driver's process early, with exit(0) say, would otherwise
 * make the run look clean ("exit 0, no report") without running the rest.
 * In the driver's own process such a call ends it with status 67 and says
 * so; in a child the code under test forked (lesson 04, a server's
 * children) exit and _exit work as always. The driver's own end, a return
 * from main, does not pass through here.
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
