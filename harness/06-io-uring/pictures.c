/*
 * pictures.c - lesson 06's timeline of a real run, drawn for the chapter.
 *
 *   pictures OUTDIR    writes OUTDIR/run-gated.dot
 *
 * Linked with the reference solution (`make diagrams`). The `gated` test's
 * set-up: eight pipes, their data released one at a time in a secret order,
 * each only after the previous one was read, while uring_read_batch()
 * waits on all eight through one ring. Each lane is a pipe; its slice runs
 * from the moment its data is written to the moment the ring has drained
 * it. The slices follow each other in the secret order, never overlapping:
 * every read was already in flight when its data came.
 * Compare with lessons/05-event-loop/diagrams/run-gated.svg.
 */
#include "at_trace.h"
#include "uring.h"
#include "uring_test.h"

int main(int argc, char **argv)
{
	struct pipe_gate g;
	struct uring_read r[8];
	char buf[8][512], path[4096], title[160], order[64];
	int err = uring_available();

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	if (err) {
		fprintf(stderr, "pictures: %s\n", uring_refusal(err));
		return 1;
	}
	if (!gate_init(&g, 8, 1, 64, 1000))
		return 1;
	g.trace = at_trace_global();
	at_trace_reset(g.trace);
	for (int i = 0; i < 8; i++)
		r[i] = (struct uring_read){ g.rfd[i], buf[i], 64, 0, 0 };
	if (!gate_start(&g))
		return 1;
	if (uring_read_batch(r, 8) != 0 || (gate_finish(&g), g.drained != 8)) {
		fprintf(stderr, "pictures: the gated run failed\n");
		return 1;
	}
	snprintf(title, sizeof(title), "8 pipes, one ring: data released in the secret order %s",
		 gate_order(&g, order, sizeof(order)));
	snprintf(path, sizeof(path), "%s/run-gated.dot", argv[1]);
	return at_trace_write_dot(g.trace, path, title) == 0 ? 0 : 1;
}
