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
#include "shim/real.h"
#include "shim/shim.h"

__thread volatile int shim_in_vfork;

void shim_after_fork_child(void)
{
	ring_fork_child();
	shim_live_fork_child();
	shim_stats_reset();
	shim_in_vfork = 0;
}

void shim_fork_init(void)
{
	pthread_atfork(ring_fork_prepare, ring_fork_parent,
		       shim_after_fork_child);
}

SHIM_EXPORT pid_t _Fork(void)
{
	pid_t pid;

	shim_ready();
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
