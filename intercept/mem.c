/* SPDX-License-Identifier: MIT */
/*
 * The calls that can make readable memory unreadable: seen so that
 * shim/umem.c forgets what it checked. After the call, never before: a
 * range checked again in between would be remembered as still readable.
 * mmap is also a batch profile barrier and may share memory
 * (intercept/share.c).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "batch/batch.h"
#include "shim/real.h"
#include "shim/shim.h"
#include "shim/umem.h"

/*
 * Shared memory another process may see (batch profile): writable now, or
 * later by mprotect, which anonymous memory and a file opened for writing
 * allow.
 */
static bool shares_writable(int prot, int flags, int fd)
{
	long fl;

	if (!(flags & MAP_SHARED))	/* MAP_SHARED_VALIDATE includes it */
		return false;
	if ((prot & PROT_WRITE) || (flags & MAP_ANONYMOUS) || fd < 0)
		return true;
	fl = syscall(SYS_fcntl, fd, F_GETFL);
	return fl >= 0 && (fl & O_ACCMODE) == O_RDWR;
}

SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
		       off_t off)
{
	void *p;

	/* The mapping shows the file's data: staged data must be in it. */
	if (fd >= 0 && !(flags & MAP_ANONYMOUS))
		batch_before_file();
	p = real.mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && shares_writable(prot, flags, fd) &&
	    !shim_in_vfork)
		batch_files_shared();
	if (flags & MAP_FIXED)
		umem_changed();
	return p;
}

SHIM_EXPORT __typeof(mmap) mmap64 __attribute__((alias("mmap")));

SHIM_EXPORT int munmap(void *addr, size_t len)
{
	int ret = real.munmap(addr, len);

	umem_changed();
	return ret;
}

SHIM_EXPORT void *mremap(void *old, size_t old_len, size_t new_len,
			 int flags, ...)
{
	void *to = NULL, *p;
	va_list ap;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		to = va_arg(ap, void *);
		va_end(ap);
	}
	p = real.mremap(old, old_len, new_len, flags, to);
	umem_changed();
	return p;
}

SHIM_EXPORT int mprotect(void *addr, size_t len, int prot)
{
	int ret = real.mprotect(addr, len, prot);

	umem_changed();
	return ret;
}

SHIM_EXPORT int pkey_mprotect(void *addr, size_t len, int prot, int pkey)
{
	int ret = real.pkey_mprotect(addr, len, prot, pkey);

	umem_changed();
	return ret;
}

SHIM_EXPORT int shmdt(const void *addr)
{
	int ret = real.shmdt(addr);

	umem_changed();
	return ret;
}
