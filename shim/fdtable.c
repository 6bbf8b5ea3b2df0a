/* SPDX-License-Identifier: MIT */
/*
 * What each fd is, learned once with fstat and forgotten when the fd is
 * closed or replaced through an interposed call.
 *
 * The table can go stale: glibc's internal close/open (fclose, fopen) never
 * pass through the shim, so a number may be reused behind its back. That is
 * safe by construction: the ring is only ever asked to do an op that cannot
 * wait (RWF_NOWAIT, MSG_DONTWAIT), and anything that would wait, or that the
 * kernel refuses for this file, goes to the real libc function. A stale
 * class can cost a wasted attempt, never a changed result. The one place the
 * class decides semantics, continuing a short regular-file read, checks the
 * file type again (fd_is_regular).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/shim.h"

#define XFS_SUPER_MAGIC   0x58465342
#define BTRFS_SUPER_MAGIC 0x9123683E

struct shim_fdtab shim_fdtab SHIM_LARGE __attribute__((aligned(4096)));

/*
 * Pseudo file systems whose "regular files" are generated on read: io_uring
 * refuses NOWAIT on them or punts them to io-wq. They go to libc.
 */
static bool pseudo_fs(long type)
{
	switch (type) {
	case 0x9fa0:		/* proc */
	case 0x62656572:	/* sysfs */
	case 0x64626720:	/* debugfs */
	case 0x74726163:	/* tracefs */
	case 0x27e0eb:		/* cgroup */
	case 0x63677270:	/* cgroup2 */
	case 0x73636673:	/* securityfs */
	case 0x62656570:	/* configfs */
	case 0xcafe4a11:	/* bpf */
	case 0x6e736673:	/* nsfs */
	case 0xde5e81e4:	/* efivarfs */
		return true;
	default:
		return false;
	}
}

static enum fd_class classify_file(int fd)
{
	struct statfs sfs;

	if (syscall(SYS_fstatfs, fd, &sfs) < 0)
		return FD_FILE;
	if (pseudo_fs((long)sfs.f_type))
		return FD_OTHER;
	/* Buffered writes stay inline only where the fs does async writes. */
	if (sfs.f_type == XFS_SUPER_MAGIC || sfs.f_type == BTRFS_SUPER_MAGIC)
		return FD_FILE_NOWAIT;
	return FD_FILE;
}

static enum fd_class classify(int fd)
{
	struct stat st;

	if (syscall(SYS_fstat, fd, &st) < 0)
		return FD_UNKNOWN;
	switch (st.st_mode & S_IFMT) {
	case S_IFIFO:
		return FD_PIPE;
	case S_IFSOCK:
		return FD_SOCKET;
	case S_IFREG:
		return classify_file(fd);
	default:
		return FD_OTHER;
	}
}

/* Not known yet (or beyond the table): fstat, and remember. */
enum fd_class fd_class_slow(int fd, struct fd_rec *rec)
{
	enum fd_class cls;

	if (fd < 0)
		return FD_UNKNOWN;
	cls = classify(fd);
	if (rec && cls != FD_UNKNOWN)
		atomic_store_explicit(&rec->cls, cls, memory_order_relaxed);
	return cls;
}

/* A new verdict: a new file, maybe, so nothing carried over. */
static void set_class(struct fd_rec *r, enum fd_class cls)
{
	atomic_store_explicit(&r->cls, cls, memory_order_relaxed);
	atomic_store_explicit(&r->wb_skip, 0, memory_order_relaxed);
	atomic_store_explicit(&r->wb_level, 0, memory_order_relaxed);
	atomic_store_explicit(&r->batch_skip, 0, memory_order_relaxed);
	atomic_store_explicit(&r->batch_cool, 0, memory_order_relaxed);
	atomic_store_explicit(&r->batch_err, 0, memory_order_relaxed);
	atomic_store_explicit(&r->batch_rkind, 0, memory_order_relaxed);
	atomic_store_explicit(&r->batch_seen, 0, memory_order_relaxed);
	atomic_store_explicit(&r->batch_ino, 0, memory_order_relaxed);
	atomic_store_explicit(&r->fixed, 0, memory_order_relaxed);
	atomic_store_explicit(&r->ring_ops, 0, memory_order_relaxed);
}

/*
 * A new fd (pipe, socket, accept) or a new verdict on one. Data the batch
 * profile staged for the number is the caller's to send first
 * (route_fd_new()); the buffer itself lets go of the number when it does.
 */
void fd_set_class(int fd, enum fd_class cls)
{
	struct fd_rec *r = fd_rec(fd);

	if (r)
		set_class(r, cls);
}

void fd_forget(int fd)
{
	fd_set_class(fd, FD_UNKNOWN);
}

void fd_forget_range(unsigned int lo, unsigned int hi)
{
	unsigned int fd;

	if (hi >= FD_MAX)
		hi = FD_MAX - 1;
	for (fd = lo; fd <= hi; fd++)
		set_class(&fd_tab[fd], FD_UNKNOWN);
}

bool fd_is_regular(int fd)
{
	struct stat st;

	return syscall(SYS_fstat, fd, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * Make the kernel's fd table cover the numbers up to top now. Growing it
 * later, once the process has threads, waits for an RCU grace period
 * (expand_fdtable() calls synchronize_rcu() when the table is shared),
 * and every thread that opens or dups meanwhile waits with it: 12-19 ms
 * here, enough to reshuffle where a server's threads run. Called as the
 * process settles (shim_settle()), while it most likely has one thread.
 */
void fd_kernel_table_grow(int top)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/", O_PATH | O_CLOEXEC);
	int d;

	if (fd < 0)
		return;
	d = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, top);
	if (d >= 0)
		syscall(SYS_close, d);
	syscall(SYS_close, fd);
}
