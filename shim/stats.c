/* SPDX-License-Identifier: MIT */
/*
 * Counters: relaxed atomics, no locks. At exit each process writes
 * SHIM_STATS.<pid>, one JSON key per line so shell tools can sum them.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring/ring.h"
#include "shim/shim.h"

static struct shim_stats stats_early;
struct shim_stats *_Atomic shim_st = &stats_early;

const char *const shim_call_names[C__NR] = {
	[C_READ] = "read", [C_PREAD] = "pread", [C_READV] = "readv",
	[C_PREADV] = "preadv", [C_WRITE] = "write", [C_PWRITE] = "pwrite",
	[C_WRITEV] = "writev", [C_PWRITEV] = "pwritev",
	[C_ACCEPT] = "accept", [C_CONNECT] = "connect",
	[C_SEND] = "send", [C_SENDTO] = "sendto", [C_SENDMSG] = "sendmsg",
	[C_RECV] = "recv", [C_RECVFROM] = "recvfrom", [C_RECVMSG] = "recvmsg",
};

const char *const shim_why_names[W__NR] = {
	[W_PASSTHROUGH] = "passthrough", [W_DISABLED] = "disabled",
	[W_EARLY] = "early", [W_REENTRY] = "reentry", [W_FDTYPE] = "fd-type",
	[W_WOULDBLOCK] = "wouldblock", [W_UNSUPPORTED] = "unsupported",
	[W_FLAGS] = "flags", [W_ARGS] = "args", [W_RINGERR] = "ring-error",
	[W_VFORK] = "vfork",
	[W_SIGNAL] = "signal",
	[W_SQOFF] = "sq-off",
	[W_SECCOMP] = "seccomp",
};

void shim_stats_reset(void)
{
	memset(shim_st, 0, sizeof(*shim_st));
}

static uint64_t ld(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

struct out {
	char buf[8192];
	size_t len;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len >= sizeof(o->buf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
	/* Truncated output stays within the buffer (put() then stops). */
	if (o->len >= sizeof(o->buf))
		o->len = sizeof(o->buf) - 1;
}

static void put_num(struct out *o, const char *key, const char *sub,
		    uint64_t v)
{
	if (v)
		put(o, ",\n\"%s%s%s\": %llu", key, sub ? "." : "", sub ? sub : "",
		    (unsigned long long)v);
}

/* The file last written, for shim_stats_unwrite(). */
static char path[sizeof(shim_cfg.stats_path) + 48];

/* Open PATH.<pid>, or PATH.<pid>-<n> if an exec'd image already wrote it. */
static int open_stats_file(void)
{
	long pid = syscall(SYS_getpid);
	int i, fd;

	for (i = 0; i < 100; i++) {
		if (i)
			snprintf(path, sizeof(path), "%s.%ld-%d",
				 shim_cfg.stats_path, pid, i);
		else
			snprintf(path, sizeof(path), "%s.%ld",
				 shim_cfg.stats_path, pid);
		fd = syscall(SYS_openat, AT_FDCWD, path,
			     O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/*
 * Under a seccomp filter: the file opened before the filter went in (-1:
 * none, -2: a fork child of such a process, which cannot open its own).
 */
static int sandbox_fd = -1;
static long sandbox_pid;

/*
 * A seccomp filter goes in: open the file now, write it at the end; or,
 * when the process may not write files (!may_write), never.
 */
void shim_stats_preopen(bool may_write)
{
	int fd;

	if (!shim_cfg.stats_path[0] || sandbox_fd != -1)
		return;
	if (!may_write) {
		sandbox_fd = -2;
		return;
	}
	sandbox_pid = syscall(SYS_getpid);
	fd = open_stats_file();
	if (fd >= 0)
		fd = ring_hide_fd(fd);
	sandbox_fd = fd < 0 ? -2 : fd;
}

/* fork under a filter: the parent's file is not the child's to write. */
void shim_stats_fork_child(void)
{
	if (sandbox_fd >= 0)
		ring_unhide_fd(sandbox_fd);
	if (sandbox_fd != -1)
		sandbox_fd = -2;
}

void shim_stats_write(void)
{
	static struct out o;
	int c, w, fd;
	size_t off;

	if (!shim_cfg.stats_path[0] || sandbox_fd == -2)
		return;
	o.len = 0;
	put(&o, "{\n\"pid\": %ld,\n\"exe\": \"%s\",\n\"mode\": \"%s\",\n"
	    "\"why\": \"%s\",\n\"rings\": %llu,\n\"enter\": %llu",
	    sandbox_fd >= 0 ? sandbox_pid : (long)syscall(SYS_getpid), shim_exe,
	    shim_mode == MODE_RING ? "ring" :
	    shim_mode == MODE_PASSTHROUGH ? "passthrough" :
	    shim_mode == MODE_DISABLED ? "disabled" : "idle",
	    shim_mode_why, (unsigned long long)ld(&shim_st->rings),
	    (unsigned long long)ld(&shim_st->enter));
	for (c = 0; c < C__NR; c++) {
		put_num(&o, shim_call_names[c], "ring", ld(&shim_st->ring[c]));
		put_num(&o, shim_call_names[c], "real", ld(&shim_st->real[c]));
		put_num(&o, shim_call_names[c], "bytes", ld(&shim_st->bytes[c]));
	}
	for (c = 0; c < C__NR; c++)
		put_num(&o, shim_call_names[c], "batch", ld(&shim_st->batch[c]));
	put_num(&o, "batch", "flushes", ld(&shim_st->batch_flushes));
	put_num(&o, "batch", "flush_bytes", ld(&shim_st->batch_flush_bytes));
	for (w = 0; w < W__NR; w++)
		put_num(&o, "fallback", shim_why_names[w], ld(&shim_st->why[w]));
	put(&o, "\n}\n");

	fd = sandbox_fd >= 0 ? sandbox_fd : open_stats_file();
	if (sandbox_fd >= 0) {
		ring_unhide_fd(fd);
		sandbox_fd = -2;	/* written once, as with the path */
	}
	if (fd < 0) {
		shim_warn("SHIM_STATS: cannot write %s.*: %s",
			  shim_cfg.stats_path, shim_errname(errno));
		return;
	}
	for (off = 0; off < o.len;) {
		long n = syscall(SYS_write, fd, o.buf + off, o.len - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	syscall(SYS_close, fd);
}

/* An exec that failed: its image goes on, and writes everything at its end. */
void shim_stats_unwrite(void)
{
	if (shim_cfg.stats_path[0] && path[0])
		syscall(SYS_unlinkat, AT_FDCWD, path, 0);
	path[0] = 0;
}
