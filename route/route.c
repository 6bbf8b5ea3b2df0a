/* SPDX-License-Identifier: MIT */
/* The router: see route.h. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "route/route.h"

/* The rings hide their fds within the fd table's range. */
_Static_assert(FD_MAX == RING_FD_MAX, "one fd limit");

static bool class_routed(enum fd_class cls, enum route_dir dir)
{
	unsigned r = shim_cfg.route;

	switch (cls) {
	case FD_PIPE:
		/*
		 * Before 6.4 a pipe refuses RWF_NOWAIT; a real old kernel says
		 * so at the first try (route_refused()), a SHIM_KERNEL profile
		 * here.
		 */
		return (r & ROUTE_PIPE) &&
		       ring_cap_allowed(RCAP_FEATURE, RF_PIPE_NOWAIT);
	case FD_SOCKET:
		return r & ROUTE_SOCKET;
	case FD_FILE:
		return dir == DIR_READ ? r & ROUTE_FILE_READ
				       : r & ROUTE_FILE_WRITE;
	case FD_FILE_NOWAIT:
		return dir == DIR_READ ? r & ROUTE_FILE_READ
				       : r & (ROUTE_FILE_WRITE |
					      ROUTE_FILE_WRITE_NOWAIT);
	case FD_OTHER:
		return r & ROUTE_OTHER;
	default:
		return false;
	}
}

/* The ring's counts, in this thread's statistics. */
static void ring_counted(enum ring_counter c)
{
	struct shim_stats *s = shim_st;

	stat_add(c == RING_C_ENTER ? &s->enter :
		 c == RING_C_RINGS ? &s->rings : &s->rings_freed, 1);
}

/* What the ring had to tell of a ring it made, or failed to make. */
void route_ring_notices(void)
{
	int err = ring_take_sqpoll_refusal();

	if (unlikely(err))
		shim_warn("SQPOLL ring refused (%s): profile exact instead",
			  shim_errname(-err));
}

/*
 * The fd classes whose calls, once the judge has them in libc, go there
 * from the entry point (route_judged_fast()): those route_begin() would
 * let through to the judge. Whether it does depends on SHIM_ROUTE and on
 * the kernel profile only, both fixed by now; a pipe a real old kernel
 * refuses RWF_NOWAIT on becomes FD_OTHER, outside the mask.
 */
static void judged_masks(void)
{
	unsigned c, d;

	for (d = DIR_READ; d <= DIR_WRITE; d++) {
		uint8_t m = 0;

		for (c = FD_PIPE; c <= FD_OTHER; c++)
			if (class_routed((enum fd_class)c, (enum route_dir)d) &&
			    (c != FD_SOCKET ||
			     ring_cap_allowed(RCAP_FEATURE, RF_SOCK_RW_NOWAIT)))
				m |= (uint8_t)(1u << c);
		route_judged_mask[d] = m;
	}
	if (shim_cfg.route & ROUTE_SOCKET)
		route_judged_sock_mask = 1u << FD_SOCKET;
	route_judged_why = shim_cfg.profile == PROFILE_SQPOLL ? W_SQOFF
							       : W_CHEAPER;
}

/*
 * Before a thread makes its ring: the process lives (shim_settle()), and
 * a seccomp filter must not kill it for an io_uring syscall.
 */
static bool ring_allowed(void)
{
	shim_settle_soon();
	return shim_seccomp_why() == W__NR;
}

/*
 * At initialisation: the options of the rings, the hooks, the batch
 * profile, and the classes SHIM_ROUTE sends to libc, per direction; with
 * the judge, those whose judged calls go to libc from the entry point.
 */
void route_init(void)
{
	static const enum fd_class fixed[] = { FD_FILE, FD_FILE_NOWAIT,
					       FD_OTHER };
	unsigned i, d;
	/*
	 * The judge governs every profile: one op alone on a plain ring costs
	 * more than its syscall, so exact, like batch's unstaged calls, uses
	 * the ring only while a timed trial finds it faster.
	 */
	struct ring_opts ro = {
		.sqpoll = shim_cfg.profile == PROFILE_SQPOLL,
		.sq_idle_ms = shim_cfg.sq_idle_ms, .sq_cpu = shim_cfg.sq_cpu,
		.spin_us = shim_cfg.spin_us, .adapt = shim_cfg.adapt,
		.count = ring_counted,
		.may_create = ring_allowed,
	};

	ring_init(&ro);
	/* The spine calls these at fork; the batch profile adds its own. */
	shim_hook_add(HOOK_FORK_PREPARE, ring_fork_prepare);
	shim_hook_add(HOOK_FORK_PARENT, ring_fork_parent);
	if (shim_mode != MODE_DISABLED)
		batch_init();
	shim_hook_add(HOOK_FORK_CHILD, ring_fork_child);
	/* A slot's file only its own thread can let go: none from now on. */
	shim_hook_add(HOOK_THREAD, route_fixed_release);
	shim_hot.read = real.read;
	shim_hot.write = real.write;
	/*
	 * A disabled shim counts these as such: they take the long way. Under
	 * batch the fast paths also ask route_batch_clear().
	 */
	if (shim_mode == MODE_DISABLED)
		return;
	for (d = DIR_READ; d <= DIR_WRITE; d++) {
		uint8_t m = 0;

		for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			if (!class_routed(fixed[i], (enum route_dir)d))
				m |= (uint8_t)(1u << fixed[i]);
		route_libc_mask[d] = m;
	}
	if (shim_cfg.adapt)
		judged_masks();
}

/* io_uring is not there for this process: say why once, then stay out. */
static bool setup_refused(int err)
{
	switch (err) {
	case EPERM:
		shim_set_passthrough("io_uring_setup: EPERM (seccomp or "
				     "kernel.io_uring_disabled?)");
		return true;
	case ENOSYS:
		shim_set_passthrough("io_uring_setup: ENOSYS (no io_uring in "
				     "this kernel or sandbox)");
		return true;
	case EINVAL:
		shim_set_passthrough("io_uring_setup: EINVAL for every flag set");
		return true;
	case EACCES:
		shim_set_passthrough("io_uring_setup: EACCES");
		return true;
	case ENOMEM:
		/* Before 5.12 rings count against RLIMIT_MEMLOCK. */
		if (shim_mode == MODE_UNKNOWN) {
			shim_set_passthrough("io_uring_setup: ENOMEM "
					     "(RLIMIT_MEMLOCK?)");
			return true;
		}
		return false;
	default:
		return false;
	}
}

/*
 * The handlers seen when this thread's ring was taken for the current call
 * (written only by the ring's holder: a handler's own call finds it busy).
 */
static __thread struct shim_sigseen route_seen;

_Atomic int route_accept_dontwait;

/* The first ring of the process: the mode is "ring", and how. */
static void ring_mode(void)
{
	if (shim_set_ring_mode())
		shim_info("io_uring rings: setup flags 0x%x, features 0x%x, "
			  "ring fd %s, route 0x%x", ring_caps.setup_flags,
			  ring_caps.features, ring_caps.reg_ring_fd ?
			  "registered and closed" : "kept high",
			  shim_cfg.route);
}

/*
 * What the op needs of the fd and of the kernel, judged before the mode:
 * a call that cannot be routed here says so as W_FDTYPE (or W_ARGS, or
 * W_UNSUPPORTED) whatever the process's mode.
 */
static bool op_fits(struct route_op *op)
{
	if (op->opcode == IORING_OP_ACCEPT) {
		int dw = atomic_load_explicit(&route_accept_dontwait,
					      memory_order_relaxed);

		if (dw == DW_UNKNOWN &&
		    !ring_cap_allowed(RCAP_FEATURE, RF_ACCEPT_DONTWAIT)) {
			atomic_store(&route_accept_dontwait, DW_NO);
			dw = DW_NO;
		}
		if (dw == DW_NO) {
			route_skip(op->call, W_UNSUPPORTED);
			return false;
		}
	}
	op->cls = fd_lookup(op->fd, &op->rec);
	if (op->need == NEED_FILE && op->cls != FD_FILE &&
	    op->cls != FD_FILE_NOWAIT) {
		route_skip(op->call, op->cls == FD_UNKNOWN ? W_ARGS : W_FDTYPE);
		return false;
	}
	if (op->need == NEED_SOCKET && op->cls != FD_SOCKET) {
		route_skip(op->call, W_FDTYPE);
		return false;
	}
	/* A kernel that refuses RWF_NOWAIT here would say so at each socket. */
	if (op->rw_op && op->cls == FD_SOCKET &&
	    !ring_cap_allowed(RCAP_FEATURE, RF_SOCK_RW_NOWAIT)) {
		route_skip(op->call, W_FDTYPE);
		return false;
	}
	/* The application's own NOWAIT: EAGAIN is its answer, paid once. */
	if (op->app_nowait)
		op->rec = NULL;
	return true;
}

/*
 * The gate: every check that sends the call to libc, counted once, with
 * the fd looked up once. A ring, taken, to prepare the op on; NULL: libc
 * (counted). The interposer has set op->saved_errno, the errno the call
 * came with, and op->done to 0.
 */
struct ring_thread *route_begin(struct route_op *op)
{
	struct shim_sigseen seen = shim_sigseen;
	enum shim_call call = op->call;
	struct ring_thread *rt;
	enum shim_why sc;
	int err = 0, serr, saved = errno;

	if (!op_fits(op))
		return NULL;
	if (unlikely(!shim_ready())) {
		route_skip(call, W_EARLY);
		return NULL;
	}
	if (unlikely(atomic_load_explicit(&shim_mode, memory_order_relaxed) ==
		     MODE_DISABLED)) {
		route_skip(call, W_DISABLED);
		return NULL;
	}
	/* Banned by a filter: pass-through too, but counted for its cause. */
	if (unlikely(atomic_load_explicit(&shim_seccomp_state,
					  memory_order_relaxed) == SC_BANNED)) {
		route_skip(call, W_SECCOMP);
		return NULL;
	}
	if (atomic_load_explicit(&shim_mode, memory_order_relaxed) ==
	    MODE_PASSTHROUGH) {
		route_skip(call, W_PASSTHROUGH);
		return NULL;
	}
	if (unlikely(shim_in_vfork)) {
		route_skip(call, W_VFORK);
		return NULL;
	}
	if (op->cls == FD_UNKNOWN) {
		route_skip(call, W_ARGS);	/* libc reports EBADF */
		return NULL;
	}
	if (!class_routed(op->cls, op->dir)) {
		route_skip(call, W_FDTYPE);
		return NULL;
	}
	if (fd_wb_predicted(op->rec)) {
		stat_add(&shim_st->predicted, 1);
		route_skip(call, W_WOULDBLOCK);
		return NULL;
	}
	/* A pending cancellation acts at entry, as in libc's own call. */
	pthread_testcancel();
	rt = ring_get(&err, &serr);
	if (unlikely(err) && err != RING_E_JUDGED)
		route_ring_notices();	/* a ring made now, or none */
	if (likely(rt)) {
		route_seen = seen;
		if (unlikely(shim_mode == MODE_UNKNOWN))
			ring_mode();
		/* Known only once the first ring has probed the kernel. */
		if (likely(ring_op_supported(op->opcode))) {
			op->inline_op = ring_inline(rt);
			return rt;
		}
		ring_put(rt);
		route_skip(call, W_UNSUPPORTED);
		return NULL;
	}
	if (err == RING_E_JUDGED) {
		/* exact and batch: libc is cheaper; sqpoll: polling is off. */
		route_skip(call, shim_cfg.profile == PROFILE_SQPOLL ? W_SQOFF
								    : W_CHEAPER);
	} else if (err == RING_E_DENIED) {
		sc = shim_seccomp_why();
		route_skip(call, sc == W__NR ? W_EARLY : sc);
	} else if (err == RING_E_BUSY) {
		route_skip(call, W_REENTRY);
	} else if (err == RING_E_PROBE) {
		shim_set_passthrough(serr == EPERM ?
			"io_uring_register(PROBE): EPERM (seccomp?)" :
			"io_uring_register(PROBE) refused");
		route_skip(call, W_PASSTHROUGH);
	} else if (err == RING_E_ENTER) {
		shim_set_passthrough(serr == EPERM ?
			"io_uring_enter: EPERM (seccomp?)" :
			"io_uring_enter refused");
		route_skip(call, W_PASSTHROUGH);
	} else if (err == RING_E_SETUP && setup_refused(serr)) {
		route_skip(call, W_PASSTHROUGH);
	} else {
		if (err == RING_E_SETUP)
			shim_warn("io_uring_setup: %s; this thread uses libc "
				  "for a while", shim_errname(serr));
		route_skip(call, W_RINGERR);
	}
	errno = saved;	/* libc's call, if it succeeds, must not see ours */
	return NULL;
}

/*
 * Run the prepared op. False: it never ran, and the caller goes to libc
 * (counted here). *sigs says whether a handler of the application's ran on
 * this thread meanwhile, and what it would have done to a waiting syscall.
 */
bool route_run(struct ring_thread *rt, enum shim_call call, int *res,
	       enum route_sigs *sigs)
{
	struct shim_sigseen seen = route_seen;
	int ret, saved = errno;

	ret = ring_run(rt, res);
	ring_put(rt);
	*sigs = SIGS_NONE;
	if (unlikely(shim_sigseen.ran != seen.ran))
		*sigs = shim_sigseen.eintr != seen.eintr ? SIGS_EINTR
							 : SIGS_RESTART;
	if (likely(ret == 0))
		return true;
	if (ret == -EPERM)
		shim_set_passthrough("io_uring_enter: EPERM (seccomp?)");
	else
		shim_warn("io_uring_enter: %s; falling back", shim_errname(-ret));
	route_skip(call, W_RINGERR);
	errno = saved;
	return false;
}

/*
 * A read or write the kernel refused RWF_NOWAIT for (FMODE_NOWAIT). Before
 * 6.4 every pipe and every socket does: the kernel lacks the feature, and
 * the fd stays what it is, so that its send/recv still take the ring and
 * batch still stages it. Any other file is one for libc, as /proc is.
 */
static void route_refused(struct route_op *op, int res)
{
	if (res == -EOPNOTSUPP && op->cls == FD_PIPE)
		ring_cap_refused(RF_PIPE_NOWAIT);
	else if (res == -EOPNOTSUPP && op->cls == FD_SOCKET)
		ring_cap_refused(RF_SOCK_RW_NOWAIT);
	else
		route_fd_new(op->fd, FD_OTHER);
	route_skip(op->call, W_FDTYPE);
}

/*
 * Run the op route_begin() let through and translate its completion, the
 * same for every read, write, send and recv. True: the call is complete
 * and *ret is its result. False: libc must do the rest, op->done bytes in.
 */
bool route_finish(struct route_op *op, struct ring_thread *rt, long *ret)
{
	enum route_sigs sigs;
	int res;

	route_fixed(op, rt);
	if (!route_run(rt, op->call, &res, &sigs))
		return !op->app_nowait &&
		       route_never_ran(op->fd, op->cls, op->dir, sigs,
				       op->saved_errno, ret);
	if (unlikely(op->fixed)) {
		/* A handler emptied the slot: libc looks the number up. */
		if (res == -EBADF) {
			route_skip(op->call, W_RINGERR);
			return false;
		}
		stat_add(&shim_st->files_fixed_ops, 1);
	}
	if (res >= 0) {
		stat_ring(op->call, res);
		fd_wb_hit(op->rec);
		/*
		 * A blocking write(2) or send(2) moves everything; a short
		 * NOWAIT one only means the pipe or socket buffer filled up.
		 * A short regular-file read: the rest was not in the cache.
		 */
		if (!op->app_nowait &&
		    (op->dir == DIR_WRITE ? (size_t)res < op->want
			: route_cont_reg(op->fd, op->cls, res, op->want))) {
			op->done = (size_t)res;
			return route_wouldblock(op->call, op->fd, op->cls, sigs,
						op->done, op->saved_errno, ret);
		}
	} else if (res == -EAGAIN && !op->app_nowait) {
		fd_wb_miss(op->rec);
		return route_wouldblock(op->call, op->fd, op->cls, sigs, 0,
					op->saved_errno, ret);
	} else if (op->rw_op && (res == -EOPNOTSUPP || res == -EINVAL)) {
		route_refused(op, res);
		return false;
	} else if (res == -EOPNOTSUPP || res == -EINVAL || res == -EINTR ||
		   res < -511) {
		/* Let libc give its own answer (MSG_OOB on unix, ...). */
		route_skip(op->call, W_UNSUPPORTED);
		return false;
	} else {
		stat_ring(op->call, 0);
		/*
		 * A write's SIGPIPE went to the SQ thread, if one ran it; io_uring
		 * sends as if MSG_NOSIGNAL. The caller must get it.
		 */
		if (res == -EPIPE && op->dir == DIR_WRITE && !op->nosignal &&
		    (!op->rw_op || !op->inline_op))
			route_sigpipe();
	}
	ring_judge_moved(res);
	*ret = sys_ret(res, op->saved_errno);
	return true;
}

/*
 * close_range, closefrom, daemon, login_tty, once the fds are closed
 * (their registered-file slots were emptied before): staged data first,
 * then the records.
 */
void route_fd_forget_range(unsigned int lo, unsigned int hi)
{
	unsigned int fd;

	if (unlikely(batch_enabled))
		for (fd = lo; fd <= hi && fd < FD_MAX; fd++)
			batch_fd_forget((int)fd);
	fd_forget_range(lo, hi);
}

/* SO_RCVTIMEO or SO_SNDTIMEO set: signal(7) says EINTR even with SA_RESTART. */
static bool sock_has_timeout(int fd)
{
	static const int opt[] = { SO_RCVTIMEO, SO_SNDTIMEO };
	struct timeval tv;
	socklen_t len;
	unsigned i;

	for (i = 0; i < 2; i++) {
		len = sizeof(tv);
		if (syscall(SYS_getsockopt, fd, SOL_SOCKET, opt[i], &tv,
			    &len) == 0 && (tv.tv_sec || tv.tv_usec))
			return true;
	}
	return false;
}

/*
 * The ring said "would block" (or moved only part of a blocking write):
 * libc is to wait. Had a handler run during that wait, the syscall would
 * have ended: with what it moved, or EINTR unless SA_RESTART restarts it.
 * The handler ran during the ring's op instead, so the call ends here the
 * same way. True: *ret is the call's result; false: go to libc (counted).
 */
static bool signal_ends_wait(int fd, enum fd_class cls, enum route_sigs sigs,
			     size_t done)
{
	long fl;

	if (likely(sigs == SIGS_NONE))
		return false;
	/* Regular files never wait interruptibly; O_NONBLOCK never waits. */
	if (cls == FD_FILE || cls == FD_FILE_NOWAIT)
		return false;
	fl = syscall(SYS_fcntl, fd, F_GETFL);
	if (fl < 0 || (fl & O_NONBLOCK))
		return false;
	return done || sigs == SIGS_EINTR ||
	       (cls == FD_SOCKET && sock_has_timeout(fd));
}

bool route_wouldblock(enum shim_call call, int fd, enum fd_class cls,
		      enum route_sigs sigs, size_t done, int saved_errno,
		      long *ret)
{
	if (!signal_ends_wait(fd, cls, sigs, done)) {
		route_skip(call, W_WOULDBLOCK);
		return false;
	}
	route_skip(call, W_SIGNAL);
	*ret = sys_ret(done ? (long)done : -EINTR, saved_errno);
	return true;
}

/* Would the syscall on fd have to wait now: nothing to read, no room? */
static bool must_wait(int fd, enum route_dir dir)
{
	struct pollfd p = { .fd = fd,
			    .events = dir == DIR_WRITE ? POLLOUT : POLLIN };
	struct timespec zero = { 0, 0 };

	return syscall(SYS_ppoll, &p, 1, &zero, NULL, 0) == 0;
}

/*
 * The op never ran (under SQPOLL with io_uring_enter refused, the shim
 * first waits to learn that its SQ thread will not take it), and a
 * handler of the application's ran meanwhile. The syscall would have been
 * waiting then if it had to wait, and ended as route_wouldblock() says.
 * True: *ret is the call's result; false: libc (already counted).
 */
bool route_never_ran(int fd, enum fd_class cls, enum route_dir dir,
		     enum route_sigs sigs, int saved_errno, long *ret)
{
	if (likely(sigs == SIGS_NONE) || !signal_ends_wait(fd, cls, sigs, 0) ||
	    !must_wait(fd, dir))
		return false;
	*ret = sys_ret(-EINTR, saved_errno);
	return true;
}

/*
 * A short read from a regular file means "not all of it was in the page
 * cache" (RWF_NOWAIT), where read(2) would have fetched the rest. Continue
 * in libc, but only if the fd really is a regular file: on a pipe or socket
 * a short read is the final answer.
 */
bool route_cont_reg(int fd, enum fd_class cls, long res, size_t want)
{
	if (res <= 0 || (size_t)res >= want)
		return false;
	if (cls != FD_FILE && cls != FD_FILE_NOWAIT)
		return false;
	return fd_is_regular(fd);
}

/* SIGPIPE for the calling thread, as the syscall would have sent it. */
void route_sigpipe(void)
{
	syscall(SYS_tgkill, syscall(SYS_getpid), syscall(SYS_gettid), SIGPIPE);
}

/* Copy of in[] past its first skip bytes; returns the new count. */
int iov_skip(const struct iovec *in, int cnt, size_t skip, struct iovec *out)
{
	int i, n = 0;

	for (i = 0; i < cnt; i++) {
		if (skip >= in[i].iov_len) {
			skip -= in[i].iov_len;
			continue;
		}
		out[n].iov_base = (char *)in[i].iov_base + skip;
		out[n].iov_len = in[i].iov_len - skip;
		skip = 0;
		n++;
	}
	return n;
}
