/*
 * cpus_probe.c - how many CPUs this process may use at once, and what
 * limits it (affinity, cgroup quota), by the harness's own logic
 * (harness/lib/at_cpu.c). Used by `make doctor`.
 */
#include "at_cpu.h"

#include <stdio.h>

int main(void)
{
	char why[160];
	int n = at_usable_cpus(why, sizeof(why));

	printf("%s%s\n", why, n < 2 ? ": the parallelism checks will skip (2 needed)" : "");
	return 0;
}
