/* SPDX-License-Identifier: MIT */
/*
 * The batch profile's flushes: a buffer written out through its dup, the
 * barriers that send buffers out, the one loop over buffers they all use,
 * and the flusher thread that keeps the time bound.
 */
#include <linux/futex.h>
#include <poll.h>
#include <sys/single_threaded.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "batch/internal.h"
#include "ring/ring.h"
#include "shim/real.h"

static bool flusher_started;
static pthread_t flusher_thread;
_Atomic int batch_err_top;

static void stat_flush(size_t bytes)
{
	stat_add(&shim_st->batch_flushes, 1);
	stat_add(&shim_st->batch_flush_bytes, bytes);
}

/* Wait until a blocking fd someone made non-blocking takes more. */
static void wait_writable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	syscall(SYS_ppoll, &p, 1, NULL, NULL, 0);
}

/*
 * Write the buffer out through its dup, from byte FROM on. Signals never
 * cut a flush short: the call they interrupt is not this write. Returns 0
 * or the errno the write(2) would have reported; the rest of the data is
 * dropped then, as write-back does.
 */
int batch_flush_data(struct bbuf *b, size_t from, bool *owe)
{
	const char *p = b->data + from;
	size_t n = b->len - from;
	long r;

	while (n) {
		if (b->sock)
			r = syscall(SYS_sendto, b->dupfd, p, n, MSG_NOSIGNAL,
				    NULL, 0);
		else if (b->file && b->at >= 0)
			r = syscall(SYS_pwrite64, b->dupfd, p, n,
				    b->at + (p - b->data));
		else if (b->file)
			r = syscall(SYS_write, b->dupfd, p, n);
		else
			r = batch_pipe_write_quiet(b->dupfd, p, n, owe);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
		} else if (r < 0 && errno == EAGAIN) {
			wait_writable(b->dupfd);
		} else if (r == 0 || errno != EINTR) {
			return r == 0 ? EIO : errno;
		}
	}
	return 0;
}

/* Give the buffer up; its fd number may be reused from now on. */
static void release(struct bbuf *b)
{
	int fd = b->fd;

	syscall(SYS_close, b->dupfd);
	b->dupfd = -1;
	atomic_store(&fd_tab[fd].batch_buf, 0);
	atomic_store(&b->fd, -1);
	atomic_fetch_sub(&batch_assigned, 1);
	batch_keys_recount();
}

/*
 * With b locked and its data written (ERR: 0 or the write's errno, OWE:
 * a SIGPIPE it took back): the error kept for the fd's next call, the
 * buffer emptied, and released unless keep.
 */
int batch_flush_done(struct bbuf *b, int err, bool owe, bool keep)
{
	int fd = b->fd;

	if (b->len) {
		stat_flush(b->len);
		/* After the data: a stat that reads 0 finds it in the file. */
		if (b->file)
			atomic_fetch_sub(&batch_files_staged, 1);
	}
	if (err) {
		int top = atomic_load(&batch_err_top);

		if (b->sock)
			owe = err == EPIPE && !b->nosignal;
		atomic_store(&fd_tab[fd].batch_err,
			     (uint16_t)(err | (owe ? OWE_SIGPIPE : 0)));
		while (top <= fd &&
		       !atomic_compare_exchange_weak(&batch_err_top, &top,
						     fd + 1))
			;
	}
	b->len = 0;
	b->chunks = 0;
	__atomic_store_n(&b->seq, 0, __ATOMIC_RELAXED);
	b->since = batch_now_ns();
	if (err || !keep)
		release(b);
	return err;
}

/*
 * With b locked: write it out; release it too unless keep. A buffer in a
 * chain (SHIM_BATCH_FLUSH=ring) takes what was staged before it along.
 */
int batch_flush_locked(struct bbuf *b, bool keep)
{
	bool owe = false;
	int err = 0;

	if (b->seq && batch_chain_live())
		return batch_chain_through(b, keep);
	if (b->len)
		err = batch_flush_data(b, 0, &owe);
	return batch_flush_done(b, err, owe, keep);
}

void batch_flush_out(struct bbuf *b)
{
	batch_flush_locked(b, false);
}

/*
 * A write error found at a flush: the next call on fd reports it (the
 * errno is returned; the caller says -1). SIGPIPE, if owed, comes now.
 */
int batch_take_error(int fd, bool nosignal)
{
	struct fd_rec *r = fd_rec(fd);
	uint16_t e;

	if (!r || !atomic_load_explicit(&r->batch_err, memory_order_relaxed))
		return 0;
	e = atomic_exchange(&r->batch_err, 0);
	if (!e)
		return 0;
	if ((e & OWE_SIGPIPE) && !nosignal)
		batch_raise_sigpipe();
	return e & 0xff;
}

/*
 * May a flush wait for b as long as its holder takes? A regular file's
 * write waits for no reader, however long it takes (an emulated disk, a
 * loaded machine). A pipe's or socket's write that holds only the calling
 * thread's data waits for what that thread's own write(2) would have
 * waited for. Another thread's data may be waiting for a reader that
 * waits for the caller.
 */
static bool waits_out(const struct bbuf *b)
{
	return __atomic_load_n(&b->file, __ATOMIC_RELAXED) ||
	       __atomic_load_n(&b->writer, __ATOMIC_RELAXED) == batch_self();
}

/*
 * A buffer's holder is copying into it or writing it out. BW_BOUNDED
 * waits no longer than the time bound, unless waits_out(b): what the
 * caller writes next must not overtake it.
 */
int batch_lock_buf(struct bbuf *b, enum batch_wait wait)
{
	struct timespec until;
	uint64_t ns;
	int r = pthread_mutex_trylock(&b->lock);

	if (!r || wait == BW_TRY)
		return r;
	if (wait == BW_WAIT)
		return pthread_mutex_lock(&b->lock);
	clock_gettime(CLOCK_MONOTONIC, &until);
	do {
		ns = (uint64_t)until.tv_nsec + batch_bound_ns;
		until.tv_sec += (time_t)(ns / 1000000000ULL);
		until.tv_nsec = (long)(ns % 1000000000ULL);
		r = pthread_mutex_clocklock(&b->lock, CLOCK_MONOTONIC, &until);
	} while (r == ETIMEDOUT && waits_out(b));
	return r;
}

void batch_each(const unsigned char *idx, int n, enum batch_wait wait,
		bool (*match)(const struct bbuf *b, const void *arg),
		void (*act)(struct bbuf *b), const void *arg)
{
	int i;

	if (!idx)
		n = BATCH_BUFS;
	for (i = 0; i < n; i++) {
		struct bbuf *b = &batch_bufs[idx ? idx[i] : i];

		if (atomic_load(&b->fd) < 0 || !match(b, arg))
			continue;
		if (batch_lock_buf(b, wait))
			continue;
		if (b->fd >= 0 && match(b, arg))
			act(b);
		pthread_mutex_unlock(&b->lock);
	}
}

/*
 * Staged for a whole bound (since, read unlocked, is a hint). A chain's
 * buffers go in its order (batch_chain_due).
 */
static bool is_due(const struct bbuf *b, const void *arg)
{
	(void)arg;
	if (__atomic_load_n(&b->seq, __ATOMIC_RELAXED) && batch_chain_live())
		return false;
	return __atomic_load_n(&b->since, __ATOMIC_RELAXED) + batch_bound_ns <=
	       batch_now_ns();
}

/* Data: out, the fd keeps its buffer. Empty for a whole bound: it goes. */
static void flush_due(struct bbuf *b)
{
	batch_flush_locked(b, b->len != 0);
}

static void *flusher(void *arg)
{
	struct timespec ts = { (time_t)(batch_bound_ns / 1000000000ULL),
			       (long)(batch_bound_ns % 1000000000ULL) };

	(void)arg;
	batch_is_flusher = true;
	shim_own_thread = true;
	for (;;) {
		atomic_store(&batch_flusher_idle, true);
		while (!atomic_load(&batch_assigned) &&
		       !atomic_load(&batch_closed))
			syscall(SYS_futex, &batch_assigned, FUTEX_WAIT_PRIVATE,
				0, NULL, NULL, 0);
		atomic_store(&batch_flusher_idle, false);
		if (atomic_load(&batch_closed))
			return NULL;
		syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
		/*
		 * Never wait for a buffer: its holder is staging or writing it
		 * out right now, and a flusher parked on the lock makes a busy
		 * writer queue behind it on two busy cores.
		 */
		batch_chain_due();
		batch_each(NULL, 0, BW_TRY, is_due, flush_due, NULL);
	}
	return NULL;
}

/* The time bound needs a thread: a writer may block where nobody sees. */
void batch_start_flusher(void)
{
	bool solo = __libc_single_threaded;
	sigset_t all, old;
	pthread_attr_t a;

	if (flusher_started)
		return;
	flusher_started = true;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, (size_t)64 * 1024);
	/* Joinable: batch_last_thread() waits for it to be gone. */
	if (real.pthread_create(&flusher_thread, &a, flusher, NULL) != 0) {
		flusher_started = false;
		shim_warn("batch: no flusher thread; staged data waits for "
			  "the next barrier");
	} else if (solo) {
		shim_real_solo(true);	/* the flusher does not count */
	}
	pthread_attr_destroy(&a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* The child's flusher is started again by its first staged write. */
void batch_flusher_fork_child(void)
{
	flusher_started = false;
}

/*
 * The application's last thread is ending (pthread_exit, or a return,
 * from main's thread too): what is staged goes out, nothing more is
 * staged, and the flusher ends before this thread does, so that glibc
 * finds this one the last and ends the process (exit(0)) as it would
 * without the shim. Kept alive, the flusher held the process forever,
 * deaf to SIGTERM (it blocks every signal).
 */
void batch_last_thread(void)
{
	if (!batch_enabled || batch_is_flusher)
		return;
	batch_close();
	if (flusher_started) {
		flusher_started = false;
		pthread_join(flusher_thread, NULL);
	}
}

/* fd's buffer, NULL if it has none (read unlocked: a hint). */
static struct bbuf *fd_buf(int fd)
{
	struct fd_rec *r = fd_rec(fd);
	int i;

	return r && (i = atomic_load(&r->batch_buf)) ? &batch_bufs[i - 1]
						     : NULL;
}

/* With fd's buffer locked (or tried, for a pipe or socket): it goes out. */
void batch_flush_fd_now(int fd, bool wait)
{
	struct bbuf *b = fd_buf(fd);

	if (!b)
		return;
	if (wait || b->file ? pthread_mutex_lock(&b->lock)
			    : pthread_mutex_trylock(&b->lock))
		return;
	if (b->fd == fd)
		batch_flush_locked(b, false);
	pthread_mutex_unlock(&b->lock);
}

/*
 * A write to fd that is not staged: what is staged there goes first, and
 * the buffer stays the fd's. Nothing staged: a write that happened before
 * this call, in any thread, left its length where this thread sees it.
 */
void batch_flush_fd_data(int fd)
{
	struct bbuf *b = fd_buf(fd);

	if (!b || !__atomic_load_n(&b->len, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&b->lock);
	if (b->fd == fd)
		batch_flush_locked(b, true);
	pthread_mutex_unlock(&b->lock);
}

/*
 * wait: a write, which must not overtake what other threads staged on fd.
 * A read only tries, unless fd is a file: on a pipe or socket the thread
 * that holds the buffer may be waiting for this very read.
 */
void batch_flush_fd(int fd, bool wait)
{
	struct fd_rec *r = fd_rec(fd);
	int saved = errno;
	sig_atomic_t prev = in_batch;

	if (!r || !atomic_load(&r->batch_buf))
		return;
	if (prev)	/* a signal handler: the interrupted code may hold it */
		return;
	in_batch = 1;
	batch_only_try = !wait;
	batch_flush_fd_now(fd, wait);
	batch_only_try = false;
	in_batch = prev;
	errno = saved;
}

/*
 * fd is about to be closed, replaced or changed (F_SETFL): its staged data
 * goes out first, and whatever the shim learnt about it is forgotten. A
 * number that is one of the shim's own dups goes out too.
 */
void batch_fd_changed(int fd)
{
	int i;

	if (!batch_enabled || (unsigned)fd >= FD_MAX)
		return;
	batch_flush_fd(fd, true);
	atomic_store(&fd_tab[fd].batch_skip, 0);
	atomic_store(&fd_tab[fd].batch_seen, 0);	/* watched again */
	atomic_store(&fd_tab[fd].batch_ino, 0);
	if (batch_last_write == fd)
		batch_last_write = -1;	/* a run does not outlive its fd */
	batch_key_forget(fd);
	for (i = 0; i < BATCH_BUFS; i++)
		if (atomic_load(&batch_bufs[i].fd) >= 0 &&
		    batch_bufs[i].dupfd == fd)
			batch_flush_fd(batch_bufs[i].fd, true);
}

/*
 * fd is about to be closed, by close() or by a stream's fclose()/pclose():
 * batch_fd_changed(), and the error a staged write left, which the close
 * reports as after write-back (0: none). A reader that left without
 * reading gives the close nothing to say.
 */
int batch_fd_closing(int fd)
{
	int err;

	batch_fd_changed(fd);
	err = batch_take_error(fd, true);
	return err == EPIPE ? 0 : err;
}

static bool any_or_file(const struct bbuf *b, const void *files_only)
{
	return !*(const bool *)files_only || b->file;
}

/*
 * A buffer that held a single write when it went out (between two
 * barriers: a request waiting for its answer; or before the thread wrote
 * to another fd) only added a copy, so its fd stays exact for a while,
 * longer each time in a row, or until its next run of writes
 * (batch_write_continues()). One that held more resets that. A pipe or
 * socket waits for its next run alone: a run is the one sign that staging
 * pays (a pipe read that answers at once does not break one:
 * batch_read_now()). A file is tried again after the count of writes,
 * however they came.
 */
void batch_cool_down(const struct bbuf *b)
{
	struct fd_rec *r = &fd_tab[b->fd];
	uint8_t n = atomic_load_explicit(&r->batch_cool, memory_order_relaxed);

	if (b->chunks != 1) {
		if (b->chunks && n)
			atomic_store_explicit(&r->batch_cool, 0,
					      memory_order_relaxed);
		return;
	}
	atomic_store_explicit(&r->batch_skip,
			      !b->file ? SKIP_WATCH
				       : SKIP_COOLDOWN << (n < COOL_MAX ? n
									: COOL_MAX),
			      memory_order_relaxed);
	if (n <= COOL_MAX)
		atomic_store_explicit(&r->batch_cool, n + 1,
				      memory_order_relaxed);
}

static void flush_mine_one(struct bbuf *b)
{
	batch_cool_down(b);
	batch_flush_locked(b, false);
}

/* A barrier: what this thread staged goes out. */
void batch_flush_mine(bool files_only)
{
	int n = batch_mine, saved = errno;

	if (in_batch)
		return;
	in_batch = 1;
	/*
	 * A chain's member the flusher holds is waited for, up to the bound:
	 * it writes the members one by one, and those after it would
	 * otherwise still be staged when the call that may wait comes.
	 */
	if (batch_chain_live() && n > 0 && n <= MINE_MAX)
		batch_chain_flush(batch_mine_idx, n, files_only, false,
				  BW_BOUNDED);
	else
		batch_each(n > MINE_MAX ? NULL : batch_mine_idx, n, BW_TRY,
			   any_or_file, flush_mine_one, &files_only);
	if (!files_only)
		batch_mine = 0;
	in_batch = 0;
	errno = saved;
}

/*
 * The thread moves on to another fd: a buffer of several writes stays the
 * fd's, since the thread may come back to it soon (the flusher gives it
 * up once it stays empty for a bound); one of a single write goes, as its
 * fd now cools down, and with it the flusher's work.
 */
static void flush_switch(struct bbuf *b)
{
	batch_cool_down(b);
	batch_flush_locked(b, b->chunks > 1);
}

/*
 * A write to fd comes next (STAGING: to be staged): what this thread
 * staged on any other fd was written before it and goes out first, so
 * that no reader sees the later data before the earlier (a record in a
 * file, then its notice on a pipe). A thread so holds staged data in one
 * buffer at most, and a flush of any one buffer, by any thread, keeps
 * every thread's order across fds. A thread that writes to one fd pays
 * one compare. With SHIM_BATCH_FLUSH=ring a staged write may instead join
 * the chain (chain.c), which keeps the same order.
 */
void batch_flush_before(int fd, bool staging)
{
	static const bool every = false;	/* any_or_file(): not files only */
	int n = batch_mine;

	if (staging && shim_cfg.batch_chain && batch_chain_extends(fd))
		return;
	if (!n || (n == 1 && atomic_load_explicit(
				     &batch_bufs[batch_mine_idx[0]].fd,
				     memory_order_relaxed) == fd))
		return;
	if (batch_chain_live() && n <= MINE_MAX)
		batch_chain_flush(batch_mine_idx, n, false, true, BW_BOUNDED);
	else
		batch_each(n > MINE_MAX ? NULL : batch_mine_idx, n, BW_BOUNDED,
			   any_or_file, flush_switch, &every);
	batch_mine = 0;
}

/*
 * batch_before_write(), from the application's call (never inside a
 * handler that interrupted the shim, which may hold a buffer): what this
 * thread staged elsewhere, then what is staged on fd, or on another fd of
 * its file.
 */
void batch_flush_for_write(int fd)
{
	struct fd_rec *r = fd_rec(fd);
	int saved = errno;

	if (!r || in_batch)
		return;
	in_batch = 1;
	batch_flush_before(fd, false);
	if (atomic_load_explicit(&r->batch_buf, memory_order_relaxed))
		batch_flush_fd_data(fd);
	else
		batch_same_file_before(fd);
	in_batch = 0;
	errno = saved;
}

#define MEM_MINOR_KMSG 11	/* /dev/kmsg, on the memory devices' major */

/*
 * What a read of fd may depend on, of what this thread staged. A read that
 * may wait (pipe, socket, tty, eventfd, ...) may wait for the answer to
 * any of it; a regular file may be one this thread wrote through another
 * fd; the memory devices (/dev/zero, /dev/urandom, ...) depend on nothing,
 * so dd's reads from them leave its writes staged (and, once seen, take
 * the fast path: batch_read_unstaged()). /dev/kmsg, on the same major,
 * waits for messages: one this thread's staged data may cause.
 */
void batch_flush_for_read(int fd)
{
	struct fd_rec *r = fd_rec(fd);
	struct stat st;
	uint8_t k = RK_MAY;

	if (r) {
		switch (fd_class_get(fd)) {
		case FD_FILE:
		case FD_FILE_NOWAIT:
			k = RK_FILE;
			break;
		case FD_OTHER:
			k = atomic_load_explicit(&r->batch_rkind,
						 memory_order_relaxed);
			if (k)
				break;
			k = syscall(SYS_fstat, fd, &st) == 0 &&
			    S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
			    minor(st.st_rdev) != MEM_MINOR_KMSG ?
				RK_NEVER : RK_MAY;
			atomic_store_explicit(&r->batch_rkind, k,
					      memory_order_relaxed);
			break;
		default:
			break;
		}
	}
	if (k != RK_NEVER)
		batch_flush_mine(k == RK_FILE);
}

/* fd's pipe, told apart from others by its inode's low bits; asked once. */
static uint32_t pipe_ino(int fd)
{
	struct fd_rec *r = &fd_tab[fd];
	uint32_t ino = atomic_load_explicit(&r->batch_ino, memory_order_relaxed);
	struct stat st;

	if (!ino && syscall(SYS_fstat, fd, &st) == 0) {
		ino = (uint32_t)st.st_ino ? (uint32_t)st.st_ino : 1;
		atomic_store_explicit(&r->batch_ino, ino, memory_order_relaxed);
	}
	return ino;
}

/*
 * Nothing is staged, and this thread last wrote a watched pipe or socket
 * (LAST, not staged until a run): may a read of the pipe fd that answers
 * at once keep that run going? Not if fd is the other end of LAST's pipe:
 * staged, that write would have gone out for this read (write, then read
 * it back, pays nothing to stage). If not, the run ends here.
 */
static bool read_keeps_run(int fd, int last)
{
	if (batch_read_may_keep_run(fd, FD_PIPE) &&
	    (fd_class_get(last) == FD_SOCKET || pipe_ino(last) != pipe_ino(fd)))
		return true;
	batch_writes_break(FD_PIPE);
	return false;
}

/*
 * A read of a pipe between two writes: a pipe that holds data (or has no
 * writer left) answers at once, so the read cannot wait. With data staged,
 * what is staged stays staged; with none, the write before it stays the
 * start of a run, so the next write to that fd is staged. A filter that
 * reads and writes so batches across its reads. An empty pipe says EAGAIN
 * and changes nothing: the caller's path sends the staged data before it
 * may wait, and ends the run. A pipe that keeps saying EAGAIN is asked
 * less often (the fd's would-block prediction, as for the ring's
 * attempts). The read is a cancellation point as the syscall is.
 * BATCH_PASS: the caller's path does the read.
 */
long batch_read_now(enum shim_call call, int fd, const struct iovec *iov,
		    int cnt)
{
	struct fd_rec *rec = fd_rec(fd);
	int saved = errno;
	long r;

	if (in_batch || shim_in_vfork || fd_class_get(fd) != FD_PIPE ||
	    (!batch_mine && !read_keeps_run(fd, batch_last_write)))
		return BATCH_PASS;
	if (!ring_cap_allowed(RCAP_FEATURE, RF_PIPE_NOWAIT) ||
	    fd_wb_predicted(rec)) {
		batch_writes_break(FD_PIPE);
		return BATCH_PASS;
	}
	pthread_testcancel();
	r = syscall(SYS_preadv2, fd, iov, cnt, -1L, 0L, RWF_NOWAIT);
	if (r < 0) {
		if (errno == EOPNOTSUPP)	/* before 6.4 */
			ring_cap_refused(RF_PIPE_NOWAIT);
		else if (errno == EAGAIN)
			fd_wb_miss(rec);	/* the would-block prediction */
		errno = saved;
		batch_writes_break(FD_PIPE);	/* it may wait: a barrier */
		return BATCH_PASS;
	}
	fd_wb_hit(rec);
	stat_add(&shim_st->real[call], 1);
	stat_add(&shim_st->batch_reads_kept, 1);
	return r;
}

/* Every buffer (or only the regular files'), in any context. */
void batch_flush_each(bool files_only, bool wait)
{
	batch_each(NULL, 0, wait ? BW_WAIT : BW_TRY, any_or_file, batch_flush_out,
		   &files_only);
}

/*
 * Every buffer (or the files') from the application's own call: never
 * inside a handler that interrupted the shim, nor in a vfork child.
 */
static void flush_every(bool files_only, bool wait)
{
	int saved = errno;

	if (!batch_enabled || in_batch || shim_in_vfork)
		return;
	in_batch = 1;
	batch_flush_each(files_only, wait);
	if (!files_only)
		batch_mine = 0;
	in_batch = 0;
	errno = saved;
}

/*
 * Exit and exec (wait): everything goes out, after other threads' flushes.
 * Fork and spawn only try: a thread blocked in a flush may be waiting for
 * the very child about to be started to read.
 */
void batch_flush_all(bool wait)
{
	flush_every(false, wait);
}

/*
 * batch_before_file(): every regular file's data goes out, other threads'
 * too (they may have handed the file over through a lock the shim cannot
 * see). Waiting for a file buffer is safe: its holder is copying into it
 * or writing it to a file, which waits for no reader.
 */
void batch_flush_files(void)
{
	flush_every(true, true);
}
