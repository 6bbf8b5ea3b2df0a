/* SPDX-License-Identifier: MIT */
/* read, write and their positional, vectored and fortified relatives. */
#include <unistd.h>

#include "route/route.h"

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

struct rw {
	enum shim_call call;
	int fd;
	bool write;
	bool positional;	/* pread-style: an explicit offset */
	const struct iovec *iov;
	bool iov_app;		/* iov came from the application */
	int iovcnt;
	off_t off;		/* -1: the file position */
	int flags;		/* RWF_* from preadv2/pwritev2 */
	size_t done;		/* out: bytes the ring moved before libc */
	int saved_errno;	/* errno as the call found it */
};

/* Calls whose arguments only libc should judge. */
static bool rw_plain(struct rw *q, size_t *want)
{
	bool ok;

	if (q->iovcnt <= 0 || q->iovcnt > ROUTE_IOV_MAX) {
		route_skip(q->call, W_ARGS);
		return false;
	}
	/* readv and friends: the array is the application's, maybe bad. */
	if (q->iov_app && !umem_readable(q->iov, q->iovcnt * sizeof(*q->iov))) {
		route_skip(q->call, W_ARGS);
		return false;
	}
	*want = iov_total(q->iov, q->iovcnt, &ok);
	if (!ok || *want == 0 || (q->positional && q->off < 0) ||
	    q->off < -1) {
		route_skip(q->call, W_ARGS);
		return false;
	}
	if (q->flags & ~RWF_NOWAIT) {
		route_skip(q->call, W_FLAGS);
		return false;
	}
	return true;
}

/*
 * True: the call is complete and *ret is its result. False: libc must do
 * the rest, starting q->done bytes in.
 */
static bool rw_ring(struct rw *q, long *ret)
{
	struct route_op op = {
		.call = q->call, .fd = q->fd,
		.dir = q->write ? DIR_WRITE : DIR_READ,
		.need = q->positional ? NEED_FILE : NEED_ANY,
		.app_nowait = q->flags & RWF_NOWAIT, .rw_op = true,
		.saved_errno = errno,
	};
	struct ring_thread *rt;
	struct io_uring_sqe *sqe;
	bool done;

	/* prepare */
	q->done = 0;
	q->saved_errno = op.saved_errno;
	if (q->write)
		batch_before_write(q->fd);
	else
		batch_before_read(q->fd);
	if (!rw_plain(q, &op.want))
		return false;
	if (q->iovcnt == 1)
		op.opcode = q->write ? IORING_OP_WRITE : IORING_OP_READ;
	else
		op.opcode = q->write ? IORING_OP_WRITEV : IORING_OP_READV;
	/* gate */
	rt = route_begin(&op);
	if (!rt)
		return false;
	sqe = ring_sqe(rt);
	if (q->iovcnt == 1)
		io_uring_prep_rw(op.opcode, sqe, q->fd, q->iov[0].iov_base,
				 (unsigned)q->iov[0].iov_len, (uint64_t)q->off);
	else
		io_uring_prep_rw(op.opcode, sqe, q->fd, q->iov,
				 (unsigned)q->iovcnt, (uint64_t)q->off);
	sqe->rw_flags = q->flags | RWF_NOWAIT;
	/* run, translate */
	done = route_finish(&op, rt, ret);
	q->done = op.done;
	return done;
}

/* The fd classes a positional call is routed on (NEED_FILE). */
#define RW_FILES ((1u << FD_FILE) | (1u << FD_FILE_NOWAIT))

/* The iovec past what the ring already moved, for libc to finish. */
#define RW_REST(q, tmp) iov_skip((q).iov, (q).iovcnt, (q).done, (tmp))
#define RW_OFF(q) ((q).off < 0 ? (q).off : (q).off + (off_t)(q).done)

static __attribute__((noinline)) ssize_t shim_read(int fd, void *buf, size_t n)
{
	struct iovec v = { buf, n };
	struct rw q = { .call = C_READ, .fd = fd, .iov = &v, .iovcnt = 1,
			.off = -1 };
	long r;

	if (unlikely(batch_mine | (batch_last_write >= 0)) &&
	    (r = batch_read_now(C_READ, fd, &v, 1)) != BATCH_PASS)
		return r;
	if (rw_ring(&q, &r))
		return r;
	return route_join(q.done, shim_hot.read(fd, (char *)buf + q.done,
						n - q.done), q.saved_errno);
}

static __attribute__((noinline)) ssize_t shim_write(int fd, const void *buf, size_t n)
{
	struct iovec v = { (void *)buf, n };
	struct rw q = { .call = C_WRITE, .fd = fd, .write = true, .iov = &v,
			.iovcnt = 1, .off = -1 };
	long r;

	if (unlikely(batch_enabled) &&
	    (r = batch_write(C_WRITE, fd, &v, 1, 0)) != BATCH_PASS)
		return r;
	if (rw_ring(&q, &r))
		return r;
	return route_join(q.done, shim_hot.write(fd, (const char *)buf + q.done,
						 n - q.done), q.saved_errno);
}

static ssize_t shim_pread(int fd, void *buf, size_t n, off_t off)
{
	struct iovec v = { buf, n };
	struct rw q = { .call = C_PREAD, .fd = fd, .positional = true,
			.iov = &v, .iovcnt = 1, .off = off };
	long r;

	if (n - 1 < SHIM_MAX_RW && off >= 0 &&
	    route_judged_fast(C_PREAD, fd, DIR_READ,
			      route_judged_mask[DIR_READ] & RW_FILES))
		return real.pread64(fd, buf, n, off);
	if (rw_ring(&q, &r))
		return r;
	return route_join(q.done, real.pread64(fd, (char *)buf + q.done,
					       n - q.done, RW_OFF(q)),
			  q.saved_errno);
}

static ssize_t shim_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	struct iovec v = { (void *)buf, n };
	struct rw q = { .call = C_PWRITE, .fd = fd, .write = true,
			.positional = true, .iov = &v, .iovcnt = 1, .off = off };
	long r;

	if (unlikely(batch_enabled) &&
	    (r = batch_pwrite(C_PWRITE, fd, &v, 1, off)) != BATCH_PASS)
		return r;
	if (n - 1 < SHIM_MAX_RW && off >= 0 &&
	    route_judged_fast(C_PWRITE, fd, DIR_WRITE,
			      route_judged_mask[DIR_WRITE] & RW_FILES))
		return real.pwrite64(fd, buf, n, off);
	if (rw_ring(&q, &r))
		return r;
	return route_join(q.done, real.pwrite64(fd, (const char *)buf + q.done,
						n - q.done, RW_OFF(q)),
			  q.saved_errno);
}

/*
 * Pass-through first, as a tail call: nothing else set up for it. The
 * common case (route_pass()) needs no frame at all; the others take
 * route_libc_fast() in a frame of their own.
 */
static __attribute__((noinline)) ssize_t read_any(int fd, void *buf, size_t n)
{
	if (n - 1 < SHIM_MAX_RW && route_libc_fast(C_READ, fd, DIR_READ))
		return shim_hot.read(fd, buf, n);
	return shim_read(fd, buf, n);
}

static __attribute__((noinline)) ssize_t write_any(int fd, const void *buf,
						   size_t n)
{
	if (n - 1 < SHIM_MAX_RW && route_libc_fast(C_WRITE, fd, DIR_WRITE))
		return shim_hot.write(fd, buf, n);
	return shim_write(fd, buf, n);
}

static __attribute__((noinline)) ssize_t read_batch(int fd, void *buf,
						    size_t n)
{
	if (route_pass(C_READ, fd, DIR_READ, n, true))
		return shim_hot.read(fd, buf, n);
	return read_any(fd, buf, n);
}

static __attribute__((noinline)) ssize_t write_batch(int fd, const void *buf,
						     size_t n)
{
	if (route_pass(C_WRITE, fd, DIR_WRITE, n, true))
		return shim_hot.write(fd, buf, n);
	return write_any(fd, buf, n);
}

SHIM_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	if (unlikely(batch_enabled))
		return read_batch(fd, buf, n);
	if (route_pass(C_READ, fd, DIR_READ, n, false))
		return shim_hot.read(fd, buf, n);
	return read_any(fd, buf, n);
}

SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	if (unlikely(batch_enabled))
		return write_batch(fd, buf, n);
	if (route_pass(C_WRITE, fd, DIR_WRITE, n, false))
		return shim_hot.write(fd, buf, n);
	return write_any(fd, buf, n);
}

SHIM_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	return shim_pread(fd, buf, n, off);
}

SHIM_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	return shim_pwrite(fd, buf, n, off);
}

SHIM_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	struct rw q = { .call = C_READV, .fd = fd, .iov = iov, .iov_app = true,
			.iovcnt = cnt, .off = -1 };
	struct iovec rest[ROUTE_IOV_MAX];
	long r;

	if (unlikely(batch_mine | (batch_last_write >= 0)) && cnt > 0 &&
	    cnt <= ROUTE_IOV_MAX &&
	    umem_readable(iov, (size_t)cnt * sizeof(*iov)) &&
	    (r = batch_read_now(C_READV, fd, iov, cnt)) != BATCH_PASS)
		return r;
	if (rw_ring(&q, &r))
		return r;
	if (!q.done)
		return route_join(0, real.readv(fd, iov, cnt), 0);
	return route_join(q.done, real.readv(fd, rest, RW_REST(q, rest)),
			  q.saved_errno);
}

SHIM_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	struct rw q = { .call = C_WRITEV, .fd = fd, .write = true, .iov = iov,
			.iov_app = true, .iovcnt = cnt, .off = -1 };
	struct iovec rest[ROUTE_IOV_MAX];
	long r;

	if (unlikely(batch_enabled) &&
	    (r = batch_write(C_WRITEV, fd, iov, cnt, 0)) != BATCH_PASS)
		return r;
	if (rw_ring(&q, &r))
		return r;
	if (!q.done)
		return route_join(0, real.writev(fd, iov, cnt), 0);
	return route_join(q.done, real.writev(fd, rest, RW_REST(q, rest)),
			  q.saved_errno);
}

static ssize_t shim_preadv2(int fd, const struct iovec *iov, int cnt,
			    off_t off, int flags, bool positional)
{
	struct rw q = { .call = C_PREADV, .fd = fd, .positional = positional,
			.iov = iov, .iov_app = true, .iovcnt = cnt, .off = off,
			.flags = flags };
	struct iovec rest[ROUTE_IOV_MAX];
	long r;

	if (rw_ring(&q, &r))
		return r;
	if (!q.done)
		return route_join(0, positional && !flags ?
				  real.preadv64(fd, iov, cnt, off) :
				  real.preadv2(fd, iov, cnt, off, flags), 0);
	return route_join(q.done, real.preadv2(fd, rest, RW_REST(q, rest),
					       RW_OFF(q), flags),
			  q.saved_errno);
}

static ssize_t shim_pwritev2(int fd, const struct iovec *iov, int cnt,
			     off_t off, int flags, bool positional)
{
	struct rw q = { .call = C_PWRITEV, .fd = fd, .write = true,
			.positional = positional, .iov = iov, .iov_app = true,
			.iovcnt = cnt, .off = off, .flags = flags };
	struct iovec rest[ROUTE_IOV_MAX];
	long r;

	if (unlikely(batch_enabled) && positional && !flags &&
	    (r = batch_pwrite(C_PWRITEV, fd, iov, cnt, off)) != BATCH_PASS)
		return r;
	if (rw_ring(&q, &r))
		return r;
	if (!q.done)
		return route_join(0, positional && !flags ?
				  real.pwritev64(fd, iov, cnt, off) :
				  real.pwritev2(fd, iov, cnt, off, flags), 0);
	return route_join(q.done, real.pwritev2(fd, rest, RW_REST(q, rest),
						RW_OFF(q), flags),
			  q.saved_errno);
}

SHIM_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return shim_preadv2(fd, iov, cnt, off, 0, true);
}

SHIM_EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt,
			      off_t off)
{
	return shim_pwritev2(fd, iov, cnt, off, 0, true);
}

/* preadv2 with offset -1 reads at the file position, like readv. */
SHIM_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int cnt,
			    off_t off, int flags)
{
	return shim_preadv2(fd, iov, cnt, off, flags, off != -1);
}

SHIM_EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int cnt,
			     off_t off, int flags)
{
	return shim_pwritev2(fd, iov, cnt, off, flags, off != -1);
}

SHIM_EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt,
			       off_t off, int flags)
	__attribute__((alias("preadv2")));
SHIM_EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt,
				off_t off, int flags)
	__attribute__((alias("pwritev2")));
SHIM_EXPORT __typeof(pread64) pread __attribute__((alias("pread64")));
SHIM_EXPORT __typeof(pwrite64) pwrite __attribute__((alias("pwrite64")));
SHIM_EXPORT __typeof(preadv64) preadv __attribute__((alias("preadv64")));
SHIM_EXPORT __typeof(pwritev64) pwritev __attribute__((alias("pwritev64")));

/* The fortified entry points Debian's binaries call (-D_FORTIFY_SOURCE=2). */
SHIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		return real.__read_chk(fd, buf, n, buflen);	/* aborts */
	return read_any(fd, buf, n);
}

SHIM_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off,
				  size_t buflen)
{
	if (n > buflen)
		return real.__pread64_chk(fd, buf, n, off, buflen);
	return shim_pread(fd, buf, n, off);
}

SHIM_EXPORT __typeof(__pread64_chk) __pread_chk
	__attribute__((alias("__pread64_chk")));
