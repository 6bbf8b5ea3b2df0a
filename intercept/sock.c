/* SPDX-License-Identifier: MIT */
/* accept, connect, and the calls that create sockets. */
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "route/route.h"

/*
 * accept's completion is its own: a success is an fd, not bytes; its
 * EINVAL may say that the kernel has no IORING_ACCEPT_DONTWAIT.
 */
static int shim_accept4(int fd, struct sockaddr *addr, socklen_t *len,
			int flags)
{
	struct route_op op = { .call = C_ACCEPT, .fd = fd, .dir = DIR_READ,
			       .opcode = IORING_OP_ACCEPT,
			       .need = NEED_SOCKET, .saved_errno = errno };
	struct ring_thread *rt;
	struct io_uring_sqe *sqe;
	enum route_sigs sigs;
	int res, ret, dw;
	long r;

	/* A listener that keeps saying EAGAIN waits in libc's accept. */
	rt = route_begin(&op);
	if (!rt)
		goto libc;
	dw = atomic_load_explicit(&route_accept_dontwait, memory_order_relaxed);
	sqe = ring_sqe(rt);
	io_uring_prep_accept(sqe, fd, addr, len, flags);
	sqe->ioprio |= IORING_ACCEPT_DONTWAIT;
	if (!route_run(rt, C_ACCEPT, &res, &sigs)) {
		if (route_never_ran(fd, FD_SOCKET, DIR_READ, sigs,
				    op.saved_errno, &r))
			return (int)r;
		goto libc;
	}
	if (res >= 0) {
		if (dw == DW_UNKNOWN)
			atomic_store(&route_accept_dontwait, DW_YES);
		stat_ring(C_ACCEPT, 0);
		fd_wb_hit(op.rec);
		route_fd_new(res, FD_SOCKET);
		return (int)sys_ret(res, op.saved_errno);
	}
	if (res == -EINVAL && dw == DW_UNKNOWN) {
		/*
		 * Either the socket is not listening, or this kernel has no
		 * IORING_ACCEPT_DONTWAIT: libc's answer tells which.
		 */
		route_skip(C_ACCEPT, W_UNSUPPORTED);
		ret = real.accept4(fd, addr, len, flags);
		if (ret >= 0 || errno != EINVAL) {
			atomic_store(&route_accept_dontwait, DW_NO);
			shim_info("accept: no IORING_ACCEPT_DONTWAIT here; "
				  "accept goes to libc");
		}
		goto out;
	}
	if (res == -EAGAIN) {
		fd_wb_miss(op.rec);
		if (route_wouldblock(C_ACCEPT, fd, FD_SOCKET, sigs, 0,
				     op.saved_errno, &r))
			return (int)r;
		goto libc;
	}
	if (res == -EINVAL || res == -EINTR || res < -511) {
		route_skip(C_ACCEPT, W_UNSUPPORTED);
		goto libc;
	}
	stat_ring(C_ACCEPT, 0);
	return (int)sys_ret(res, op.saved_errno);
libc:
	batch_before_read(-1);
	ret = real.accept4(fd, addr, len, flags);
out:
	if (ret >= 0)
		route_fd_new(ret, FD_SOCKET);
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
 * connect goes to libc. io_uring's CONNECT waits even on an O_NONBLOCK
 * socket and cannot report EINPROGRESS, so the only exact ring connect is
 * one bounded by a zero IORING_OP_LINK_TIMEOUT, cancelled and handed to
 * libc when it cannot complete at once. That costs an F_GETFL, the timeout
 * (7-10 us per connect, measured) and an op alone on a ring, which is
 * already dearer than the syscall: libc's connect is exact and cheaper.
 */
SHIM_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	batch_before_read(-1);
	route_skip(C_CONNECT, fd_class_get(fd) == FD_SOCKET ? W_CHEAPER
							    : W_FDTYPE);
	return real.connect(fd, addr, len);
}

SHIM_EXPORT int socket(int domain, int type, int proto)
{
	int fd = real.socket(domain, type, proto);

	if (fd >= 0)
		route_fd_new(fd, FD_SOCKET);
	return fd;
}

SHIM_EXPORT int socketpair(int domain, int type, int proto, int sv[2])
{
	int ret = real.socketpair(domain, type, proto, sv);

	if (ret == 0) {
		route_fd_new(sv[0], FD_SOCKET);
		route_fd_new(sv[1], FD_SOCKET);
	}
	return ret;
}
