/*
 * at_witness.c - the ping-pong witness (see at_witness.h).
 */
#include "at_witness.h"
#include "at_cpu.h"
#include "at_time.h"

#include <stdio.h>

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

void at_pingpong_init(struct at_pingpong *pp, long rounds, int timeout_ms)
{
	atomic_init(&pp->turn, 0);
	pp->rounds = rounds;
	pp->timeout_ns = (int64_t)timeout_ms * AT_NS_PER_MS;
	atomic_init(&pp->start_ns, 0);
	atomic_init(&pp->end_ns, 0);
	atomic_init(&pp->gave_up, false);
	atomic_init(&pp->players, 0);
	atomic_init(&pp->active, 0);
	atomic_init(&pp->max_active, 0);
}

/* The deadline starts with the first side, not at init: the code under
 * test may take a while to start its threads, and that is not our business. */
static int64_t start_clock(struct at_pingpong *pp)
{
	int64_t zero = 0, now = at_now_ns();

	if (atomic_compare_exchange_strong(&pp->start_ns, &zero, now))
		return now;
	return zero; /* the other side started first: its time wins */
}

void at_pingpong_play(struct at_pingpong *pp, int side)
{
	int64_t deadline = start_clock(pp) + pp->timeout_ns;
	long last = 2 * pp->rounds;
	unsigned spins = 0;
	int now, seen;

	atomic_fetch_add(&pp->players, 1);
	now = atomic_fetch_add(&pp->active, 1) + 1;
	seen = atomic_load(&pp->max_active);
	while (now > seen && !atomic_compare_exchange_weak(&pp->max_active, &seen, now))
		;
	for (;;) {
		long t = atomic_load_explicit(&pp->turn, memory_order_acquire);

		if (t >= last || atomic_load_explicit(&pp->gave_up, memory_order_relaxed))
			break;
		if ((t & 1) == side) {
			/* Release: the other side sees our move and everything
			 * before it. */
			atomic_store_explicit(&pp->turn, t + 1, memory_order_release);
			if (t + 1 == last)
				atomic_store(&pp->end_ns, at_now_ns());
			continue;
		}
		/* Not our turn: spin. Reading the clock costs ~20 ns, so only
		 * every 1024 spins. */
		if ((++spins & 1023) == 0 && at_now_ns() >= deadline) {
			if (!atomic_exchange(&pp->gave_up, true))
				atomic_store(&pp->end_ns, at_now_ns());
			break;
		}
		cpu_relax();
	}
	atomic_fetch_sub(&pp->active, 1);
}

struct at_pingpong_result at_pingpong_result(struct at_pingpong *pp)
{
	struct at_pingpong_result r = { 0 };
	int64_t start = atomic_load(&pp->start_ns), end = atomic_load(&pp->end_ns);

	r.rounds_done = atomic_load(&pp->turn) / 2;
	r.players = atomic_load(&pp->players);
	r.overlapped = atomic_load(&pp->max_active) >= 2;
	r.seconds = (start && end > start) ? (double)(end - start) / AT_NS_PER_S : 0.0;
	r.rate = r.seconds > 0 ? r.rounds_done / r.seconds : 0.0;
	r.parallel = r.rounds_done >= pp->rounds && !atomic_load(&pp->gave_up);
	return r;
}

int at_pingpong_verdict(const struct at_pingpong_result *r, char *why, size_t whylen)
{
	double calib;

	if (r->parallel) {
		snprintf(why, whylen, "%ld rounds in %.2f s", r->rounds_done, r->seconds);
		return AT_YES;
	}
	if (!r->overlapped) {
		snprintf(why, whylen, "the two tasks never even overlapped: the second started only after the first had given up (%ld rounds)",
			 r->rounds_done);
		return AT_NO;
	}
	/* Slow turns: our code on one CPU, or other programs holding both.
	 * Ask the machine before blaming the code. */
	calib = at_calibrate_ratio(300);
	/* 1.25, not 2: with one CPU held by another program, two threads of
	 * ours still overlap a third of the time (~1.33x), and correct code
	 * then does thousands of rounds a second; code on one CPU, ~100. */
	if (calib < 1.25) {
		snprintf(why, whylen, "the machine is overloaded: two busy threads of the harness reached only %.2fx CPU/wall (1.25x needed), so parallelism cannot be judged now (%ld rounds done)",
			 calib, r->rounds_done);
		return AT_SKIP;
	}
	snprintf(why, whylen, "only %ld rounds in %.2f s, while two busy threads of the harness reach %.2fx CPU/wall here",
		 r->rounds_done, r->seconds, calib);
	return AT_NO;
}
