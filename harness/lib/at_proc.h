/*
 * at_proc.h - a process's or a thread's state and parent, from its line in
 * /proc/PID/stat (or /proc/PID/task/TID/stat).
 *
 * The line reads "pid (name) state ppid ...", and the name may itself hold
 * spaces and parentheses: the fields are read after the *last* ')'. Tests
 * use it to see that a child has ended (Z, a zombie; or gone), that a
 * thread sleeps (S) before they go on, or whose child a process is.
 * Compare with at_cpu.c, which reads the CPU times of the same line.
 */
#ifndef AT_PROC_H
#define AT_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * Process pid (0: this one), or its thread tid when tid is not 0: its
 * state letter (R, S, D, T, Z, X...) in *state and its parent in *ppid
 * (either may be NULL). False when it is gone from /proc.
 */
bool at_proc_stat(pid_t pid, pid_t tid, char *state, pid_t *ppid);

/* Has process pid ended: a zombie, or already reaped (gone from /proc)? */
bool at_proc_ended(pid_t pid);

#endif
