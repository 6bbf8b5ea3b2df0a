/* SPDX-License-Identifier: MIT */
/*
 * The real libc functions behind every interposed symbol.
 *
 * The table starts out filled with raw-syscall stand-ins, so a call that
 * arrives before the constructor (another library's constructor, dlsym's own
 * allocations, ...) is served correctly instead of crashing on a NULL
 * pointer. shim_real_resolve() swaps in what dlsym(RTLD_NEXT) finds.
 */
#ifndef SHIM_REAL_H
#define SHIM_REAL_H

#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#define SHIM_REAL_FUNCS(X)						\
	X(ssize_t, read, (int, void *, size_t))				\
	X(ssize_t, write, (int, const void *, size_t))			\
	X(ssize_t, pread64, (int, void *, size_t, off_t))		\
	X(ssize_t, pwrite64, (int, const void *, size_t, off_t))	\
	X(ssize_t, readv, (int, const struct iovec *, int))		\
	X(ssize_t, writev, (int, const struct iovec *, int))		\
	X(ssize_t, preadv64, (int, const struct iovec *, int, off_t))	\
	X(ssize_t, pwritev64, (int, const struct iovec *, int, off_t))	\
	X(ssize_t, preadv2, (int, const struct iovec *, int, off_t, int)) \
	X(ssize_t, pwritev2, (int, const struct iovec *, int, off_t, int)) \
	X(int, accept, (int, struct sockaddr *, socklen_t *))		\
	X(int, accept4, (int, struct sockaddr *, socklen_t *, int))	\
	X(int, connect, (int, const struct sockaddr *, socklen_t))	\
	X(ssize_t, send, (int, const void *, size_t, int))		\
	X(ssize_t, recv, (int, void *, size_t, int))			\
	X(ssize_t, sendto, (int, const void *, size_t, int,		\
			    const struct sockaddr *, socklen_t))	\
	X(ssize_t, recvfrom, (int, void *, size_t, int,			\
			      struct sockaddr *, socklen_t *))		\
	X(ssize_t, sendmsg, (int, const struct msghdr *, int))		\
	X(ssize_t, recvmsg, (int, struct msghdr *, int))		\
	X(ssize_t, __read_chk, (int, void *, size_t, size_t))		\
	X(ssize_t, __pread64_chk, (int, void *, size_t, off_t, size_t)) \
	X(ssize_t, __recv_chk, (int, void *, size_t, size_t, int))	\
	X(ssize_t, __recvfrom_chk, (int, void *, size_t, size_t, int,	\
				    struct sockaddr *, socklen_t *))	\
	X(int, close, (int))						\
	X(int, dup, (int))						\
	X(int, dup2, (int, int))					\
	X(int, dup3, (int, int, int))					\
	X(int, fcntl, (int, int, ...))					\
	X(int, close_range, (unsigned int, unsigned int, int))		\
	X(void, closefrom, (int))					\
	X(int, socket, (int, int, int))					\
	X(int, socketpair, (int, int, int, int *))			\
	X(int, pipe, (int *))						\
	X(int, pipe2, (int *, int))					\
	X(int, open, (const char *, int, ...))				\
	X(int, openat, (int, const char *, int, ...))			\
	X(pid_t, _Fork, (void))

#define SHIM_REAL_MEMBER(ret, name, args) ret (*name) args;
struct shim_real {
	SHIM_REAL_FUNCS(SHIM_REAL_MEMBER)
};
#undef SHIM_REAL_MEMBER

extern struct shim_real real;

void shim_real_resolve(void);

#endif
