/* SPDX-License-Identifier: MIT */
/*
 * seccomp. A filter whose default action kills (OpenSSH's pre-auth child,
 * any program that sandboxes itself) turns the shim's next io_uring_enter
 * into the death of the process, where an EPERM answer would only have
 * sent the call to libc. So:
 *  - prctl(PR_SET_SECCOMP) is interposed: before the filter goes in, the
 *    staged writes go out, every ring is parked (no syscall on it, ever
 *    again), the statistics file is opened, and the process is pass-through
 *    for the rest of its life, its fork children too. glibc has no
 *    seccomp() wrapper; syscall(SYS_seccomp) (libseccomp's seccomp_load)
 *    cannot be seen here, see libshim(7).
 *  - a process that starts under a filter (an exec'd child of one) finds
 *    out at start-up, before any ring exists, whether the
 *    io_uring syscalls would kill it, by making them in a short-lived child.
 */
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ring/ring.h"
#include "batch/batch.h"
#include "shim/real.h"
#include "shim/shim.h"

/* Smallest file-size limit the shim still writes its own files under. */
#define SHIM_OWN_FILE_MIN ((rlim_t)1 << 20)

_Atomic int shim_seccomp_state = SC_UNCHECKED;

/* The Seccomp: field of /proc/self/status: 0, 1 (strict), 2 (filter). */
static int seccomp_mode(void)
{
	static const char key[] = "\nSeccomp:\t";
	char buf[4096];
	size_t len = 0;
	long n;
	int fd;
	char *p;

	fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/status",
			  O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (len < sizeof(buf) - 1 &&
	       (n = syscall(SYS_read, fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	syscall(SYS_close, fd);
	buf[len] = '\0';
	p = strstr(buf, key);
	if (!p || p[sizeof(key) - 1] < '0' || p[sizeof(key) - 1] > '2')
		return -1;
	return p[sizeof(key) - 1] - '0';
}

/*
 * The probe child shares the parent's memory (CLONE_VM) and runs while the
 * parent waits (CLONE_VFORK): only raw syscalls, its own stack. SIGSYS is
 * set to its default action first, in the child's own copy of the
 * handlers: a SECCOMP_RET_TRAP must end the child, not run the
 * application's handler on the application's memory.
 */
static int probe_child(void *arg)
{
	struct { void *h; unsigned long flags; void *restorer; uint64_t mask; }
		dfl = { SIG_DFL, 0, NULL, 0 };
	struct io_uring_params p;
	long fd;

	(void)arg;
	syscall(SYS_rt_sigaction, SIGSYS, &dfl, NULL, sizeof(dfl.mask));
	memset(&p, 0, sizeof(p));
	fd = syscall(SYS_io_uring_setup, 2, &p);
	if (fd < 0)
		return 1;	/* refused with an errno: the usual fallback */
	/* Arguments that are answered, not run: only the filter matters. */
	syscall(SYS_io_uring_enter, fd, 0, 0, 0, NULL, 0);
	syscall(SYS_io_uring_register, fd, IORING_REGISTER_PROBE, NULL, 0);
	return 0;
}

/* Would the io_uring syscalls kill this process? */
static bool probe_kills(const char **why)
{
	char stack[16384] __attribute__((aligned(16)));
	int status = 0, saved = errno;
	long pid, r;

	/* Exit signal 0: no SIGCHLD for the application, and wait(-1)
	 * without __WALL never reaps it. */
	pid = clone(probe_child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK,
		    NULL);
	if (pid < 0) {
		errno = saved;
		*why = "seccomp filter: the io_uring probe could not start";
		return true;
	}
	do
		r = syscall(SYS_wait4, pid, &status, __WALL, NULL);
	while (r < 0 && errno == EINTR);
	errno = saved;
	if (r == pid && WIFEXITED(status))
		return false;
	*why = "seccomp filter would kill io_uring";
	return true;
}

/*
 * Pass-through for good. Before a filter (in_force false) the shim may
 * still do what it likes: publish, flush, open the statistics file, remove
 * the live file. Under one it makes no syscall the application did not
 * ask for beyond those the loader made to load it (openat, read, close,
 * write): the statistics file is opened at exit as usual.
 */
static void ban(const char *why, bool in_force)
{
	struct rlimit rl;
	bool files = true;

	atomic_store(&shim_seccomp_state, SC_BANNED);
	/*
	 * Sandboxes lower RLIMIT_FSIZE too (OpenSSH: to 0): a log line or
	 * the statistics written to a regular file would then raise SIGXFSZ
	 * and kill the process. Such a process gets neither.
	 */
	if (!in_force && syscall(SYS_getrlimit, RLIMIT_FSIZE, &rl) == 0 &&
	    rl.rlim_cur < SHIM_OWN_FILE_MIN) {
		files = false;
		shim_cfg.log_level = LOG_OFF;
	}
	if (in_force)
		shim_live_forget(false);
	batch_close();
	if (shim_mode != MODE_DISABLED)
		shim_set_passthrough(why);
	ring_ban();
	if (!in_force) {
		shim_stats_preopen(files);
		shim_live_forget(true);
	}
}

/*
 * First routed (or staged) call of the process: W__NR when rings may be
 * used, else the reason this call goes to libc. Only a process already
 * under a filter pays for the probe; the rest read /proc/self/status once.
 */
enum shim_why shim_seccomp_check(void)
{
	int expected = SC_UNCHECKED, mode;
	const char *why = NULL;

	if (!atomic_compare_exchange_strong(&shim_seccomp_state, &expected,
					    SC_CHECKING))
		/* Another thread, or a handler that interrupted this one,
		 * is checking: this call must not risk a ring. */
		return expected == SC_OK ? W__NR :
		       expected == SC_BANNED ? W_SECCOMP : W_EARLY;
	mode = seccomp_mode();
	if (mode == 1)
		why = "seccomp strict mode";
	else if (mode == 2 && !probe_kills(&why))
		why = NULL;
	if (why) {
		ban(why, true);
		return W_SECCOMP;
	}
	atomic_store(&shim_seccomp_state, SC_OK);
	return W__NR;
}

/* Before a filter or strict mode goes in: after it, io_uring may kill. */
void shim_seccomp_prepare(void)
{
	int old;

	if (shim_in_vfork)
		return;	/* the parent's memory; the exec'd image checks */
	shim_ready();
	old = atomic_exchange(&shim_seccomp_state, SC_BANNED);
	if (old == SC_BANNED)
		return;
	ban("seccomp filter installed", false);
}

/*
 * Only PR_SET_SECCOMP matters; every option reaches the real prctl with
 * the four arguments glibc's own prctl always passes on.
 */
SHIM_EXPORT int prctl(int option, ...)
{
	unsigned long a2, a3, a4, a5;
	va_list ap;

	va_start(ap, option);
	a2 = va_arg(ap, unsigned long);
	a3 = va_arg(ap, unsigned long);
	a4 = va_arg(ap, unsigned long);
	a5 = va_arg(ap, unsigned long);
	va_end(ap);
	if (option == PR_SET_SECCOMP &&
	    (a2 == SECCOMP_MODE_FILTER || a2 == SECCOMP_MODE_STRICT)) {
		int saved = errno;

		shim_seccomp_prepare();
		errno = saved;
	}
	return real.prctl(option, a2, a3, a4, a5);
}
