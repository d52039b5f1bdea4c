/*
 * sequential.c - the loop lesson 09 splits across ranks: heat spreading
 * along a rod of N cells, one cell at a time, on one core. Each step every
 * cell moves toward the average of its two neighbours (Jacobi: the new
 * values come from the old ones only, so the order of the cells does not
 * matter, which is what lets ranks compute their blocks at the same time).
 * It stops when no cell changed by TOL or more.
 */
#include <stdio.h>

#define N     24
#define ALPHA 0.25
#define TOL   0.01

/* ANCHOR: kernel */
/* The physics of one step for cells [lo, hi): cur[0] and cur[N + 1] are the
 * fixed ends. Returns the largest change. */
static double kernel(const double *cur, double *next, int lo, int hi)
{
	double worst = 0;

	for (int i = lo; i < hi; i++) {
		next[i] = cur[i] + ALPHA * (cur[i - 1] - 2 * cur[i] + cur[i + 1]);
		double d = next[i] > cur[i] ? next[i] - cur[i] : cur[i] - next[i];
		if (d > worst)
			worst = d;
	}
	return worst;
}
/* ANCHOR_END: kernel */

static void show(const char *label, const double *u)
{
	printf("%-10s", label);
	for (int i = 1; i <= N; i++)
		putchar(" .:-=+*#%@"[u[i] >= 100 ? 9 : (int)(u[i] / 10)]);
	putchar('\n');
}

int main(void)
{
	double a[N + 2] = { 0 }, b[N + 2] = { 0 }, *cur = a, *next = b, *t;
	int step = 0;

	for (int i = N / 2 - 2; i < N / 2 + 2; i++)
		a[i] = 100;                       /* a hot spot in the middle */
	show("start", cur);
	/* ANCHOR: loop */
	for (;;) {
		double change = kernel(cur, next, 1, N + 1);   /* every cell, old values only */

		t = cur, cur = next, next = t;                 /* the new step becomes the old */
		step++;
		if (step == 1 || step == 10 || step == 50) {
			char label[16];

			snprintf(label, sizeof(label), "step %d", step);
			show(label, cur);
		}
		if (change < TOL)                              /* nothing moves any more */
			break;
	}
	/* ANCHOR_END: loop */
	printf("settled after %d steps (no cell changed by %.2f or more)\n", step, TOL);
	return 0;
}
