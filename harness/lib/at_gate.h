/*
 * at_gate.h - gated clients: proof that a server deals with many
 * connections at once, not one after another.
 *
 * The gate opens N connections to the server first, then runs a
 * conversation of `rounds` requests per client. It releases one request at
 * a time, in a secret random order (a fresh shuffle each round), and
 * releases the next only once the previous one has been fully answered.
 * A server that stays with one connection until it ends (or reads its
 * connections in a fixed order) is left waiting on a client whose turn has
 * not come, while the client whose turn it is waits for an answer that
 * never comes: at the deadline the gate closes every connection, so the
 * server sees an end of file on each and the test fails cleanly, after one
 * deadline rather than one per client.
 *
 * The figure is max_in_progress: the most clients that were between their
 * first request and their last reply at one moment. With rounds >= 2, a
 * server that answers everyone reaches N after the first round: all N
 * conversations were open in the server at once. A sequential server
 * stays at 1. It is the socket form of the overlap latch (at_latch.h); N
 * clients make a lucky order 1 in N! per round (N = 8: 1 in 40,320).
 *
 * One thread, poll(2), non-blocking sockets: the gate never blocks past
 * its deadline, whatever the server does.
 */
#ifndef AT_GATE_H
#define AT_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "at_trace.h"

#define AT_GATE_MAX 64

/* One request and the exact reply it must get. The gate copies nothing:
 * the bytes must stay valid until the exchange is over. */
struct at_gate_msg {
	const char *request;
	size_t request_len;
	const char *reply;
	size_t reply_len;
};

struct at_gate_result {
	int clients;          /* N */
	int rounds;
	int connected;        /* connections opened */
	int exchanges;        /* requests answered right, of clients * rounds */
	int completed;        /* clients whose every request was answered right */
	int max_in_progress;  /* the figure (see above) */
	bool timed_out;       /* an answer did not come within the step deadline */
	int stuck_client;     /* the client whose answer failed, or -1 */
	int order[AT_GATE_MAX]; /* the secret order of the first round */
	unsigned seed;
	double seconds;
	char problem[256];    /* what went wrong, in plain words; "" when all went right */
};

struct at_gate {
	/* Where to connect. */
	const struct sockaddr *addr;
	socklen_t addrlen;
	int clients;              /* 2 .. AT_GATE_MAX */
	int rounds;               /* >= 2 for max_in_progress to mean anything */
	int step_timeout_ms;      /* how long one answer may take */
	unsigned seed;            /* 0: a fresh secret one */
	/* What client c sends in round r, and what it must get back. */
	void (*script)(int c, int r, struct at_gate_msg *m, void *arg);
	void *script_arg;
	/* Optional: false when the server is gone (stop waiting at once). */
	bool (*alive)(void *arg);
	void *alive_arg;
	/* Optional: called after each answer, e.g. to count the server's
	 * threads while every client is in progress. step = 0, 1, ... */
	void (*after_step)(int step, void *arg);
	void *after_arg;
	/* Optional: one slice per exchange (request sent -> reply in), on
	 * lane = client. */
	struct at_trace *trace;
};

/*
 * Run the gate. Returns true when every client got every reply right;
 * the details are in *r either way. Every connection is closed on return.
 */
bool at_gate_run(const struct at_gate *g, struct at_gate_result *r);

/* The first round's order as text, e.g. "5 2 7 0 3 1 6 4". */
const char *at_gate_order(const struct at_gate_result *r, char *buf, size_t len);

#endif
