/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim/umem.h"

/* Protection is per page; 4 KiB is the smallest page, so never too coarse. */
#define GRAIN		4096UL
/* A miss checks the whole aligned block around it: heaps move within one. */
#define BLOCK		(16 * GRAIN)
#define SLOTS		8
#define PROBE_PAGES	64

struct span {
	uintptr_t lo, hi;
};

static __thread struct span seen[SLOTS];
static __thread unsigned seen_gen, seen_next;
/* Starts at 1 so that a new thread's zeroed seen_gen is stale. */
static _Atomic unsigned umem_gen = 1;
static _Atomic bool probe_broken;

void umem_changed(void)
{
	atomic_fetch_add_explicit(&umem_gen, 1, memory_order_relaxed);
}

/*
 * One byte of each page, read through process_vm_readv on ourselves: the
 * kernel says EFAULT where a load would fault. getpid each time: a fork
 * child must not probe its parent.
 */
static bool probe(uintptr_t lo, uintptr_t hi)
{
	struct iovec remote[PROBE_PAGES], local;
	char scratch[PROBE_PAGES];
	long self = syscall(SYS_getpid), r;
	int k;

	while (lo < hi) {
		for (k = 0; k < PROBE_PAGES && lo < hi; k++, lo += GRAIN) {
			/* An address to probe, not an object to use. */
			/* NOLINTNEXTLINE(performance-no-int-to-ptr) */
			remote[k].iov_base = (void *)lo;
			remote[k].iov_len = 1;
		}
		local.iov_base = scratch;
		local.iov_len = (size_t)k;
		r = syscall(SYS_process_vm_readv, self, &local, 1UL, remote,
			    (unsigned long)k, 0UL);
		if (r == k)
			continue;
		if (r < 0 && errno != EFAULT)	/* ENOSYS, EPERM: a sandbox */
			atomic_store(&probe_broken, true);
		return false;
	}
	return true;
}

static void remember(uintptr_t lo, uintptr_t hi)
{
	struct span *s = &seen[seen_next++ % SLOTS];

	/* A signal handler in between sees the slot empty, never half-set. */
	s->hi = 0;
	atomic_signal_fence(memory_order_seq_cst);
	s->lo = lo;
	atomic_signal_fence(memory_order_seq_cst);
	s->hi = hi;
}

static bool checked(uintptr_t lo, uintptr_t hi)
{
	int saved = errno;
	bool ok = probe(lo, hi);

	errno = saved;
	if (ok)
		remember(lo, hi);
	return ok;
}

bool umem_readable(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p, end = a + n, lo, hi;
	unsigned gen = atomic_load_explicit(&umem_gen, memory_order_relaxed);
	int i;

	if (!n)
		return true;	/* the kernel reads nothing either */
	if (end < a || end > UINTPTR_MAX - BLOCK)
		return false;
	if (seen_gen != gen) {
		for (i = 0; i < SLOTS; i++)
			seen[i].hi = 0;
		seen_gen = gen;
	}
	for (i = 0; i < SLOTS; i++)
		if (seen[i].lo <= a && end <= seen[i].hi)
			return true;
	if (atomic_load_explicit(&probe_broken, memory_order_relaxed))
		return false;
	lo = a & ~(BLOCK - 1);
	hi = (end + BLOCK - 1) & ~(BLOCK - 1);
	if (checked(lo, hi))
		return true;
	/* The block has holes; the range itself may still be whole. */
	lo = a & ~(GRAIN - 1);
	hi = (end + GRAIN - 1) & ~(GRAIN - 1);
	return checked(lo, hi);
}
