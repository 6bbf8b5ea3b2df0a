/* SPDX-License-Identifier: MIT */
/*
 * The spine of libshim: configuration, statistics, logging, the fd table
 * and the process-wide mode. Everything here is internal (hidden); only the
 * interposed libc entry points in intercept/ are exported, with SHIM_EXPORT.
 */
#ifndef SHIM_SHIM_H
#define SHIM_SHIM_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SHIM_EXPORT __attribute__((visibility("default")))
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * For zeroed data a process may never touch, big arrays above all: the fd
 * table, the counter slots, the rules and path buffers, what the
 * statistics file is written from. The Makefile links it behind every
 * small variable (--sort-section=name puts .bss.large after .bss), so the
 * few pages a start-up writes are not spread between them: each page a
 * process writes first costs it a page fault.
 */
#define SHIM_LARGE __attribute__((section(".bss.large")))

/* The kernel clamps every read/write to this; larger counts go to libc. */
#define SHIM_MAX_RW 0x7ffff000UL

/*
 * The syscall convention, the one place a result becomes one (musl's
 * __syscall_ret): a negative errno becomes -1 and errno; a result keeps
 * errno as the caller found it (SAVED_ERRNO), whatever the shim's own
 * work on the way did to it.
 */
static inline long sys_ret(long res, int saved_errno)
{
	if (res < 0) {
		errno = (int)-res;
		return -1;
	}
	errno = saved_errno;
	return res;
}

/* Exit status of a process that SHIM_STRICT stopped. */
#define SHIM_STRICT_STATUS 86

/* Call families, as counted and as named in the statistics. */
enum shim_call {
	C_READ, C_PREAD, C_READV, C_PREADV,
	C_WRITE, C_PWRITE, C_WRITEV, C_PWRITEV,
	C_ACCEPT, C_CONNECT,
	C_SEND, C_SENDTO, C_SENDMSG,
	C_RECV, C_RECVFROM, C_RECVMSG,
	C__NR
};

/* Why a call went to the real libc function. */
enum shim_why {
	W_PASSTHROUGH,	/* io_uring refused for the process */
	W_DISABLED,	/* SHIM_DISABLE or a process filter */
	W_EARLY,	/* before the shim was initialised */
	W_REENTRY,	/* signal handler interrupted the shim on this thread */
	W_FDTYPE,	/* fd type not routed (SHIM_ROUTE, tty, /proc, ...) */
	W_WOULDBLOCK,	/* the ring said EAGAIN: the kernel waits in libc */
	W_UNSUPPORTED,	/* op or flag missing in this kernel */
	W_FLAGS,	/* flags the shim does not translate */
	W_ARGS,		/* arguments libc must judge (size 0, huge, bad fd) */
	W_RINGERR,	/* the ring could not be created or entered */
	W_VFORK,	/* inside a vfork child: the parent's ring is off limits */
	W_SIGNAL,	/* a handler ran during an SQ-thread op: the call ends */
	W_SQOFF,	/* sqpoll: polling was not paying on this thread */
	W_SECCOMP,	/* a seccomp filter is (or may be) killing io_uring */
	W_CHEAPER,	/* libc does it exactly and for less (connect; batch's judge) */
	W__NR
};

/* Process mode, decided at the first routed call. */
enum shim_mode {
	MODE_UNKNOWN,	/* nothing probed yet */
	MODE_RING,
	MODE_PASSTHROUGH,
	MODE_DISABLED,
};

/* What kind of file an fd refers to, as far as routing is concerned. */
enum fd_class {
	FD_UNKNOWN = 0,
	FD_PIPE,	/* pipe or FIFO */
	FD_SOCKET,
	FD_FILE,	/* regular file; writes punt to io-wq on this fs */
	FD_FILE_NOWAIT,	/* regular file on a fs with async buffered writes */
	FD_OTHER,	/* tty, character device, /proc, eventfd, ... */
};

/* Route bits for SHIM_ROUTE. */
enum {
	ROUTE_SOCKET	 = 1 << 0,
	ROUTE_PIPE	 = 1 << 1,
	ROUTE_FILE_READ	 = 1 << 2,
	ROUTE_FILE_WRITE = 1 << 3,	/* every regular-file write */
	ROUTE_FILE_WRITE_NOWAIT = 1 << 4, /* only where writes stay inline */
	ROUTE_OTHER	 = 1 << 5,
};
#define ROUTE_DEFAULT (ROUTE_SOCKET | ROUTE_PIPE | ROUTE_FILE_READ | \
		       ROUTE_FILE_WRITE_NOWAIT)

enum shim_log_level { LOG_OFF, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

enum shim_profile { PROFILE_EXACT, PROFILE_SQPOLL, PROFILE_BATCH };

struct shim_config {
	bool disable;
	bool strict;
	int log_level;
	int profile;
	unsigned route;
	unsigned sq_idle_ms;	/* SHIM_SQ_IDLE_MS */
	int sq_cpu;		/* SHIM_SQ_CPU, -1: any */
	unsigned spin_us;	/* SHIM_SPIN_US */
	bool adapt;		/* SHIM_ADAPT: the ring only while it pays */
	unsigned batch_bytes;	/* SHIM_BATCH_BYTES: staging buffer size */
	unsigned batch_us;	/* SHIM_BATCH_US: longest a staged write waits */
	bool batch_chain;	/* SHIM_BATCH_FLUSH=ring (default): linked */
	unsigned fixed_after;	/* SHIM_FIXED_FILES: ring ops before an fd
				   gets a registered-file slot, 0: never */
	const char *only;	/* SHIM_ONLY: comma list of program names */
	const char *skip;	/* SHIM_SKIP */
	const char *stats_path;	/* SHIM_STATS, "": none */
};
#define SHIM_STATS_PATH_MAX 4000

extern struct shim_config shim_cfg;
extern _Atomic int shim_mode;

/* config.c */
void shim_config_load(void);
void shim_config_banner(void);
bool shim_name_in_list(const char *list, const char *name);
/* The executable's file name (/proc/self/exe's), "" if unknown. */
const char *shim_exe_base(void);

/* log.c */
void shim_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define shim_err(...)	 shim_log(LOG_ERROR, __VA_ARGS__)
#define shim_warn(...)	 shim_log(LOG_WARN, __VA_ARGS__)
#define shim_info(...)	 shim_log(LOG_INFO, __VA_ARGS__)
#define shim_debug(...)	 shim_log(LOG_DEBUG, __VA_ARGS__)
const char *shim_errname(int err);
/* buf = the strings up to a NULL; false (buf empty) if they do not fit. */
bool shim_cat(char *buf, size_t len, ...) __attribute__((sentinel));
#define SHIM_UTOA_LEN 21
/* v in decimal, somewhere in buf. */
const char *shim_utoa(char buf[SHIM_UTOA_LEN], unsigned long v);

/* stats.c */
struct shim_stats {
	uint64_t ring[C__NR];
	uint64_t real[C__NR];
	uint64_t bytes[C__NR];
	uint64_t why[W__NR];
	uint64_t enter;
	uint64_t rings;		/* created */
	uint64_t rings_freed;
	/* The batch profile: writes staged, and the writes that sent them. */
	uint64_t batch[C__NR];
	uint64_t batch_flushes;
	uint64_t batch_flush_bytes;
	/* Reads of a pipe served at once, what the thread staged left staged. */
	uint64_t batch_reads_kept;
	/* SHIM_BATCH_FLUSH=ring: linked submissions, and the writes in them. */
	uint64_t batch_chains;
	uint64_t batch_chain_ops;
	uint64_t batch_chain_cut;	/* of those, finished by write(2) */
	/* Would-block fallbacks that skipped the ring: the fd's prediction. */
	uint64_t predicted;
	/* Registered files: fds given a slot, and ring ops that named one. */
	uint64_t files_registered;
	uint64_t files_fixed_ops;
};

/*
 * Counters are per thread: a lock-prefixed add on a line every thread
 * writes costs more than the rest of a pass-through call. Each thread
 * claims a slot once (its first count) and then does plain increments on
 * lines no other thread writes. Slot 0 is shared, counted atomically: for
 * a thread that is registering (a signal handler in the middle), that has
 * run its exit destructor, or that found every slot taken. A slot keeps its
 * counts when its thread exits; the next thread to claim it adds to them,
 * so the sum over all slots is the process total. The slots live in static
 * storage, over which publishing maps the live-statistics file
 * (shim/live.c), where shim-stat sums them.
 */
#define STAT_SLOTS 256
struct stat_slot {
	struct shim_stats st;
	_Atomic uint32_t used;
} __attribute__((aligned(64)));

/*
 * What every pass-through reads besides its own slot, on the page that also
 * holds the records of the low fds (fdtable.c): after a syscall, each page
 * touched is worth a nanosecond or so of dTLB refill.
 */
struct shim_hot {
	/* Bit c of [dir]: fd class c is never routed that way (SHIM_ROUTE). */
	uint8_t libc_mask[2];
	/*
	 * Bit c of [dir]: read/write on fd class c would be routed that way,
	 * and of sock_mask: send/recv would be; a call the judge sends to
	 * libc goes there from the entry point (route_judged_fast()).
	 */
	uint8_t judged_mask[2];
	uint8_t judged_sock_mask;
	uint8_t judged_why;	/* how such a call counts: enum shim_why */
	ssize_t (*read)(int, void *, size_t);	/* = real.read */
	ssize_t (*write)(int, const void *, size_t);
} __attribute__((aligned(64)));
/* This thread's own slot; NULL: count in the shared slot 0, atomically. */
extern __thread struct shim_stats *shim_mine;
extern const char *const shim_call_names[C__NR];
extern const char *const shim_why_names[W__NR];

struct shim_stats *stat_self_slow(void);
/* A thread the shim made for itself: not one of the application's. */
extern __thread bool shim_own_thread;
struct shim_stats *stat_shared(void);

static inline struct shim_stats *stat_self(void)
{
	struct shim_stats *s = shim_mine;

	return likely(s) ? s : stat_self_slow();
}
/* This thread's counters (ring.c and batch.c write &shim_st->field). */
#define shim_st (stat_self())

static inline void stat_add(uint64_t *c, uint64_t n)
{
	if (likely(shim_mine))
		*c += n;	/* the slot is this thread's alone */
	else
		__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* This thread's own slot, or NULL (then count with stat_add). */
static inline struct shim_stats *stat_mine(void)
{
	return shim_mine;
}

static inline void stat_ring(enum shim_call call, long bytes)
{
	struct shim_stats *s = stat_mine();

	if (likely(s)) {
		s->ring[call]++;
		if (bytes > 0)
			s->bytes[call] += (uint64_t)bytes;
		return;
	}
	s = shim_st;
	stat_add(&s->ring[call], 1);
	if (bytes > 0)
		stat_add(&s->bytes[call], (uint64_t)bytes);
}

void shim_strict_fail(enum shim_call call, enum shim_why why);

/* Fallbacks that are not by design: SHIM_STRICT makes them fatal. */
#define W_UNPLANNED ((1u << W_PASSTHROUGH) | (1u << W_UNSUPPORTED) | \
		     (1u << W_RINGERR))

/*
 * init.c: the start-up work only a process that lives pays for (its live
 * file, the seccomp check) waits for shim_settle(); a thread's count of
 * one call in libc reaching a multiple of SHIM_SETTLE_CALLS is one of the
 * moments it runs (the count is at hand, a countdown of its own is not).
 */
#define SHIM_SETTLE_CALLS 1024
extern _Atomic bool shim_unsettled;
void shim_settle(void);

static inline void shim_settle_soon(void)
{
	if (unlikely(atomic_load_explicit(&shim_unsettled,
					  memory_order_relaxed)))
		shim_settle();
}

/* A thread's count of one call in libc at N: a moment to settle. */
static inline bool stat_settle_due(uint64_t n)
{
	return n % SHIM_SETTLE_CALLS == 0;
}

/* A call for libc, in the thread's own slot S: its counts, no more. */
static inline void stat_real_mine(struct shim_stats *s, enum shim_call call,
				  enum shim_why why)
{
	s->real[call]++;
	s->why[why]++;
}

static inline void stat_real(enum shim_call call, enum shim_why why)
{
	struct shim_stats *s = stat_mine();

	if (likely(s)) {
		stat_real_mine(s, call, why);
	} else {
		s = shim_st;
		stat_add(&s->real[call], 1);
		stat_add(&s->why[why], 1);
	}
	if (unlikely(shim_cfg.strict) && (W_UNPLANNED >> why) & 1)
		shim_strict_fail(call, why);
	if (unlikely(stat_settle_due(s->real[call])))
		shim_settle_soon();
}

/*
 * Would counting one more CALL in S be a moment to settle? route_pass()
 * asks, and leaves such a call to stat_real().
 */
static inline bool stat_settles(const struct shim_stats *s, enum shim_call call)
{
	return stat_settle_due(s->real[call] + 1);
}

void stat_sum(struct shim_stats *out);
size_t stat_slots_size(void);
int stat_share(int fd, long off);

void shim_stats_fork_child(void);
void shim_stats_write(void);
void shim_stats_unwrite(void);
void shim_stats_preopen(bool may_write);
void shim_stats_sandbox_fork_child(void);

/* live.c */
void shim_live_publish(void);
void shim_live_update_mode(void);
void shim_live_remove(void);
void shim_live_hide(void);
void shim_live_unhide(void);
void shim_live_fork_child(void);
void shim_live_forget(bool remove);

/* init.c */
extern char shim_exe[64];
extern const char *shim_mode_why;
void shim_init(void);
bool shim_ready(void);
void shim_set_passthrough(const char *why);
void shim_process_end(void);
bool shim_set_ring_mode(void);
void shim_check_report(void);

/* fdtable.c */
/*
 * One record per fd, looked up once per call: everything the shim knows
 * about an fd number, forgotten at once by fd_forget() (the rings' own
 * hidden fds are the ring's to know: ring_owns_fd()).
 *
 * The would-block prediction:
 * an fd whose ring attempts keep saying EAGAIN (each one then paid again
 * in libc) skips the ring for wb_skip calls, 2^(level-1) - 1 after the
 * level-th EAGAIN in a row (0, 1, 3, ... 63: one EAGAIN before data is the
 * common case and costs nothing), up to FD_WB_MAX_LEVEL; a ring success
 * resets it. Going
 * to libc is always exact, so a wrong guess costs only speed. The bytes
 * are shared by the threads using the fd: relaxed byte stores, no locked
 * op; a lost update only changes a guess.
 *
 * The batch profile's state of the fd (batch/): its staging buffer, how
 * long it stays unstaged and how many times in a row staging it did not
 * pay, what a read of it depends on, and the error a flush found, which
 * the next call on the fd reports.
 */
struct fd_rec {
	_Atomic uint8_t cls;		/* enum fd_class */
	_Atomic uint8_t wb_skip;	/* calls left that go straight to libc */
	_Atomic uint8_t wb_level;	/* EAGAINs in a row, capped */
	_Atomic int8_t batch_buf;	/* staging buffer index + 1, 0: none */
	_Atomic uint8_t batch_cool;	/* one-write buffers in a row */
	_Atomic uint8_t batch_rkind;	/* what a read depends on */
	_Atomic uint8_t batch_seen;	/* batch has looked at the fd */
	_Atomic uint16_t batch_skip;	/* writes left unstaged */
	_Atomic uint16_t batch_err;	/* errno | owed SIGPIPE */
	_Atomic uint32_t batch_ino;	/* a pipe's inode (low bits), 0: not asked */
	_Atomic uint8_t fixed;		/* registered-file slot + 1, 0: none */
	_Atomic uint8_t ring_ops;	/* ops the ring served, toward a slot */
};
/* The fds the shim keeps a record of (and the rings hide theirs below). */
#define FD_MAX 65536
#define FD_WB_MAX_LEVEL 7
struct shim_fdtab {
	struct shim_hot hot;
	struct fd_rec tab[FD_MAX];
};
extern struct shim_fdtab shim_fdtab;
#define fd_tab (shim_fdtab.tab)
#define shim_hot (shim_fdtab.hot)

/* fd's record, NULL beyond the table. */
static inline struct fd_rec *fd_rec(int fd)
{
	return (unsigned)fd < FD_MAX ? &fd_tab[fd] : NULL;
}

enum fd_class fd_class_slow(int fd, struct fd_rec *rec);

/* The class, and in *rec the record (NULL: an fd beyond the table). */
static inline enum fd_class fd_lookup(int fd, struct fd_rec **rec)
{
	struct fd_rec *r = fd_rec(fd);
	enum fd_class cls;

	*rec = r;
	if (likely(r)) {
		cls = atomic_load_explicit(&r->cls, memory_order_relaxed);
		if (likely(cls != FD_UNKNOWN))
			return cls;
	}
	return fd_class_slow(fd, r);
}

static inline enum fd_class fd_class_get(int fd)
{
	struct fd_rec *r;

	return fd_lookup(fd, &r);
}

/* True: skip the ring this time (the caller counts it and goes to libc). */
static inline bool fd_wb_predicted(struct fd_rec *r)
{
	uint8_t n;

	if (!r)
		return false;
	n = atomic_load_explicit(&r->wb_skip, memory_order_relaxed);
	if (likely(!n))
		return false;
	atomic_store_explicit(&r->wb_skip, n - 1, memory_order_relaxed);
	return true;
}

/* The ring said EAGAIN: skip it for longer next time. */
static inline void fd_wb_miss(struct fd_rec *r)
{
	uint8_t l;

	if (!r)
		return;
	l = atomic_load_explicit(&r->wb_level, memory_order_relaxed);
	if (l < FD_WB_MAX_LEVEL)
		atomic_store_explicit(&r->wb_level, ++l, memory_order_relaxed);
	atomic_store_explicit(&r->wb_skip, (uint8_t)((1u << (l - 1)) - 1),
			      memory_order_relaxed);
}

/* The ring served the call: no more skipping (no store if none was due). */
static inline void fd_wb_hit(struct fd_rec *r)
{
	if (r && unlikely(atomic_load_explicit(&r->wb_level,
					       memory_order_relaxed)))
		atomic_store_explicit(&r->wb_level, 0, memory_order_relaxed);
}

/* A new file behind fd (or none): nothing known about it carries over. */
void fd_forget(int fd);
void fd_forget_range(unsigned int lo, unsigned int hi);
/* A new fd of a known class, or a new verdict on one: fd_forget() + cls. */
void fd_set_class(int fd, enum fd_class cls);
bool fd_is_regular(int fd);
void fd_kernel_table_grow(int top);

/* sigwrap.c: handlers that ran on this thread, counted by the trampoline. */
struct shim_sigseen {
	unsigned ran;
	unsigned eintr;		/* of those, ones without SA_RESTART */
};
extern __thread struct shim_sigseen shim_sigseen;
struct sigaction;
int shim_sigaction(int sig, const struct sigaction *act,
		   struct sigaction *old);
void (*shim_signal(int sig, void (*handler)(int)))(int);
int shim_siginterrupt(int sig, int on);
/* seccomp.c: 0 unchecked, 1 checking, 2 rings allowed, 3 never again */
enum { SC_UNCHECKED, SC_CHECKING, SC_OK, SC_BANNED };
extern _Atomic int shim_seccomp_state;
enum shim_why shim_seccomp_check(void);
void shim_seccomp_prepare(void);

/* W__NR: rings may be made and entered; else the reason to count. */
static inline enum shim_why shim_seccomp_why(void)
{
	if (likely(atomic_load_explicit(&shim_seccomp_state,
					memory_order_acquire) == SC_OK))
		return W__NR;
	return shim_seccomp_check();
}

/* route/route.c */
#define route_libc_mask (shim_hot.libc_mask)
#define route_judged_mask (shim_hot.judged_mask)
#define route_judged_sock_mask (shim_hot.judged_sock_mask)
#define route_judged_why (shim_hot.judged_why)
void route_init(void);
void route_ring_notices(void);

/* hooks.c: what the layers above need done at these moments, in order. */
enum shim_hook {
	HOOK_SPAWN,		/* a child is about to start (fork, vfork, _Fork) */
	HOOK_FORK_PREPARE,	/* fork(): pthread_atfork's three */
	HOOK_FORK_PARENT,
	HOOK_FORK_CHILD,
	HOOK_EXIT,		/* exit, _exit, SHIM_STRICT's end */
	HOOK_SETTLE,		/* shim_settle(): the process lives */
	HOOK_LAST_THREAD,	/* the application's last counted thread ends */
	HOOK_THREAD,		/* pthread_create: a thread is about to be made */
	HOOK__NR
};
void shim_hook_add(enum shim_hook when, void (*fn)(void));
void shim_hooks_run(enum shim_hook when);

/* fork.c */
void shim_fork_init(void);
void shim_after_fork_child(void);
void shim_vfork_prepare(void);
extern __thread volatile int shim_in_vfork;

#endif
