/* SPDX-License-Identifier: MIT */
/*
 * Counters: per-thread slots (shim/shim.h), no locks. At exit each process writes
 * SHIM_STATS.<pid>, one JSON key per line so shell tools can sum them.
 * The counters' names are defined here and only here (stat_groups[]): the
 * file and the live page (shim/live.h) carry them, and shim-stat reads them.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring/ring.h"
#include "shim/live.h"
#include "shim/shim.h"

/*
 * Page-aligned and a whole number of pages, so that publishing can map the
 * live file over it in place: a thread's pointer to its slot never changes.
 */
static struct stat_slot slots_static[STAT_SLOTS] SHIM_LARGE
	__attribute__((aligned(4096)));
_Static_assert(sizeof(slots_static) % 4096 == 0, "slots: whole pages");
__thread struct shim_stats *shim_mine;
static __thread unsigned my_idx;

/* A thread's registration: none yet, under way, or over for good. */
enum { ST_NONE, ST_BUSY, ST_DONE };
static __thread uint8_t stat_state;
__thread bool shim_own_thread;
/*
 * The application's threads that hold a slot and have not ended. When the
 * last one ends by pthread_exit (or by returning), glibc ends the process
 * with exit(0) once no other thread is left: a thread of the shim's own
 * must be gone by then (HOOK_LAST_THREAD), or the process lives on.
 */
static _Atomic unsigned stat_app_threads;
static __thread bool stat_app_counted;
/* Slots [0, stat_hwm) were ever claimed: the rest are zero. */
static _Atomic unsigned stat_hwm = 1;

enum { KEY_NONE, KEY_MAKING, KEY_READY, KEY_FAILED };
static _Atomic int key_state;
static pthread_key_t stat_key;

struct shim_stats *stat_shared(void)
{
	return &slots_static[0].st;
}

/* At thread exit: the slot, counts and all, goes to the next thread. */
static void stat_thread_exit(void *arg)
{
	unsigned idx = my_idx;

	(void)arg;
	shim_mine = NULL;	/* from here on: slot 0, atomically */
	my_idx = 0;
	stat_state = ST_DONE;
	if (idx)
		atomic_store_explicit(&slots_static[idx].used, 0,
				      memory_order_release);
	if (stat_app_counted) {
		stat_app_counted = false;
		if (atomic_fetch_sub(&stat_app_threads, 1) == 1)
			shim_hooks_run(HOOK_LAST_THREAD);
	}
}

/* The key whose destructor frees the slot; false: none (the slot leaks). */
static bool stat_key_ready(void)
{
	int expected = KEY_NONE;

	if (atomic_compare_exchange_strong(&key_state, &expected, KEY_MAKING))
		atomic_store(&key_state,
			     pthread_key_create(&stat_key, stat_thread_exit) ?
			     KEY_FAILED : KEY_READY);
	/* Another thread is making it: that takes a moment, once. */
	while ((expected = atomic_load(&key_state)) == KEY_MAKING)
		syscall(SYS_sched_yield);
	return expected == KEY_READY;
}

static unsigned stat_claim(void)
{
	unsigned i, hwm;

	for (i = 1; i < STAT_SLOTS; i++) {
		uint32_t free_slot = 0;

		if (atomic_load_explicit(&slots_static[i].used,
					 memory_order_relaxed) ||
		    !atomic_compare_exchange_strong_explicit(&slots_static[i].used,
				&free_slot, 1, memory_order_acquire,
				memory_order_relaxed))
			continue;
		hwm = atomic_load(&stat_hwm);
		while (hwm <= i &&
		       !atomic_compare_exchange_weak(&stat_hwm, &hwm, i + 1))
			;
		return i;
	}
	return 0;
}

/*
 * A thread's first count: claim a slot, once. No malloc: the slots are
 * static, and pthread_setspecific on a low key stores into the thread
 * descriptor. A signal handler that interrupts this finds ST_BUSY and
 * counts in slot 0; a thread that finds no free slot stays there.
 */
struct shim_stats *stat_self_slow(void)
{
	unsigned idx;

	if (stat_state != ST_NONE)
		return stat_shared();
	stat_state = ST_BUSY;
	idx = stat_claim();
	if (idx && stat_key_ready() &&
	    pthread_setspecific(stat_key, (void *)1) == 0 &&
	    !shim_own_thread) {
		stat_app_counted = true;
		atomic_fetch_add(&stat_app_threads, 1);
	}
	my_idx = idx;
	shim_mine = idx ? &slots_static[idx].st : NULL;
	stat_state = idx ? ST_NONE : ST_DONE;
	return &slots_static[idx].st;
}

/* Every slot added up; racy reads of other threads' counters are fine. */
void stat_sum(struct shim_stats *out)
{
	unsigned i, j, hwm = atomic_load(&stat_hwm);
	uint64_t *o = (uint64_t *)out;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < hwm && i < STAT_SLOTS; i++) {
		const uint64_t *c = (const uint64_t *)&slots_static[i].st;

		for (j = 0; j < sizeof(*out) / sizeof(uint64_t); j++)
			o[j] += __atomic_load_n(&c[j], __ATOMIC_RELAXED);
	}
}

size_t stat_slots_size(void)
{
	return sizeof(slots_static);
}

/*
 * The slots into FD at OFF (the live file), and the file mapped over them
 * where they are. Counts a thread adds between the copy and the mapping
 * are lost: this runs at initialisation (or in a fork child), before the
 * process has other threads, as a rule.
 */
int stat_share(int fd, long off)
{
	/* Only the slots ever claimed: the rest stays a hole, no memory. */
	long n = (long)(atomic_load(&stat_hwm) * sizeof(slots_static[0])), p;

	if (syscall(SYS_pwrite64, fd, slots_static, n, off) != n)
		return -1;
	p = syscall(SYS_mmap, slots_static, sizeof(slots_static),
		    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, off);
	return p == (long)slots_static ? 0 : -1;
}

/*
 * A fork child: one thread, this one, and slots maybe shared with the
 * parent's live file. Fresh private zero pages, only this thread's slot
 * claimed.
 */
void shim_stats_fork_child(void)
{
	long p = syscall(SYS_mmap, slots_static, sizeof(slots_static),
			 PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	if (p != (long)slots_static)
		memset(slots_static, 0, sizeof(slots_static));
	if (my_idx)
		atomic_store(&slots_static[my_idx].used, 1);
	atomic_store(&stat_hwm, my_idx + 1);
	atomic_store(&stat_app_threads, stat_app_counted ? 1 : 0);
}

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
	[W_CHEAPER] = "cheaper",
};

/*
 * The name of each uint64 of struct shim_stats, in its order: a group of
 * counters is PRE.NAME (per call family or reason, PRE unset: NAME.POST)
 * or one counter, PRE or PRE.POST. What shim-stat shows, it reads from here.
 */
struct stat_group {
	unsigned word, n;
	const char *const *names;	/* n names; NULL: one counter */
	const char *pre, *post;
	bool always;			/* in the file even when 0 */
};
#define WORD(field) (offsetof(struct shim_stats, field) / sizeof(uint64_t))
static const struct stat_group stat_groups[] = {
	{ WORD(rings), 1, NULL, "rings", NULL, true },
	{ WORD(enter), 1, NULL, "enter", NULL, true },
	{ WORD(ring), C__NR, shim_call_names, NULL, "ring", false },
	{ WORD(real), C__NR, shim_call_names, NULL, "real", false },
	{ WORD(bytes), C__NR, shim_call_names, NULL, "bytes", false },
	{ WORD(batch), C__NR, shim_call_names, NULL, "batch", false },
	{ WORD(batch_flushes), 1, NULL, "batch", "flushes", false },
	{ WORD(batch_flush_bytes), 1, NULL, "batch", "flush_bytes", false },
	{ WORD(batch_reads_kept), 1, NULL, "batch", "reads_kept", false },
	{ WORD(batch_chains), 1, NULL, "batch", "chains", false },
	{ WORD(batch_chain_ops), 1, NULL, "batch", "chain_ops", false },
	{ WORD(batch_chain_cut), 1, NULL, "batch", "chain_cut", false },
	{ WORD(why), W__NR, shim_why_names, "fallback", NULL, false },
	/* Of fallback.wouldblock: those that never tried the ring. */
	{ WORD(predicted), 1, NULL, "fallback.wouldblock", "predicted", false },
	{ WORD(rings_freed), 1, NULL, "rings_freed", NULL, false },
	{ WORD(files_registered), 1, NULL, "files", "registered", false },
	{ WORD(files_fixed_ops), 1, NULL, "files", "fixed_ops", false },
};
#define GROUP_N (sizeof(stat_groups) / sizeof(stat_groups[0]))
/* Every word named: the groups tile the struct, with no gap. */
#define FOLLOWS(a, b) _Static_assert(offsetof(struct shim_stats, a) + \
	sizeof(((struct shim_stats *)0)->a) == offsetof(struct shim_stats, b), \
	#b " follows " #a " (a counter without a name?)")
FOLLOWS(ring, real);
FOLLOWS(real, bytes);
FOLLOWS(bytes, why);
FOLLOWS(why, enter);
FOLLOWS(enter, rings);
FOLLOWS(rings, rings_freed);
FOLLOWS(rings_freed, batch);
FOLLOWS(batch, batch_flushes);
FOLLOWS(batch_flushes, batch_flush_bytes);
FOLLOWS(batch_flush_bytes, batch_reads_kept);
FOLLOWS(batch_reads_kept, batch_chains);
FOLLOWS(batch_chains, batch_chain_ops);
FOLLOWS(batch_chain_ops, batch_chain_cut);
FOLLOWS(batch_chain_cut, predicted);
FOLLOWS(predicted, files_registered);
FOLLOWS(files_registered, files_fixed_ops);
_Static_assert(offsetof(struct shim_stats, files_fixed_ops) +
	       sizeof(uint64_t) == sizeof(struct shim_stats),
	       "files_fixed_ops is the last counter");

static int group_name(const struct stat_group *g, unsigned i, char *buf,
		      size_t len)
{
	if (!g->names)
		return snprintf(buf, len, "%s%s%s", g->pre, g->post ? "." : "",
				g->post ? g->post : "");
	if (g->pre)
		return snprintf(buf, len, "%s.%s", g->pre, g->names[i]);
	return snprintf(buf, len, "%s.%s", g->names[i], g->post);
}

static const struct stat_group *group_of(unsigned word, unsigned *i)
{
	unsigned g;

	for (g = 0; g < GROUP_N; g++)
		if (word >= stat_groups[g].word &&
		    word < stat_groups[g].word + stat_groups[g].n) {
			*i = word - stat_groups[g].word;
			return &stat_groups[g];
		}
	return NULL;
}

/*
 * The names of all counters, in struct shim_stats order, separated by
 * spaces: for the live page and the file's "names" key. The length, or -1
 * if LEN is too small.
 */
int stat_names(char *buf, size_t len)
{
	unsigned w, i;
	size_t off = 0;

	for (w = 0; w < sizeof(struct shim_stats) / sizeof(uint64_t); w++) {
		const struct stat_group *g = group_of(w, &i);
		int n;

		if (!g)
			return -1;
		n = group_name(g, i, buf + off, len - off);
		if (n < 0 || (size_t)n + 2 > len - off)
			return -1;
		off += (size_t)n;
		buf[off++] = ' ';
	}
	if (off)
		off--;
	buf[off] = 0;
	return (int)off;
}

const char *shim_mode_name(int mode)
{
	return mode == MODE_RING ? "ring" :
	       mode == MODE_PASSTHROUGH ? "passthrough" :
	       mode == MODE_DISABLED ? "disabled" : "idle";
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

/* The file last written, for shim_stats_unwrite(). */
static char path[SHIM_STATS_PATH_MAX + 48] SHIM_LARGE;

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
void shim_stats_sandbox_fork_child(void)
{
	if (sandbox_fd >= 0)
		ring_unhide_fd(sandbox_fd);
	if (sandbox_fd != -1)
		sandbox_fd = -2;
}

void shim_stats_write(void)
{
	static struct out o SHIM_LARGE;
	static struct shim_stats sum SHIM_LARGE;
	static char names[2048] SHIM_LARGE;
	const uint64_t *word = (const uint64_t *)&sum;
	char name[64];
	unsigned g, i;
	int fd;
	size_t off;

	if (!shim_cfg.stats_path[0] || sandbox_fd == -2)
		return;
	stat_sum(&sum);
	o.len = 0;
	put(&o, "{\n\"pid\": %ld,\n\"exe\": \"%s\",\n\"mode\": \"%s\",\n"
	    "\"why\": \"%s\"",
	    sandbox_fd >= 0 ? sandbox_pid : (long)syscall(SYS_getpid), shim_exe,
	    shim_mode_name(shim_mode), shim_mode_why);
	for (g = 0; g < GROUP_N; g++) {
		const struct stat_group *grp = &stat_groups[g];

		for (i = 0; i < grp->n; i++) {
			uint64_t v = word[grp->word + i];

			if (!v && !grp->always)
				continue;
			group_name(grp, i, name, sizeof(name));
			put(&o, ",\n\"%s\": %llu", name, (unsigned long long)v);
		}
	}
	/* Every counter's name, those at 0 too: what readers list. */
	if (stat_names(names, sizeof(names)) > 0)
		put(&o, ",\n\"names\": \"%s\"", names);
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
