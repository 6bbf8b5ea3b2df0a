/* SPDX-License-Identifier: MIT */
/*
 * The batch profile (SHIM_PROFILE=batch): writes to pipes, stream sockets
 * and regular files are copied into a per-fd staging buffer and return at
 * once; a buffer goes out as one write when it fills, at a barrier (any
 * other call the shim sees that could depend on the data), or after
 * SHIM_BATCH_US at the latest. README "Profiles" lists what differs from
 * the syscalls.
 */
#ifndef SHIM_BATCH_H
#define SHIM_BATCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "shim/shim.h"

/* batch_write(): not staged; the caller takes its exact path. */
#define BATCH_PASS (-2L)

/* fd_rec.batch_skip, beyond a count of writes left unstaged: */
#define SKIP_WATCH	0xfffe	/* unstaged until this thread writes it twice in a row */
#define SKIP_ALWAYS	0xffff	/* never staged until the fd changes */

extern bool batch_enabled;
/* Buffers assigned to an fd, in the process; the flusher's futex word. */
extern _Atomic uint32_t batch_assigned;
/* Buffers this thread staged into since its last barrier. */
extern __thread int batch_mine;
/* The fd this thread last wrote since it last read a pipe or socket or
 * waited, or -1. */
extern __thread int batch_last_write;
/* Regular-file buffers of the process that hold data now. */
extern _Atomic int batch_files_staged;

long batch_write(enum shim_call call, int fd, const struct iovec *iov,
		 int cnt, int msg_flags);
/* pwrite on a regular file: staged at contiguous offsets. */
long batch_pwrite(enum shim_call call, int fd, const struct iovec *iov,
		  int cnt, off_t off);
void batch_flush_mine(bool files_only);
void batch_flush_for_read(int fd);
long batch_read_now(enum shim_call call, int fd, const struct iovec *iov,
		    int cnt);
void batch_flush_fd(int fd, bool wait);
void batch_flush_for_write(int fd);
void batch_flush_all(bool wait);
void batch_flush_files(void);
void batch_files_shared(void);
int batch_take_error(int fd, bool nosignal);
void batch_fd_changed(int fd);
int batch_fd_closing(int fd);
void batch_fd_forget(int fd);
/* Started by the router (route_init); registers its own hooks. */
void batch_init(void);
void batch_close(void);
bool batch_sig_hidden(int sig);
void batch_sig_release(int sig);

/* fd_rec.batch_rkind: what a read of the fd may depend on */
enum { RK_UNKNOWN, RK_MAY, RK_NEVER, RK_FILE };

/*
 * A read of fd has no barrier to make first: nothing is staged on fd, and
 * this thread staged nothing or fd is one whose reads depend on nothing it
 * staged (a memory device, once batch_flush_for_read() has seen it).
 */
static inline bool batch_read_unstaged(int fd)
{
	return (!batch_mine ||
		atomic_load_explicit(&fd_tab[fd].batch_rkind,
				     memory_order_relaxed) == RK_NEVER) &&
	       !atomic_load_explicit(&fd_tab[fd].batch_buf,
				     memory_order_relaxed);
}

/*
 * Nothing is staged anywhere in the process: a write that is not staged
 * (batch_write() said BATCH_PASS) has no barrier to make first.
 */
static inline bool batch_nothing_staged(void)
{
	return !batch_mine &&
	       !atomic_load_explicit(&batch_assigned, memory_order_relaxed);
}

/*
 * A write to fd right after this thread's last write, also to fd, with no
 * read of a pipe or socket and no wait between: staged, the two would have
 * gone out as one. Remembers fd as the last write.
 */
static inline bool batch_write_continues(int fd)
{
	bool run = batch_last_write == fd;

	batch_last_write = fd;
	return run;
}

bool batch_chain_live(void);

/*
 * A write to fd, a pipe or socket, right after one to another pipe or
 * socket (PREV) with no barrier between: under SHIM_BATCH_FLUSH=ring the
 * two may leave in one chain (batch/chain.c), which saves an enter as a
 * run on one fd does (files do not chain).
 */
static inline bool batch_chain_run(int fd, int prev)
{
	enum fd_class c;

	if (!shim_cfg.batch_chain || prev < 0 || prev == fd)
		return false;
	c = fd_class_get(fd);
	if (c != FD_PIPE && c != FD_SOCKET)
		return false;
	c = fd_class_get(prev);
	return (c == FD_PIPE || c == FD_SOCKET) && batch_chain_live();
}

/*
 * A read of a pipe or socket (class cls), or a wait (FD_UNKNOWN): a
 * barrier, had anything been staged, so the next write starts afresh.
 */
static inline void batch_writes_break(unsigned cls)
{
	if (cls == FD_PIPE || cls == FD_SOCKET || cls == FD_UNKNOWN)
		batch_last_write = -1;
}

/*
 * A read of the pipe fd (class cls) with nothing staged, right after a
 * write to a watched pipe or socket: if the pipe answers at once, that
 * write may still start a run (batch_read_now() asks). Not where both
 * are known to be the same pipe's ends (written, then read back).
 */
static inline bool batch_read_may_keep_run(int fd, unsigned cls)
{
	int last = batch_last_write;
	uint32_t ino;
	unsigned c;

	if (cls != FD_PIPE || last < 0 || last == fd || batch_mine ||
	    (unsigned)last >= FD_MAX ||
	    !atomic_load_explicit(&fd_tab[last].batch_skip,
				  memory_order_relaxed))
		return false;
	c = atomic_load_explicit(&fd_tab[last].cls, memory_order_relaxed);
	if (c == FD_SOCKET)
		return true;
	ino = atomic_load_explicit(&fd_tab[fd].batch_ino, memory_order_relaxed);
	return c == FD_PIPE &&
	       (!ino || ino != atomic_load_explicit(&fd_tab[last].batch_ino,
						    memory_order_relaxed));
}

/*
 * write() before batch_write(): fd would not be staged now (it cools down,
 * is watched, or is never staged), owes no error from a flush, and nothing
 * is staged anywhere, so the write may go the fast way. A watched or
 * cooling fd that this write continues a run on is staged from now on:
 * the long way. Only asks; batch_write_went() counts the write once it
 * has gone the fast way.
 */
static inline bool batch_write_unstaged(int fd)
{
	uint16_t skip = atomic_load_explicit(&fd_tab[fd].batch_skip,
					    memory_order_relaxed);

	if (!skip || !batch_nothing_staged() ||
	    atomic_load_explicit(&fd_tab[fd].batch_err, memory_order_relaxed))
		return false;
	return skip == SKIP_ALWAYS ||
	       (batch_last_write != fd &&
		!batch_chain_run(fd, batch_last_write));
}

/* That write went the fast way: one of the cool-down's, and the last. */
static inline void batch_write_went(int fd)
{
	uint16_t skip = atomic_load_explicit(&fd_tab[fd].batch_skip,
					    memory_order_relaxed);

	if (skip && skip < SKIP_WATCH)
		atomic_store_explicit(&fd_tab[fd].batch_skip, skip - 1,
				      memory_order_relaxed);
	batch_last_write = fd;
}

/*
 * A write that goes the exact way (too big, odd flags, sendmsg, pwrite):
 * nothing staged on fd may be overtaken, nor anything this thread staged
 * elsewhere (batch_flush_before).
 */
static inline void batch_before_write(int fd)
{
	if (unlikely(batch_enabled)) {
		batch_last_write = fd;
		batch_flush_for_write(fd);
	}
}

/*
 * A call that may wait in the kernel (fd -1: poll, sleep, wait, accept...;
 * else a read of fd): what this thread staged goes out, since whatever it
 * waits for may be the answer to it (batch_flush_for_read has the finer
 * rules for reads), and so does what any thread staged on fd itself.
 */
static inline void batch_before_read(int fd)
{
	if (unlikely(batch_enabled)) {
		struct fd_rec *r = fd_rec(fd);

		batch_writes_break(r ? atomic_load_explicit(&r->cls,
							    memory_order_relaxed)
				     : FD_UNKNOWN);
		if (batch_mine)
			batch_flush_for_read(fd);
		if (fd >= 0)
			batch_flush_fd(fd, false);
	}
}

/*
 * A call that looks at a regular file's data, size or times other than by
 * read (stat, mmap, sendfile, utimensat...): every regular file's staged
 * data of the process goes out first, whichever fd or path it names; the
 * file may be one written through another fd or known by another name.
 * Nothing staged on a file (the pipelines batch is for): one load.
 */
static inline void batch_before_file(void)
{
	if (unlikely(atomic_load_explicit(&batch_files_staged,
					  memory_order_relaxed)))
		batch_flush_files();
}

#endif
