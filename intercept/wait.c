/* SPDX-License-Identifier: MIT */
/*
 * Barriers of the batch profile (batch/batch.h): calls that wait, or that
 * depend on what was written before them. Each sends the thread's staged
 * writes out first and is then exactly libc's. In the other profiles the
 * check is one load of a flag.
 */
#include <unistd.h>

#include "route/route.h"

/* The file's data must be there; a write error found on the way is ours. */
static int sync_barrier(int fd)
{
	batch_before_write(fd);
	return unlikely(batch_enabled) ? batch_take_error(fd, true) : 0;
}

SHIM_EXPORT int fsync(int fd)
{
	int err = sync_barrier(fd);

	if (err)
		return (int)sys_ret(-err, 0);
	return real.fsync(fd);
}

SHIM_EXPORT int fdatasync(int fd)
{
	int err = sync_barrier(fd);

	if (err)
		return (int)sys_ret(-err, 0);
	return real.fdatasync(fd);
}

/*
 * The file position and size must count the staged writes: the fd's own,
 * and for the size, those made through any other fd on a file.
 */
SHIM_EXPORT off_t lseek64(int fd, off_t off, int whence)
{
	batch_before_write(fd);
	if (whence == SEEK_END || whence == SEEK_DATA || whence == SEEK_HOLE)
		batch_before_file();
	return real.lseek64(fd, off, whence);
}

SHIM_EXPORT int ftruncate64(int fd, off_t len)
{
	batch_before_write(fd);
	batch_before_file();
	return real.ftruncate64(fd, len);
}

SHIM_EXPORT int shutdown(int fd, int how)
{
	batch_before_write(fd);
	return real.shutdown(fd, how);
}

/*
 * A wait: what is staged goes out first. A process that waits may wait
 * long, and is one that lives: it settles (shim_settle()), so that
 * shim-stat sees it.
 */
static inline void before_wait(void)
{
	shim_settle_soon();
	batch_before_read(-1);
}

SHIM_EXPORT int poll(struct pollfd *fds, nfds_t n, int ms)
{
	before_wait();
	return real.poll(fds, n, ms);
}

SHIM_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t,
		      const sigset_t *mask)
{
	before_wait();
	return real.ppoll(fds, n, t, mask);
}

SHIM_EXPORT int select(int n, fd_set *r, fd_set *w, fd_set *e,
		       struct timeval *t)
{
	before_wait();
	return real.select(n, r, w, e, t);
}

SHIM_EXPORT int pselect(int n, fd_set *r, fd_set *w, fd_set *e,
			const struct timespec *t, const sigset_t *mask)
{
	before_wait();
	return real.pselect(n, r, w, e, t, mask);
}

SHIM_EXPORT int epoll_wait(int fd, struct epoll_event *ev, int n, int ms)
{
	before_wait();
	return real.epoll_wait(fd, ev, n, ms);
}

SHIM_EXPORT int epoll_pwait(int fd, struct epoll_event *ev, int n, int ms,
			    const sigset_t *mask)
{
	before_wait();
	return real.epoll_pwait(fd, ev, n, ms, mask);
}

SHIM_EXPORT int nanosleep(const struct timespec *t, struct timespec *rem)
{
	before_wait();
	return real.nanosleep(t, rem);
}

SHIM_EXPORT int clock_nanosleep(clockid_t c, int flags,
				const struct timespec *t, struct timespec *rem)
{
	before_wait();
	return real.clock_nanosleep(c, flags, t, rem);
}

SHIM_EXPORT unsigned int sleep(unsigned int s)
{
	before_wait();
	return real.sleep(s);
}

SHIM_EXPORT int usleep(useconds_t us)
{
	before_wait();
	return real.usleep(us);
}

SHIM_EXPORT int pause(void)
{
	before_wait();
	return real.pause();
}

SHIM_EXPORT pid_t wait(int *status)
{
	batch_before_read(-1);
	return real.wait(status);
}

SHIM_EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
	batch_before_read(-1);
	return real.waitpid(pid, status, options);
}

SHIM_EXPORT pid_t wait4(pid_t pid, int *status, int options,
			struct rusage *ru)
{
	batch_before_read(-1);
	return real.wait4(pid, status, options, ru);
}

SHIM_EXPORT int waitid(idtype_t type, id_t id, siginfo_t *info, int options)
{
	batch_before_read(-1);
	return real.waitid(type, id, info, options);
}

SHIM_EXPORT __typeof(lseek64) lseek __attribute__((alias("lseek64")));
SHIM_EXPORT __typeof(ftruncate64) ftruncate
	__attribute__((alias("ftruncate64")));
