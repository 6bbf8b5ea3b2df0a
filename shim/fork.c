/* SPDX-License-Identifier: MIT */
/*
 * fork, _Fork and vfork. A child must never submit on a ring it inherited:
 * it would corrupt the parent's view of that ring. fork() runs our
 * pthread_atfork handler; _Fork() skips those handlers, so it is
 * interposed (intercept/proc.c); vfork() shares the parent's memory, so its
 * child only sets a flag (intercept/vfork.S) that sends every call to libc
 * until it execs. What the rings and the batch profile do then are hooks
 * (hooks.c) that the router registers.
 */
#include <pthread.h>
#include <unistd.h>

#include "shim/shim.h"

__thread volatile int shim_in_vfork;

void shim_after_fork_child(void)
{
	int checking = SC_CHECKING;

	/* First: the counters are still in the parent's shared live file. */
	shim_stats_fork_child();
	/* A probe on another thread of the parent: the child asks again. */
	atomic_compare_exchange_strong(&shim_seccomp_state, &checking,
				       SC_UNCHECKED);
	shim_stats_sandbox_fork_child();
	shim_hooks_run(HOOK_FORK_CHILD);
	shim_live_fork_child();
	/* What the parent settled, the child settles again: it lives too. */
	atomic_store(&shim_unsettled, true);
	shim_in_vfork = 0;
}

/* Staged writes go out before the child can write after them. */
static void fork_prepare(void)
{
	shim_hooks_run(HOOK_SPAWN);
	shim_hooks_run(HOOK_FORK_PREPARE);
}

static void fork_parent(void)
{
	shim_hooks_run(HOOK_FORK_PARENT);
}

void shim_fork_init(void)
{
	pthread_atfork(fork_prepare, fork_parent, shim_after_fork_child);
}

/* Called from vfork.S before the vfork syscall. */
void shim_vfork_prepare(void)
{
	shim_hooks_run(HOOK_SPAWN);
}

/* Called from vfork.S when the vfork syscall failed. */
long shim_vfork_error(long ret)
{
	return sys_ret(ret, 0);
}
