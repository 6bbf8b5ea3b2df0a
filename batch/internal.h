/* SPDX-License-Identifier: MIT */
/*
 * What the three parts of the batch profile share: the buffer pool and its
 * state (staging.c), the flushes and the flusher thread (flush.c), and the
 * signals (signals.c). The per-fd state lives in the spine's fd record
 * (struct fd_rec, batch_* fields).
 *
 * A buffer belongs to one fd number at a time and holds a dup of it, taken
 * when the buffer is assigned: the data goes to the file the application
 * wrote to even if glibc closes or reuses the number behind the shim's back
 * (fclose), and the dup is closed whenever the buffer goes out, so a reader
 * still sees EOF within the time bound. The dup lives high, out of the
 * range the application's own fd numbers come from.
 *
 * Locks: a buffer's mutex serialises appends and the write that empties
 * it, which keeps the order of writes to one fd across threads. Barriers
 * only try the lock: a thread that waits on a flush into a full pipe or
 * socket could otherwise wait for itself (its read drains the other end).
 * Everything here that may run inside the application's signal handler
 * checks in_batch first and stays out.
 */
#ifndef SHIM_BATCH_INTERNAL_H
#define SHIM_BATCH_INTERNAL_H

#include <pthread.h>
#include <signal.h>

#include "batch/batch.h"

#define BATCH_BUFS	64
#define MINE_MAX	8
/* The most buffers one linked submission carries (the ring's size). */
#define CHAIN_MAX	MINE_MAX
/* How a flush takes a buffer another thread holds (batch_each). */
enum batch_wait {
	BW_TRY,		/* passed over */
	BW_BOUNDED,	/* waited for, up to the time bound */
	BW_WAIT,	/* waited for */
};
#define OWE_SIGPIPE	0x100	/* fd_rec.batch_err: SIGPIPE still owed */
#define SKIP_COOLDOWN	16	/* writes left exact after a one-write batch, */
#define COOL_MAX	8	/* doubled for each one in a row, this often */

struct bbuf {
	pthread_mutex_t lock;
	_Atomic int fd;		/* the application's number, -1: free */
	int dupfd;
	unsigned chunks;
	bool sock;
	bool file;		/* a reader waits for it: flushed, not skipped */
	bool nosignal;		/* every staged send had MSG_NOSIGNAL */
	bool append;		/* O_APPEND: pwrite appends, is not staged */
	off_t at;		/* while len: data[0]'s pwrite offset; -1: write */
	size_t len;
	uint64_t since;		/* ns: assigned, or first byte after a flush */
	uint64_t seq;		/* place in the chain (chain.c), 0: none */
	const char *writer;	/* while len: batch_self() of the one thread
				   whose writes it holds; NULL: several */
	dev_t dev;		/* the file, to find its other fds' buffers */
	ino_t ino;
	char *data;
} __attribute__((aligned(128)));	/* no line shared between two locks */

extern struct bbuf batch_bufs[BATCH_BUFS];
/* No more staging: a seccomp filter may kill what staging needs (dup). */
extern _Atomic bool batch_closed;
/* Buffer indexes this thread staged into (batch_mine of them, up to MINE_MAX). */
extern __thread unsigned char batch_mine_idx[MINE_MAX];
extern __thread volatile sig_atomic_t in_batch;
/* The calling thread, as a buffer's writer and a chain's owner know it. */
extern __thread char batch_self_mark;
static inline const char *batch_self(void)
{
	return &batch_self_mark;
}
extern __thread bool batch_is_flusher;	/* blocks every signal */
extern _Atomic bool batch_flusher_idle;
/* Every fd_rec.batch_err that was ever set is below this fd. */
extern _Atomic int batch_err_top;
extern uint64_t batch_bound_ns;

uint64_t batch_now_ns(void);

/* flush.c */
int batch_flush_data(struct bbuf *b, size_t from, bool *owe);
int batch_flush_done(struct bbuf *b, int err, bool owe, bool keep);
int batch_flush_locked(struct bbuf *b, bool keep);
int batch_lock_buf(struct bbuf *b, enum batch_wait wait);
void batch_cool_down(const struct bbuf *b);
void batch_flush_out(struct bbuf *b);	/* locked b: out and released */
void batch_flush_fd_now(int fd, bool wait);
void batch_flush_before(int fd, bool staging);
void batch_flush_fd_data(int fd);
void batch_same_file_before(int fd);
void batch_key_forget(int fd);
void batch_keys_recount(void);
void batch_start_flusher(void);
void batch_flusher_fork_child(void);
void batch_last_thread(void);
void batch_flush_each(bool files_only, bool wait);

/*
 * The one loop over buffers: each one match() takes (asked unlocked, as a
 * hint, then again under its lock) is locked, handed to act() and unlocked.
 * WAIT: what to do about a lock another thread holds.
 * IDX, N: only those buffers (NULL: every one).
 */
void batch_each(const unsigned char *idx, int n, enum batch_wait wait,
		bool (*match)(const struct bbuf *b, const void *arg),
		void (*act)(struct bbuf *b), const void *arg);

/* chain.c (SHIM_BATCH_FLUSH=ring) */
extern __thread bool batch_any_order;	/* a fatal signal's flush */
extern __thread bool batch_only_try;	/* a read's flush of its fd */
bool batch_chain_extends(int fd);
bool batch_chain_join(struct bbuf *b);
void batch_chain_write(struct bbuf **m, int n, const bool *keep, bool cool,
		       int *err);
int batch_chain_through(struct bbuf *b, bool keep);
void batch_chain_flush(const unsigned char *idx, int n, bool files_only,
		       bool sw, enum batch_wait wait);
void batch_chain_due(void);
void batch_chain_fork_child(void);
void batch_chain_init(void);

/* signals.c */
long batch_pipe_write_quiet(int fd, const char *p, size_t n, bool *owe);
void batch_raise_sigpipe(void);
void batch_arm_fatal(void);

#endif
