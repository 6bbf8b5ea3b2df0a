/* SPDX-License-Identifier: MIT */
/* send, recv and their address, message and fortified variants. */
#include <string.h>

#include "route/route.h"

#define SEND_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE | MSG_EOR | \
		    MSG_CONFIRM)
#define RECV_FLAGS (MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC | MSG_CMSG_CLOEXEC)

struct sk {
	struct route_op op;
	int flags;		/* the application's MSG_* flags */
};

#define SK(c, f, fl, o) {						\
	.op = { .call = (c), .fd = (f), .dir = (o) ? DIR_WRITE : DIR_READ,	\
		.need = NEED_SOCKET, .app_nowait = (fl) & MSG_DONTWAIT,	\
		.nosignal = (fl) & MSG_NOSIGNAL, .saved_errno = errno },	\
	.flags = (fl) }

/* prepare, then the gate: a ring to prepare the op on, or NULL for libc. */
static struct ring_thread *sk_begin(struct sk *q, const struct msghdr *m,
				    unsigned opcode)
{
	struct route_op *op = &q->op;
	bool out = op->dir == DIR_WRITE, ok = true;

	if (out)
		batch_before_write(op->fd);
	else
		batch_before_read(op->fd);
	if (q->flags & ~(out ? SEND_FLAGS : RECV_FLAGS)) {
		route_skip(op->call, W_FLAGS);
		return NULL;
	}
	if (m) {
		/* A bad msghdr or iovec is libc's EFAULT, not our crash. */
		if (!umem_readable(m, sizeof(*m)) ||
		    m->msg_iovlen > ROUTE_IOV_MAX ||
		    !umem_readable(m->msg_iov,
				   m->msg_iovlen * sizeof(*m->msg_iov))) {
			route_skip(op->call, W_ARGS);
			return NULL;
		}
		op->want = iov_total(m->msg_iov, (int)m->msg_iovlen, &ok);
	}
	if (!ok || op->want == 0 || op->want > SHIM_MAX_RW) {
		route_skip(op->call, W_ARGS);
		return NULL;
	}
	op->opcode = opcode;
	return route_begin(op);
}

static ssize_t shim_send(int fd, const void *buf, size_t n, int flags,
			 const struct sockaddr *to, socklen_t tolen,
			 enum shim_call call)
{
	struct sk q = SK(call, fd, flags, true);
	struct iovec v = { (void *)buf, n };
	struct msghdr m = { .msg_name = (void *)to, .msg_namelen = tolen,
			    .msg_iov = &v, .msg_iovlen = 1 };
	struct io_uring_sqe *sqe;
	struct ring_thread *rt;
	long r;

	if (unlikely(batch_enabled) && !to &&
	    (r = batch_write(call, fd, &v, 1, flags)) != BATCH_PASS)
		return r;
	if (n - 1 < SHIM_MAX_RW && !(flags & ~SEND_FLAGS) &&
	    route_judged_fast(call, fd, DIR_WRITE, route_judged_sock_mask))
		return real.sendto(fd, buf, n, flags, to, tolen);
	q.op.want = n;
	rt = sk_begin(&q, NULL, to ? IORING_OP_SENDMSG : IORING_OP_SEND);
	if (rt) {
		sqe = ring_sqe(rt);
		if (to)
			io_uring_prep_sendmsg(sqe, fd, &m, flags | MSG_DONTWAIT);
		else
			io_uring_prep_send(sqe, fd, buf, n, flags | MSG_DONTWAIT);
		if (route_finish(&q.op, rt, &r))
			return r;
	}
	return route_join(q.op.done, real.sendto(fd, (const char *)buf + q.op.done,
						 n - q.op.done, flags, to, tolen),
			  q.op.saved_errno);
}

static ssize_t shim_recv(int fd, void *buf, size_t n, int flags,
			 struct sockaddr *from, socklen_t *fromlen,
			 enum shim_call call)
{
	struct sk q = SK(call, fd, flags, false);
	struct iovec v = { buf, n };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	struct io_uring_sqe *sqe;
	struct ring_thread *rt;
	long r;

	/* Only the plain address forms; libc judges odd ones (EFAULT...). */
	if (from && (!fromlen || !umem_readable(fromlen, sizeof(*fromlen)) ||
		     (int)*fromlen < 0)) {
		batch_before_read(fd);
		route_skip(call, W_ARGS);
		return real.recvfrom(fd, buf, n, flags, from, fromlen);
	}
	if (n - 1 < SHIM_MAX_RW && !(flags & ~RECV_FLAGS) &&
	    route_judged_fast(call, fd, DIR_READ, route_judged_sock_mask))
		return real.recvfrom(fd, buf, n, flags, from, fromlen);
	q.op.want = n;
	rt = sk_begin(&q, NULL, from ? IORING_OP_RECVMSG : IORING_OP_RECV);
	if (!rt)
		return route_join(0, real.recvfrom(fd, buf, n, flags, from,
						   fromlen), 0);
	sqe = ring_sqe(rt);
	if (from) {
		m.msg_name = from;
		m.msg_namelen = *fromlen;
		io_uring_prep_recvmsg(sqe, fd, &m, flags | MSG_DONTWAIT);
	} else {
		io_uring_prep_recv(sqe, fd, buf, n, flags | MSG_DONTWAIT);
	}
	if (route_finish(&q.op, rt, &r)) {
		if (from && r >= 0)
			*fromlen = m.msg_namelen;
		return r;
	}
	return route_join(0, real.recvfrom(fd, buf, n, flags, from, fromlen), 0);
}

SHIM_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	return shim_send(fd, buf, n, flags, NULL, 0, C_SEND);
}

SHIM_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
			   const struct sockaddr *to, socklen_t tolen)
{
	return shim_send(fd, buf, n, flags, to, tolen, C_SENDTO);
}

SHIM_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	return shim_recv(fd, buf, n, flags, NULL, NULL, C_RECV);
}

SHIM_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
			     struct sockaddr *from, socklen_t *fromlen)
{
	return shim_recv(fd, buf, n, flags, from, fromlen, C_RECVFROM);
}

SHIM_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct sk q = SK(C_SENDMSG, fd, flags, true);
	struct iovec rest[ROUTE_IOV_MAX];
	struct ring_thread *rt;
	struct msghdr m;
	long r;

	/* No address, no control data: a stream write like send's. */
	if (unlikely(batch_enabled) && umem_readable(msg, sizeof(*msg)) &&
	    !msg->msg_name && !msg->msg_controllen &&
	    msg->msg_iovlen <= ROUTE_IOV_MAX &&
	    (r = batch_write(C_SENDMSG, fd, msg->msg_iov, (int)msg->msg_iovlen,
			     flags)) != BATCH_PASS)
		return r;
	rt = sk_begin(&q, msg, IORING_OP_SENDMSG);
	if (rt) {
		io_uring_prep_sendmsg(ring_sqe(rt), fd, msg, flags | MSG_DONTWAIT);
		if (route_finish(&q.op, rt, &r))
			return r;
	}
	if (!q.op.done)
		return route_join(0, real.sendmsg(fd, msg, flags), 0);
	/* The control data went with the first part; send the rest bare. */
	m = *msg;
	m.msg_control = NULL;
	m.msg_controllen = 0;
	m.msg_iov = rest;
	m.msg_iovlen = iov_skip(msg->msg_iov, (int)msg->msg_iovlen, q.op.done,
				rest);
	return route_join(q.op.done, real.sendmsg(fd, &m, flags),
			  q.op.saved_errno);
}

SHIM_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct sk q = SK(C_RECVMSG, fd, flags, false);
	struct ring_thread *rt;
	long r;

	rt = sk_begin(&q, msg, IORING_OP_RECVMSG);
	if (rt) {
		io_uring_prep_recvmsg(ring_sqe(rt), fd, msg, flags | MSG_DONTWAIT);
		if (route_finish(&q.op, rt, &r))
			return r;
	}
	return route_join(0, real.recvmsg(fd, msg, flags), 0);
}

SHIM_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen,
			       int flags)
{
	if (n > buflen)
		return real.__recv_chk(fd, buf, n, buflen, flags);	/* aborts */
	return shim_recv(fd, buf, n, flags, NULL, NULL, C_RECV);
}

SHIM_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
				   int flags, struct sockaddr *from,
				   socklen_t *fromlen)
{
	if (n > buflen)
		return real.__recvfrom_chk(fd, buf, n, buflen, flags, from,
					   fromlen);
	return shim_recv(fd, buf, n, flags, from, fromlen, C_RECVFROM);
}
