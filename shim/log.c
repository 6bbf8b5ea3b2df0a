/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr with a raw write: the shim must not re-enter its own
 * write(), nor take stdio's locks from inside an interposed call.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/shim.h"

void shim_log(int level, const char *fmt, ...)
{
	static const char *const tag[] = { "", "error", "warn", "info", "debug" };
	char buf[512];
	va_list ap;
	int n, m;

	if (level > shim_cfg.log_level)
		return;
	n = snprintf(buf, sizeof(buf), "libshim[%ld] %s: ",
		     (long)syscall(SYS_getpid), tag[level]);
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	n += m < 0 ? 0 : m;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	syscall(SYS_write, 2, buf, (size_t)n);
}

const char *shim_errname(int err)
{
	const char *s = strerrorname_np(err);

	return s ? s : "E?";
}
