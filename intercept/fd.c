/* SPDX-License-Identifier: MIT */
/*
 * The fd lifecycle: keep the fd table fresh, and keep the application's
 * hands off a ring fd that could not be registered and closed (before
 * 5.18), without changing what any of these calls returns.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

#include "route/route.h"

SHIM_EXPORT int close(int fd)
{
	int err = 0, ret;

	/* Without the shim this number is not open. */
	if (unlikely(ring_owns_fd(fd)))
		return (int)sys_ret(-EBADF, 0);
	if (unlikely(batch_enabled) && !shim_in_vfork)
		err = batch_fd_closing(fd);
	if (likely(!shim_in_vfork))
		route_fd_forget(fd);
	ret = real.close(fd);
	/* A staged write that failed: close reports it, as after write-back. */
	if (unlikely(err) && ret == 0)
		return (int)sys_ret(-err, 0);
	return ret;
}

SHIM_EXPORT int dup(int fd)
{
	int ret = real.dup(fd);

	if (ret >= 0 && !shim_in_vfork)
		route_fd_forget(ret);
	return ret;
}

static void replaced(int newfd)
{
	if (unlikely(ring_owns_fd(newfd)))
		ring_fd_taken(newfd);
	if (!shim_in_vfork)
		route_fd_forget(newfd);
}

/*
 * dup2/dup3 onto newfd: false when oldfd is a ring's (not open, without
 * the shim); else what is staged on newfd goes out before it is replaced.
 */
static bool replacing(int oldfd, int newfd)
{
	if (unlikely(ring_owns_fd(oldfd)))
		return false;
	if (oldfd != newfd && !shim_in_vfork) {
		if (unlikely(batch_enabled))
			batch_fd_changed(newfd);
		route_fd_closing(newfd);
	}
	return true;
}

SHIM_EXPORT int dup2(int oldfd, int newfd)
{
	int ret;

	if (!replacing(oldfd, newfd))
		return (int)sys_ret(-EBADF, 0);
	ret = real.dup2(oldfd, newfd);
	if (ret >= 0 && oldfd != newfd)
		replaced(newfd);
	return ret;
}

SHIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	int ret;

	if (!replacing(oldfd, newfd))
		return (int)sys_ret(-EBADF, 0);
	ret = real.dup3(oldfd, newfd, flags);
	if (ret >= 0)
		replaced(newfd);
	return ret;
}

static bool is_lock_cmd(int cmd)
{
	return cmd == F_SETLK || cmd == F_SETLKW || cmd == F_GETLK ||
	       cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW || cmd == F_OFD_GETLK;
}

SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
	unsigned long arg;
	va_list ap;
	int ret;

	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (unlikely(ring_owns_fd(fd)))
		return (int)sys_ret(-EBADF, 0);
	/* O_NONBLOCK or O_APPEND may change under staged data. */
	if (unlikely(batch_enabled) && cmd == F_SETFL && !shim_in_vfork)
		batch_fd_changed(fd);
	/* Record locks: other processes read the file under them. */
	if (is_lock_cmd(cmd) && !shim_in_vfork)
		batch_files_shared();
	ret = real.fcntl(fd, cmd, arg);
	if (ret >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) &&
	    !shim_in_vfork)
		route_fd_forget(ret);
	return ret;
}

SHIM_EXPORT __typeof(fcntl) fcntl64 __attribute__((alias("fcntl")));

/* close_range(lo, hi) as the application meant it: every fd but ours. */
static int close_range_around(unsigned int lo, unsigned int hi, int flags)
{
	unsigned int fd, start = lo;
	int ret = 0;

	for (fd = lo; fd <= hi && fd < FD_MAX; fd++) {
		if (!ring_owns_fd((int)fd))
			continue;
		if (fd > start)
			ret |= real.close_range(start, fd - 1, flags);
		start = fd + 1;
	}
	if (start <= hi && (start > lo || fd <= hi || start < FD_MAX))
		ret |= real.close_range(start, hi, flags);
	return ret ? -1 : 0;
}

static bool owns_any(unsigned int lo, unsigned int hi)
{
	unsigned int fd;

	if (ring_caps.reg_ring_fd)
		return false;	/* no ring fd is open anywhere */
	for (fd = lo; fd <= hi && fd < FD_MAX; fd++)
		if (ring_owns_fd((int)fd))
			return true;
	return false;
}

SHIM_EXPORT int close_range(unsigned int lo, unsigned int hi, int flags)
{
	int ret;

	if (!(flags & CLOSE_RANGE_CLOEXEC) && !shim_in_vfork) {
		batch_flush_all(true);
		/* A slot must let the file go before the fd does. */
		if (lo <= hi && route_fixed_any())
			route_fixed_forget(lo, hi);
	}
	if (lo <= hi && !(flags & CLOSE_RANGE_CLOEXEC) && owns_any(lo, hi))
		ret = close_range_around(lo, hi, flags);
	else
		ret = real.close_range(lo, hi, flags);
	if (ret == 0 && !(flags & CLOSE_RANGE_CLOEXEC) && !shim_in_vfork)
		route_fd_forget_range(lo, hi);
	return ret;
}

SHIM_EXPORT void closefrom(int lo)
{
	if (lo < 0)
		lo = 0;
	if (!shim_in_vfork) {
		batch_flush_all(true);
		if (route_fixed_any())
			route_fixed_forget((unsigned int)lo, ~0U);
	}
	if (owns_any((unsigned int)lo, ~0U))
		close_range_around((unsigned int)lo, ~0U, 0);
	else
		real.closefrom(lo);
	if (!shim_in_vfork)
		route_fd_forget_range((unsigned int)lo, ~0U);
}

SHIM_EXPORT int pipe2(int fds[2], int flags)
{
	int ret = real.pipe2(fds, flags);

	if (ret == 0) {
		route_fd_new(fds[0], FD_PIPE);
		route_fd_new(fds[1], FD_PIPE);
	}
	return ret;
}

SHIM_EXPORT int pipe(int fds[2])
{
	int ret = real.pipe(fds);

	if (ret == 0) {
		route_fd_new(fds[0], FD_PIPE);
		route_fd_new(fds[1], FD_PIPE);
	}
	return ret;
}

/* O_CREAT and O_TMPFILE take a mode; reading it always is harmless. */
#define OPEN_MODE(last) ({			\
	va_list ap_;				\
	mode_t mode_;				\
						\
	va_start(ap_, last);			\
	mode_ = va_arg(ap_, mode_t);		\
	va_end(ap_);				\
	mode_;					\
})

/* A new file behind the number: nothing the shim knew of it holds. */
static int opened(int fd)
{
	if (fd >= 0 && !shim_in_vfork)
		route_fd_forget(fd);
	return fd;
}

SHIM_EXPORT int open(const char *path, int flags, ...)
{
	return opened(real.open(path, flags, OPEN_MODE(flags)));
}

SHIM_EXPORT int openat(int dfd, const char *path, int flags, ...)
{
	return opened(real.openat(dfd, path, flags, OPEN_MODE(flags)));
}

SHIM_EXPORT __typeof(open) open64 __attribute__((alias("open")));
SHIM_EXPORT __typeof(openat) openat64 __attribute__((alias("openat")));

/*
 * daemon() and login_tty() put another file on fds 0-2 (and login_tty
 * closes its fd) where the shim cannot see: no slot may hold the files
 * they let go, and what the shim knew of those numbers is forgotten.
 */
SHIM_EXPORT int daemon(int nochdir, int noclose)
{
	int ret;

	if (!shim_in_vfork)
		route_fixed_release();
	ret = REAL_STDIO(daemon)(nochdir, noclose);
	if (ret == 0 && !noclose && !shim_in_vfork)
		route_fd_forget_range(0, 2);
	return ret;
}

SHIM_EXPORT int login_tty(int fd)
{
	int ret;

	if (!shim_in_vfork)
		route_fixed_release();
	ret = REAL_STDIO(login_tty)(fd);
	if (ret == 0 && !shim_in_vfork) {
		route_fd_forget_range(0, 2);
		route_fd_forget(fd);
	}
	return ret;
}
