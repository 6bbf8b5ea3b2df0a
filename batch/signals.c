/* SPDX-License-Identifier: MIT */
/*
 * The batch profile's signals: the SIGPIPE a flush must not raise in the
 * wrong call, and the fatal signals that would end the process with data
 * still staged.
 */
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "batch/internal.h"
#include "shim/real.h"

/*
 * A pipe's SIGPIPE belongs to the write call that returned long ago, not
 * to whatever call flushes now: take it back and let the next write on
 * the fd raise it (batch_take_error). If the thread blocks SIGPIPE, it
 * stays pending there, as it would have.
 */
long batch_pipe_write_quiet(int fd, const char *p, size_t n, bool *owe)
{
	uint64_t bit = 1ULL << (SIGPIPE - 1), old = 0;
	struct timespec zero = { 0, 0 };
	long r;
	int e;

	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &bit, &old, sizeof(bit));
	r = syscall(SYS_write, fd, p, n);
	e = errno;
	if (r < 0 && e == EPIPE) {
		if (!(old & bit))
			syscall(SYS_rt_sigtimedwait, &bit, NULL, &zero,
				sizeof(bit));
		*owe = !(old & bit) || batch_is_flusher;
	}
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof(old));
	errno = e;
	return r;
}

/* The owed SIGPIPE, to the calling thread, as the write would have. */
void batch_raise_sigpipe(void)
{
	syscall(SYS_tgkill, syscall(SYS_getpid), syscall(SYS_gettid), SIGPIPE);
}

/*
 * Fatal signals. Where a signal would kill the process by default, a
 * handler of the shim's own sends the staged data out first, then lets
 * the default action happen (SA_RESETHAND, raised again). The application
 * is told the disposition is SIG_DFL (intercept/signal.c) until it sets
 * its own. Signals that report a fault are left alone: the process state
 * is not to be trusted then. Locks are only tried: the thread the signal
 * interrupted may hold one.
 */
static const int fatal_sigs[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM,
	SIGPIPE, SIGABRT, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF,
};
static _Atomic uint64_t sig_ours;

static void on_fatal(int sig)
{
	batch_any_order = true;	/* dying: the data, in whatever order */
	batch_flush_each(false, false);
	syscall(SYS_tgkill, syscall(SYS_getpid), syscall(SYS_gettid), sig);
}

static void install_fatal(void)
{
	struct sigaction a = { .sa_handler = on_fatal }, old;
	size_t i;

	a.sa_flags = SA_RESETHAND | SA_NODEFER | SA_RESTART;
	sigfillset(&a.sa_mask);
	for (i = 0; i < sizeof(fatal_sigs) / sizeof(fatal_sigs[0]); i++) {
		int sig = fatal_sigs[i];

		if (real.sigaction(sig, NULL, &old) == 0 &&
		    old.sa_handler == SIG_DFL && !(old.sa_flags & SA_SIGINFO) &&
		    real.sigaction(sig, &a, NULL) == 0)
			atomic_fetch_or(&sig_ours, 1ULL << sig);
	}
}

static _Atomic bool fatal_armed;

/*
 * The handlers go in once, at the process's first staged write or its
 * first pthread_create, whichever comes first: a process that never
 * stages makes none of these calls, and reading each disposition then
 * setting the shim's cannot race another thread's sigaction, there being
 * no other thread yet, nor this one's handlers (the mask keeps them out).
 * A fork child inherits them with the flag.
 */
void batch_arm_fatal(void)
{
	uint64_t all = ~0ULL, old;

	if (atomic_load_explicit(&fatal_armed, memory_order_relaxed))
		return;
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, sizeof(all));
	if (!atomic_exchange(&fatal_armed, true))
		install_fatal();
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof(old));
}

/* Is the shim's handler in place where the application set nothing? */
bool batch_sig_hidden(int sig)
{
	return sig > 0 && sig < 64 &&
	       (atomic_load_explicit(&sig_ours, memory_order_relaxed) >> sig) & 1;
}

/* The application installs its own: the shim's is gone. */
void batch_sig_release(int sig)
{
	if (sig > 0 && sig < 64)
		atomic_fetch_and(&sig_ours, ~(1ULL << sig));
}
