/* SPDX-License-Identifier: MIT */
/*
 * The calls that can make readable memory unreadable: seen only so that
 * shim/umem.c forgets what it checked. After the call, never before: a
 * range checked again in between would be remembered as still readable.
 */
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/shm.h>

#include "shim/real.h"
#include "shim/shim.h"
#include "shim/umem.h"

SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
		       off_t off)
{
	void *p = real.mmap(addr, len, prot, flags, fd, off);

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
