/* SPDX-License-Identifier: MIT */
/*
 * The spine's hook registry: the layers above (the router, for the rings
 * and the batch profile) say here what they must do when a child is about
 * to start, around fork, and at the end of the process, so that the spine
 * (fork.c, init.c) never names them. Hooks are added at start-up, before
 * any of them can run; running them takes no lock and allocates nothing,
 * so it is safe in a fork child and in the paths exit takes.
 */
#include "shim/shim.h"

#define HOOKS_MAX 4

static void (*hooks[HOOK__NR][HOOKS_MAX])(void);
static _Atomic unsigned nr[HOOK__NR];

void shim_hook_add(enum shim_hook when, void (*fn)(void))
{
	unsigned n = atomic_load_explicit(&nr[when], memory_order_relaxed);

	if (n >= HOOKS_MAX)
		return;
	hooks[when][n] = fn;
	atomic_store_explicit(&nr[when], n + 1, memory_order_release);
}

void shim_hooks_run(enum shim_hook when)
{
	unsigned i, n = atomic_load_explicit(&nr[when], memory_order_acquire);

	for (i = 0; i < n; i++)
		hooks[when][i]();
}
