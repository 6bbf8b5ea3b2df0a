/* SPDX-License-Identifier: MIT */
/*
 * Threads. Before a process's second thread exists, the start-up work that
 * wants a single thread is done (shim_settle(), shim/init.c), and what
 * wants one thread of the application's ends (HOOK_THREAD: batch's
 * chains); then the thread is libc's.
 */
#include "shim/real.h"
#include "shim/shim.h"

SHIM_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			       void *(*start)(void *), void *arg)
{
	if (shim_ready()) {
		shim_settle_soon();
		shim_hooks_run(HOOK_THREAD);
	}
	shim_real_solo(false);	/* glibc's own paths from now on */
	return real.pthread_create(thread, attr, start, arg);
}
