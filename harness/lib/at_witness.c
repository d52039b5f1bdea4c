/*
 * at_witness.c - the ping-pong witness (see at_witness.h).
 */
#include "at_witness.h"
#include "at_cpu.h"
#include "at_time.h"

#include <sched.h>
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
	at_need_machine("the ping-pong witness");
	if (at_trial_run() && timeout_ms > AT_TRIAL_TIMEOUT_MS)
		timeout_ms = AT_TRIAL_TIMEOUT_MS;
	atomic_init(&pp->turn, 0);
	pp->rounds = rounds;
	pp->timeout_ns = (int64_t)timeout_ms * AT_NS_PER_MS;
	atomic_init(&pp->start_ns, 0);
	atomic_init(&pp->end_ns, 0);
	atomic_init(&pp->gave_up, false);
	atomic_init(&pp->players, 0);
	atomic_init(&pp->active, 0);
	atomic_init(&pp->max_active, 0);
	atomic_init(&pp->mask[0], 0);
	atomic_init(&pp->mask[1], 0);
	atomic_init(&pp->plays[0], 0);
	atomic_init(&pp->plays[1], 0);
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

/* Which CPUs this side's thread may run on (the first 64). */
static void note_cpus(struct at_pingpong *pp, int side)
{
	cpu_set_t set;
	uint64_t m = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return;
	for (int c = 0; c < 64 && c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			m |= 1ULL << c;
	atomic_store(&pp->mask[side & 1], m);
}

/* The CPUs either side may run on (0 until a side has started). */
static uint64_t mask_of_both(struct at_pingpong *pp)
{
	return atomic_load(&pp->mask[0]) | atomic_load(&pp->mask[1]);
}

/* Both sides have started (their masks are written before their plays are
 * counted) and neither may leave the same single CPU: the rounds can only
 * be taken in turns by preemption, whatever the load, so waiting out the
 * deadline would prove nothing more (at_pingpong_verdict() says NO either
 * way). Mistakes that pin the threads cost a failing run no time then. */
static bool one_cpu_for_both(struct at_pingpong *pp)
{
	uint64_t m = mask_of_both(pp);

	return atomic_load(&pp->plays[0]) > 0 && atomic_load(&pp->plays[1]) > 0 && m != 0 && (m & (m - 1)) == 0;
}

void at_pingpong_play(struct at_pingpong *pp, int side)
{
	int64_t deadline = start_clock(pp) + pp->timeout_ns;
	long last = 2 * pp->rounds;
	unsigned spins = 0;
	int now, seen;

	atomic_fetch_add(&pp->players, 1);
	note_cpus(pp, side);
	atomic_fetch_add(&pp->plays[side & 1], 1);
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
		if ((++spins & 1023) == 0 && (at_now_ns() >= deadline || one_cpu_for_both(pp))) {
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
	r.sides_once = atomic_load(&pp->plays[0]) == 1 && atomic_load(&pp->plays[1]) == 1;
	{
		uint64_t m = mask_of_both(pp);

		r.cpus_allowed = __builtin_popcountll(m);
		r.only_cpu = r.cpus_allowed == 1 ? __builtin_ctzll(m) : -1;
	}
	return r;
}

bool at_pingpong_settled(const struct at_pingpong_result *r)
{
	return r->parallel || !r->overlapped || !r->sides_once || r->cpus_allowed == 1;
}

int at_pingpong_verdict(const struct at_pingpong_result *r, char *why, size_t whylen)
{
	at_need_machine("the ping-pong witness");

	if (r->parallel) {
		snprintf(why, whylen, "%ld rounds in %.2f s", r->rounds_done, r->seconds);
		return AT_YES;
	}
	if (!r->overlapped) {
		snprintf(why, whylen, "the two tasks never even overlapped: the second started only after the first had given up (%ld rounds)",
			 r->rounds_done);
		return AT_NO;
	}
	/* One task run twice and the other never (a thread handed the wrong
	 * task): no load explains that. */
	if (!r->sides_once) {
		snprintf(why, whylen, "the two tasks were not each run once: one side of the ping-pong was played twice, or never (%ld rounds)",
			 r->rounds_done);
		return AT_NO;
	}
	/* Both sides allowed on one CPU only (an affinity mask of the code
	 * under test): they could never run at once, whatever the load. */
	if (r->cpus_allowed == 1) {
		snprintf(why, whylen, "both tasks ran on threads allowed on a single CPU (CPU %d): they could never run at the same instant (%ld rounds)",
			 r->only_cpu, r->rounds_done);
		return AT_NO;
	}
	/* Slow turns: our code on one CPU, or other programs holding both.
	 * Ask the machine before blaming the code. 1.25x, not 2: with one
	 * CPU held by another program, two threads of ours still overlap a
	 * third of the time (~1.33x), and correct code then does thousands
	 * of rounds a second; code on one CPU, ~100. */
	{
		char m[400];

		if (at_judge_machine(1.25, m, sizeof(m)) == AT_MACHINE_BUSY) {
			snprintf(why, whylen, "%s, so parallelism cannot be judged now (%ld rounds done)", m, r->rounds_done);
			return AT_SKIP;
		}
		snprintf(why, whylen, "only %ld rounds in %.2f s; %s", r->rounds_done, r->seconds, m);
	}
	return AT_NO;
}
