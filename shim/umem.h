/* SPDX-License-Identifier: MIT */
/*
 * Application memory the shim reads itself: iovec arrays, msghdrs,
 * socklen_t, and the data the batch profile copies. The syscall answers a
 * bad pointer with EFAULT; a shim that dereferenced it would crash the
 * program instead. So such memory is checked first, through the kernel,
 * and what passed is remembered per thread until the application changes
 * its mappings (munmap, mprotect, mremap, MAP_FIXED, shmdt: intercept/mem.c).
 */
#ifndef SHIM_UMEM_H
#define SHIM_UMEM_H

#include <stdbool.h>
#include <stddef.h>

/* False: a part of [p, p+n) cannot be read, or there is no way to tell. */
bool umem_readable(const void *p, size_t n);
/* The application changed its mappings: forget what was checked. */
void umem_changed(void);

#endif
