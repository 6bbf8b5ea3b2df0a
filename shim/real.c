/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <fcntl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/real.h"
#include "shim/shim.h"

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
/* Before resolution there is no PATH search: a bare name is not found. */
static int raw_execve(const char *p, char *const *a, char *const *e)
{ return syscall(SYS_execve, p, a, e); }
static int raw_execv(const char *p, char *const *a)
{ return raw_execve(p, a, environ); }
static int raw_execvpe(const char *p, char *const *a, char *const *e)
{
	if (!strchr(p, '/')) {
		return (int)sys_ret(-ENOENT, 0);
	}
	return raw_execve(p, a, e);
}
static int raw_execvp(const char *p, char *const *a)
{ return raw_execvpe(p, a, environ); }
static int raw_fexecve(int fd, char *const *a, char *const *e)
{ return syscall(SYS_execveat, fd, "", a, e, AT_EMPTY_PATH); }

static int raw_fsync(int fd)
{ return syscall(SYS_fsync, fd); }
static int raw_fdatasync(int fd)
{ return syscall(SYS_fdatasync, fd); }
static off_t raw_lseek64(int fd, off_t o, int w)
{ return syscall(SYS_lseek, fd, o, w); }
static int raw_ftruncate64(int fd, off_t len)
{ return syscall(SYS_ftruncate, fd, len); }
static int raw_stat(const char *p, struct stat *st)
{ return syscall(SYS_newfstatat, AT_FDCWD, p, st, 0); }
static int raw_fstat(int fd, struct stat *st)
{ return syscall(SYS_fstat, fd, st); }
static int raw_lstat(const char *p, struct stat *st)
{ return syscall(SYS_newfstatat, AT_FDCWD, p, st, AT_SYMLINK_NOFOLLOW); }
static int raw_fstatat(int d, const char *p, struct stat *st, int f)
{ return syscall(SYS_newfstatat, d, p, st, f); }
static int raw_statx(int d, const char *p, int f, unsigned int m,
		     struct statx *stx)
{ return syscall(SYS_statx, d, p, f, m, stx); }
static int raw___xstat(int v, const char *p, struct stat *st)
{ return raw_stat(p, st); }
static int raw___fxstat(int v, int fd, struct stat *st)
{ return raw_fstat(fd, st); }
static int raw___lxstat(int v, const char *p, struct stat *st)
{ return raw_lstat(p, st); }
static int raw___fxstatat(int v, int d, const char *p, struct stat *st, int f)
{ return raw_fstatat(d, p, st, f); }
static int raw_truncate(const char *p, off_t len)
{ return syscall(SYS_truncate, p, len); }
static int raw_fallocate(int fd, int mode, off_t off, off_t len)
{ return syscall(SYS_fallocate, fd, mode, off, len); }
/* These two return the error number, as posix_ functions do. */
static int raw_posix_fallocate(int fd, off_t off, off_t len)
{ return syscall(SYS_fallocate, fd, 0, off, len) < 0 ? errno : 0; }
static int raw_posix_fadvise(int fd, off_t off, off_t len, int adv)
{ return syscall(SYS_fadvise64, fd, off, len, adv) < 0 ? errno : 0; }
static ssize_t raw_readahead(int fd, off64_t off, size_t n)
{ return syscall(SYS_readahead, fd, off, n); }
static ssize_t raw_sendfile(int out, int in, off_t *off, size_t n)
{ return syscall(SYS_sendfile, out, in, off, n); }
static ssize_t raw_copy_file_range(int in, loff_t *ioff, int out, loff_t *ooff,
				   size_t n, unsigned int f)
{ return syscall(SYS_copy_file_range, in, ioff, out, ooff, n, f); }
static ssize_t raw_splice(int in, loff_t *ioff, int out, loff_t *ooff,
			  size_t n, unsigned int f)
{ return syscall(SYS_splice, in, ioff, out, ooff, n, f); }
static int raw_utimensat(int d, const char *p, const struct timespec *ts, int f)
{ return syscall(SYS_utimensat, d, p, ts, f); }
static int raw_futimens(int fd, const struct timespec *ts)
{ return raw_utimensat(fd, NULL, ts, 0); }
static int raw_utimes(const char *p, const struct timeval *tv)
{ return syscall(SYS_utimes, p, tv); }
static int raw_lutimes_at(int d, const char *p, const struct timeval *tv, int f)
{
	struct timespec ts[2];

	if (!tv)
		return raw_utimensat(d, p, NULL, f);
	ts[0].tv_sec = tv[0].tv_sec;
	ts[0].tv_nsec = tv[0].tv_usec * 1000;
	ts[1].tv_sec = tv[1].tv_sec;
	ts[1].tv_nsec = tv[1].tv_usec * 1000;
	return raw_utimensat(d, p, ts, f);
}
static int raw_futimes(int fd, const struct timeval *tv)
{ return raw_lutimes_at(fd, NULL, tv, 0); }
static int raw_lutimes(const char *p, const struct timeval *tv)
{ return raw_lutimes_at(AT_FDCWD, p, tv, AT_SYMLINK_NOFOLLOW); }
static int raw_utime(const char *p, const struct utimbuf *u)
{ return syscall(SYS_utime, p, u); }
static int raw_flock(int fd, int op)
{ return syscall(SYS_flock, fd, op); }
/* libc builds lockf on fcntl; before resolution the shim offers none. */
static int raw_lockf(int fd, int cmd, off_t len)
{
	return (int)sys_ret(-ENOSYS, 0);
}
static void *raw_shmat(int id, const void *a, int f)
{
	/* NOLINTNEXTLINE(performance-no-int-to-ptr) */
	return (void *)syscall(SYS_shmat, id, a, f);
}
static int raw_memfd_create(const char *name, unsigned int f)
{ return syscall(SYS_memfd_create, name, f); }
static int raw_shutdown(int fd, int how)
{ return syscall(SYS_shutdown, fd, how); }
static int raw_ppoll(struct pollfd *p, nfds_t n, const struct timespec *t,
		     const sigset_t *m)
{ return syscall(SYS_ppoll, p, n, t, m, _NSIG / 8); }
static int raw_poll(struct pollfd *p, nfds_t n, int ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	return raw_ppoll(p, n, ms < 0 ? NULL : &t, NULL);
}
static int raw_select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t)
{ return syscall(SYS_select, n, r, w, e, t); }
static int raw_pselect(int n, fd_set *r, fd_set *w, fd_set *e,
		       const struct timespec *t, const sigset_t *m)
{
	struct { const sigset_t *ss; size_t len; } data = { m, _NSIG / 8 };
	struct timespec ts, *tp = NULL;

	if (t) {
		ts = *t;	/* the kernel writes the time left */
		tp = &ts;
	}
	return syscall(SYS_pselect6, n, r, w, e, tp, m ? &data : NULL);
}
static int raw_epoll_pwait(int fd, struct epoll_event *ev, int n, int ms,
			   const sigset_t *m)
{ return syscall(SYS_epoll_pwait, fd, ev, n, ms, m, _NSIG / 8); }
static int raw_epoll_wait(int fd, struct epoll_event *ev, int n, int ms)
{ return raw_epoll_pwait(fd, ev, n, ms, NULL); }
static int raw_nanosleep(const struct timespec *t, struct timespec *rem)
{ return syscall(SYS_nanosleep, t, rem); }
static int raw_clock_nanosleep(clockid_t c, int f, const struct timespec *t,
			       struct timespec *rem)
{ return syscall(SYS_clock_nanosleep, c, f, t, rem) < 0 ? errno : 0; }
static unsigned int raw_sleep(unsigned int s)
{
	struct timespec t = { s, 0 };

	return raw_nanosleep(&t, &t) < 0 ? (unsigned int)t.tv_sec : 0;
}
static int raw_usleep(useconds_t us)
{
	struct timespec t = { us / 1000000, (long)(us % 1000000) * 1000 };

	return raw_nanosleep(&t, NULL);
}
static int raw_pause(void)
{ return syscall(SYS_pause); }
static pid_t raw_wait4(pid_t p, int *st, int o, struct rusage *ru)
{ return syscall(SYS_wait4, p, st, o, ru); }
static pid_t raw_waitpid(pid_t p, int *st, int o)
{ return raw_wait4(p, st, o, NULL); }
static pid_t raw_wait(int *st)
{ return raw_wait4(-1, st, 0, NULL); }
static int raw_waitid(idtype_t t, id_t id, siginfo_t *si, int o)
{ return syscall(SYS_waitid, t, id, si, o, NULL); }

/*
 * Installing a handler needs libc's restorer: before resolution only
 * queries and SIG_DFL/SIG_IGN, which need none, are served.
 */
static int raw_sigaction(int sig, const struct sigaction *act,
			 struct sigaction *old)
{
	struct { void *h; unsigned long flags; void *restorer; uint64_t mask; }
		k = { 0 }, ko = { 0 };
	long r;

	if (act) {
		if (act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN) {
			return (int)sys_ret(-ENOSYS, 0);
		}
		k.h = (void *)act->sa_handler;
		k.flags = (unsigned long)act->sa_flags;
		memcpy(&k.mask, &act->sa_mask, sizeof(k.mask));
	}
	r = syscall(SYS_rt_sigaction, sig, act ? &k : NULL, old ? &ko : NULL,
		    sizeof(k.mask));
	if (r == 0 && old) {
		memset(old, 0, sizeof(*old));
		old->sa_handler = (sighandler_t)ko.h;
		old->sa_flags = (int)ko.flags;
		memcpy(&old->sa_mask, &ko.mask, sizeof(ko.mask));
	}
	return (int)r;
}
static sighandler_t raw_signal(int sig, sighandler_t h)
{
	struct sigaction a = { .sa_handler = h }, old = { 0 };

	a.sa_flags = SA_RESTART;
	return raw_sigaction(sig, &a, &old) ? SIG_ERR : old.sa_handler;
}
static int raw_siginterrupt(int sig, int on)
{
	struct sigaction a = { 0 };

	if (raw_sigaction(sig, NULL, &a) < 0)
		return -1;
	a.sa_flags = on ? a.sa_flags & ~SA_RESTART : a.sa_flags | SA_RESTART;
	return raw_sigaction(sig, &a, NULL);
}

/*
 * No syscall does what these do: before the table is resolved (a call
 * from inside the shim's own start-up, which never makes one) they fail.
 */
static int raw_posix_spawn(pid_t *pid, const char *path,
			   const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *at, char *const *argv,
			   char *const *envp)
{ return ENOSYS; }
static int raw_posix_spawnp(pid_t *pid, const char *file,
			    const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *at, char *const *argv,
			    char *const *envp)
{ return ENOSYS; }
static int raw_system(const char *cmd)
{
	return (int)sys_ret(-ENOSYS, 0);
}
static FILE *raw_popen(const char *cmd, const char *mode)
{
	errno = ENOSYS;
	return NULL;
}

/* The kernel returns the address as a long: the casts are the ABI. */
static void *raw_mmap(void *a, size_t n, int prot, int flags, int fd, off_t o)
{
	/* NOLINTNEXTLINE(performance-no-int-to-ptr) */
	return (void *)syscall(SYS_mmap, a, n, prot, flags, fd, o);
}
static int raw_munmap(void *a, size_t n)
{ return (int)syscall(SYS_munmap, a, n); }
static void *raw_mremap(void *a, size_t n, size_t m, int flags, ...)
{
	va_list ap;
	void *to = NULL;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		to = va_arg(ap, void *);
		va_end(ap);
	}
	/* NOLINTNEXTLINE(performance-no-int-to-ptr) */
	return (void *)syscall(SYS_mremap, a, n, m, flags, to);
}
static int raw_mprotect(void *a, size_t n, int prot)
{ return (int)syscall(SYS_mprotect, a, n, prot); }
static int raw_pkey_mprotect(void *a, size_t n, int prot, int key)
{ return (int)syscall(SYS_pkey_mprotect, a, n, prot, key); }
static int raw_shmdt(const void *a)
{ return (int)syscall(SYS_shmdt, a); }
static int raw_prctl(int o, ...)
{
	unsigned long a[4];
	va_list ap;
	int i;

	va_start(ap, o);
	for (i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	return (int)syscall(SYS_prctl, o, a[0], a[1], a[2], a[3]);
}

/* No syscall makes a thread libc can run: before resolution, none. */
static int raw_pthread_create(pthread_t *t, const pthread_attr_t *a,
			      void *(*fn)(void *), void *arg)
{ return EAGAIN; }

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

struct shim_real_stdio real_stdio;

void *shim_real_lazy(void **slot, const char *name)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (__builtin_expect(!p, 0)) {
		p = dlsym(RTLD_NEXT, name);
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	}
	return p;
}

#define SHIM_REAL_STDIO_RESOLVE(ret, name, args)			\
	shim_real_lazy((void **)&real_stdio.name, #name);

void shim_real_resolve(void)
{
	SHIM_REAL_FUNCS(SHIM_REAL_RESOLVE)
	SHIM_REAL_STDIO(SHIM_REAL_STDIO_RESOLVE)
}

/*
 * The application has one thread, and the shim's batch flusher is the
 * only other: glibc then takes its multi-threaded path in every call that
 * is a cancellation point (two atomic operations, 40 ns on a pipe's
 * write and read of 64 bytes), which the program alone would not. So,
 * until the application makes a thread of its own, read() and write()
 * from the entry points go straight to the system call, as glibc's own
 * single-threaded path does, after acting on a cancellation the thread
 * may have asked of itself (glibc's path would notice that one too).
 */
static ssize_t solo_read(int fd, void *b, size_t n)
{
	pthread_testcancel();
	return syscall(SYS_read, fd, b, n);
}

static ssize_t solo_write(int fd, const void *b, size_t n)
{
	pthread_testcancel();
	return syscall(SYS_write, fd, b, n);
}

void shim_real_solo(bool on)
{
	__atomic_store_n(&shim_hot.read, on ? solo_read : real.read,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&shim_hot.write, on ? solo_write : real.write,
			 __ATOMIC_RELAXED);
}
