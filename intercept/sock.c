/* SPDX-License-Identifier: MIT */
/* accept, connect, and the calls that create sockets. */
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "intercept/route.h"

/* IORING_ACCEPT_DONTWAIT (6.10): unknown until the first accept tells. */
enum { DW_UNKNOWN, DW_YES, DW_NO };
static _Atomic int accept_dontwait;

static int shim_accept4(int fd, struct sockaddr *addr, socklen_t *len,
			int flags)
{
	int saved = errno, res, ret;
	struct ring_thread *rt;
	struct io_uring_sqe *sqe;
	enum route_sigs sigs;
	long r;
	int dw = atomic_load_explicit(&accept_dontwait, memory_order_relaxed);

	if (dw == DW_UNKNOWN &&
	    !ring_cap_allowed(RCAP_FEATURE, RF_ACCEPT_DONTWAIT)) {
		atomic_store(&accept_dontwait, DW_NO);
		dw = DW_NO;
	}
	if (dw == DW_NO) {
		route_skip(C_ACCEPT, W_UNSUPPORTED);
		goto libc;
	}
	if (fd_class_get(fd) != FD_SOCKET) {
		route_skip(C_ACCEPT, W_FDTYPE);
		goto libc;
	}
	rt = route_begin(C_ACCEPT, fd, DIR_READ, IORING_OP_ACCEPT);
	if (!rt)
		goto libc;
	sqe = ring_sqe(rt);
	io_uring_prep_accept(sqe, fd, addr, len, flags);
	sqe->ioprio |= IORING_ACCEPT_DONTWAIT;
	if (!route_run(rt, C_ACCEPT, NULL, &res, &sigs))
		goto libc;
	if (res >= 0) {
		if (dw == DW_UNKNOWN)
			atomic_store(&accept_dontwait, DW_YES);
		stat_ring(C_ACCEPT, 0);
		fd_set_class(res, FD_SOCKET);
		errno = saved;
		return res;
	}
	if (res == -EINVAL && dw == DW_UNKNOWN) {
		/*
		 * Either the socket is not listening, or this kernel has no
		 * IORING_ACCEPT_DONTWAIT: libc's answer tells which.
		 */
		route_skip(C_ACCEPT, W_UNSUPPORTED);
		ret = real.accept4(fd, addr, len, flags);
		if (ret >= 0 || errno != EINVAL) {
			atomic_store(&accept_dontwait, DW_NO);
			shim_info("accept: no IORING_ACCEPT_DONTWAIT here; "
				  "accept goes to libc");
		}
		goto out;
	}
	if (res == -EAGAIN) {
		if (route_wouldblock(C_ACCEPT, fd, sigs, 0, saved, &r))
			return (int)r;
		goto libc;
	}
	if (res == -EINVAL || res == -EINTR || res < -511) {
		route_skip(C_ACCEPT, W_UNSUPPORTED);
		goto libc;
	}
	stat_ring(C_ACCEPT, 0);
	errno = -res;
	return -1;
libc:
	batch_before_read(-1);
	ret = real.accept4(fd, addr, len, flags);
out:
	if (ret >= 0)
		fd_set_class(ret, FD_SOCKET);
	return ret;
}

SHIM_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len,
			int flags)
{
	return shim_accept4(fd, addr, len, flags);
}

SHIM_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	return shim_accept4(fd, addr, len, 0);
}

/*
 * io_uring's CONNECT waits even on an O_NONBLOCK socket and cannot report
 * EINPROGRESS, so non-blocking sockets go straight to libc. A blocking one
 * gets one ring attempt bounded by a zero timeout: a connect that completes
 * at once (unix sockets, most loopback TCP) is served; one that must wait is
 * cancelled and libc's blocking connect() takes over the same attempt (on a
 * connecting TCP socket it waits for that handshake, with the kernel's own
 * signal and SO_SNDTIMEO handling).
 */
SHIM_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	static const struct __kernel_timespec now = { 0, 0 };
	const struct ring_wait w = { .timeout = &now };
	int saved = errno, res, fl;
	struct ring_thread *rt;
	enum route_sigs sigs;
	long r;

	batch_before_read(-1);
	if (fd_class_get(fd) != FD_SOCKET) {
		route_skip(C_CONNECT, W_FDTYPE);
		goto libc;
	}
	fl = (int)syscall(SYS_fcntl, fd, F_GETFL);
	if (fl < 0 || (fl & O_NONBLOCK)) {
		route_skip(C_CONNECT, fl < 0 ? W_ARGS : W_WOULDBLOCK);
		goto libc;
	}
	rt = route_begin(C_CONNECT, fd, DIR_WRITE, IORING_OP_CONNECT);
	if (!rt)
		goto libc;
	if (!ring_op_supported(IORING_OP_LINK_TIMEOUT)) {
		ring_put(rt);
		route_skip(C_CONNECT, W_UNSUPPORTED);
		goto libc;
	}
	io_uring_prep_connect(ring_sqe(rt), fd, addr, len);
	if (!route_run(rt, C_CONNECT, &w, &res, &sigs))
		goto libc;
	if (res == -ECANCELED || res == -EALREADY || res == -EAGAIN ||
	    res == -EINTR || res < -511) {
		if (route_wouldblock(C_CONNECT, fd, sigs, 0, saved, &r))
			return (int)r;
		goto libc;
	}
	stat_ring(C_CONNECT, 0);
	return (int)route_ret(res, saved);
libc:
	errno = saved;
	return real.connect(fd, addr, len);
}

SHIM_EXPORT int socket(int domain, int type, int proto)
{
	int fd = real.socket(domain, type, proto);

	if (fd >= 0)
		fd_set_class(fd, FD_SOCKET);
	return fd;
}

SHIM_EXPORT int socketpair(int domain, int type, int proto, int sv[2])
{
	int ret = real.socketpair(domain, type, proto, sv);

	if (ret == 0) {
		fd_set_class(sv[0], FD_SOCKET);
		fd_set_class(sv[1], FD_SOCKET);
	}
	return ret;
}
