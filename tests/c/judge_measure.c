/* SPDX-License-Identifier: MIT */
/*
 * The judge (ring/judge.c) itself, on a clock of this test's: what its
 * trials measure. Each scene is a thread whose calls cost a fixed time
 * and move a fixed number of bytes in libc, and others on the ring,
 * driven for three simulated seconds the way ring_get() and the fast
 * paths drive the judge. The share of calls it puts on the ring says
 * which mode it found faster.
 *
 * The first scene is cat reading a small-record pipe. Its ring reads come
 * sooner and find less data each time. They are faster per call but
 * slower per byte. Timed by calls, nearly all its reads would go to the
 * ring, and the pipeline would run at 0.72x its speed. Where calls move
 * no bytes (accept, connect, errors), their pace is all there is to
 * compare.
 *
 * The transcript is the same with and without the shim: this program's
 * copy of the judge runs on simulated time, whatever is preloaded.
 */
#include <time.h>

int judge_test_clock(clockid_t clk, struct timespec *ts);
#define clock_gettime judge_test_clock
#include "ring/judge.c"
#undef clock_gettime

#include "testlib.h"

__thread struct ring_thread ring_tls;

static uint64_t sim_ns;

int judge_test_clock(clockid_t clk, struct timespec *ts)
{
	(void)clk;
	ts->tv_sec = (time_t)(sim_ns / 1000000000ull);
	ts->tv_nsec = (long)(sim_ns % 1000000000ull);
	return 0;
}

struct mode {
	uint64_t ns;		/* one call's time */
	long ret;		/* its result: bytes moved, or -errno */
};

struct scene {
	const char *name;
	struct mode libc, ring;
	bool ring_pays;		/* the faster mode, by what the program gets */
};

/* The first: per call 0.7 us against 1.3, per byte 10.4 ns against 8.7. */
static const struct scene scenes[] = {
	{ "stream reader, ring reads sooner and smaller",
	  { 1300, 150 }, { 700, 67 }, false },
	{ "stream reader, ring reads later and bigger",
	  { 700, 67 }, { 1300, 150 }, true },
	{ "fixed-size calls, ring faster", { 1000, 100 }, { 800, 100 }, true },
	{ "fixed-size calls, ring slower", { 800, 100 }, { 1000, 100 }, false },
	{ "no bytes (accept), ring faster", { 2000, 0 }, { 1500, 0 }, true },
	{ "no bytes (accept), ring slower", { 1500, 0 }, { 2000, 0 }, false },
	{ "errors (EAGAIN), ring slower", { 300, -EAGAIN }, { 500, -EAGAIN },
	  false },
};

#define RUN_NS (3 * 1000000000ull)

/* The share of the scene's calls, in thousandths, that used the ring. */
static unsigned ring_permille(const struct scene *s)
{
	struct ring_pay *p = &ring_tls.pay;
	uint64_t calls = 0, on_ring = 0, end;
	bool made = false;

	memset(p, 0, sizeof(*p));
	sim_ns = 1000000000ull;
	end = sim_ns + RUN_NS;
	while (sim_ns < end) {
		const struct mode *m;
		bool ring;

		/* route_libc_fast(), then ring_take()'s test of the judge. */
		if (ring_judged_libc())
			ring = false;
		else if (p->state != SQ_ON || !--p->on_left)
			ring = judge_admit(p, false, 0);
		else
			ring = true;
		if (ring && !made) {
			made = true;
			judge_ring_made(p);
		}
		m = ring ? &s->ring : &s->libc;
		sim_ns += m->ns;
		ring_judge_moved(m->ret);
		calls++;
		on_ring += ring;
	}
	return (unsigned)(on_ring * 1000 / calls);
}

int main(void)
{
	unsigned i, pm;

	for (i = 0; i < ARRAY_SIZE(scenes); i++) {
		const struct scene *s = &scenes[i];
		bool mostly_ring, mostly_libc;

		pm = ring_permille(s);
		/* Trials' halves alone: a few thousand calls of millions. */
		mostly_libc = pm < 50;
		mostly_ring = pm > 900;
		printf("%s: %s\n", s->name, mostly_ring ? "ring" :
		       mostly_libc ? "libc" : "undecided");
		T_CHECK(s->ring_pays ? mostly_ring : mostly_libc,
			"%s: %u/1000 of the calls on the ring", s->name, pm);
	}
	return t_end();
}
