/* SPDX-License-Identifier: MIT */
/*
 * Registered files (SHIM_FIXED_FILES=N): an fd the thread's ring has
 * served N times gets a slot in the ring's file table (ring/files.c), and
 * its ops name the slot, which spares the kernel a reference taken and
 * dropped per op.
 *
 * A slot keeps the file open until it is emptied, and only the ring's own
 * thread can empty it. So files go in only while the process has one
 * thread (glibc's __libc_single_threaded), never under batch (whose
 * flusher is a second thread), and every way the shim sees an fd closed
 * or replaced empties its slot first: close, dup2, dup3, close_range,
 * closefrom, fclose, pclose, freopen, fcloseall, daemon, login_tty, a new
 * fd from open/socket/accept/pipe on the number. Before a thread is
 * created (pthread_create and libc's other thread makers) every slot is
 * emptied. An op on a slot that a signal handler emptied meanwhile fails
 * with EBADF; the call then goes to libc, which looks the number up.
 */
#include <signal.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "route/route.h"

static bool fixed_class(enum fd_class cls)
{
	return cls == FD_PIPE || cls == FD_SOCKET || cls == FD_FILE ||
	       cls == FD_FILE_NOWAIT;
}

/* The op on fd is the SHIM_FIXED_FILES'th: the fd takes the next slot. */
static bool fixed_add(struct route_op *op, struct ring_thread *rt,
		      struct fd_rec *r)
{
	sigset_t all, old;
	int slot;

	atomic_store_explicit(&r->ring_ops, 0, memory_order_relaxed);
	if (!__libc_single_threaded || batch_enabled || !fixed_class(op->cls))
		return false;
	/*
	 * A handler that closed fd while the slot was filled, before the
	 * ring's table named fd in it, would not find the slot to empty.
	 * (The fd whose slot is reused needs nothing: a slot is used only
	 * while the table names the fd in it, ring_files_has().)
	 */
	sigfillset(&all);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, _NSIG / 8);
	slot = ring_files_add(rt, op->fd);
	if (slot >= 0) {
		atomic_store(&r->fixed, (uint8_t)(slot + 1));
		stat_add(&shim_st->files_registered, 1);
	}
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, _NSIG / 8);
	return slot >= 0;
}

/* A thread the shim did not see created closed an fd a slot holds. */
static _Atomic bool fixed_stranded;

void route_fixed(struct route_op *op, struct ring_thread *rt)
{
	struct fd_rec *r = fd_rec(op->fd);
	unsigned s;

	if (!r || !shim_cfg.fixed_after)
		return;
	/* Threads the shim did not see created: every slot lets go. */
	if (unlikely(!__libc_single_threaded ||
		     atomic_load_explicit(&fixed_stranded,
					  memory_order_relaxed))) {
		if (ring_files_held() && ring_files_release() == 0)
			atomic_store(&fixed_stranded, false);
		return;
	}
	s = atomic_load_explicit(&r->fixed, memory_order_relaxed);
	if (!s || !ring_files_has(rt, (int)s - 1, op->fd)) {
		s = atomic_load_explicit(&r->ring_ops, memory_order_relaxed) + 1;
		atomic_store_explicit(&r->ring_ops, (uint8_t)s,
				      memory_order_relaxed);
		if (s < shim_cfg.fixed_after || !fixed_add(op, rt, r))
			return;
		s = atomic_load_explicit(&r->fixed, memory_order_relaxed);
	}
	ring_sqe_fixed(rt->op_sqe, (int)s - 1);
	op->fixed = true;
}

void route_fixed_forget(unsigned lo, unsigned hi)
{
	if (ring_files_forget(lo, hi) == -EEXIST) {
		atomic_store(&fixed_stranded, true);
		shim_warn("fds %u-%u closed in a thread the shim did not see "
			  "created, while another thread's ring holds a file "
			  "of theirs", lo, hi);
	}
}

void route_fixed_release(void)
{
	if (ring_files_release() == -EEXIST) {
		atomic_store(&fixed_stranded, true);
		shim_warn("a thread the shim did not see created closes files "
			  "while another thread's ring holds some");
	}
}
