/* SPDX-License-Identifier: MIT */
/*
 * sigaction, signal and siginterrupt: handlers go in behind the shim's
 * trampoline (shim/sigwrap.c), so the router knows when one overtook a
 * ring op. The batch profile's fatal-signal handlers (batch/signals.c) stay
 * hidden: where the shim put its handler in place of SIG_DFL, the
 * application still reads SIG_DFL, setting SIG_DFL keeps the shim's, and
 * anything else replaces it.
 */
#include <string.h>

#include "batch/batch.h"
#include "shim/real.h"

static void as_default(struct sigaction *old)
{
	memset(old, 0, sizeof(*old));
	old->sa_handler = SIG_DFL;
}

SHIM_EXPORT int sigaction(int sig, const struct sigaction *act,
			  struct sigaction *old)
{
	int ret;

	if (likely(!batch_sig_hidden(sig)))
		return shim_sigaction(sig, act, old);
	if (act && act->sa_handler == SIG_DFL && !(act->sa_flags & SA_SIGINFO)) {
		if (old)
			as_default(old);
		return 0;
	}
	ret = shim_sigaction(sig, act, old);
	if (ret == 0) {
		if (old)
			as_default(old);
		if (act)
			batch_sig_release(sig);
	}
	return ret;
}

SHIM_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	sighandler_t ret;

	if (likely(!batch_sig_hidden(sig)))
		return shim_signal(sig, handler);
	if (handler == SIG_DFL)
		return SIG_DFL;
	ret = shim_signal(sig, handler);
	if (ret == SIG_ERR)
		return ret;
	batch_sig_release(sig);
	return SIG_DFL;
}

SHIM_EXPORT sighandler_t bsd_signal(int sig, sighandler_t handler)
{
	return signal(sig, handler);
}

SHIM_EXPORT int siginterrupt(int sig, int on)
{
	return shim_siginterrupt(sig, on);
}
