/* SPDX-License-Identifier: MIT */
/*
 * Per-thread io_uring rings over liburing. One op is in flight at a time per
 * thread and nothing is ever left in flight when control returns to the
 * application. This layer knows io_uring, not libc, and is a leaf: it
 * includes nothing of the shim's other layers. The router (route/) sets
 * its options once (ring_init), prepares the SQE, translates the result
 * and logs what failed; the counts go to the statistics through the
 * options' count function.
 */
#ifndef SHIM_RING_H
#define SHIM_RING_H

#include <liburing.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* Flags newer than liburing 2.3's headers. */
#ifndef IORING_ACCEPT_DONTWAIT
#define IORING_ACCEPT_DONTWAIT (1U << 1)
#endif

/* The fds a ring may own (hidden high) are below this: the fd table's. */
#define RING_FD_MAX 65536

/* What the ring counts; the caller's count function keeps the numbers. */
enum ring_counter {
	RING_C_ENTER,		/* io_uring_enter calls */
	RING_C_RINGS,		/* rings created */
	RING_C_RINGS_FREED,
};

struct ring_opts {
	bool sqpoll;		/* one kernel SQ thread for the process */
	unsigned sq_idle_ms;	/* its idle time before it sleeps */
	int sq_cpu;		/* its CPU, -1: any */
	unsigned spin_us;	/* sqpoll: how long to spin for a completion */
	bool adapt;		/* use the ring only while it pays (judge.c) */
	void (*count)(enum ring_counter c);
	/* Asked before a thread's ring is made: false, none (RING_E_DENIED). */
	bool (*may_create)(void);
};

/* Once, before the first ring; until then nothing is counted. */
void ring_init(const struct ring_opts *opts);

enum ring_state {
	RT_NONE,	/* no ring yet: created at the first routed call */
	RT_READY,
	RT_FAILED,	/* creation failed; retried after a while */
	RT_EXITING,	/* thread is exiting: no new ring */
};

/* Registered-file slots per ring (ring/files.c). */
#define RING_FILES 16
/* ring_files.state */
enum { RF_NONE, RF_TABLE, RF_NO_TABLE };

/* ring_pay.state; SQ_COOL: on, waiting for the SQ thread to sleep */
enum { SQ_OFF, SQ_COOL, SQ_TRY_LIBC, SQ_TRY_RING, SQ_ON };

struct ring_thread {
	struct io_uring uring;
	struct io_uring_sqe *op_sqe;
	int state;
	volatile sig_atomic_t busy;	/* set while this thread is inside */
	unsigned retry;			/* calls until a failed setup is retried */
	unsigned gen;			/* fork generation the ring belongs to */
	int hidden_fd;			/* ring fd kept high (pre-5.18), or -1 */
	bool sqpoll;			/* ops run on the kernel's SQ thread */
	bool anchor;			/* other SQPOLL rings attach to this one */
	_Atomic bool lost;		/* the application replaced hidden_fd */
	struct ring_files {		/* registered files (files.c) */
		int fd[RING_FILES];	/* the fd each slot holds, -1: none */
		unsigned char next;	/* the slot to fill next */
		unsigned char state;	/* RF_*: is the table registered? */
	} files;
	struct ring_pay {		/* is the ring paying here?
					   (ring/judge.c) */
		int state;		/* off, cooling, trial (libc, ring) or on */
		bool fresh;		/* the ring trial made the ring */
		bool won;		/* plain ring: won a trial, to confirm */
		unsigned good;		/* good windows in a row */
		unsigned left;		/* calls left in the window or trial,
					   or before the clock is read */
		unsigned miss;		/* window SQEs not taken within the spin */
		unsigned skip;		/* calls skipped between clock reads */
		unsigned on_left;	/* on: calls before the clock is read */
		uint64_t off_ns;	/* the current off period */
		uint64_t on_ns;		/* the current on period */
		uint64_t until;		/* CLOCK_MONOTONIC end of the period;
					   0: the thread made no call yet */
		uint64_t t0;		/* start of the trial or free look */
		uint64_t idle0;		/* the machine's idle ms at the look */
		uint64_t libc_ns;	/* the libc trial's time */
		uint64_t moved;		/* bytes the trial's calls moved */
		uint64_t libc_moved;	/* the libc trial's bytes */
		long nivcsw;		/* preemptions at the window's start */
	} pay;
	struct ring_thread *next;	/* registry, for the fork child */
};

struct ring_caps {
	unsigned setup_flags;	/* what the first successful setup used */
	unsigned features;
	bool reg_ring_fd;	/* IORING_REGISTER_RING_FDS works (5.18) */
	uint64_t ops[4];	/* opcodes the kernel supports */
};

extern struct ring_caps ring_caps;

/* The capability table (caps.c): what exists since which kernel. */
enum { RCAP_OP, RCAP_SETUP, RCAP_FEATURE };
enum ring_feature {
	RF_REG_RING_FD = 1,
	RF_ACCEPT_MULTISHOT,
	RF_PBUF_RING,
	RF_RECV_MULTISHOT,
	RF_SYNC_CANCEL,
	RF_ACCEPT_DONTWAIT,
	RF_PIPE_NOWAIT,		/* pipes take RWF_NOWAIT (FMODE_NOWAIT) */
	RF_SOCK_RW_NOWAIT,	/* READ/WRITE on sockets take RWF_NOWAIT */
	RF_SEND_WAITALL,	/* SEND with MSG_WAITALL: all of it, or failed */
	RF_REG_FILES,		/* a file table registered by ring index */
};
struct ring_cap {
	const char *name;
	unsigned kind;
	unsigned value;		/* opcode, setup flag or enum ring_feature */
	unsigned kver;		/* major << 8 | minor */
};
extern const struct ring_cap ring_cap_table[];
extern unsigned ring_kernel_limit;
bool ring_cap_allowed(unsigned kind, unsigned value);
void ring_cap_refused(enum ring_feature f);
bool ring_setup_allowed(unsigned flags);
void ring_caps_apply_profile(uint64_t ops[4]);
int ring_parse_kernel(const char *s, unsigned *kv);

/* Why ring_get() returned NULL; RING_W_NEW: a ring, made now. */
enum ring_err {
	RING_E_BUSY = 1,	/* re-entered from a signal handler */
	RING_E_EXITING,
	RING_E_RETRY,		/* earlier setup failure, not retried yet */
	RING_E_SETUP,		/* setup failed now: see *setup_errno */
	RING_E_PROBE,		/* the op probe was refused: *setup_errno */
	RING_E_ENTER,		/* a new ring's first enter was refused: *setup_errno */
	RING_E_JUDGED,		/* the ring does not pay now: libc (judge.c) */
	RING_E_DENIED,		/* ring_opts.may_create said no */
	RING_W_NEW,
};

/*
 * This thread's ring, taken (ring_put() gives it back), *err untouched or
 * RING_W_NEW; NULL with *err set when there is none.
 */
struct ring_thread *ring_get(int *err, int *setup_errno);
/*
 * The same without asking the judge: for what must see the ring itself
 * (the --check report) or is no call of the application's (batch's
 * chained flush), not serve a call through it.
 */
struct ring_thread *ring_get_unjudged(int *err, int *setup_errno);
/*
 * After a ring_get() that made a ring or failed to: the -errno with which
 * the kernel refused SQPOLL (the ring is exact then), once; else 0.
 */
int ring_take_sqpoll_refusal(void);

extern __thread struct ring_thread ring_tls;

/*
 * True: the judge sends this thread's call to libc, and saying so needs
 * neither the clock nor the ring (judge_admit()'s own first step, counted
 * the same way): the call goes there at once. False: ring_get() decides.
 * Never during a trial, whose calls' results ring_judge_moved() counts,
 * and never while a handler interrupted this thread inside the ring layer
 * (busy): the judge's state is the interrupted call's.
 */
static inline bool ring_judged_libc(void)
{
	struct ring_pay *p = &ring_tls.pay;

	if (ring_tls.busy || p->left <= 1 || p->state >= SQ_TRY_LIBC)
		return false;
	p->left--;
	return true;
}

/*
 * A call during a trial moved N bytes (N < 0: an error). The trial's
 * measure is the bytes moved per time: a stream reader's calls return
 * what was there, more of it the later they come, so counting calls
 * would reward whichever mode reads less per call.
 */
static inline void ring_judge_moved(long n)
{
	struct ring_pay *p = &ring_tls.pay;

	if (__builtin_expect(p->state == SQ_TRY_LIBC ||
			     p->state == SQ_TRY_RING, 0) && n > 0)
		p->moved += (uint64_t)n;
}

static inline void ring_put(struct ring_thread *rt)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	rt->busy = 0;
}

static inline struct io_uring_sqe *ring_sqe(struct ring_thread *rt)
{
	rt->op_sqe = io_uring_get_sqe(&rt->uring);
	return rt->op_sqe;
}

/*
 * Submit the prepared op and reap its completion. Returns 0 with *res set,
 * or a negative errno when the op could not be submitted: then it never
 * ran and the caller may use libc instead.
 */
int ring_run(struct ring_thread *rt, int *res);
/* N prepared SQEs in one submission, all reaped (run.c). */
int ring_run_chain(struct ring_thread *rt, struct io_uring_sqe **sqe,
		   unsigned n, int *res);

/* Did the op run on the calling thread (signals it raised reached it)? */
static inline bool ring_inline(const struct ring_thread *rt)
{
	return !rt->sqpoll;
}

static inline bool ring_op_supported(unsigned op)
{
	return op < 256 && (ring_caps.ops[op / 64] >> (op % 64)) & 1;
}

/*
 * Registered files (files.c). A slot holds a reference to its file until
 * it is emptied, and only the ring's own thread can empty it, so one ring
 * of the process at most (the holder) has any. ring_files_add(): fd's
 * file in the next slot of this thread's ring (the oldest is reused),
 * which becomes the holder (registering its table the first time); the
 * slot, or -errno when there is no table, or another ring holds files
 * (-EBUSY). ring_files_forget(): the fds lo..hi are about to be closed or
 * replaced, from any thread: the holder's slots that hold one are
 * emptied; -EEXIST when the holder is another thread's ring (which alone
 * could), -EIO when the kernel kept one. ring_files_release(): the same
 * for every slot. ring_files_held(): is any ring a holder?
 */
int ring_files_add(struct ring_thread *rt, int fd);
int ring_files_forget(unsigned lo, unsigned hi);
int ring_files_release(void);
bool ring_files_held(void);

/* The slot (from an earlier ring_files_add) still holds fd here. */
static inline bool ring_files_has(const struct ring_thread *rt, int slot,
				  int fd)
{
	return rt->files.state == RF_TABLE && (unsigned)slot < RING_FILES &&
	       rt->files.fd[slot] == fd;
}

/* The prepared op names the slot instead of its fd. */
static inline void ring_sqe_fixed(struct io_uring_sqe *sqe, int slot)
{
	sqe->fd = slot;
	sqe->flags |= IOSQE_FIXED_FILE;
}

bool ring_owns_fd(int fd);
void ring_fd_taken(int fd);
void ring_fork_prepare(void);
void ring_fork_parent(void);
void ring_fork_child(void);
void ring_ban(void);
int ring_hide_fd(int fd);
void ring_unhide_fd(int fd);

/*
 * probe.c: what this kernel really does, tried on throwaway files (the
 * --check report). 1 yes, 0 no, -1 could not tell.
 */
bool ring_probe_setup(unsigned flags);
int ring_probe_accept_dontwait(struct ring_thread *rt);
int ring_probe_nowait_read(struct ring_thread *rt, int family);

#endif
