/*
 * at_proc.c - a process's or a thread's state and parent from /proc
 * (at_proc.h). Also linked into the sanitizer drivers (lesson.mk's DRV_LIB).
 */
#include "at_proc.h"

#include <stdio.h>
#include <string.h>

bool at_proc_stat(pid_t pid, pid_t tid, char *state, pid_t *ppid)
{
	char path[96], text[512], who[24] = "self", st = '?';
	const char *paren;
	int parent = 0;
	FILE *f;

	if (pid != 0)
		snprintf(who, sizeof(who), "%d", (int)pid);
	if (tid != 0)
		snprintf(path, sizeof(path), "/proc/%s/task/%d/stat", who, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%s/stat", who);
	if (!(f = fopen(path, "r")))
		return false;
	/* Gone between the open and the read: gone. */
	if (!fgets(text, sizeof(text), f)) {
		fclose(f);
		return false;
	}
	fclose(f);
	/* The name in parentheses may hold ')' itself: after the last one. */
	if ((paren = strrchr(text, ')')))
		sscanf(paren + 1, " %c %d", &st, &parent);
	if (state)
		*state = st;
	if (ppid)
		*ppid = (pid_t)parent;
	return true;
}

bool at_proc_ended(pid_t pid)
{
	char state;

	return !at_proc_stat(pid, 0, &state, NULL) || state == 'Z' || state == 'X';
}
