/* SPDX-License-Identifier: MIT */
/*
 * Start-up and the process-wide mode. The constructor resolves the real
 * functions and reads the environment; rings are created lazily, per thread,
 * at the first call that is routed, so a program that never does routed I/O
 * pays for no ring at all.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/real.h"
#include "shim/shim.h"

_Atomic int shim_mode = MODE_UNKNOWN;
/* Idle: no routed call yet, or the judge sent each one to libc. */
const char *shim_mode_why = "no ring used yet";
char shim_exe[64] = "?";

/* 0: not started, 1: running (on some thread), 2: done */
static _Atomic int init_state;

static void exe_name(void)
{
	extern char *program_invocation_short_name;
	const char *s = program_invocation_short_name;
	size_t i;

	if (!s || !*s)
		return;
	/* Only printable, JSON-safe characters go into the statistics. */
	for (i = 0; s[i] && i < sizeof(shim_exe) - 1; i++)
		shim_exe[i] = (s[i] == '"' || s[i] == '\\' ||
			       (unsigned char)s[i] < 0x20) ? '_' : s[i];
	shim_exe[i] = '\0';
}

/*
 * SHIM_ONLY/SHIM_SKIP match the name the program was started as, or the
 * executable's own name (a script's interpreter, a symlinked tool).
 */
static bool name_matches(const char *list)
{
	const char *exe;

	if (shim_name_in_list(list, shim_exe))
		return true;
	exe = shim_exe_base();
	return *exe && shim_name_in_list(list, exe);
}

void shim_init(void)
{
	int expected = 0;

	if (!atomic_compare_exchange_strong(&init_state, &expected, 1))
		return;	/* done, or under way here or on another thread */
	shim_real_resolve();
	exe_name();	/* first: the rules file is matched on it */
	shim_config_load();
	shim_fork_init();
	if (shim_cfg.disable) {
		shim_mode = MODE_DISABLED;
		shim_mode_why = "SHIM_DISABLE";
	} else if (shim_cfg.only && !name_matches(shim_cfg.only)) {
		shim_mode = MODE_DISABLED;
		shim_mode_why = "not in SHIM_ONLY";
	} else if (shim_cfg.skip && name_matches(shim_cfg.skip)) {
		shim_mode = MODE_DISABLED;
		shim_mode_why = "in SHIM_SKIP";
	}
	route_init();	/* and the batch profile, unless disabled */
	/* The thread that starts the process is the application's first. */
	(void)stat_self();
	atomic_store(&shim_unsettled, true);	/* shim_settle() decides */
	atomic_store(&init_state, 2);
	if (shim_mode != MODE_DISABLED)
		shim_config_banner();
	/* SHIM_CHECK=1 (shim-run --check): the report is all the process does. */
	if (getenv("SHIM_CHECK")) {
		shim_check_report();
		syscall(SYS_exit_group, 0);
	}
	shim_debug("loaded into %s%s", shim_exe,
		   shim_cfg.disable ? " (disabled)" : "");
}

/*
 * What only a process that lives needs: whether a seccomp filter would
 * kill io_uring, asked before its first ring, and its live-statistics
 * file. Both want the process to have one thread. Asked at a first routed
 * call, every other thread's calls went to libc until the asking one,
 * maybe preempted, had the answer (threads_scale lost half its ring
 * calls); and mapping the live file over the counter slots loses what
 * other threads count meanwhile. Doing both at start-up cost every process
 * 60 us, a shell's fork child that only execs included. So they wait for
 * the first of: a call routed to a ring, pthread_create (before the new
 * thread runs), a wait (poll, select, epoll, a sleep), a staged write, or
 * a thread's count of one call in libc reaching a multiple of
 * SHIM_SETTLE_CALLS. A process that exits or execs sooner pays for neither.
 */
_Atomic bool shim_unsettled;

void shim_settle(void)
{
	/* A vfork child shares its parent's memory: the exec'd image settles. */
	if (shim_in_vfork)
		return;
	if (!atomic_exchange(&shim_unsettled, false))
		return;	/* done, or under way on this thread or another */
	if (shim_mode == MODE_DISABLED)
		return;
	(void)shim_seccomp_why();
	shim_hooks_run(HOOK_SETTLE);
	shim_live_publish();
}

bool shim_ready(void)
{
	if (likely(atomic_load_explicit(&init_state, memory_order_acquire) == 2))
		return true;
	shim_init();
	return atomic_load(&init_state) == 2;
}

void shim_set_passthrough(const char *why)
{
	int old = atomic_exchange(&shim_mode, MODE_PASSTHROUGH);

	if (old != MODE_PASSTHROUGH) {
		/* No more fast paths: every call counts as pass-through. */
		memset(route_libc_mask, 0, sizeof(route_libc_mask));
		memset(route_judged_mask, 0, sizeof(route_judged_mask));
		route_judged_sock_mask = 0;
		shim_mode_why = why;
		shim_live_update_mode();
		shim_info("%s -> pass-through: every call goes to libc", why);
	}
}

/* True: this call made the process's mode "ring" (the caller tells how). */
bool shim_set_ring_mode(void)
{
	int expected = MODE_UNKNOWN;

	if (!atomic_compare_exchange_strong(&shim_mode, &expected, MODE_RING))
		return false;
	shim_mode_why = "ok";
	shim_live_update_mode();
	return true;
}

/* Loud, and final: SHIM_STRICT runs must prove that the rings were used. */
void shim_strict_fail(enum shim_call call, enum shim_why why)
{
	shim_cfg.log_level = shim_cfg.log_level > LOG_ERROR ? shim_cfg.log_level
							    : LOG_ERROR;
	shim_err("SHIM_STRICT: %s went to libc (%s%s%s); exiting with status %d",
		 shim_call_names[call], shim_why_names[why],
		 why == W_PASSTHROUGH ? ": " : "",
		 why == W_PASSTHROUGH ? shim_mode_why : "", SHIM_STRICT_STATUS);
	shim_stats_write();
	syscall(SYS_exit_group, SHIM_STRICT_STATUS);
}

__attribute__((constructor)) static void shim_ctor(void)
{
	shim_init();
}

/*
 * The end of the process, however it comes: exit() runs the destructor,
 * _exit() (dash, a fork child giving up) comes through intercept/proc.c.
 * A process killed by a signal gets neither; shim-stat prunes its file.
 */
void shim_process_end(void)
{
	static atomic_flag done = ATOMIC_FLAG_INIT;

	shim_hooks_run(HOOK_EXIT);
	if (atomic_flag_test_and_set(&done))
		return;
	shim_stats_write();
	shim_live_remove();
}

__attribute__((destructor)) static void shim_dtor(void)
{
	shim_process_end();
}
