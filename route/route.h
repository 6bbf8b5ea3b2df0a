/* SPDX-License-Identifier: MIT */
/*
 * The router: what every interposer shares. Its gate decides ring or libc
 * (every routability check, one fd lookup), it runs one op that cannot
 * wait, and turns the completion into the syscall's result (sys_ret(), the
 * one translator). Under it: ring/ (the rings), batch/ (the staging
 * profile) and the spine, shim/.
 *
 * The rule that keeps the shim exact: the ring is only ever asked for an op
 * that completes at once (RWF_NOWAIT, MSG_DONTWAIT, IORING_ACCEPT_DONTWAIT).
 * When that op says "would block", the call goes to the real libc function,
 * and the kernel does the waiting as it always did: O_NONBLOCK (however and
 * by whomever it was set), SO_RCVTIMEO/SO_SNDTIMEO, signals and SA_RESTART,
 * SIGPIPE and pthread cancellation all keep their own semantics. io_uring
 * ignores most of those, so emulating them in a ring wait would be a copy
 * that can only be less exact than the original.
 */
#ifndef SHIM_ROUTE_H
#define SHIM_ROUTE_H

#include <errno.h>
#include <sys/uio.h>

#include "ring/ring.h"
#include "batch/batch.h"
#include "shim/real.h"
#include "shim/shim.h"
#include "shim/umem.h"

enum route_dir {
	DIR_READ,
	DIR_WRITE,
};

/* Largest iovec array routed; longer ones go to libc untouched. */
#define ROUTE_IOV_MAX 64

/*
 * Did a handler run while the ring had the op (an op on the SQ thread can
 * wait long for that thread)? Then the libc call that follows a would-block
 * answer would wait for a signal that has come and gone.
 */
enum route_sigs {
	SIGS_NONE,
	SIGS_RESTART,	/* a handler ran; it has SA_RESTART */
	SIGS_EINTR,	/* a handler ran without SA_RESTART */
};

/* What the fd must be for the op, beyond what SHIM_ROUTE routes. */
enum route_need {
	NEED_ANY,
	NEED_FILE,	/* an offset: io_uring would take one where pread says ESPIPE */
	NEED_SOCKET,	/* send, recv, accept: libc says ENOTSOCK, or reads the pipe */
};

/*
 * One call through the router: the interposer fills in the first part
 * (prepare), route_begin() judges it (gate) and route_finish() runs it and
 * turns the completion into the call's result (run, translate).
 */
struct route_op {
	enum shim_call call;
	int fd;
	enum route_dir dir;
	unsigned opcode;
	enum route_need need;
	bool app_nowait;	/* RWF_NOWAIT or MSG_DONTWAIT: EAGAIN is the answer */
	/*
	 * A read or write op: EOPNOTSUPP or EINVAL means the file refuses
	 * RWF_NOWAIT (a FUSE or other odd file system), for good. For send
	 * and recv they are about the call (MSG_OOB on unix, ...).
	 */
	bool rw_op;
	bool nosignal;		/* MSG_NOSIGNAL: no SIGPIPE for EPIPE */
	size_t want;		/* bytes asked for */
	/* The gate's: the fd's one lookup, and whether the op ran inline. */
	enum fd_class cls;
	struct fd_rec *rec;	/* for the would-block prediction, or NULL */
	bool inline_op;
	bool fixed;		/* the op names fd's registered-file slot */
	/* Out: bytes the ring moved before libc is to do the rest. */
	size_t done;
	int saved_errno;
};

struct ring_thread *route_begin(struct route_op *op);
bool route_finish(struct route_op *op, struct ring_thread *rt, long *ret);
bool route_run(struct ring_thread *rt, enum shim_call call, int *res,
	       enum route_sigs *sigs);
bool route_wouldblock(enum shim_call call, int fd, enum fd_class cls,
		      enum route_sigs sigs, size_t done, int saved_errno,
		      long *ret);
bool route_never_ran(int fd, enum fd_class cls, enum route_dir dir,
		     enum route_sigs sigs, int saved_errno, long *ret);
bool route_cont_reg(int fd, enum fd_class cls, long res, size_t want);
void route_sigpipe(void);
void route_ring_notices(void);

/* accept's IORING_ACCEPT_DONTWAIT (6.10): unknown until an accept tells. */
enum { DW_UNKNOWN, DW_YES, DW_NO };
extern _Atomic int route_accept_dontwait;

/*
 * Registered files (route/fixed.c). route_fixed(): the prepared op of
 * route_finish() names fd's slot, if it has one or gets one now.
 * route_fixed_forget(): the fds lo..hi are about to be closed or
 * replaced, or name other files already: their slots are emptied.
 * route_fixed_release(): every slot, before a thread is made or libc
 * closes fds unseen.
 */
void route_fixed(struct route_op *op, struct ring_thread *rt);
void route_fixed_forget(unsigned lo, unsigned hi);
void route_fixed_release(void);

/* Is any fd's file held in a slot? One load when none is. */
static inline bool route_fixed_any(void)
{
	return unlikely(ring_files_held());
}

/* fd is about to be closed or replaced: a slot lets its file go. */
static inline void route_fd_closing(int fd)
{
	if (route_fixed_any() && fd >= 0)
		route_fixed_forget((unsigned)fd, (unsigned)fd);
}

/*
 * The fd lifecycle, as the router sees it: data the batch profile staged
 * for a number that now names another file goes to the old one first, a
 * registered-file slot lets the old file go, then the fd record starts
 * afresh.
 */
static inline void route_fd_new(int fd, enum fd_class cls)
{
	batch_fd_forget(fd);
	route_fd_closing(fd);
	fd_set_class(fd, cls);
}

static inline void route_fd_forget(int fd)
{
	batch_fd_forget(fd);
	route_fd_closing(fd);
	fd_forget(fd);
}

void route_fd_forget_range(unsigned int lo, unsigned int hi);

/* Fall back for a reason found before any op was prepared. */
static inline void route_skip(enum shim_call call, enum shim_why why)
{
	stat_real(call, why);
}

/*
 * Under batch, the fast paths are for calls that need no barrier: a read
 * batch_read_unstaged() lets through; a write() batch would not stage now
 * (batch_write_unstaged()); a write that batch_write() passed on
 * (STAGED_ASKED) while nothing is staged anywhere.
 */
static inline bool route_batch_clear(int fd, unsigned cls,
				     enum route_dir dir, bool staged_asked)
{
	if (likely(!batch_enabled))
		return true;
	if (dir == DIR_READ) {
		if (batch_read_may_keep_run(fd, cls))
			return false;	/* batch_read_now() asks */
		batch_writes_break(cls);
		return batch_read_unstaged(fd);
	}
	return staged_asked ? batch_nothing_staged() : batch_write_unstaged(fd);
}

/* A write() the fast paths let through: batch counts it (batch_write_went). */
static inline void route_batch_went(int fd, enum route_dir dir)
{
	if (unlikely(batch_enabled) && dir == DIR_WRITE)
		batch_write_went(fd);
}

/*
 * A call that goes to libc for its fd type, or by the judge's verdict,
 * decided before anything else: the pass-through must cost what the bare
 * call costs. The same verdict, with *WHY the way route_begin() would
 * count it (the masks are zero until the shim is initialised, when it is
 * disabled or in pass-through; for the fd type, pipes and sockets, whose
 * routing also depends on kernel features, take the long way). BATCH:
 * batch_enabled, a constant where the caller has one, so that each
 * profile's copy is only as long as it needs; under batch,
 * route_batch_clear() says when no barrier is due first. Calls nothing;
 * the caller has checked fd against FD_MAX.
 */
static inline __attribute__((always_inline)) bool
route_fast_verdict(int fd, enum route_dir dir, bool batch,
		   enum shim_why *why)
{
	unsigned cls = atomic_load_explicit(&fd_tab[fd].cls,
					    memory_order_relaxed);

	if (((route_libc_mask[dir] >> cls) & 1) &&
	    (!batch || route_batch_clear(fd, cls, dir, false)))
		*why = W_FDTYPE;
	else if (((route_judged_mask[dir] >> cls) & 1) &&
		 (!batch || route_batch_clear(fd, cls, dir, false)) &&
		 ring_judged_libc())
		*why = (enum shim_why)route_judged_why;
	else
		return false;
	if (batch)
		route_batch_went(fd, dir);
	return true;
}

/* route_fast_verdict(), counted: true, and the call goes to libc. */
static inline bool route_libc_fast(enum shim_call call, int fd,
				   enum route_dir dir)
{
	enum shim_why why;

	if (unlikely((unsigned)fd >= FD_MAX) || unlikely(shim_in_vfork) ||
	    !route_fast_verdict(fd, dir, batch_enabled, &why))
		return false;
	stat_real(call, why);
	return true;
}

/*
 * read() and write() ask this first (BATCH: batch_enabled, which they
 * test once): route_libc_fast() where nothing else is due (the thread's
 * own counter slot, no settling count, not SHIM_STRICT, no vfork child).
 * It calls nothing, so that the entry point needs no frame of its own,
 * and a call that goes to libc costs a jump. False: the entry point's
 * full path decides, route_libc_fast() first.
 */
static inline __attribute__((always_inline)) bool
route_pass(enum shim_call call, int fd, enum route_dir dir, size_t n,
	   bool batch)
{
	struct shim_stats *s = stat_mine();
	enum shim_why why;

	if (unlikely(n - 1 >= SHIM_MAX_RW) || unlikely((unsigned)fd >= FD_MAX) ||
	    unlikely(!s) || unlikely(shim_in_vfork) ||
	    unlikely(shim_cfg.strict) || unlikely(stat_settles(s, call)) ||
	    !route_fast_verdict(fd, dir, batch, &why))
		return false;
	stat_real_mine(s, call, why);
	return true;
}

/*
 * The same for a call the judge sends to libc (ring_judged_libc()) on an
 * fd of a class it would be routed for (bit c of CLASSES: class c, from
 * route_judged_mask or route_judged_sock_mask, zero without the judge,
 * disabled or in pass-through; DIR: the call's direction, for
 * route_batch_clear()): counted as the judge's, and the caller goes
 * straight to libc. route_begin() would send it there
 * as well, after checks that could only send it there too; without them
 * such a call costs about what the bare call costs. The caller has checked
 * the arguments route_begin()'s callers check (a size of 0 or above
 * SHIM_MAX_RW, flags, offsets).
 */
static inline bool route_judged_fast(enum shim_call call, int fd,
				     enum route_dir dir, unsigned classes)
{
	unsigned cls;

	if (unlikely((unsigned)fd >= FD_MAX) || unlikely(shim_in_vfork))
		return false;
	cls = atomic_load_explicit(&fd_tab[fd].cls, memory_order_relaxed);
	if (!((classes >> cls) & 1) || !route_batch_clear(fd, cls, dir, true) ||
	    !ring_judged_libc())
		return false;
	stat_real(call, (enum shim_why)route_judged_why);
	return true;
}

/*
 * Combine what the ring moved with what libc moved after it: a syscall that
 * transferred something reports that count, never the later error. Every
 * libc call off the fast path ends here (DONE 0: libc alone), and the
 * judge's trial counts what it moved.
 */
static inline long route_join(size_t done, long libc_ret, int saved_errno)
{
	long r = libc_ret;

	if (done)
		r = sys_ret(libc_ret < 0 ? (long)done : (long)done + libc_ret,
			    saved_errno);
	ring_judge_moved(r);
	return r;
}

static inline size_t iov_total(const struct iovec *iov, int cnt, bool *ok)
{
	size_t sum = 0;
	int i;

	*ok = true;
	for (i = 0; i < cnt; i++) {
		if (iov[i].iov_len > SHIM_MAX_RW - sum) {
			*ok = false;	/* let the kernel judge the overflow */
			return 0;
		}
		sum += iov[i].iov_len;
	}
	return sum;
}

int iov_skip(const struct iovec *in, int cnt, size_t skip,
	     struct iovec *out);

#endif
