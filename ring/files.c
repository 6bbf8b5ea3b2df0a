/* SPDX-License-Identifier: MIT */
/*
 * Registered files: a small table of file slots in a ring, so that an op
 * can name a slot (IOSQE_FIXED_FILE) and the kernel skips taking and
 * dropping a reference to the file for it. This layer keeps the table and
 * knows which fd each slot holds; which fds go in is the router's
 * (route/fixed.c).
 *
 * A slot holds a reference of its own to the file: until the slot is
 * emptied, the application's close of the fd closes nothing, and a pipe's
 * reader or a socket's peer would wait for an end that never comes. Only
 * the ring's own thread can empty it (a SINGLE_ISSUER ring refuses
 * io_uring_register from any other, and only that thread knows the
 * ring's registered index). So at most one ring of the process holds
 * files at a time, the holder, and the router lets files in only while
 * the process has that one thread.
 *
 * The table is registered through the ring's registered index where the
 * ring fd itself is closed (IORING_REGISTER_USE_REGISTERED_RING, 6.3), or
 * through the fd kept high.
 */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring/internal.h"

#ifndef IORING_REGISTER_USE_REGISTERED_RING
#define IORING_REGISTER_USE_REGISTERED_RING (1U << 31)
#endif

/* The ring whose table holds files now, or NULL. */
static struct ring_thread *_Atomic files_holder;

/* io_uring_register on rt, errno kept: a count, or -errno. */
static int files_register(struct ring_thread *rt, unsigned op, void *arg,
			  unsigned nr)
{
	int saved = errno, fd = rt->uring.ring_fd;
	long r;

	/* The number kept high is the application's now (ring_fd_taken()). */
	if (atomic_load(&rt->lost))
		return -EBADF;
	if (fd < 0) {
		fd = rt->uring.enter_ring_fd;
		op |= IORING_REGISTER_USE_REGISTERED_RING;
	}
	r = syscall(SYS_io_uring_register, fd, op, arg, nr);
	if (r < 0)
		r = -errno;
	errno = saved;
	return (int)r;
}

/* Slots from..from+n-1 set to fds[] (-1: emptied). 0 or -errno. */
static int files_update(struct ring_thread *rt, unsigned from, const int *fds,
			unsigned n)
{
	struct io_uring_files_update up = {
		.offset = from,
		.fds = (uint64_t)(uintptr_t)fds,
	};
	int r = files_register(rt, IORING_REGISTER_FILES_UPDATE, &up, n);

	return r < 0 ? r : (unsigned)r == n ? 0 : -EIO;
}

static void files_none(int *fd)
{
	unsigned i;

	for (i = 0; i < RING_FILES; i++)
		fd[i] = -1;
}

/* A new ring, or none: no table, no slot known. */
void ring_files_reset(struct ring_thread *rt)
{
	struct ring_thread *me = rt;

	rt->files.state = RF_NONE;
	rt->files.next = 0;
	files_none(rt->files.fd);
	atomic_compare_exchange_strong(&files_holder, &me, NULL);
}

/* The table, all slots empty, the first time; false: none here. */
static bool files_table(struct ring_thread *rt)
{
	int none[RING_FILES];

	if (rt->files.state == RF_TABLE)
		return true;
	if (rt->files.state == RF_NO_TABLE ||
	    !ring_cap_allowed(RCAP_FEATURE, RF_REG_FILES))
		return false;
	files_none(none);
	if (files_register(rt, IORING_REGISTER_FILES, none, RING_FILES) < 0) {
		/* EINVAL: a kernel without USE_REGISTERED_RING (before 6.3). */
		ring_cap_refused(RF_REG_FILES);
		rt->files.state = RF_NO_TABLE;
		return false;
	}
	files_none(rt->files.fd);
	rt->files.next = 0;
	rt->files.state = RF_TABLE;
	return true;
}

int ring_files_add(struct ring_thread *rt, int fd)
{
	struct ring_thread *none = NULL;
	unsigned s;
	int ret;

	if (!atomic_compare_exchange_strong(&files_holder, &none, rt) &&
	    none != rt)
		return -EBUSY;
	if (!files_table(rt)) {
		atomic_store(&files_holder, NULL);
		return -EOPNOTSUPP;
	}
	s = rt->files.next;
	rt->files.next = (unsigned char)((s + 1) % RING_FILES);
	/* Emptied first: nothing names the slot while it changes. */
	rt->files.fd[s] = -1;
	ret = files_update(rt, s, &fd, 1);
	if (ret < 0)
		return ret;
	rt->files.fd[s] = fd;
	return (int)s;
}

/* Every slot of rt emptied: 0, or -errno when the kernel kept them. */
static int files_empty(struct ring_thread *rt)
{
	int none[RING_FILES];

	if (rt->files.state != RF_TABLE)
		return 0;
	files_none(rt->files.fd);
	files_none(none);
	return files_update(rt, 0, none, RING_FILES);
}

int ring_files_forget(unsigned lo, unsigned hi)
{
	struct ring_thread *h = atomic_load_explicit(&files_holder,
						     memory_order_acquire);
	int minus1 = -1, ret = 0;
	unsigned s;

	if (RING_LIKELY(!h))
		return 0;
	for (s = 0; s < RING_FILES; s++) {
		if (h->files.fd[s] < 0 || (unsigned)h->files.fd[s] < lo ||
		    (unsigned)h->files.fd[s] > hi)
			continue;
		if (h != &ring_tls)
			return -EEXIST;
		h->files.fd[s] = -1;
		if (files_update(h, s, &minus1, 1) < 0)
			ret = -EIO;
	}
	return ret;
}

int ring_files_leave(struct ring_thread *rt)
{
	int ret;

	if (atomic_load(&files_holder) != rt)
		return 0;
	ret = files_empty(rt);
	atomic_store(&files_holder, NULL);
	return ret;
}

int ring_files_release(void)
{
	struct ring_thread *h = atomic_load(&files_holder);

	if (h && h != &ring_tls)
		return -EEXIST;
	return ring_files_leave(&ring_tls);
}

bool ring_files_held(void)
{
	return atomic_load_explicit(&files_holder, memory_order_relaxed);
}
