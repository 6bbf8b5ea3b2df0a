/* SPDX-License-Identifier: MIT */
/*
 * Submission and completion: one op in flight per thread, submitted and
 * reaped before control returns to the caller.
 */
#include <sys/syscall.h>
#include <unistd.h>

#include "ring/internal.h"

/* One CQE, waiting for it if there is none; -EINTR when a signal came. */
static int next_cqe(struct ring_thread *rt, struct io_uring_cqe **cqe)
{
	if (io_uring_peek_cqe(&rt->uring, cqe) == 0)
		return 0;
	ring_count(RING_C_ENTER);
	return io_uring_wait_cqe(&rt->uring, cqe);
}

static int submit_and_wait(struct ring_thread *rt)
{
	ring_count(RING_C_ENTER);
	return io_uring_submit_and_wait(&rt->uring, 1);
}

/*
 * An SQE whose SQ thread has set NEED_WAKEUP and taken nothing for this
 * long is not going to be taken: the thread looks at the rings once more
 * right after setting the flag, and then sleeps.
 */
#define SQ_ASLEEP_NS	(50 * 1000000ull)

/*
 * SQPOLL where io_uring_enter failed (a filter refused it, say): the SQ
 * thread may have taken the SQEs anyway, on its last look before sleeping,
 * or be taking them now, and then the op runs whatever the failed call
 * said. Its fate is read from the rings themselves, without a syscall.
 * True: it was taken, and its completion is in the CQ ring; false: it was
 * not taken and the SQ thread sleeps (only another ring's wake-up of the
 * same SQ thread could still run it: see ring_park()).
 */
static bool sq_fate(struct ring_thread *rt)
{
	struct io_uring *r = &rt->uring;
	struct io_uring_cqe *cqe;
	uint64_t t, asleep = 0;

	for (;;) {
		if (io_uring_peek_cqe(r, &cqe) == 0)
			return true;
		if (IO_URING_READ_ONCE(*r->sq.khead) != r->sq.sqe_tail) {
			t = now_ns();
			if (!(IO_URING_READ_ONCE(*r->sq.kflags) &
			      IORING_SQ_NEED_WAKEUP))
				asleep = 0;
			else if (!asleep)
				asleep = t;
			else if (t - asleep > SQ_ASLEEP_NS)
				return false;
		}
		/* Taken: a completion always comes; let the SQ thread run. */
		syscall(SYS_sched_yield);
	}
}

/*
 * SQPOLL: the SQ thread picks the SQE up without a syscall (one only to wake
 * it after its idle time); spin a bounded time for the CQE before
 * next_cqe() blocks in the kernel.
 */
static int sqpoll_submit(struct ring_thread *rt, int nr)
{
	struct io_uring *r = &rt->uring;
	struct io_uring_cqe *cqe;
	uint64_t deadline;
	bool hit;
	int ret;

	do {
		if (IO_URING_READ_ONCE(*r->sq.kflags) & IORING_SQ_NEED_WAKEUP)
			ring_count(RING_C_ENTER);
		ret = io_uring_submit(r);
	} while (ret == -EINTR);
	/*
	 * Once the tail is published the SQEs are the SQ thread's, whatever
	 * io_uring_submit() says: it counts those not yet consumed, 0 when
	 * the SQ thread was quick. A failed wake-up means they will never run
	 * only if the SQ thread is seen asleep without them.
	 */
	if (ret < 0 && IO_URING_READ_ONCE(*r->sq.khead) != r->sq.sqe_tail &&
	    !sq_fate(rt))
		return ret;
	hit = io_uring_peek_cqe(r, &cqe) == 0;
	if (!hit && ring_opt.spin_us) {
		deadline = now_ns() + ring_opt.spin_us * 1000ull;
		while (!(hit = io_uring_peek_cqe(r, &cqe) == 0) &&
		       now_ns() < deadline)
			__builtin_ia32_pause();
	}
	/*
	 * For the judge, an op the SQ thread took in time is a hit even if
	 * its completion waits for the peer: only an SQE still not taken
	 * says the SQ thread was not running.
	 */
	if (ring_opt.adapt)
		judge_account(&rt->pay, hit || IO_URING_READ_ONCE(*r->sq.khead) ==
					      r->sq.sqe_tail);
	return nr;
}

int ring_run(struct ring_thread *rt, int *res)
{
	struct io_uring_cqe *cqe;
	bool op_done = false;
	int ret;

	io_uring_sqe_set_data64(rt->op_sqe, TAG_OP);
	ret = rt->sqpoll ? sqpoll_submit(rt, 1) : submit_and_wait(rt);
	if (ret < 1) {
		/*
		 * Nothing ran (SUBMIT_ALL: all or an error). The SQE may still
		 * sit in the SQ ring, so this ring is done for.
		 */
		ring_park(rt, RT_FAILED);
		return ret < 0 ? ret : -EAGAIN;
	}
	while (!op_done) {
		ret = next_cqe(rt, &cqe);
		if (ret == -EINTR || ret == -ETIME)
			continue;
		if (ret < 0 && rt->sqpoll) {
			/* The wait was refused; the rings say what became of it. */
			if (sq_fate(rt))
				continue;
			ring_park(rt, RT_FAILED);
			return ret;
		}
		if (ret < 0) {
			/* The ring itself went away; the op cannot be reaped. */
			ring_park(rt, RT_FAILED);
			*res = -EINTR;
			return 0;
		}
		/* The only op in flight: nothing else is ever submitted. */
		if (io_uring_cqe_get_data64(cqe) == TAG_OP) {
			*res = cqe->res;
			op_done = true;
		}
		io_uring_cqe_seen(&rt->uring, cqe);
	}
	return 0;
}

/*
 * Submit the N SQEs the caller prepared since its last submission (a
 * linked chain, say; the ring holds RING_ENTRIES) in one io_uring_enter
 * and reap all N completions. res[i] is the i-th SQE's result: -ECANCELED
 * for one the kernel never took, -EIO for one taken whose completion could
 * not be reaped (the ring went away: its fate is unknown). Returns 0, or
 * a negative errno when none was submitted: then none ran. Not on an
 * SQPOLL ring, whose SQ thread may take a chain in parts.
 */
int ring_run_chain(struct ring_thread *rt, struct io_uring_sqe **sqe,
		   unsigned n, int *res)
{
	struct io_uring_cqe *cqe;
	unsigned i, taken, got = 0;
	int ret;

	if (rt->sqpoll || !n || n > RING_ENTRIES)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		io_uring_sqe_set_data64(sqe[i], TAG_OP + 1 + i);
		res[i] = -ECANCELED;
	}
	ring_count(RING_C_ENTER);
	ret = io_uring_submit_and_wait(&rt->uring, n);
	if (ret < 1) {
		ring_park(rt, RT_FAILED);
		return ret < 0 ? ret : -EAGAIN;
	}
	taken = (unsigned)ret < n ? (unsigned)ret : n;
	while (got < taken) {
		uint64_t tag;

		ret = next_cqe(rt, &cqe);
		if (ret == -EINTR || ret == -ETIME)
			continue;
		if (ret < 0) {
			for (i = 0; i < taken; i++)
				if (res[i] == -ECANCELED)
					res[i] = -EIO;
			break;
		}
		tag = io_uring_cqe_get_data64(cqe);
		if (tag > TAG_OP && tag <= TAG_OP + n) {
			res[tag - TAG_OP - 1] = cqe->res;
			got++;
		}
		io_uring_cqe_seen(&rt->uring, cqe);
	}
	/* Fewer taken, or not reaped: SQEs or CQEs are left in the rings. */
	if (got < n)
		ring_park(rt, RT_FAILED);
	return 0;
}
