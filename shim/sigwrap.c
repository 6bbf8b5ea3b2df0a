/* SPDX-License-Identifier: MIT */
/*
 * The application's signal handlers run behind a trampoline that notes, on
 * the thread it runs on, that a handler ran and whether a syscall it had
 * interrupted would have restarted (SA_RESTART at delivery). A ring op can
 * be overtaken by a handler (an op on the SQ thread waits for that thread
 * to be scheduled); the libc call that follows its would-block answer would
 * then wait for a signal that has already come, so the router ends the call
 * as the interrupted syscall would have (route_wouldblock).
 *
 * What the application reads back (sigaction's old action) is what it set:
 * its handler, and SA_SIGINFO as it asked; the other flags and the mask are
 * the kernel's. A handler installed behind the shim's back (a raw
 * rt_sigaction, sysv_signal, glibc-internal calls) is not wrapped, and its
 * signals are not seen.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/real.h"
#include "shim/shim.h"

#define SIG_SLOTS 65	/* 1.._NSIG-1 */
#define KSIGSET_SIZE 8

struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

__thread struct shim_sigseen shim_sigseen;

/* What runs behind the trampoline, per signal. */
static _Atomic uintptr_t app_fn[SIG_SLOTS];
static _Atomic unsigned long app_flags[SIG_SLOTS];
static _Atomic uint64_t sigintr_set;	/* bit sig-1: siginterrupt(sig, 1) */
static atomic_flag table_lock = ATOMIC_FLAG_INIT;

static void trampoline(int sig, siginfo_t *si, void *uc)
{
	uintptr_t fn = atomic_load_explicit(&app_fn[sig], memory_order_acquire);
	unsigned long fl = atomic_load_explicit(&app_flags[sig],
						memory_order_relaxed);
	struct ksigaction k;
	int e = errno;

	/* The flags in force now: siginterrupt() rewrites them in place. */
	if (syscall(SYS_rt_sigaction, sig, NULL, &k, KSIGSET_SIZE) == 0 &&
	    k.handler == (void *)trampoline)
		fl = k.flags;
	errno = e;
	shim_sigseen.ran++;
	if (!(fl & SA_RESTART))
		shim_sigseen.eintr++;
	/* Extra arguments are harmless to a one-argument handler. */
	if (fn > (uintptr_t)SIG_IGN)
		/* NOLINTNEXTLINE(performance-no-int-to-ptr) */
		((void (*)(int, siginfo_t *, void *))fn)(sig, si, uc);
}

/* sigaction is async-signal-safe: no handler may find the table locked. */
static void table_enter(uint64_t *old)
{
	uint64_t all = ~0ULL;

	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, old, KSIGSET_SIZE);
	while (atomic_flag_test_and_set_explicit(&table_lock,
						 memory_order_acquire))
		__builtin_ia32_pause();
}

static void table_leave(const uint64_t *old)
{
	int e = errno;

	atomic_flag_clear_explicit(&table_lock, memory_order_release);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, old, NULL, KSIGSET_SIZE);
	errno = e;
}

static bool is_handler(const struct sigaction *act)
{
	return act && act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN;
}

int shim_sigaction(int sig, const struct sigaction *act,
		   struct sigaction *old)
{
	struct sigaction k, prev;
	uintptr_t prev_fn;
	unsigned long prev_fl;
	uint64_t mask;
	int ret;

	/* Bad numbers get libc's EINVAL; a vfork child shares our table. */
	if (sig <= 0 || sig >= SIG_SLOTS || shim_in_vfork)
		return real.sigaction(sig, act, old);
	table_enter(&mask);
	prev_fn = atomic_load(&app_fn[sig]);
	prev_fl = atomic_load(&app_flags[sig]);
	if (is_handler(act)) {
		k = *act;
		k.sa_sigaction = trampoline;
		k.sa_flags |= SA_SIGINFO;
		atomic_store(&app_flags[sig], (unsigned long)act->sa_flags);
		atomic_store(&app_fn[sig], (uintptr_t)act->sa_handler);
		ret = real.sigaction(sig, &k, &prev);
		if (ret < 0) {
			atomic_store(&app_fn[sig], prev_fn);
			atomic_store(&app_flags[sig], prev_fl);
		}
	} else {
		ret = real.sigaction(sig, act, &prev);
	}
	table_leave(&mask);
	if (ret == 0 && old) {
		*old = prev;
		if (prev.sa_sigaction == trampoline) {
			/* NOLINTNEXTLINE(performance-no-int-to-ptr) */
			old->sa_handler = (sighandler_t)prev_fn;
			old->sa_flags = (prev.sa_flags & ~SA_SIGINFO) |
					((int)prev_fl & SA_SIGINFO);
		}
	}
	return ret;
}

/* glibc's signal(): BSD semantics, SA_RESTART unless siginterrupt said. */
sighandler_t shim_signal(int sig, sighandler_t handler)
{
	struct sigaction a = { .sa_handler = handler }, old = { 0 };

	/* Bad numbers, SIG_ERR and glibc's own signals: libc's EINVAL. */
	if (sig <= 0 || sig >= SIG_SLOTS || handler == SIG_ERR ||
	    sig == __SIGRTMIN || sig == __SIGRTMIN + 1 || shim_in_vfork)
		return real.signal(sig, handler);
	sigemptyset(&a.sa_mask);
	sigaddset(&a.sa_mask, sig);
	if (!((atomic_load(&sigintr_set) >> (sig - 1)) & 1))
		a.sa_flags = SA_RESTART;
	if (shim_sigaction(sig, &a, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

int shim_siginterrupt(int sig, int on)
{
	int ret = real.siginterrupt(sig, on);

	if (ret == 0 && sig > 0 && sig < SIG_SLOTS) {
		if (on)
			atomic_fetch_or(&sigintr_set, 1ULL << (sig - 1));
		else
			atomic_fetch_and(&sigintr_set, ~(1ULL << (sig - 1)));
	}
	return ret;
}
