/*
 * Description: the trace recorder: slices of busy tasks, the JSON and Graphviz
 * writers, and the text timeline (project-tests.sh also parses the JSON and
 * renders the .dot that this test saves).
 */
#include "at_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(trace, .timeout = 20);

static void *busy_lane(void *lane)
{
	at_trace_busy(at_trace_global(), "busy", (int)(intptr_t)lane, 30);
	return NULL;
}

Test(trace, records_and_writes, .description = "two busy lanes are recorded and written as JSON, .dot and text")
{
	struct at_trace *tr = at_trace_global();
	char pic[2048], path[] = "/tmp/atonce-trace-XXXXXX", file[64];
	pthread_t t[2];
	FILE *f;
	long size;

	at_trace_reset(tr);
	for (int i = 0; i < 2; i++)
		cr_assert(pthread_create(&t[i], NULL, busy_lane, (void *)(intptr_t)i) == 0);
	for (int i = 0; i < 2; i++)
		cr_assert(pthread_join(t[i], NULL) == 0);
	AT_CHECK(atomic_load(&tr->n) >= 2, "two lanes need at least two slices");

	cr_assert(mkdtemp(path) != NULL);
	snprintf(file, sizeof(file), "%s/t.json", path);
	cr_assert(at_trace_write_json(tr, file) == 0);
	cr_assert((f = fopen(file, "r")) != NULL);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	AT_CHECK(size > 100, "the JSON is %ld bytes", size);
	snprintf(file, sizeof(file), "%s/t.dot", path);
	cr_assert(at_trace_write_dot(tr, file, "self-test") == 0);

	/* The scratch folder goes: only at_trace_save() below keeps a copy. */
	snprintf(file, sizeof(file), "%s/t.json", path);
	unlink(file);
	snprintf(file, sizeof(file), "%s/t.dot", path);
	unlink(file);
	rmdir(path);

	at_trace_ascii(tr, 40, pic, sizeof(pic));
	AT_MEASURED("trace: %d slices\n%s", atomic_load(&tr->n), pic);
	AT_CHECK(strstr(pic, "task A |") && strstr(pic, "task B |"), "the text timeline has a row per lane");
	/* Saved for project-tests.sh when ATONCE_TRACE_DIR is set. */
	at_trace_save(tr, "selftest", "self-test: two busy threads");
	AT_END();
}
