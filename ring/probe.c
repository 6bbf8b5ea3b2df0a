/* SPDX-License-Identifier: MIT */
/*
 * What this kernel really does, tried on throwaway rings and files, for
 * the --check report (shim/check.c prints it). The shim itself decides
 * from the op probe and from trying each thing as it needs it.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring/ring.h"

/* Try a setup flag on a throwaway ring. */
bool ring_probe_setup(unsigned flags)
{
	struct io_uring r;
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	p.sq_thread_idle = 10;
	if (io_uring_queue_init_params(4, &r, &p) < 0)
		return false;
	io_uring_queue_exit(&r);
	return true;
}

/* IORING_ACCEPT_DONTWAIT: EAGAIN on an idle listener if known, else EINVAL. */
int ring_probe_accept_dontwait(struct ring_thread *rt)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct io_uring_sqe *sqe;
	int fd, res = -1;

	fd = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (syscall(SYS_bind, fd, &a, sizeof(a)) == 0 &&
	    syscall(SYS_listen, fd, 1) == 0) {
		sqe = ring_sqe(rt);
		io_uring_prep_accept(sqe, fd, NULL, NULL, 0);
		sqe->ioprio |= IORING_ACCEPT_DONTWAIT;
		if (ring_run(rt, &res) < 0)
			res = -1;
	}
	syscall(SYS_close, fd);
	return res == -EAGAIN;
}

/*
 * A NOWAIT read on an empty pipe (family AF_UNSPEC) or unix socket pair:
 * EAGAIN where the file takes RWF_NOWAIT, EOPNOTSUPP where it does not.
 */
int ring_probe_nowait_read(struct ring_thread *rt, int family)
{
	struct io_uring_sqe *sqe;
	int p[2], res = -1;
	char c;

	if (family == AF_UNSPEC ? syscall(SYS_pipe2, p, O_CLOEXEC) < 0 :
	    syscall(SYS_socketpair, family, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
		return -1;
	sqe = ring_sqe(rt);
	io_uring_prep_read(sqe, p[0], &c, 1, (uint64_t)-1);
	sqe->rw_flags = RWF_NOWAIT;
	if (ring_run(rt, &res) < 0)
		res = -1;
	syscall(SYS_close, p[0]);
	syscall(SYS_close, p[1]);
	return res == -EAGAIN;
}
