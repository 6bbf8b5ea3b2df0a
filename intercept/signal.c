/* SPDX-License-Identifier: MIT */
/*
 * sigaction and signal, seen only for the batch profile's fatal-signal
 * handlers (shim/batch.c): where the shim put its handler in place of
 * SIG_DFL, the application still reads SIG_DFL, setting SIG_DFL keeps the
 * shim's, and anything else replaces it.
 */
#include <string.h>

#include "shim/batch.h"
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
		return real.sigaction(sig, act, old);
	if (act && act->sa_handler == SIG_DFL && !(act->sa_flags & SA_SIGINFO)) {
		if (old)
			as_default(old);
		return 0;
	}
	ret = real.sigaction(sig, act, old);
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
		return real.signal(sig, handler);
	if (handler == SIG_DFL)
		return SIG_DFL;
	ret = real.signal(sig, handler);
	if (ret == SIG_ERR)
		return ret;
	batch_sig_release(sig);
	return SIG_DFL;
}
