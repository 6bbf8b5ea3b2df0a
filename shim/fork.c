/* SPDX-License-Identifier: MIT */
/*
 * fork, _Fork and vfork. A child must never submit on a ring it inherited:
 * it would corrupt the parent's view of that ring. fork() runs our
 * pthread_atfork handler; _Fork() skips those handlers, so it is
 * interposed; vfork() shares the parent's memory, so its child only sets a
 * flag (intercept/vfork.S) that sends every call to libc until it execs.
 */
#include <pthread.h>
#include <unistd.h>

#include "ring/ring.h"
#include "shim/batch.h"
#include "shim/real.h"
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
	batch_fork_child();
	ring_fork_child();
	shim_live_renew();
	shim_in_vfork = 0;
}

/* Staged writes go out before the child can write after them. */
static void fork_prepare(void)
{
	batch_flush_all(false);
	ring_fork_prepare();
}

void shim_fork_init(void)
{
	pthread_atfork(fork_prepare, ring_fork_parent, shim_after_fork_child);
}

/* Called from vfork.S before the vfork syscall. */
void shim_vfork_prepare(void)
{
	batch_flush_all(false);
}

SHIM_EXPORT pid_t _Fork(void)
{
	pid_t pid;

	shim_ready();
	batch_flush_all(false);
	pid = real._Fork ? real._Fork() : -1;
	if (pid == 0)
		shim_after_fork_child();
	return pid;
}

/* Called from vfork.S when the vfork syscall failed. */
long shim_vfork_error(long ret)
{
	errno = (int)-ret;
	return -1;
}
