/* SPDX-License-Identifier: MIT */
/*
 * sqpoll's judge: whether polling pays on this thread, or its calls go to
 * libc for a while.
 */
#include <sys/resource.h>
#include <sys/syscall.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ring/internal.h"

/*
 * sqpoll's judge: once more than SQ_MISS_MAX ops of a window have had to
 * block for their completion (the SQ thread was not running, so polling
 * only took a core from the program, and each such op waited for it to be
 * scheduled), the thread's calls go to libc for an off period:
 * SQ_OFF_MIN_NS, doubled after each window that fails again, up to
 * SQ_OFF_MAX_NS; SQ_GOOD_WINDOWS good windows in a row reset it. While
 * nothing is submitted the SQ thread sleeps after SHIM_SQ_IDLE_MS, and the
 * cores are the program's.
 */
#define SQ_WINDOW	32
#define SQ_MISS_MAX	2
#define SQ_GOOD_WINDOWS	4
/*
 * A window in which the thread was preempted this often found the CPUs
 * taken: the completions may have come in time, but the spinning SQ
 * thread is what the program's own threads were waiting behind.
 */
#define SQ_PREEMPT_MAX	2
#define SQ_OFF_MIN_NS	(10 * 1000000ull)
#define SQ_OFF_MAX_NS	(1000 * 1000000ull)
#define SQ_SKIP_MIN	64	/* calls between clock reads while off */

uint64_t ring_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sq_go_off(struct sq_pay *p)
{
	p->off_ns = p->off_ns ?
		(p->off_ns * 2 > SQ_OFF_MAX_NS ? SQ_OFF_MAX_NS : p->off_ns * 2) :
		SQ_OFF_MIN_NS;
	p->off = true;
	p->good = 0;
	p->until = ring_now_ns() + p->off_ns;
	p->skip = SQ_SKIP_MIN;
	p->left = p->skip;
}

/* Involuntary context switches of this thread so far. */
static long thread_preemptions(void)
{
	struct rusage ru;

	if (syscall(SYS_getrusage, RUSAGE_THREAD, &ru) < 0)
		return 0;
	return ru.ru_nivcsw;
}

/* A new ring starts a window. */
void ring_sq_reset(struct sq_pay *p)
{
	memset(p, 0, sizeof(*p));
	p->left = SQ_WINDOW;
	p->nivcsw = thread_preemptions();
}

/* One op's verdict: its completion came while the caller spun, or not. */
void ring_sq_account(struct ring_thread *rt, bool hit)
{
	struct sq_pay *p = &rt->pay;
	long n;

	if (!ring_opt.sq_adapt)
		return;
	if (!hit && ++p->miss > SQ_MISS_MAX) {
		sq_go_off(p);
		return;
	}
	if (--p->left)
		return;
	n = thread_preemptions();
	if (n - p->nivcsw > SQ_PREEMPT_MAX) {
		sq_go_off(p);
		return;
	}
	p->nivcsw = n;
	if (++p->good >= SQ_GOOD_WINDOWS)
		p->off_ns = 0;
	p->miss = 0;
	p->left = SQ_WINDOW;
}

bool ring_sq_admit(struct ring_thread *rt)
{
	struct sq_pay *p = &rt->pay;

	if (RING_LIKELY(!p->off))
		return true;
	if (--p->left)
		return false;
	/* Counting calls, not time, keeps the clock off the skipped path. */
	if (ring_now_ns() < p->until) {
		if (p->skip < (1u << 20))
			p->skip *= 2;
		p->left = p->skip;
		return false;
	}
	p->off = false;
	p->miss = 0;
	p->left = SQ_WINDOW;
	p->nivcsw = thread_preemptions();
	return true;
}
