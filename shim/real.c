/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/real.h"

static ssize_t raw_read(int fd, void *b, size_t n)
{ return syscall(SYS_read, fd, b, n); }
static ssize_t raw_write(int fd, const void *b, size_t n)
{ return syscall(SYS_write, fd, b, n); }
static ssize_t raw_pread64(int fd, void *b, size_t n, off_t o)
{ return syscall(SYS_pread64, fd, b, n, o); }
static ssize_t raw_pwrite64(int fd, const void *b, size_t n, off_t o)
{ return syscall(SYS_pwrite64, fd, b, n, o); }
static ssize_t raw_readv(int fd, const struct iovec *v, int c)
{ return syscall(SYS_readv, fd, v, c); }
static ssize_t raw_writev(int fd, const struct iovec *v, int c)
{ return syscall(SYS_writev, fd, v, c); }
static ssize_t raw_preadv64(int fd, const struct iovec *v, int c, off_t o)
{ return syscall(SYS_preadv, fd, v, c, o, 0); }
static ssize_t raw_pwritev64(int fd, const struct iovec *v, int c, off_t o)
{ return syscall(SYS_pwritev, fd, v, c, o, 0); }
static ssize_t raw_preadv2(int fd, const struct iovec *v, int c, off_t o, int f)
{ return syscall(SYS_preadv2, fd, v, c, o, 0, f); }
static ssize_t raw_pwritev2(int fd, const struct iovec *v, int c, off_t o, int f)
{ return syscall(SYS_pwritev2, fd, v, c, o, 0, f); }
static int raw_accept(int fd, struct sockaddr *a, socklen_t *l)
{ return syscall(SYS_accept, fd, a, l); }
static int raw_accept4(int fd, struct sockaddr *a, socklen_t *l, int f)
{ return syscall(SYS_accept4, fd, a, l, f); }
static int raw_connect(int fd, const struct sockaddr *a, socklen_t l)
{ return syscall(SYS_connect, fd, a, l); }
static ssize_t raw_sendto(int fd, const void *b, size_t n, int f,
			  const struct sockaddr *a, socklen_t l)
{ return syscall(SYS_sendto, fd, b, n, f, a, l); }
static ssize_t raw_send(int fd, const void *b, size_t n, int f)
{ return raw_sendto(fd, b, n, f, NULL, 0); }
static ssize_t raw_recvfrom(int fd, void *b, size_t n, int f,
			    struct sockaddr *a, socklen_t *l)
{ return syscall(SYS_recvfrom, fd, b, n, f, a, l); }
static ssize_t raw_recv(int fd, void *b, size_t n, int f)
{ return raw_recvfrom(fd, b, n, f, NULL, NULL); }
static ssize_t raw_sendmsg(int fd, const struct msghdr *m, int f)
{ return syscall(SYS_sendmsg, fd, m, f); }
static ssize_t raw_recvmsg(int fd, struct msghdr *m, int f)
{ return syscall(SYS_recvmsg, fd, m, f); }
static ssize_t raw___read_chk(int fd, void *b, size_t n, size_t bl)
{ return raw_read(fd, b, n); }
static ssize_t raw___pread64_chk(int fd, void *b, size_t n, off_t o, size_t bl)
{ return raw_pread64(fd, b, n, o); }
static ssize_t raw___recv_chk(int fd, void *b, size_t n, size_t bl, int f)
{ return raw_recv(fd, b, n, f); }
static ssize_t raw___recvfrom_chk(int fd, void *b, size_t n, size_t bl, int f,
				  struct sockaddr *a, socklen_t *l)
{ return raw_recvfrom(fd, b, n, f, a, l); }
static int raw_close(int fd)
{ return syscall(SYS_close, fd); }
static int raw_dup(int fd)
{ return syscall(SYS_dup, fd); }
static int raw_dup2(int fd, int nfd)
{ return syscall(SYS_dup2, fd, nfd); }
static int raw_dup3(int fd, int nfd, int f)
{ return syscall(SYS_dup3, fd, nfd, f); }
static int raw_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	unsigned long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	return syscall(SYS_fcntl, fd, cmd, arg);
}
static int raw_close_range(unsigned int lo, unsigned int hi, int f)
{ return syscall(SYS_close_range, lo, hi, f); }
static void raw_closefrom(int lo)
{ syscall(SYS_close_range, lo, ~0U, 0); }
static int raw_socket(int d, int t, int p)
{ return syscall(SYS_socket, d, t, p); }
static int raw_socketpair(int d, int t, int p, int *sv)
{ return syscall(SYS_socketpair, d, t, p, sv); }
static int raw_pipe2(int *fds, int f)
{ return syscall(SYS_pipe2, fds, f); }
static int raw_pipe(int *fds)
{ return raw_pipe2(fds, 0); }
static int raw_openat(int dfd, const char *p, int f, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, f);
	mode = va_arg(ap, mode_t);
	va_end(ap);
	return syscall(SYS_openat, dfd, p, f, mode);
}
static int raw_open(const char *p, int f, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, f);
	mode = va_arg(ap, mode_t);
	va_end(ap);
	return syscall(SYS_openat, AT_FDCWD, p, f, mode);
}
static pid_t raw__Fork(void)
{ return syscall(SYS_fork); }

#define SHIM_REAL_INIT(ret, name, args) .name = raw_##name,
struct shim_real real = {
	SHIM_REAL_FUNCS(SHIM_REAL_INIT)
};

/*
 * Resolve into a local copy first: a call racing with resolution keeps a
 * working pointer either way, since each slot is one aligned word.
 */
#define SHIM_REAL_RESOLVE(ret, name, args)				\
	do {								\
		void *p = dlsym(RTLD_NEXT, #name);			\
		if (p)							\
			__atomic_store_n((void **)&real.name, p,	\
					 __ATOMIC_RELEASE);		\
	} while (0);

void shim_real_resolve(void)
{
	SHIM_REAL_FUNCS(SHIM_REAL_RESOLVE)
}
