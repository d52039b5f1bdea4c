/*
 * at_witness.h - the ping-pong witness: proof that two tasks ran at the
 * same instant, on two CPUs.
 *
 * Two harness tasks take turns on one atomic counter, each spinning (never
 * sleeping, never yielding) until it is its turn. When both run at once on
 * two cores, a round costs a cache-line transfer: about two million rounds
 * a second on a quiet machine, 2,000 to 17,000 measured when other work
 * kept both cores busy (load 3 to 11). When they share one core, each
 * round waits for the scheduler to preempt the spinner: 50 to 125 rounds a
 * second. The bar is ~30x above one core; load that drags two cores down
 * to it is told apart by at_pingpong_verdict()'s probe of the machine (a
 * skip, never a failure). Compare with at_latch.h, which proves only
 * overlap.
 *
 * Each side gives up on its own at the deadline (counted from the first
 * side's start), so code that runs the two tasks one after the other ends
 * after one deadline instead of spinning forever. Both give up at once
 * when both have started confined to the same single CPU: waiting would
 * prove nothing more.
 */
#ifndef AT_WITNESS_H
#define AT_WITNESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 20,000 rounds inside 5 s: ~30x what one core manages; two take ~10 ms. */
#define AT_PINGPONG_ROUNDS     20000
#define AT_PINGPONG_TIMEOUT_MS 5000

struct at_pingpong {
	_Atomic long turn;        /* even: side 0 may move, odd: side 1 */
	long rounds;              /* rounds wanted; a round is two moves */
	int64_t timeout_ns;
	_Atomic int64_t start_ns; /* first side's start; 0 before */
	_Atomic int64_t end_ns;   /* when the last move or the give-up happened */
	_Atomic bool gave_up;
	_Atomic int players;      /* sides that have started */
	_Atomic int active;       /* sides playing now */
	_Atomic int max_active;   /* most sides playing at one moment */
	_Atomic uint64_t mask[2]; /* CPUs each side's thread was allowed on */
	_Atomic int plays[2];     /* times each side was played (1 each expected) */
};

struct at_pingpong_result {
	long rounds_done;
	double seconds;     /* from the first side's start to the end */
	double rate;        /* rounds per second */
	bool parallel;      /* all rounds done before the deadline */
	int players;        /* how many sides ever started (2 expected) */
	bool overlapped;    /* were both sides ever playing at the same time? */
	int cpus_allowed;   /* CPUs the two sides' threads were allowed on, together */
	int only_cpu;       /* that CPU, when there was one only; else -1 */
	bool sides_once;    /* each side played exactly once */
};

void at_pingpong_init(struct at_pingpong *pp, long rounds, int timeout_ms);

/* The body of harness task `side` (0 or 1). */
void at_pingpong_play(struct at_pingpong *pp, int side);

struct at_pingpong_result at_pingpong_result(struct at_pingpong *pp);

/*
 * The verdict on a run meant to be parallel: AT_YES when it completed;
 * AT_NO when the two sides never played at the same time (the code ran
 * them one after the other: no load excuses that); otherwise AT_SKIP when the machine is shown to be overloaded (two busy
 * threads of the harness's own cannot reach 1.25x CPU/wall: nobody could
 * show parallelism now), else AT_NO. why receives the sentence to print.
 */
int at_pingpong_verdict(const struct at_pingpong_result *r, char *why, size_t whylen);

/*
 * Whether another try could end differently: false only for slow turns,
 * which load may explain. A completed run, and the NOs that no load
 * explains (the sides never overlapped, were not each played once, or
 * were confined to one CPU), are what they are: a test that tries twice
 * stops at them.
 */
bool at_pingpong_settled(const struct at_pingpong_result *r);

#endif
