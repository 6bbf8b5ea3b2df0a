/* SPDX-License-Identifier: MIT */
/*
 * Threads. Before a process's second thread exists, the start-up work that
 * wants a single thread is done (shim_settle(), shim/init.c), and what
 * wants one thread of the application's ends (HOOK_THREAD: batch's
 * chains, the registered files of the one thread's ring); then the thread
 * is libc's. libc's other calls that may make a thread of their own (C11
 * threads, SIGEV_THREAD notifications, POSIX AIO, getaddrinfo_a) do the
 * same first.
 */
#include <signal.h>

#include "shim/real.h"
#include "shim/shim.h"

static void thread_coming(void)
{
	if (shim_ready()) {
		shim_settle_soon();
		shim_hooks_run(HOOK_THREAD);
	}
	shim_real_solo(false);	/* glibc's own paths from now on */
}

SHIM_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			       void *(*start)(void *), void *arg)
{
	thread_coming();
	return real.pthread_create(thread, attr, start, arg);
}

SHIM_EXPORT int thrd_create(thrd_t *thread, thrd_start_t start, void *arg)
{
	thread_coming();
	return REAL_STDIO(thrd_create)(thread, start, arg);
}

/* A notification by a thread of libc's (SIGEV_THREAD). */
static void notify_coming(const struct sigevent *ev)
{
	if (ev && ev->sigev_notify == SIGEV_THREAD)
		thread_coming();
}

SHIM_EXPORT int timer_create(clockid_t clock, struct sigevent *ev,
			     timer_t *timer)
{
	notify_coming(ev);
	return REAL_STDIO(timer_create)(clock, ev, timer);
}

SHIM_EXPORT int mq_notify(mqd_t mq, const struct sigevent *ev)
{
	notify_coming(ev);
	return REAL_STDIO(mq_notify)(mq, ev);
}

/* POSIX AIO runs each request on a helper thread of libc's. */
SHIM_EXPORT int aio_read(struct aiocb *cb)
{ thread_coming(); return REAL_STDIO(aio_read)(cb); }
SHIM_EXPORT int aio_write(struct aiocb *cb)
{ thread_coming(); return REAL_STDIO(aio_write)(cb); }
SHIM_EXPORT int aio_fsync(int op, struct aiocb *cb)
{ thread_coming(); return REAL_STDIO(aio_fsync)(op, cb); }
SHIM_EXPORT int lio_listio(int mode, struct aiocb *const list[], int n,
			   struct sigevent *ev)
{ thread_coming(); return REAL_STDIO(lio_listio)(mode, list, n, ev); }
SHIM_EXPORT int aio_read64(struct aiocb64 *cb)
{ thread_coming(); return REAL_STDIO(aio_read64)(cb); }
SHIM_EXPORT int aio_write64(struct aiocb64 *cb)
{ thread_coming(); return REAL_STDIO(aio_write64)(cb); }
SHIM_EXPORT int aio_fsync64(int op, struct aiocb64 *cb)
{ thread_coming(); return REAL_STDIO(aio_fsync64)(op, cb); }
SHIM_EXPORT int lio_listio64(int mode, struct aiocb64 *const list[], int n,
			     struct sigevent *ev)
{ thread_coming(); return REAL_STDIO(lio_listio64)(mode, list, n, ev); }

/* Each lookup on a thread of libc's. */
SHIM_EXPORT int getaddrinfo_a(int mode, struct gaicb *list[], int n,
			      struct sigevent *ev)
{
	thread_coming();
	return REAL_STDIO(getaddrinfo_a)(mode, list, n, ev);
}
