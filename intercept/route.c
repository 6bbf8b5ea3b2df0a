/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "intercept/route.h"

static bool class_routed(enum fd_class cls, enum route_dir dir)
{
	unsigned r = shim_cfg.route;

	switch (cls) {
	case FD_PIPE:
		/*
		 * Before 6.4 a pipe refuses RWF_NOWAIT; a real old kernel says
		 * so at the first try on each pipe, a SHIM_KERNEL profile here.
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

/* At initialisation: the classes SHIM_ROUTE sends to libc, per direction. */
void route_init(void)
{
	static const enum fd_class fixed[] = { FD_FILE, FD_FILE_NOWAIT,
					       FD_OTHER };
	unsigned i, d;

	shim_hot.read = real.read;
	shim_hot.write = real.write;
	/*
	 * The batch profile stages some of these, a disabled shim counts them
	 * as such: they take the long way.
	 */
	if (batch_enabled || shim_mode == MODE_DISABLED)
		return;
	for (d = DIR_READ; d <= DIR_WRITE; d++) {
		uint8_t m = 0;

		for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			if (!class_routed(fixed[i], (enum route_dir)d))
				m |= (uint8_t)(1u << fixed[i]);
		route_libc_mask[d] = m;
	}
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

/*
 * CLS is the caller's one lookup of FD; PREDICT its record when the call
 * may skip a ring that keeps saying EAGAIN (NULL: the caller asked for
 * NOWAIT itself, so EAGAIN is its answer, paid once).
 */
struct ring_thread *route_begin(enum shim_call call, int fd,
				enum fd_class cls, struct fd_rec *predict,
				enum route_dir dir, unsigned opcode)
{
	struct shim_sigseen seen = shim_sigseen;
	struct ring_thread *rt;
	enum shim_why sc;
	int err, serr, saved = errno;

	if (unlikely(!shim_ready())) {
		route_skip(call, W_EARLY);
		return NULL;
	}
	if (unlikely(atomic_load_explicit(&shim_mode, memory_order_relaxed) ==
		     MODE_DISABLED)) {
		route_skip(call, W_DISABLED);
		return NULL;
	}
	/* Before anything else the shim would do: it may be under a filter. */
	sc = shim_seccomp_why();
	if (unlikely(sc != W__NR)) {
		route_skip(call, sc);
		errno = saved;
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
	(void)fd;
	if (cls == FD_UNKNOWN) {
		route_skip(call, W_ARGS);	/* libc reports EBADF */
		return NULL;
	}
	if (!class_routed(cls, dir)) {
		route_skip(call, W_FDTYPE);
		return NULL;
	}
	if (fd_wb_predicted(predict)) {
		stat_add(&shim_st->predicted, 1);
		route_skip(call, W_WOULDBLOCK);
		return NULL;
	}
	/* A pending cancellation acts at entry, as in libc's own call. */
	pthread_testcancel();
	rt = ring_get(&err, &serr);
	if (likely(rt)) {
		route_seen = seen;
		if (unlikely(shim_mode == MODE_UNKNOWN))
			shim_set_ring_mode();
		/* Known only once the first ring has probed the kernel. */
		if (likely(ring_op_supported(opcode)))
			return rt;
		ring_put(rt);
		route_skip(call, W_UNSUPPORTED);
		return NULL;
	}
	if (err == RING_E_SQOFF) {
		route_skip(call, W_SQOFF);
	} else if (err == RING_E_BUSY) {
		route_skip(call, W_REENTRY);
	} else if (err == RING_E_PROBE) {
		shim_set_passthrough(serr == EPERM ?
			"io_uring_register(PROBE): EPERM (seccomp?)" :
			"io_uring_register(PROBE) refused");
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
bool route_run(struct ring_thread *rt, enum shim_call call,
	       const struct ring_wait *w, int *res, enum route_sigs *sigs)
{
	struct shim_sigseen seen = route_seen;
	int ret, saved = errno;
	unsigned done;

	ret = ring_run(rt, w, res, &done);
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
bool route_wouldblock(enum shim_call call, int fd, enum fd_class cls,
		      enum route_sigs sigs, size_t done, int saved_errno,
		      long *ret)
{
	long fl;

	if (likely(sigs == SIGS_NONE))
		goto libc;
	/* Regular files never wait interruptibly; O_NONBLOCK never waits. */
	if (cls == FD_FILE || cls == FD_FILE_NOWAIT)
		goto libc;
	fl = syscall(SYS_fcntl, fd, F_GETFL);
	if (fl < 0 || (fl & O_NONBLOCK))
		goto libc;
	if (!done && sigs == SIGS_RESTART &&
	    !(cls == FD_SOCKET && sock_has_timeout(fd)))
		goto libc;
	route_skip(call, W_SIGNAL);
	if (done) {
		errno = saved_errno;
		*ret = (long)done;
	} else {
		errno = EINTR;
		*ret = -1;
	}
	return true;
libc:
	route_skip(call, W_WOULDBLOCK);
	return false;
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
