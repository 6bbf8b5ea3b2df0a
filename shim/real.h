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

#include <aio.h>
#include <mqueue.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <threads.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <utime.h>
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
	X(pid_t, _Fork, (void))						\
	X(int, execve, (const char *, char *const *, char *const *))	\
	X(int, execv, (const char *, char *const *))			\
	X(int, execvp, (const char *, char *const *))			\
	X(int, execvpe, (const char *, char *const *, char *const *))	\
	X(int, fexecve, (int, char *const *, char *const *))		\
	X(int, fsync, (int))						\
	X(int, fdatasync, (int))					\
	X(off_t, lseek64, (int, off_t, int))				\
	X(int, ftruncate64, (int, off_t))				\
	X(int, stat, (const char *, struct stat *))			\
	X(int, fstat, (int, struct stat *))				\
	X(int, lstat, (const char *, struct stat *))			\
	X(int, fstatat, (int, const char *, struct stat *, int))	\
	X(int, statx, (int, const char *, int, unsigned int,		\
		       struct statx *))					\
	X(int, __xstat, (int, const char *, struct stat *))		\
	X(int, __fxstat, (int, int, struct stat *))			\
	X(int, __lxstat, (int, const char *, struct stat *))		\
	X(int, __fxstatat, (int, int, const char *, struct stat *, int)) \
	X(int, truncate, (const char *, off_t))				\
	X(int, fallocate, (int, int, off_t, off_t))			\
	X(int, posix_fallocate, (int, off_t, off_t))			\
	X(int, posix_fadvise, (int, off_t, off_t, int))			\
	X(ssize_t, readahead, (int, off64_t, size_t))			\
	X(ssize_t, sendfile, (int, int, off_t *, size_t))		\
	X(ssize_t, copy_file_range, (int, loff_t *, int, loff_t *,	\
				     size_t, unsigned int))		\
	X(ssize_t, splice, (int, loff_t *, int, loff_t *, size_t,	\
			    unsigned int))				\
	X(int, utimensat, (int, const char *, const struct timespec *, int)) \
	X(int, futimens, (int, const struct timespec *))		\
	X(int, utimes, (const char *, const struct timeval *))		\
	X(int, futimes, (int, const struct timeval *))			\
	X(int, lutimes, (const char *, const struct timeval *))		\
	X(int, utime, (const char *, const struct utimbuf *))		\
	X(int, flock, (int, int))					\
	X(int, lockf, (int, int, off_t))				\
	X(void *, shmat, (int, const void *, int))			\
	X(int, memfd_create, (const char *, unsigned int))		\
	X(int, shutdown, (int, int))					\
	X(int, poll, (struct pollfd *, nfds_t, int))			\
	X(int, ppoll, (struct pollfd *, nfds_t, const struct timespec *, \
		       const sigset_t *))				\
	X(int, select, (int, fd_set *, fd_set *, fd_set *, struct timeval *)) \
	X(int, pselect, (int, fd_set *, fd_set *, fd_set *,		\
			 const struct timespec *, const sigset_t *))	\
	X(int, epoll_wait, (int, struct epoll_event *, int, int))	\
	X(int, epoll_pwait, (int, struct epoll_event *, int, int,	\
			     const sigset_t *))				\
	X(int, nanosleep, (const struct timespec *, struct timespec *))	\
	X(int, clock_nanosleep, (clockid_t, int, const struct timespec *, \
				 struct timespec *))			\
	X(unsigned int, sleep, (unsigned int))				\
	X(int, usleep, (useconds_t))					\
	X(int, pause, (void))						\
	X(pid_t, wait, (int *))						\
	X(pid_t, waitpid, (pid_t, int *, int))				\
	X(pid_t, wait4, (pid_t, int *, int, struct rusage *))		\
	X(int, waitid, (idtype_t, id_t, siginfo_t *, int))		\
	X(int, sigaction, (int, const struct sigaction *, struct sigaction *)) \
	X(sighandler_t, signal, (int, sighandler_t))			\
	X(int, siginterrupt, (int, int))				\
	X(int, posix_spawn, (pid_t *, const char *,			\
			     const posix_spawn_file_actions_t *,	\
			     const posix_spawnattr_t *, char *const *,	\
			     char *const *))				\
	X(int, posix_spawnp, (pid_t *, const char *,			\
			      const posix_spawn_file_actions_t *,	\
			      const posix_spawnattr_t *, char *const *,	\
			      char *const *))				\
	X(int, system, (const char *))					\
	X(FILE *, popen, (const char *, const char *))			\
	X(void *, mmap, (void *, size_t, int, int, int, off_t))	\
	X(int, munmap, (void *, size_t))				\
	X(void *, mremap, (void *, size_t, size_t, int, ...))		\
	X(int, mprotect, (void *, size_t, int))				\
	X(int, pkey_mprotect, (void *, size_t, int, int))		\
	X(int, shmdt, (const void *))					\
	X(int, prctl, (int, ...))					\
	X(int, pthread_create, (pthread_t *, const pthread_attr_t *,	\
				void *(*)(void *), void *))

#define SHIM_REAL_MEMBER(ret, name, args) ret (*name) args;
struct shim_real {
	SHIM_REAL_FUNCS(SHIM_REAL_MEMBER)
};
#undef SHIM_REAL_MEMBER

extern struct shim_real real;

/*
 * stdio, and libc's calls that close fds or make threads where the shim
 * cannot see: no raw stand-in can do their work, so these are resolved at
 * start-up or, called before it, at their first call (REAL_STDIO).
 */
#define SHIM_REAL_STDIO(X)						\
	X(int, fflush, (FILE *))					\
	X(FILE *, freopen, (const char *, const char *, FILE *))	\
	X(FILE *, freopen64, (const char *, const char *, FILE *))	\
	X(int, fcloseall, (void))					\
	X(int, daemon, (int, int))					\
	X(int, login_tty, (int))					\
	X(int, thrd_create, (thrd_t *, thrd_start_t, void *))		\
	X(int, timer_create, (clockid_t, struct sigevent *, timer_t *))	\
	X(int, mq_notify, (mqd_t, const struct sigevent *))		\
	X(int, aio_read, (struct aiocb *))				\
	X(int, aio_write, (struct aiocb *))				\
	X(int, aio_fsync, (int, struct aiocb *))			\
	X(int, lio_listio, (int, struct aiocb *const[], int,		\
			    struct sigevent *))				\
	X(int, aio_read64, (struct aiocb64 *))				\
	X(int, aio_write64, (struct aiocb64 *))				\
	X(int, aio_fsync64, (int, struct aiocb64 *))			\
	X(int, lio_listio64, (int, struct aiocb64 *const[], int,	\
			      struct sigevent *))			\
	X(int, getaddrinfo_a, (int, struct gaicb *[], int,		\
			       struct sigevent *))			\
	X(int, fflush_unlocked, (FILE *))				\
	X(int, fclose, (FILE *))					\
	X(int, pclose, (FILE *))					\
	X(size_t, fwrite, (const void *, size_t, size_t, FILE *))	\
	X(size_t, fwrite_unlocked, (const void *, size_t, size_t, FILE *)) \
	X(int, fputs, (const char *, FILE *))				\
	X(int, fputs_unlocked, (const char *, FILE *))			\
	X(int, puts, (const char *))					\
	X(int, fputc, (int, FILE *))					\
	X(int, fputc_unlocked, (int, FILE *))				\
	X(int, putc, (int, FILE *))					\
	X(int, putc_unlocked, (int, FILE *))				\
	X(int, _IO_putc, (int, FILE *))					\
	X(int, putchar, (int))						\
	X(int, putchar_unlocked, (int))					\
	X(int, __overflow, (FILE *, int))				\
	X(int, vfprintf, (FILE *, const char *, va_list))		\
	X(int, vdprintf, (int, const char *, va_list))			\
	X(int, __vfprintf_chk, (FILE *, int, const char *, va_list))	\
	X(int, __vdprintf_chk, (int, int, const char *, va_list))

#define SHIM_REAL_MEMBER(ret, name, args) ret (*name) args;
struct shim_real_stdio {
	SHIM_REAL_STDIO(SHIM_REAL_MEMBER)
};
#undef SHIM_REAL_MEMBER

extern struct shim_real_stdio real_stdio;

void *shim_real_lazy(void **slot, const char *name);
#define REAL_STDIO(name)						\
	((__typeof(real_stdio.name))shim_real_lazy((void **)&real_stdio.name, \
						   #name))

void shim_real_resolve(void);
/* The application has one thread (true) or more: shim_hot's read/write. */
void shim_real_solo(bool on);

#endif
