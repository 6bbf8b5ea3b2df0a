/* SPDX-License-Identifier: MIT */
/*
 * Batch profile barriers for the calls that see a regular file's size,
 * times or data other than by read (batch/batch.h batch_before_file):
 * what the process staged on regular files goes out first, then the call
 * is libc's. Elsewhere, and with nothing staged on a file, one load.
 *
 * The 64 names are separate functions, not aliases: their prototypes
 * name struct stat64, a type of its own to the compiler, the same layout
 * on every 64-bit ABI.
 */
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <utime.h>

#include "route/route.h"

/* glibc before 2.33 compiled stat() into calls of these. */
/* NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c) */
int __xstat(int ver, const char *path, struct stat *st);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __fxstat(int ver, int fd, struct stat *st);
int __fxstat64(int ver, int fd, struct stat64 *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstatat(int ver, int dfd, const char *path, struct stat *st, int flags);
int __fxstatat64(int ver, int dfd, const char *path, struct stat64 *st,
		 int flags);
/* NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c) */

SHIM_EXPORT int stat(const char *path, struct stat *st)
{
	batch_before_file();
	return real.stat(path, st);
}

SHIM_EXPORT int stat64(const char *path, struct stat64 *st)
{
	batch_before_file();
	return real.stat(path, (struct stat *)st);
}

SHIM_EXPORT int fstat(int fd, struct stat *st)
{
	batch_before_file();
	return real.fstat(fd, st);
}

SHIM_EXPORT int fstat64(int fd, struct stat64 *st)
{
	batch_before_file();
	return real.fstat(fd, (struct stat *)st);
}

SHIM_EXPORT int lstat(const char *path, struct stat *st)
{
	batch_before_file();
	return real.lstat(path, st);
}

SHIM_EXPORT int lstat64(const char *path, struct stat64 *st)
{
	batch_before_file();
	return real.lstat(path, (struct stat *)st);
}

SHIM_EXPORT int fstatat(int dfd, const char *path, struct stat *st, int flags)
{
	batch_before_file();
	return real.fstatat(dfd, path, st, flags);
}

SHIM_EXPORT int fstatat64(int dfd, const char *path, struct stat64 *st,
			  int flags)
{
	batch_before_file();
	return real.fstatat(dfd, path, (struct stat *)st, flags);
}

SHIM_EXPORT int statx(int dfd, const char *path, int flags, unsigned int mask,
		      struct statx *stx)
{
	batch_before_file();
	return real.statx(dfd, path, flags, mask, stx);
}

SHIM_EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
	batch_before_file();
	return real.__xstat(ver, path, st);
}

SHIM_EXPORT int __xstat64(int ver, const char *path, struct stat64 *st)
{
	batch_before_file();
	return real.__xstat(ver, path, (struct stat *)st);
}

SHIM_EXPORT int __fxstat(int ver, int fd, struct stat *st)
{
	batch_before_file();
	return real.__fxstat(ver, fd, st);
}

SHIM_EXPORT int __fxstat64(int ver, int fd, struct stat64 *st)
{
	batch_before_file();
	return real.__fxstat(ver, fd, (struct stat *)st);
}

SHIM_EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
	batch_before_file();
	return real.__lxstat(ver, path, st);
}

SHIM_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	batch_before_file();
	return real.__lxstat(ver, path, (struct stat *)st);
}

SHIM_EXPORT int __fxstatat(int ver, int dfd, const char *path, struct stat *st,
			   int flags)
{
	batch_before_file();
	return real.__fxstatat(ver, dfd, path, st, flags);
}

SHIM_EXPORT int __fxstatat64(int ver, int dfd, const char *path,
			     struct stat64 *st, int flags)
{
	batch_before_file();
	return real.__fxstatat(ver, dfd, path, (struct stat *)st, flags);
}

/* The size must count the staged writes, through whichever name. */
SHIM_EXPORT int truncate(const char *path, off_t len)
{
	batch_before_file();
	return real.truncate(path, len);
}

SHIM_EXPORT __typeof(truncate) truncate64 __attribute__((alias("truncate")));

/* Allocation and cache advice act on the data as far as it is written. */
SHIM_EXPORT int fallocate(int fd, int mode, off_t off, off_t len)
{
	batch_before_file();
	return real.fallocate(fd, mode, off, len);
}

SHIM_EXPORT __typeof(fallocate) fallocate64 __attribute__((alias("fallocate")));

SHIM_EXPORT int posix_fallocate(int fd, off_t off, off_t len)
{
	batch_before_file();
	return real.posix_fallocate(fd, off, len);
}

SHIM_EXPORT __typeof(posix_fallocate) posix_fallocate64
	__attribute__((alias("posix_fallocate")));

SHIM_EXPORT int posix_fadvise(int fd, off_t off, off_t len, int advice)
{
	batch_before_file();
	return real.posix_fadvise(fd, off, len, advice);
}

SHIM_EXPORT __typeof(posix_fadvise) posix_fadvise64
	__attribute__((alias("posix_fadvise")));

SHIM_EXPORT ssize_t readahead(int fd, off64_t off, size_t n)
{
	batch_before_file();
	return real.readahead(fd, off, n);
}

/*
 * The kernel copies between fds: the source must hold what was written to
 * it, and what the call writes must come after what waits for the output.
 * The source may be a pipe that waits, like a read.
 */
static void copy_barrier(int in, int out)
{
	batch_before_read(in);
	batch_before_write(out);
	batch_before_file();
}

SHIM_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
	copy_barrier(in, out);
	return real.sendfile(out, in, off, n);
}

SHIM_EXPORT __typeof(sendfile) sendfile64 __attribute__((alias("sendfile")));

SHIM_EXPORT ssize_t copy_file_range(int in, loff_t *ioff, int out,
				    loff_t *ooff, size_t n, unsigned int flags)
{
	copy_barrier(in, out);
	return real.copy_file_range(in, ioff, out, ooff, n, flags);
}

SHIM_EXPORT ssize_t splice(int in, loff_t *ioff, int out, loff_t *ooff,
			   size_t n, unsigned int flags)
{
	copy_barrier(in, out);
	return real.splice(in, ioff, out, ooff, n, flags);
}

/*
 * Times set now must not be overwritten by the flush of data staged
 * before (cp -p, rsync, tar set them after writing).
 */
SHIM_EXPORT int utimensat(int dfd, const char *path, const struct timespec ts[2],
			  int flags)
{
	batch_before_file();
	return real.utimensat(dfd, path, ts, flags);
}

SHIM_EXPORT int futimens(int fd, const struct timespec ts[2])
{
	batch_before_file();
	return real.futimens(fd, ts);
}

SHIM_EXPORT int utimes(const char *path, const struct timeval tv[2])
{
	batch_before_file();
	return real.utimes(path, tv);
}

SHIM_EXPORT int futimes(int fd, const struct timeval tv[2])
{
	batch_before_file();
	return real.futimes(fd, tv);
}

SHIM_EXPORT int lutimes(const char *path, const struct timeval tv[2])
{
	batch_before_file();
	return real.lutimes(path, tv);
}

SHIM_EXPORT int utime(const char *path, const struct utimbuf *u)
{
	batch_before_file();
	return real.utime(path, u);
}
