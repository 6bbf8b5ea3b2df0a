/* SPDX-License-Identifier: MIT */
/*
 * The ring fds the application must not see: kept near the top of
 * RLIMIT_NOFILE when they cannot be registered and closed (before 5.18),
 * and guarded in close, dup2 and close_range (intercept/fd.c asks
 * ring_owns_fd()). The ring knows these fds itself: it opens and closes
 * them, in fork children and seccomp sandboxes too.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring/internal.h"

/* Linked behind the small variables (the Makefile's --sort-section). */
static _Atomic uint64_t owned[RING_FD_MAX / 64]
	__attribute__((section(".bss.large")));

void ring_owned_set(int fd, bool on)
{
	uint64_t bit;

	if ((unsigned)fd >= RING_FD_MAX)
		return;
	bit = 1ULL << (fd % 64);
	if (on)
		atomic_fetch_or(&owned[fd / 64], bit);
	else
		atomic_fetch_and(&owned[fd / 64], ~bit);
}

void ring_owned_clear_all(void)
{
	memset(owned, 0, sizeof(owned));
}

bool ring_owns_fd(int fd)
{
	if ((unsigned)fd >= RING_FD_MAX)
		return false;
	return (atomic_load_explicit(&owned[fd / 64], memory_order_relaxed) >>
		(fd % 64)) & 1;
}

/* The application dup2'ed over a ring fd: its owner must drop that ring. */
void ring_fd_taken(int fd)
{
	struct ring_thread *rt;

	pthread_mutex_lock(&ring_registry_lock);
	for (rt = ring_registry; rt; rt = rt->next)
		if (rt->hidden_fd == fd)
			atomic_store(&rt->lost, true);
	pthread_mutex_unlock(&ring_registry_lock);
	ring_owned_set(fd, false);
}

/*
 * Move the ring fd out of the range the application allocates from: near
 * the top of RLIMIT_NOFILE, where only a program that dup2()s to fixed high
 * numbers would look, and those calls are watched (intercept/fd.c).
 */
int ring_hide_fd_high(struct io_uring *r)
{
	struct rlimit rl;
	long top, span, fd = -1;

	if (syscall(SYS_getrlimit, RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < 128)
		return -EMFILE;
	top = (long)(rl.rlim_cur > RING_FD_MAX ? RING_FD_MAX : rl.rlim_cur);
	/* Many threads' rings: widen the window downwards, to half the limit. */
	for (span = 64; span <= top / 2; span *= 2) {
		fd = syscall(SYS_fcntl, r->ring_fd, F_DUPFD_CLOEXEC, top - span);
		if (fd >= 0 || errno != EMFILE)
			break;
	}
	if (fd < 0)
		return -errno;
	syscall(SYS_close, r->ring_fd);
	r->ring_fd = (int)fd;
	r->enter_ring_fd = (int)fd;
	ring_owned_set((int)fd, true);
	return (int)fd;
}

/*
 * A high slot taken before the SQ thread exists. Growing the fd table of a
 * process whose files an SQ thread shares waits for an RCU grace period
 * (expand_fdtable() calls synchronize_rcu() when the table is shared):
 * about 8 ms here, paid by every process's first sqpoll ring. The slot is
 * held by an O_PATH fd of "/" and the ring fd is dup3()ed over it.
 */
int ring_reserve_fd_high(void)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/", O_PATH | O_CLOEXEC);

	return fd < 0 ? -errno : ring_hide_fd(fd);
}

/* Put the ring fd in the reserved slot (see ring_reserve_fd_high()). */
int ring_take_fd_high(struct io_uring *r, int slot)
{
	if (syscall(SYS_dup3, r->ring_fd, slot, O_CLOEXEC) < 0)
		return -errno;
	syscall(SYS_close, r->ring_fd);
	r->ring_fd = slot;
	r->enter_ring_fd = slot;
	return slot;
}

void ring_release_fd_high(int slot)
{
	ring_owned_set(slot, false);
	syscall(SYS_close, slot);
}

/* A file of the shim's own, out of the application's range and guarded. */
int ring_hide_fd(int fd)
{
	struct io_uring r = { .ring_fd = fd };
	int ret = ring_hide_fd_high(&r);

	if (ret < 0)
		syscall(SYS_close, fd);
	return ret;
}

void ring_unhide_fd(int fd)
{
	ring_owned_set(fd, false);
}
