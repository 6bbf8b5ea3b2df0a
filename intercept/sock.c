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
	struct fd_rec *rec;
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
	if (fd_lookup(fd, &rec) != FD_SOCKET) {
		route_skip(C_ACCEPT, W_FDTYPE);
		goto libc;
	}
	/* A listener that keeps saying EAGAIN waits in libc's accept. */
	rt = route_begin(C_ACCEPT, fd, FD_SOCKET, rec, DIR_READ,
			 IORING_OP_ACCEPT);
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
		fd_wb_hit(rec);
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
		fd_wb_miss(rec);
		if (route_wouldblock(C_ACCEPT, fd, FD_SOCKET, sigs, 0, saved,
				     &r))
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
