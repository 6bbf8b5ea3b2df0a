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

/*
 * Not snprintf, for the paths every process takes (start-up, exit, a fork
 * child's): printf's code is pages a process that only starts and ends
 * would not touch otherwise, and a fork child faults on each.
 */
bool shim_cat(char *buf, size_t len, ...)
{
	const char *s;
	size_t n = 0, m;
	va_list ap;

	va_start(ap, len);
	while ((s = va_arg(ap, const char *))) {
		m = strlen(s);
		if (m >= len - n) {
			va_end(ap);
			buf[0] = '\0';
			return false;
		}
		memcpy(buf + n, s, m);
		n += m;
	}
	va_end(ap);
	buf[n] = '\0';
	return true;
}

const char *shim_utoa(char buf[SHIM_UTOA_LEN], unsigned long v)
{
	size_t i = SHIM_UTOA_LEN - 1;

	buf[i] = '\0';
	do
		buf[--i] = (char)('0' + v % 10);
	while (v /= 10);
	return &buf[i];
}
