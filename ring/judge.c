/* SPDX-License-Identifier: MIT */
/*
 * The judge: a thread's calls use its ring only while that is measured to
 * pay, and go to libc otherwise (fallback.sq-off under sqpoll,
 * fallback.cheaper under exact and batch). One op alone on a ring costs
 * more than its syscall; what pays is an SQ thread with a core of its own,
 * or, on a plain ring, the pace a dearer call gives a program (exact's
 * few wins, a small-write logger into cat among them).
 *
 * - sqpoll, a free core first. The SQ thread and the caller's spin each
 *   take a CPU; where the program's own threads (or anyone's) keep the
 *   CPUs busy they only take them from it. Before it tries the ring, the
 *   judge measures the CPU time the machine left idle (/proc/uptime's idle
 *   sum) over SQ_LOOK_NS, and goes on only if SQ_FREE_PERMILLE of a CPU
 *   was idle and the thread's affinity allows two CPUs. So a process that
 *   never finds a core free never starts an SQ thread.
 * - Then a trial, the program's own pace being the measure: SQ_TRIAL
 *   calls in libc, then SQ_TRIAL calls on the ring, each timed from the
 *   first call to the one after the last, and the bytes they moved
 *   counted. Only a ring trial that moves bytes at least SQ_WIN_PERMILLE
 *   as fast as the libc trial turns the ring on (a plain ring's, only if
 *   the next pair says so too); calls that move none are compared by
 *   their pace alone. Bytes, because a reader's calls return what has
 *   arrived: a cat whose ring reads come sooner finds one small record
 *   per read where its libc reads found two, and makes more calls per
 *   second for less data. An op served at once is
 *   served cheaper by its syscall, so a file copy finds libc faster; a
 *   request/response loop whose syscalls sleep and wake finds an SQ
 *   thread faster. The trial in which the ring is made does not count:
 *   the ring's start is paid once. A thread's first look or trial comes
 *   SQ_LOOK_NS after its first call, its calls going to libc meanwhile:
 *   one that ends sooner never pays for either, nor makes a ring.
 * - While on: after SQ_ON_NS (doubled after each trial won, up to
 *   SQ_ON_MAX_NS) a new trial says whether the ring still pays (under
 *   sqpoll its libc half starts once the SQ thread sleeps). Under
 *   sqpoll, also completions in time: once more than SQ_MISS_MAX ops of a
 *   window of SQ_WINDOW have had to block for their completion (the SQ
 *   thread was not running, and each such op waited for it to be
 *   scheduled: the SQE was still not taken when the spin ended; one the
 *   peer keeps waiting is not a miss), or the thread was preempted more
 *   than SQ_PREEMPT_MAX times in the window (the CPUs are oversubscribed
 *   and the spinning is what the program's threads wait behind), the
 *   ring is off.
 * - Off periods start at SQ_OFF_MIN_NS and double after each failed look,
 *   trial or window, up to SQ_OFF_MAX_NS; SQ_GOOD_WINDOWS good windows in a
 *   row reset them (a plain ring has no windows: its thread, once the ring
 *   has lost a few trials, tries again every SQ_OFF_MAX_NS). While nothing
 *   is submitted an SQ thread sleeps after SHIM_SQ_IDLE_MS, and the cores
 *   are the program's.
 *
 * Counting calls, not time, keeps the clock off the path: it is read every
 * SQ_SKIP_MIN or more calls (a doubling count) while off, every
 * SQ_ON_CHECK calls while on.
 */
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring/judge.h"

#define SQ_WINDOW	32
#define SQ_MISS_MAX	2
#define SQ_GOOD_WINDOWS	4
#define SQ_PREEMPT_MAX	8
#define SQ_OFF_MIN_NS	(10 * 1000000ull)
#define SQ_OFF_MAX_NS	(1000 * 1000000ull)
#define SQ_ON_NS	(100 * 1000000ull)
#define SQ_ON_MAX_NS	(2000 * 1000000ull)
#define SQ_LOOK_NS	(50 * 1000000ull)
#define SQ_FREE_PERMILLE 800
#define SQ_TRIAL	512
#define SQ_WIN_PERMILLE	1030
#define SQ_SKIP_MIN	64
#define SQ_ON_CHECK	1024	/* calls on between clock reads */
#define SQ_SKIP_MAX	(1u << 20)

/* Calls that may pass before the judge reads the clock again. */
static void wait_calls(struct ring_pay *p, uint64_t until)
{
	p->until = until;
	p->skip = SQ_SKIP_MIN;
	p->left = p->skip;
}

static uint64_t doubled(uint64_t ns, uint64_t min, uint64_t max)
{
	return !ns ? min : ns * 2 > max ? max : ns * 2;
}

static void go_off(struct ring_pay *p, uint64_t t)
{
	p->off_ns = doubled(p->off_ns, SQ_OFF_MIN_NS, SQ_OFF_MAX_NS);
	p->on_ns = 0;
	p->state = SQ_OFF;
	p->won = false;
	p->good = 0;
	p->idle0 = 0;
	wait_calls(p, t + p->off_ns);
}

/* Involuntary context switches of this thread so far. */
static long thread_preemptions(void)
{
	struct rusage ru;

	if (syscall(SYS_getrusage, RUSAGE_THREAD, &ru) < 0)
		return 0;
	return ru.ru_nivcsw;
}

/* The machine's idle CPU time so far, in ms (/proc/uptime), or 0. */
static uint64_t idle_ms(void)
{
	char buf[64], *c;
	uint64_t ms = 0;
	bool frac = false;
	int fd, digits = 0;
	long n;

	fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/uptime",
			  O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
	syscall(SYS_close, fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	c = strchr(buf, ' ');	/* "uptime idle": the second field */
	if (!c)
		return 0;
	for (c++; *c && *c != '\n' && digits < 3; c++) {
		if (*c == '.') {
			frac = true;
		} else if (*c >= '0' && *c <= '9') {
			ms = ms * 10 + (uint64_t)(*c - '0');
			digits += frac;
		}
	}
	for (; digits < 3; digits++)
		ms *= 10;
	return ms;
}

static bool two_cpus_allowed(void)
{
	cpu_set_t set;

	if (syscall(SYS_sched_getaffinity, 0, sizeof(set), &set) < 0)
		return false;
	return CPU_COUNT(&set) >= 2;
}

/*
 * Off, and the off period is over: is a core free? Two looks SQ_LOOK_NS
 * apart; true once the second found enough idle time since the first.
 */
static bool core_free(struct ring_pay *p, uint64_t t)
{
	uint64_t idle = idle_ms();
	bool first = !p->idle0 || !idle || idle < p->idle0;
	/* Idle ms over wall ns, both scaled to thousandths of a CPU. */
	bool free = !first && (idle - p->idle0) * 1000000000ull >=
		    (uint64_t)SQ_FREE_PERMILLE * (t - p->t0);

	if (free && two_cpus_allowed())
		return true;
	p->idle0 = idle;
	p->t0 = t;
	wait_calls(p, t + (first || p->off_ns < SQ_LOOK_NS ? SQ_LOOK_NS :
			   p->off_ns));
	return false;
}

static void start_trial(struct ring_pay *p, int state, uint64_t t)
{
	p->state = state;
	p->left = SQ_TRIAL;
	p->t0 = t;
	p->moved = 0;
}

/*
 * Did the ring trial, TOOK ns for p->moved bytes, lose to the libc one?
 * Per byte where both moved some; per call (the trials have as many) where
 * one moved none: accept and connect, or calls that all failed.
 */
static bool ring_lost(const struct ring_pay *p, uint64_t took)
{
	if (!p->moved || !p->libc_moved)
		return took * SQ_WIN_PERMILLE > p->libc_ns * 1000;
	return (double)took * (double)p->libc_moved * SQ_WIN_PERMILLE >
	       (double)p->libc_ns * (double)p->moved * 1000;
}

/*
 * The last call of a trial has returned and the next one starts now.
 * CORE: an SQPOLL ring (judge_admit()).
 */
static void end_trial(struct ring_pay *p, bool core, uint64_t t)
{
	uint64_t took = t - p->t0;

	if (p->state == SQ_TRY_LIBC) {
		p->libc_ns = took;
		p->libc_moved = p->moved;
		start_trial(p, SQ_TRY_RING, t);
		return;
	}
	if (p->fresh) {			/* the SQ thread's start: again */
		p->fresh = false;
		start_trial(p, SQ_TRY_RING, t);
		return;
	}
	if (ring_lost(p, took)) {
		go_off(p, t);
		return;
	}
	/*
	 * A plain ring's op costs more than its syscall, so its win can only
	 * be the program's pace, and a libc trial that was preempted or
	 * waited on a peer's own trial makes one up: in a dd | dd pipeline
	 * a third of the trials, each 100 ms on at half speed. A second
	 * pair, with a libc trial of its own, must say the same.
	 */
	if (!core && !p->won) {
		p->won = true;
		start_trial(p, SQ_TRY_LIBC, t);
		return;
	}
	p->won = false;
	p->on_ns = doubled(p->on_ns, SQ_ON_NS, SQ_ON_MAX_NS);
	p->until = t + p->on_ns;
	p->state = SQ_ON;
	p->on_left = SQ_ON_CHECK;
	p->miss = 0;
	p->left = SQ_WINDOW;
	p->nivcsw = thread_preemptions();
}

bool judge_admit(struct ring_pay *p, bool core, uint64_t cool_ns)
{
	uint64_t t;

	if (p->state == SQ_ON) {	/* on_left ran out: is the period over? */
		p->on_left = SQ_ON_CHECK;
		t = now_ns();
		if (t < p->until)
			return true;
		/*
		 * A spinning SQ thread keeps a core out of idle, which speeds
		 * up libc's wake-ups too: the libc trial waits until it
		 * sleeps, or it would measure polling against itself.
		 */
		if (core && cool_ns) {
			p->state = SQ_COOL;
			wait_calls(p, t + cool_ns);
		} else {
			start_trial(p, SQ_TRY_LIBC, t);
		}
		return false;
	}
	/* ring_judged_libc() takes this step itself for the calls it can. */
	if (p->left > 1) {
		p->left--;
		return p->state == SQ_TRY_RING;
	}
	t = now_ns();
	if (p->state == SQ_TRY_LIBC || p->state == SQ_TRY_RING) {
		end_trial(p, core, t);
		return p->state == SQ_ON || p->state == SQ_TRY_RING;
	}
	if (!p->until) {		/* the thread's first call */
		wait_calls(p, t + SQ_LOOK_NS);
		return false;
	}
	if (t < p->until) {
		if (p->skip < SQ_SKIP_MAX)
			p->skip *= 2;
		p->left = p->skip;
		return false;
	}
	if (p->state == SQ_OFF && core && !core_free(p, t))
		return false;
	p->idle0 = 0;
	start_trial(p, SQ_TRY_LIBC, t);
	return false;
}

void judge_account(struct ring_pay *p, bool hit)
{
	long n;

	if (p->state != SQ_ON)
		return;
	if (!hit && ++p->miss > SQ_MISS_MAX) {
		go_off(p, now_ns());
		return;
	}
	if (--p->left)
		return;
	n = thread_preemptions();
	if (n - p->nivcsw > SQ_PREEMPT_MAX) {
		go_off(p, now_ns());
		return;
	}
	p->nivcsw = n;
	if (++p->good >= SQ_GOOD_WINDOWS)
		p->off_ns = 0;
	p->miss = 0;
	p->left = SQ_WINDOW;
}

void judge_ring_made(struct ring_pay *p)
{
	p->fresh = true;
}
