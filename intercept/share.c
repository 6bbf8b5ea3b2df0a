/* SPDX-License-Identifier: MIT */
/*
 * What lets other processes look at this one's files at moments the shim
 * cannot see: writable shared memory (their flag, futex or lock lives
 * there) and file locks. Under the batch profile such a process stops
 * staging regular-file writes (batch/staging.c batch_files_shared), and the
 * call first sends what it had staged. mmap is in intercept/mem.c, the
 * fcntl locks in intercept/fd.c.
 */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "route/route.h"
#include "shim/umem.h"

SHIM_EXPORT int flock(int fd, int op)
{
	if (!shim_in_vfork)
		batch_files_shared();
	return real.flock(fd, op);
}

SHIM_EXPORT int lockf(int fd, int cmd, off_t len)
{
	if (!shim_in_vfork)
		batch_files_shared();
	return real.lockf(fd, cmd, len);
}

SHIM_EXPORT __typeof(lockf) lockf64 __attribute__((alias("lockf")));

/* SHM_RDONLY cannot be made writable later (mprotect says EACCES). */
SHIM_EXPORT void *shmat(int id, const void *addr, int flags)
{
	void *p = real.shmat(id, addr, flags);

	/* NOLINTNEXTLINE(performance-no-int-to-ptr) */
	if (p != (void *)-1 && !(flags & SHM_RDONLY) && !shim_in_vfork)
		batch_files_shared();
	if (flags & SHM_REMAP)
		umem_changed();
	return p;
}

/* A memfd exists to be mapped and handed to another process. */
SHIM_EXPORT int memfd_create(const char *name, unsigned int flags)
{
	int fd = real.memfd_create(name, flags);

	if (fd >= 0 && !shim_in_vfork) {
		batch_files_shared();
		route_fd_forget(fd);
	}
	return fd;
}
