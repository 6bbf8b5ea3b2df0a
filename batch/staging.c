/* SPDX-License-Identifier: MIT */
/*
 * The batch profile's staging: the buffer pool, which writes are staged
 * and where, and what the fd lifecycle, fork and seccomp do to the
 * buffers (batch/internal.h has the rules the parts share).
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "batch/internal.h"
#include "shim/umem.h"
#include "shim/real.h"

/*
 * A pipe's writes this big go out as they are. Coalesced, they fill the
 * pipe in a few calls, and a write that fills it leaves the writer asleep
 * until the reader drained it all: the two stop overlapping, and a
 * pipeline of 4 KiB writes runs at half its speed, while one syscall per
 * 512 bytes and more was never the cost.
 */
#define PIPE_STAGE_MAX	512

bool batch_enabled;
_Atomic bool batch_closed;
__thread int batch_mine;
__thread int batch_last_write = -1;
_Atomic int batch_files_staged;
/*
 * The process shares memory or takes file locks (batch_files_shared):
 * other processes may read its files at moments only that memory or lock
 * tells, so regular-file writes go out as they are made. Kept across
 * fork, as the mappings and the locks' users are.
 */
static _Atomic bool files_direct;
__thread unsigned char batch_mine_idx[MINE_MAX];
__thread volatile sig_atomic_t in_batch;
__thread char batch_self_mark;
__thread bool batch_is_flusher;

/*
 * Free and unlocked as loaded: nothing writes a buffer's record until it
 * is used, not the start-up, not a fork child (batch_fork_child()). Last
 * in .data (the Makefile sorts sections by name) and whole pages, so that
 * the loader, which zeroes the rest of the last page of data, writes none
 * of it.
 */
struct bbuf batch_bufs[BATCH_BUFS]
	__attribute__((section(".data.~large"), aligned(4096))) = {
	[0 ... BATCH_BUFS - 1] = { .lock = PTHREAD_MUTEX_INITIALIZER,
				   .fd = -1, .dupfd = -1 },
};
_Static_assert(sizeof(batch_bufs) % 4096 == 0, "batch_bufs: whole pages");
/*
 * Per fd number: which file it is (file_key(), 0: not looked at yet),
 * for a write that is not staged to find what another fd staged on the
 * same file (same_file_before()).
 */
static _Atomic uint32_t *fd_key;
/* A bit per key (mod 64) of the files that have a buffer now. */
static _Atomic uint64_t keys_assigned;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
_Atomic uint32_t batch_assigned;
_Atomic bool batch_flusher_idle;
uint64_t batch_bound_ns;
static size_t cap;
static int dup_min;

uint64_t batch_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * A pipe without readers, a socket reset or hung up: libc's write reports
 * EPIPE (and raises SIGPIPE) now, rather than staging for a later call.
 */
static bool peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	struct timespec zero = { 0, 0 };

	return syscall(SYS_ppoll, &p, 1, &zero, NULL, 0) == 1 &&
	       (p.revents & (POLLERR | POLLHUP));
}

/*
 * What the fd is must allow staging: blocking, writable, a byte stream,
 * and not synchronous (O_SYNC, O_DSYNC: the application asked that its
 * data be on the disk when write returns; write-behind would void that).
 */
static int take_dup(int fd, bool sock, struct stat *st, int *flags)
{
	int d, fl, type = 0;
	socklen_t len = sizeof(type);

	d = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, dup_min);
	if (d < 0)
		return -1;
	fl = (int)syscall(SYS_fcntl, d, F_GETFL);
	if (fl < 0 || (fl & (O_NONBLOCK | O_DIRECT | O_PATH | O_DSYNC)) ||
	    (fl & O_ACCMODE) == O_RDONLY ||
	    (sock && (syscall(SYS_getsockopt, d, SOL_SOCKET, SO_TYPE, &type,
			      &len) < 0 || type != SOCK_STREAM))) {
		syscall(SYS_close, d);
		atomic_store(&fd_tab[fd].batch_skip, SKIP_ALWAYS);
		return -1;
	}
	if (syscall(SYS_fstat, d, st) < 0 || (!S_ISREG(st->st_mode) &&
					       peer_gone(d))) {
		syscall(SYS_close, d);
		return -1;
	}
	*flags = fl;
	return d;
}

static struct bbuf *claim_free(void)
{
	int i;

	for (i = 0; i < BATCH_BUFS; i++) {
		struct bbuf *b = &batch_bufs[i];

		if (atomic_load(&b->fd) >= 0 || pthread_mutex_trylock(&b->lock))
			continue;
		if (b->fd < 0 && !b->data) {
			void *m = real.mmap(NULL, cap, PROT_READ | PROT_WRITE,
					    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (m != MAP_FAILED)
				b->data = m;
		}
		if (b->fd < 0 && b->data)
			return b;
		pthread_mutex_unlock(&b->lock);
	}
	return NULL;
}

static uint32_t file_key(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)ino;

	return (uint32_t)(h ^ (h >> 32)) | 1;
}

static uint32_t buf_key(const struct bbuf *b)
{
	return file_key(b->dev, b->ino);
}

struct same_file {
	int fd;
	const struct stat *st;
};

/* Only the same file is waited for: another may be held by a flush that
 * waits for this thread to read. */
static bool is_same_file(const struct bbuf *b, const void *arg)
{
	const struct same_file *s = arg;

	return b->fd != s->fd && b->dev == s->st->st_dev &&
	       b->ino == s->st->st_ino;
}

/*
 * Another fd on the same file (2>&1 puts stdout and stderr on one pipe):
 * what was staged there was written first and goes out first.
 */
static void same_file_first(int fd, const struct stat *st)
{
	struct same_file s = { fd, st };

	batch_each(NULL, 0, BW_WAIT, is_same_file, batch_flush_out, &s);
}

/* fd's buffer, locked; assigned now if it has none. NULL: not staged. */
static struct bbuf *get_buf(int fd, enum fd_class cls)
{
	struct bbuf *b;
	int i, d, fl;

	for (;;) {
		i = atomic_load(&fd_tab[fd].batch_buf);
		if (!i)
			break;
		b = &batch_bufs[i - 1];
		pthread_mutex_lock(&b->lock);
		if (b->fd == fd)
			return b;
		pthread_mutex_unlock(&b->lock);
	}
	bool sock = cls == FD_SOCKET;
	struct stat st;

	/* The fatal signals' handlers and the fd table grown, while the
	 * process may have one thread. */
	batch_arm_fatal();
	shim_settle_soon();
	d = take_dup(fd, sock, &st, &fl);
	if (d < 0)
		return NULL;
	same_file_first(fd, &st);
	pthread_mutex_lock(&pool_lock);
	if (atomic_load(&fd_tab[fd].batch_buf) || !(b = claim_free())) {
		/* Another thread got there first, or all are busy. */
		pthread_mutex_unlock(&pool_lock);
		syscall(SYS_close, d);
		return NULL;
	}
	b->dupfd = d;
	b->sock = sock;
	b->file = cls == FD_FILE || cls == FD_FILE_NOWAIT;
	b->nosignal = false;
	b->append = fl & O_APPEND;
	b->len = 0;
	b->chunks = 0;
	b->since = batch_now_ns();
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	if (fd_key)
		atomic_store_explicit(&fd_key[fd], buf_key(b),
				      memory_order_relaxed);
	atomic_fetch_or(&keys_assigned, 1ULL << (buf_key(b) & 63));
	atomic_store(&b->fd, fd);
	atomic_store(&fd_tab[fd].batch_buf, (int8_t)(b - batch_bufs + 1));
	batch_start_flusher();
	pthread_mutex_unlock(&pool_lock);
	if (atomic_fetch_add(&batch_assigned, 1) == 0 &&
	    atomic_load(&batch_flusher_idle))
		syscall(SYS_futex, &batch_assigned, FUTEX_WAKE_PRIVATE, 1, NULL,
			NULL, 0);
	return b;
}

/*
 * A buffer was given up: the bits of those still assigned. Only tried
 * (a fatal signal's flush may run while its thread holds the pool): a bit
 * left set costs a look, never a write out of turn.
 */
void batch_keys_recount(void)
{
	uint64_t bits = 0;
	int i;

	if (pthread_mutex_trylock(&pool_lock))
		return;
	for (i = 0; i < BATCH_BUFS; i++)
		if (atomic_load(&batch_bufs[i].fd) >= 0)
			bits |= 1ULL << (buf_key(&batch_bufs[i]) & 63);
	atomic_store(&keys_assigned, bits);
	pthread_mutex_unlock(&pool_lock);
}

static bool has_key(const struct bbuf *b, const void *key)
{
	return __atomic_load_n(&b->len, __ATOMIC_RELAXED) &&
	       buf_key(b) == *(const uint32_t *)key;
}

/*
 * A write to fd that is not staged, while fd has no buffer of its own:
 * another fd on the same file (2>&1, written by another thread) may hold
 * data written before it, which goes first. The file is looked at once
 * per fd number (until it closes or changes).
 */
void batch_same_file_before(int fd)
{
	struct stat st;
	uint32_t key;

	if (!fd_key || (unsigned)fd >= FD_MAX ||
	    !atomic_load_explicit(&batch_assigned, memory_order_relaxed))
		return;
	key = atomic_load_explicit(&fd_key[fd], memory_order_relaxed);
	if (!key) {
		if (syscall(SYS_fstat, fd, &st))
			return;
		key = file_key(st.st_dev, st.st_ino);
		atomic_store_explicit(&fd_key[fd], key, memory_order_relaxed);
	}
	if (atomic_load_explicit(&keys_assigned, memory_order_relaxed) &
	    (1ULL << (key & 63)))
		batch_each(NULL, 0, BW_WAIT, has_key, batch_flush_out, &key);
}

static void remember_mine(struct bbuf *b)
{
	unsigned char idx = (unsigned char)(b - batch_bufs);
	int i;

	for (i = 0; i < batch_mine && i < MINE_MAX; i++)
		if (batch_mine_idx[i] == idx)
			return;
	if (batch_mine < MINE_MAX)
		batch_mine_idx[batch_mine] = idx;
	if (batch_mine <= MINE_MAX)
		batch_mine++;
}

/*
 * Bad memory is the exact path's EFAULT; copying it would crash. The
 * array of writev and sendmsg is the application's; that of write and
 * send, the shim's own. The data is looked at only when it is to be
 * copied (iov_readable()): a new thread's first look at a buffer costs two
 * system calls, and most writes are not staged.
 */
static size_t iov_sum(enum shim_call call, const struct iovec *iov, int cnt,
		      bool *ok)
{
	bool app_array = call == C_WRITEV || call == C_PWRITEV ||
			 call == C_SENDMSG;
	size_t sum = 0;
	int i;

	*ok = cnt > 0 && cnt <= 1024 &&
	      (!app_array || umem_readable(iov, (size_t)cnt * sizeof(*iov)));
	for (i = 0; *ok && i < cnt; i++) {
		if (iov[i].iov_len > cap - sum)
			*ok = false;
		else
			sum += iov[i].iov_len;
	}
	return sum;
}

static bool iov_readable(const struct iovec *iov, int cnt)
{
	int i;

	for (i = 0; i < cnt; i++)
		if (!umem_readable(iov[i].iov_base, iov[i].iov_len))
			return false;
	return true;
}

static void copy_in(struct bbuf *b, const struct iovec *iov, int cnt)
{
	int i;

	for (i = 0; i < cnt; i++) {
		memcpy(b->data + b->len, iov[i].iov_base, iov[i].iov_len);
		b->len += iov[i].iov_len;
	}
}

/*
 * May the data join what b holds? One buffer is one write: a stream's
 * bytes with one MSG_NOSIGNAL setting, or a file's bytes at its position,
 * or a file's bytes at contiguous pwrite offsets.
 */
static bool joins(const struct bbuf *b, size_t total, bool nosignal,
		  off_t at)
{
	if (b->len + total > cap)
		return false;
	if (!b->len)
		return true;
	if (b->sock)
		return b->nosignal == nosignal;
	if (at < 0)
		return b->at < 0;
	return b->at >= 0 && b->at + (off_t)b->len == at;
}

static long stage(enum shim_call call, int fd, enum fd_class cls,
		  const struct iovec *iov, int cnt, size_t total, bool nosignal,
		  off_t at)
{
	struct fd_rec *r = &fd_tab[fd];
	uint16_t skip = atomic_load_explicit(&r->batch_skip, memory_order_relaxed);
	struct bbuf *b;
	int prev = batch_last_write;
	bool sock = cls == FD_SOCKET, run = batch_write_continues(fd);
	int err;

	bool is_send = call == C_SEND || call == C_SENDTO || call == C_SENDMSG;

	bool file = cls == FD_FILE || cls == FD_FILE_NOWAIT;

	if (!run && batch_chain_run(fd, prev))
		run = true;

	/*
	 * A pipe or socket is watched from the start: a request's answer is
	 * written once, a pipe's message may be read back before the next,
	 * and a copy plus a dup of the fd (and the flusher thread the first
	 * one starts) would only add to it. Staging starts at its first run
	 * of writes (the second write in a row), and so does it for an fd
	 * that cools down.
	 */
	if (!atomic_load_explicit(&r->batch_seen, memory_order_relaxed)) {
		atomic_store_explicit(&r->batch_seen, 1, memory_order_relaxed);
		if (!file && !skip && !run)
			atomic_store(&r->batch_skip, skip = SKIP_WATCH);
	}
	if (run && skip && skip != SKIP_ALWAYS)
		atomic_store(&r->batch_skip, skip = 0);
	/* send() on anything but a socket is libc's ENOTSOCK; pwrite on
	 * anything but a file, ESPIPE. */
	if (skip || (is_send && !sock) || (at >= 0 && !file) ||
	    (file && atomic_load_explicit(&files_direct, memory_order_relaxed)) ||
	    (cls == FD_PIPE && total >= PIPE_STAGE_MAX) ||
	    (cls != FD_PIPE && !sock && !file)) {
		if (skip && skip < SKIP_WATCH)
			atomic_store(&r->batch_skip, skip - 1);
		batch_flush_fd_data(fd);
		return BATCH_PASS;
	}
	if (!iov_readable(iov, cnt)) {
		batch_flush_fd_data(fd);	/* libc's EFAULT, after it */
		return BATCH_PASS;
	}
	batch_flush_before(fd, true);
	for (;;) {
		b = get_buf(fd, cls);
		if (!b)
			return BATCH_PASS;
		/*
		 * Read under the lock that batch_files_shared() takes after
		 * setting it: either it sees these bytes, or this sees it.
		 */
		if (b->file && atomic_load(&files_direct)) {
			batch_flush_locked(b, false);
			pthread_mutex_unlock(&b->lock);
			return BATCH_PASS;
		}
		if (at >= 0 && b->append) {
			/* Linux appends such a pwrite: libc's, after ours. */
			batch_flush_locked(b, true);
			pthread_mutex_unlock(&b->lock);
			return BATCH_PASS;
		}
		if (joins(b, total, nosignal, at) && batch_chain_join(b))
			break;
		/* Full, or another kind of write: what is there goes first. */
		err = batch_flush_locked(b, true);
		pthread_mutex_unlock(&b->lock);
		if (err) {
			batch_take_error(fd, nosignal);	/* err, and its SIGPIPE */
			return sys_ret(-err, 0);
		}
	}
	if (!b->len) {
		b->since = batch_now_ns();
		b->at = at;
		__atomic_store_n(&b->writer, batch_self(), __ATOMIC_RELAXED);
		if (b->file)
			atomic_fetch_add(&batch_files_staged, 1);
	} else if (b->writer != batch_self()) {
		__atomic_store_n(&b->writer, NULL, __ATOMIC_RELAXED);
	}
	copy_in(b, iov, cnt);
	b->chunks++;
	b->nosignal = nosignal;
	pthread_mutex_unlock(&b->lock);
	remember_mine(b);
	stat_add(&shim_st->batch[call], 1);
	stat_add(&shim_st->bytes[call], total);
	return (long)total;
}

static long batch_stage(enum shim_call call, int fd, const struct iovec *iov,
			int cnt, int msg_flags, off_t at)
{
	bool nosignal = msg_flags & MSG_NOSIGNAL, ok;
	enum fd_class cls;
	size_t total;
	long ret;
	int err;

	if (!batch_enabled || in_batch || shim_in_vfork ||
	    atomic_load_explicit(&batch_closed, memory_order_relaxed) ||
	    (unsigned)fd >= FD_MAX || !shim_ready() ||
	    shim_mode == MODE_DISABLED || shim_seccomp_why() != W__NR)
		return BATCH_PASS;
	in_batch = 1;
	err = batch_take_error(fd, nosignal);
	if (err) {
		in_batch = 0;
		return sys_ret(-err, 0);
	}
	total = iov_sum(call, iov, cnt, &ok);
	/*
	 * An fd of a type batch never stages (FD_OTHER: /dev/null, a tty, an
	 * eventfd) is marked so by any write, however large (dd of=/dev/null
	 * bs=64k): its writes take the fast path from now on.
	 */
	cls = fd_class_get(fd);
	if (cls == FD_OTHER)
		atomic_store(&fd_tab[fd].batch_skip, SKIP_ALWAYS);
	if (!ok || !total || total > cap / 2 ||
	    (msg_flags & ~MSG_NOSIGNAL) ||
	    (at >= 0 && total > (size_t)(INT64_MAX - at))) {
		/* What libc sends now must not overtake what waits here. */
		batch_flush_fd_data(fd);
		ret = BATCH_PASS;
	} else {
		ret = stage(call, fd, cls, iov, cnt, total, nosignal, at);
	}
	in_batch = 0;
	return ret;
}

long batch_write(enum shim_call call, int fd, const struct iovec *iov,
		 int cnt, int msg_flags)
{
	return batch_stage(call, fd, iov, cnt, msg_flags, -1);
}

long batch_pwrite(enum shim_call call, int fd, const struct iovec *iov,
		  int cnt, off_t off)
{
	if (off < 0)	/* EINVAL: libc's */
		return BATCH_PASS;
	return batch_stage(call, fd, iov, cnt, 0, off);
}

/*
 * Writable shared memory or a file lock: from now on this process's
 * regular-file writes are not staged (files_direct), and what was staged
 * goes out before the call that shares or locks.
 */
void batch_files_shared(void)
{
	/* The first time, every buffer: one may be mid-staging, unlocked. */
	if (!atomic_load_explicit(&files_direct, memory_order_relaxed)) {
		atomic_store(&files_direct, true);
		batch_flush_files();
	} else {
		batch_before_file();
	}
}

/*
 * A new file behind this number: data still staged for the old one (closed
 * where the shim could not see, fclose) goes to the old one, through its
 * dup. What the shim learnt or owes about the number is in its fd record,
 * which the caller resets next (fd_forget(), fd_set_class()).
 */
void batch_fd_forget(int fd)
{
	if (unlikely(batch_enabled)) {
		batch_flush_fd(fd, true);
		batch_key_forget(fd);
	}
}

void batch_key_forget(int fd)
{
	if (fd_key && (unsigned)fd < FD_MAX)
		atomic_store_explicit(&fd_key[fd], 0, memory_order_relaxed);
}

/* The child starts empty: staged data is the parent's to write. */
static void batch_fork_child(void)
{
	static const pthread_mutex_t unlocked = PTHREAD_MUTEX_INITIALIZER;
	int i;

	if (!batch_enabled)
		return;
	/*
	 * Only what differs from a free buffer is written: each page written
	 * is a copy, in every child of a shell that forks to exec.
	 */
	for (i = 0; i < BATCH_BUFS; i++) {
		struct bbuf *b = &batch_bufs[i];

		/* Any byte that differs, padding or not, means: made anew. */
		/* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison,cert-exp42-c,cert-flp37-c) */
		if (memcmp(&b->lock, &unlocked, sizeof(unlocked)))
			pthread_mutex_init(&b->lock, NULL);
		/* A record names a buffer only while the buffer names its fd. */
		if (b->fd >= 0) {
			syscall(SYS_close, b->dupfd);
			atomic_store_explicit(&fd_tab[b->fd].batch_buf, 0,
					      memory_order_relaxed);
			b->fd = -1;
		}
		if (b->len)
			b->len = 0;
		if (b->seq)
			b->seq = 0;
	}
	pthread_mutex_init(&pool_lock, NULL);
	batch_chain_fork_child();
	/*
	 * Not the whole table: writing 768 KiB of records cost every fork
	 * child 190 page faults. Only fds below batch_err_top ever had one.
	 */
	for (i = 0; i < atomic_load(&batch_err_top); i++)
		atomic_store_explicit(&fd_tab[i].batch_err, 0,
				      memory_order_relaxed);
	atomic_store(&batch_err_top, 0);
	batch_files_staged = 0;
	batch_assigned = 0;
	keys_assigned = 0;
	batch_flusher_fork_child();
	batch_mine = 0;
	in_batch = 0;
}

/*
 * Before the first staged write, while the process may still have one
 * thread (shim_settle()): a fork child's table holds only the fds open at
 * the fork.
 */
static void grow_fd_table(void)
{
	fd_kernel_table_grow(dup_min + BATCH_BUFS);
}

static void flush_for_child(void)
{
	batch_flush_all(false);
}

static void flush_at_exit(void)
{
	batch_flush_all(true);
}

void batch_init(void)
{
	struct rlimit rl;

	if (shim_cfg.profile != PROFILE_BATCH)
		return;
	cap = shim_cfg.batch_bytes;
	batch_bound_ns = (uint64_t)shim_cfg.batch_us * 1000;
	/* Below the rings' hidden fds, far above the application's. */
	dup_min = 64;
	if (syscall(SYS_getrlimit, RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 512)
		dup_min = (int)((rl.rlim_cur > FD_MAX ? FD_MAX
							 : rl.rlim_cur) / 2) -
			  2 * BATCH_BUFS;
	fd_key = real.mmap(NULL, FD_MAX * sizeof(*fd_key),
			   PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
	if (fd_key == MAP_FAILED)
		fd_key = NULL;
	batch_enabled = true;
	batch_chain_init();
	shim_hook_add(HOOK_SPAWN, flush_for_child);
	shim_hook_add(HOOK_FORK_CHILD, batch_fork_child);
	shim_hook_add(HOOK_EXIT, flush_at_exit);
	shim_hook_add(HOOK_SETTLE, grow_fd_table);
	shim_hook_add(HOOK_LAST_THREAD, batch_last_thread);
	shim_hook_add(HOOK_THREAD, batch_arm_fatal);
}

/*
 * A seccomp filter goes in: what is staged goes out now, while every
 * syscall still works, and nothing is staged from here on. The flusher is
 * woken to end: with SECCOMP_FILTER_FLAG_TSYNC it is filtered too. Data a
 * stager racing with this puts in still leaves at the next barrier.
 */
void batch_close(void)
{
	if (!batch_enabled)
		return;
	atomic_store(&batch_closed, true);
	batch_flush_all(true);
	syscall(SYS_futex, &batch_assigned, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
