/* SPDX-License-Identifier: MIT */
/*
 * Staging buffers for the batch profile.
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
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shim/batch.h"
#include "shim/umem.h"
#include "shim/real.h"

#define BATCH_BUFS	64
#define BATCH_FDS	65536
#define MINE_MAX	8
#define OWE_SIGPIPE	0x100	/* fd_err: SIGPIPE still to be raised */
#define SKIP_ALWAYS	255	/* fd_skip: never staged until the fd changes */
#define SKIP_COOLDOWN	16	/* writes left exact after a one-write batch */
/*
 * A pipe's writes this big go out as they are. Coalesced, they fill the
 * pipe in a few calls, and a write that fills it leaves the writer asleep
 * until the reader drained it all: the two stop overlapping, and
 * dd bs=4k | dd bs=4k took twice as long (the bench, 0.40-0.50), while
 * one syscall per 512 bytes and more was never the cost.
 */
#define PIPE_STAGE_MAX	512

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
	dev_t dev;		/* the file, to find its other fds' buffers */
	ino_t ino;
	char *data;
};

bool batch_enabled;
/* No more staging: a seccomp filter may kill what staging needs (dup). */
static _Atomic bool batch_closed;
__thread int batch_mine;
_Atomic int batch_files_staged;
/*
 * The process shares memory or takes file locks (batch_files_shared):
 * other processes may read its files at moments only that memory or lock
 * tells, so regular-file writes go out as they are made. Kept across
 * fork, as the mappings and the locks' users are.
 */
static _Atomic bool files_direct;
static __thread unsigned char mine[MINE_MAX];
static __thread volatile sig_atomic_t in_batch;
static __thread bool is_flusher;	/* blocks every signal */

static struct bbuf bufs[BATCH_BUFS];
static _Atomic int8_t fd_buf[BATCH_FDS];	/* buffer index + 1 */
static _Atomic uint16_t fd_err[BATCH_FDS];	/* errno | OWE_SIGPIPE */
static _Atomic uint8_t fd_skip[BATCH_FDS];
enum { RK_UNKNOWN, RK_MAY, RK_NEVER, RK_FILE };
static _Atomic uint8_t fd_rkind[BATCH_FDS];	/* batch_flush_for_read() */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint32_t assigned;		/* futex word for the flusher */
static _Atomic bool flusher_idle;
static bool flusher_started;
static size_t cap;
static uint64_t bound_ns;
static int dup_min;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

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
 * A pipe's SIGPIPE belongs to the write call that returned long ago, not
 * to whatever call flushes now: take it back and let the next write on
 * the fd raise it (batch_take_error). If the thread blocks SIGPIPE, it
 * stays pending there, as it would have.
 */
static long pipe_write_quiet(int fd, const char *p, size_t n, bool *owe)
{
	uint64_t bit = 1ULL << (SIGPIPE - 1), old = 0;
	struct timespec zero = { 0, 0 };
	long r;
	int e;

	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &bit, &old, sizeof(bit));
	r = syscall(SYS_write, fd, p, n);
	e = errno;
	if (r < 0 && e == EPIPE) {
		if (!(old & bit))
			syscall(SYS_rt_sigtimedwait, &bit, NULL, &zero,
				sizeof(bit));
		*owe = !(old & bit) || is_flusher;
	}
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof(old));
	errno = e;
	return r;
}

/*
 * Write the buffer out through its dup. Signals never cut a flush short:
 * the call they interrupt is not this write. Returns 0 or the errno the
 * write(2) would have reported; the rest of the data is dropped then, as
 * write-back does.
 */
static int flush_data(struct bbuf *b, bool *owe)
{
	const char *p = b->data;
	size_t n = b->len;
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
			r = pipe_write_quiet(b->dupfd, p, n, owe);
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
	atomic_store(&fd_buf[fd], 0);
	atomic_store(&b->fd, -1);
	atomic_fetch_sub(&assigned, 1);
}

/* With b locked: write it out; release it too unless keep. */
static int flush_locked(struct bbuf *b, bool keep)
{
	int fd = b->fd, err = 0;
	bool owe = false;

	if (b->len) {
		err = flush_data(b, &owe);
		stat_flush(b->len);
		/* After the data: a stat that reads 0 finds it in the file. */
		if (b->file)
			atomic_fetch_sub(&batch_files_staged, 1);
	}
	if (err) {
		if (b->sock)
			owe = err == EPIPE && !b->nosignal;
		atomic_store(&fd_err[fd], (uint16_t)(err | (owe ? OWE_SIGPIPE : 0)));
	}
	b->len = 0;
	b->chunks = 0;
	b->since = now_ns();
	if (err || !keep)
		release(b);
	return err;
}

/* Report a write error found at a flush: the next call on fd returns it. */
int batch_take_error(int fd, bool nosignal)
{
	uint16_t e;

	if ((unsigned)fd >= BATCH_FDS || !atomic_load_explicit(&fd_err[fd],
							      memory_order_relaxed))
		return 0;
	e = atomic_exchange(&fd_err[fd], 0);
	if (!e)
		return 0;
	if ((e & OWE_SIGPIPE) && !nosignal)
		syscall(SYS_tgkill, syscall(SYS_getpid), syscall(SYS_gettid),
			SIGPIPE);
	errno = e & 0xff;
	return errno;
}

static void *flusher(void *arg)
{
	struct timespec ts = { (time_t)(bound_ns / 1000000000ULL),
			       (long)(bound_ns % 1000000000ULL) };
	int i;

	(void)arg;
	is_flusher = true;
	for (;;) {
		atomic_store(&flusher_idle, true);
		while (!atomic_load(&assigned) && !atomic_load(&batch_closed))
			syscall(SYS_futex, &assigned, FUTEX_WAIT_PRIVATE, 0,
				NULL, NULL, 0);
		atomic_store(&flusher_idle, false);
		if (atomic_load(&batch_closed))
			return NULL;
		syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
		for (i = 0; i < BATCH_BUFS; i++) {
			struct bbuf *b = &bufs[i];

			/*
			 * Never wait for a buffer: its holder is staging or
			 * writing it out right now, and a flusher parked on
			 * the lock makes a busy writer queue behind it on
			 * two busy cores. since, read unlocked, is a hint.
			 */
			if (atomic_load(&b->fd) < 0 ||
			    __atomic_load_n(&b->since, __ATOMIC_RELAXED) +
			    bound_ns > now_ns() ||
			    pthread_mutex_trylock(&b->lock))
				continue;
			/* Data: out, the fd keeps its buffer. Empty for a
			 * whole bound: the buffer and its dup go. */
			if (b->fd >= 0 && b->since + bound_ns <= now_ns())
				flush_locked(b, b->len != 0);
			pthread_mutex_unlock(&b->lock);
		}
	}
	return NULL;
}

/* The time bound needs a thread: a writer may block where nobody sees. */
static void start_flusher(void)
{
	sigset_t all, old;
	pthread_attr_t a;
	pthread_t t;

	flusher_started = true;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, (size_t)64 * 1024);
	if (pthread_create(&t, &a, flusher, NULL) != 0)
		shim_warn("batch: no flusher thread; staged data waits for "
			  "the next barrier");
	pthread_attr_destroy(&a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
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

/* What the fd is must allow staging: blocking, writable, a byte stream. */
static int take_dup(int fd, bool sock, struct stat *st, int *flags)
{
	int d, fl, type = 0;
	socklen_t len = sizeof(type);

	d = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, dup_min);
	if (d < 0)
		return -1;
	fl = (int)syscall(SYS_fcntl, d, F_GETFL);
	if (fl < 0 || (fl & (O_NONBLOCK | O_DIRECT | O_PATH)) ||
	    (fl & O_ACCMODE) == O_RDONLY ||
	    (sock && (syscall(SYS_getsockopt, d, SOL_SOCKET, SO_TYPE, &type,
			      &len) < 0 || type != SOCK_STREAM))) {
		syscall(SYS_close, d);
		atomic_store(&fd_skip[fd], SKIP_ALWAYS);
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
		struct bbuf *b = &bufs[i];

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

/*
 * Another fd on the same file (2>&1 puts stdout and stderr on one pipe):
 * what was staged there was written first and goes out first.
 */
static void same_file_first(int fd, const struct stat *st)
{
	int i;

	for (i = 0; i < BATCH_BUFS; i++) {
		struct bbuf *b = &bufs[i];

		/* Only the same file is waited for: another may be held by a
		 * flush that waits for this thread to read. */
		if (atomic_load(&b->fd) < 0 || b->fd == fd ||
		    b->dev != st->st_dev || b->ino != st->st_ino)
			continue;
		pthread_mutex_lock(&b->lock);
		if (b->fd >= 0 && b->fd != fd && b->dev == st->st_dev &&
		    b->ino == st->st_ino)
			flush_locked(b, false);
		pthread_mutex_unlock(&b->lock);
	}
}

/* fd's buffer, locked; assigned now if it has none. NULL: not staged. */
static struct bbuf *get_buf(int fd, enum fd_class cls)
{
	struct bbuf *b;
	int i, d, fl;

	for (;;) {
		i = atomic_load(&fd_buf[fd]);
		if (!i)
			break;
		b = &bufs[i - 1];
		pthread_mutex_lock(&b->lock);
		if (b->fd == fd)
			return b;
		pthread_mutex_unlock(&b->lock);
	}
	bool sock = cls == FD_SOCKET;
	struct stat st;

	d = take_dup(fd, sock, &st, &fl);
	if (d < 0)
		return NULL;
	same_file_first(fd, &st);
	pthread_mutex_lock(&pool_lock);
	if (atomic_load(&fd_buf[fd]) || !(b = claim_free())) {
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
	b->since = now_ns();
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	atomic_store(&b->fd, fd);
	atomic_store(&fd_buf[fd], (int8_t)(b - bufs + 1));
	if (!flusher_started)
		start_flusher();
	pthread_mutex_unlock(&pool_lock);
	if (atomic_fetch_add(&assigned, 1) == 0 && atomic_load(&flusher_idle))
		syscall(SYS_futex, &assigned, FUTEX_WAKE_PRIVATE, 1, NULL,
			NULL, 0);
	return b;
}

static void remember_mine(struct bbuf *b)
{
	unsigned char idx = (unsigned char)(b - bufs);
	int i;

	for (i = 0; i < batch_mine && i < MINE_MAX; i++)
		if (mine[i] == idx)
			return;
	if (batch_mine < MINE_MAX)
		mine[batch_mine] = idx;
	if (batch_mine <= MINE_MAX)
		batch_mine++;
}

static size_t iov_sum(const struct iovec *iov, int cnt, bool *ok)
{
	size_t sum = 0;
	int i;

	/* Bad memory is the exact path's EFAULT; copying it would crash. */
	*ok = cnt > 0 && cnt <= 1024 &&
	      umem_readable(iov, (size_t)cnt * sizeof(*iov));
	for (i = 0; *ok && i < cnt; i++) {
		if (iov[i].iov_len > cap - sum ||
		    !umem_readable(iov[i].iov_base, iov[i].iov_len))
			*ok = false;
		else
			sum += iov[i].iov_len;
	}
	return sum;
}

static void copy_in(struct bbuf *b, const struct iovec *iov, int cnt)
{
	int i;

	for (i = 0; i < cnt; i++) {
		memcpy(b->data + b->len, iov[i].iov_base, iov[i].iov_len);
		b->len += iov[i].iov_len;
	}
}

static void flush_fd(int fd, bool wait)
{
	struct bbuf *b;
	int i;

	if ((unsigned)fd >= BATCH_FDS || !(i = atomic_load(&fd_buf[fd])))
		return;
	b = &bufs[i - 1];
	if (wait || b->file ? pthread_mutex_lock(&b->lock)
			    : pthread_mutex_trylock(&b->lock))
		return;
	if (b->fd == fd)
		flush_locked(b, false);
	pthread_mutex_unlock(&b->lock);
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

static long stage(enum shim_call call, int fd, const struct iovec *iov,
		  int cnt, size_t total, bool nosignal, off_t at)
{
	enum fd_class cls = fd_class_get(fd);
	uint8_t skip = atomic_load_explicit(&fd_skip[fd], memory_order_relaxed);
	struct bbuf *b;
	bool sock = cls == FD_SOCKET;
	int err;

	bool is_send = call == C_SEND || call == C_SENDTO || call == C_SENDMSG;

	bool file = cls == FD_FILE || cls == FD_FILE_NOWAIT;

	/* send() on anything but a socket is libc's ENOTSOCK; pwrite on
	 * anything but a file, ESPIPE. */
	if (skip || (is_send && !sock) || (at >= 0 && !file) ||
	    (file && atomic_load_explicit(&files_direct, memory_order_relaxed)) ||
	    (cls == FD_PIPE && total >= PIPE_STAGE_MAX) ||
	    (cls != FD_PIPE && !sock && !file)) {
		if (skip && skip != SKIP_ALWAYS)
			atomic_store(&fd_skip[fd], skip - 1);
		else if (cls == FD_OTHER)
			atomic_store(&fd_skip[fd], SKIP_ALWAYS);
		flush_fd(fd, true);
		return BATCH_PASS;
	}
	for (;;) {
		b = get_buf(fd, cls);
		if (!b)
			return BATCH_PASS;
		/*
		 * Read under the lock that batch_files_shared() takes after
		 * setting it: either it sees these bytes, or this sees it.
		 */
		if (b->file && atomic_load(&files_direct)) {
			flush_locked(b, false);
			pthread_mutex_unlock(&b->lock);
			return BATCH_PASS;
		}
		if (at >= 0 && b->append) {
			/* Linux appends such a pwrite: libc's, after ours. */
			flush_locked(b, true);
			pthread_mutex_unlock(&b->lock);
			return BATCH_PASS;
		}
		if (joins(b, total, nosignal, at))
			break;
		/* Full, or another kind of write: what is there goes first. */
		err = flush_locked(b, true);
		pthread_mutex_unlock(&b->lock);
		if (err) {
			batch_take_error(fd, nosignal);
			return -1;
		}
	}
	if (!b->len) {
		b->since = now_ns();
		b->at = at;
		if (b->file)
			atomic_fetch_add(&batch_files_staged, 1);
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
	size_t total;
	long ret;

	if (!batch_enabled || in_batch || shim_in_vfork ||
	    atomic_load_explicit(&batch_closed, memory_order_relaxed) ||
	    (unsigned)fd >= BATCH_FDS || !shim_ready() ||
	    shim_mode == MODE_DISABLED || shim_seccomp_why() != W__NR)
		return BATCH_PASS;
	in_batch = 1;
	if (batch_take_error(fd, nosignal)) {
		in_batch = 0;
		return -1;
	}
	total = iov_sum(iov, cnt, &ok);
	if (!ok || !total || total > cap / 2 ||
	    (msg_flags & ~MSG_NOSIGNAL) ||
	    (at >= 0 && total > (size_t)(INT64_MAX - at))) {
		/* What libc sends now must not overtake what waits here. */
		flush_fd(fd, true);
		ret = BATCH_PASS;
	} else {
		ret = stage(call, fd, iov, cnt, total, nosignal, at);
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
 * wait: a write, which must not overtake what other threads staged on fd.
 * A read only tries, unless fd is a file: on a pipe or socket the thread
 * that holds the buffer may be waiting for this very read.
 */
void batch_flush_fd(int fd, bool wait)
{
	int saved = errno;
	sig_atomic_t prev = in_batch;

	if ((unsigned)fd >= BATCH_FDS || !atomic_load(&fd_buf[fd]))
		return;
	if (prev)	/* a signal handler: the interrupted code may hold it */
		return;
	in_batch = 1;
	flush_fd(fd, wait);
	in_batch = prev;
	errno = saved;
}

/*
 * A barrier: what this thread staged goes out. A buffer that held a
 * single write between two barriers was a request waiting for its answer;
 * staging it only added syscalls, so its fd stays exact for a while.
 */
void batch_flush_mine(bool files_only)
{
	int i, n = batch_mine, saved = errno;

	if (in_batch)
		return;
	in_batch = 1;
	for (i = 0; i < BATCH_BUFS && i < (n > MINE_MAX ? BATCH_BUFS : n); i++) {
		struct bbuf *b = &bufs[n > MINE_MAX ? i : mine[i]];

		if (atomic_load(&b->fd) < 0 || (files_only && !b->file) ||
		    pthread_mutex_trylock(&b->lock))
			continue;
		if (b->fd >= 0) {
			if (b->chunks == 1)
				atomic_store(&fd_skip[b->fd], SKIP_COOLDOWN);
			flush_locked(b, false);
		}
		pthread_mutex_unlock(&b->lock);
	}
	if (!files_only)
		batch_mine = 0;
	in_batch = 0;
	errno = saved;
}

/*
 * What a read of fd may depend on, of what this thread staged. A read that
 * may wait (pipe, socket, tty, eventfd, ...) may wait for the answer to
 * any of it; a regular file may be one this thread wrote through another
 * fd; the memory devices (/dev/zero, /dev/urandom, ...) depend on nothing,
 * so dd's reads from them leave its writes staged.
 */
void batch_flush_for_read(int fd)
{
	struct stat st;
	uint8_t k = RK_MAY;

	if ((unsigned)fd < BATCH_FDS) {
		switch (fd_class_get(fd)) {
		case FD_FILE:
		case FD_FILE_NOWAIT:
			k = RK_FILE;
			break;
		case FD_OTHER:
			k = atomic_load_explicit(&fd_rkind[fd],
						 memory_order_relaxed);
			if (k)
				break;
			k = syscall(SYS_fstat, fd, &st) == 0 &&
			    S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 ?
				RK_NEVER : RK_MAY;
			atomic_store_explicit(&fd_rkind[fd], k,
					      memory_order_relaxed);
			break;
		default:
			break;
		}
	}
	if (k != RK_NEVER)
		batch_flush_mine(k == RK_FILE);
}

/*
 * Every buffer (or only the regular files'), locked and flushed; WAIT: for
 * a lock another thread holds, else passed over.
 */
static void flush_each(bool files_only, bool wait)
{
	int i;

	for (i = 0; i < BATCH_BUFS; i++) {
		struct bbuf *b = &bufs[i];

		if (atomic_load(&b->fd) < 0 || (files_only && !b->file))
			continue;
		if (wait ? pthread_mutex_lock(&b->lock)
			 : pthread_mutex_trylock(&b->lock))
			continue;
		if (b->fd >= 0 && (!files_only || b->file))
			flush_locked(b, false);
		pthread_mutex_unlock(&b->lock);
	}
}

/*
 * Exit and exec (wait): everything goes out, after other threads' flushes.
 * Fork and spawn only try: a thread blocked in a flush may be waiting for
 * the very child about to be started to read.
 */
void batch_flush_all(bool wait)
{
	int saved = errno;

	if (!batch_enabled || in_batch || shim_in_vfork)
		return;
	in_batch = 1;
	flush_each(false, wait);
	batch_mine = 0;
	in_batch = 0;
	errno = saved;
}

/*
 * batch_before_file(): every regular file's data goes out, other threads'
 * too (they may have handed the file over through a lock the shim cannot
 * see). Waiting for a file buffer is safe: its holder is copying into it
 * or writing it to a file, which waits for no reader.
 */
void batch_flush_files(void)
{
	int saved = errno;

	if (!batch_enabled || in_batch || shim_in_vfork)
		return;
	in_batch = 1;
	flush_each(true, true);
	in_batch = 0;
	errno = saved;
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
 * fd is about to be closed, replaced or changed (F_SETFL): its staged data
 * goes out first, and whatever the shim learnt about it is forgotten. A
 * number that is one of the shim's own dups goes out too.
 */
void batch_fd_changed(int fd)
{
	int i;

	if (!batch_enabled || (unsigned)fd >= BATCH_FDS)
		return;
	batch_flush_fd(fd, true);
	atomic_store(&fd_skip[fd], 0);
	for (i = 0; i < BATCH_BUFS; i++)
		if (atomic_load(&bufs[i].fd) >= 0 && bufs[i].dupfd == fd)
			batch_flush_fd(bufs[i].fd, true);
}

/*
 * A new file behind this number: nothing learnt or owed carries over, and
 * data still staged for the old one (closed where the shim could not see,
 * fclose) goes to the old one, through its dup.
 */
void batch_fd_forget(int fd)
{
	if ((unsigned)fd < BATCH_FDS) {
		batch_flush_fd(fd, true);
		atomic_store_explicit(&fd_skip[fd], 0, memory_order_relaxed);
		atomic_store_explicit(&fd_err[fd], 0, memory_order_relaxed);
		atomic_store_explicit(&fd_rkind[fd], 0, memory_order_relaxed);
	}
}

/* The child starts empty: staged data is the parent's to write. */
void batch_fork_child(void)
{
	int i;

	if (!batch_enabled)
		return;
	for (i = 0; i < BATCH_BUFS; i++) {
		struct bbuf *b = &bufs[i];

		pthread_mutex_init(&b->lock, NULL);
		if (b->fd >= 0)
			syscall(SYS_close, b->dupfd);
		b->fd = -1;
		b->len = 0;
	}
	pthread_mutex_init(&pool_lock, NULL);
	memset((void *)fd_buf, 0, sizeof(fd_buf));
	memset((void *)fd_err, 0, sizeof(fd_err));
	batch_files_staged = 0;
	assigned = 0;
	flusher_started = false;
	batch_mine = 0;
	in_batch = 0;
}

/*
 * Fatal signals. Where a signal would kill the process by default, a
 * handler of the shim's own sends the staged data out first, then lets
 * the default action happen (SA_RESETHAND, raised again). The application
 * is told the disposition is SIG_DFL (intercept/signal.c) until it sets
 * its own. Signals that report a fault are left alone: the process state
 * is not to be trusted then. Locks are only tried: the thread the signal
 * interrupted may hold one.
 */
static const int fatal_sigs[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM,
	SIGPIPE, SIGABRT, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF,
};
static _Atomic uint64_t sig_ours;

static void on_fatal(int sig)
{
	flush_each(false, false);
	syscall(SYS_tgkill, syscall(SYS_getpid), syscall(SYS_gettid), sig);
}

static void install_fatal(void)
{
	struct sigaction a = { .sa_handler = on_fatal }, old;
	size_t i;

	a.sa_flags = SA_RESETHAND | SA_NODEFER | SA_RESTART;
	sigfillset(&a.sa_mask);
	for (i = 0; i < sizeof(fatal_sigs) / sizeof(fatal_sigs[0]); i++) {
		int sig = fatal_sigs[i];

		if (real.sigaction(sig, NULL, &old) == 0 &&
		    old.sa_handler == SIG_DFL && !(old.sa_flags & SA_SIGINFO) &&
		    real.sigaction(sig, &a, NULL) == 0)
			atomic_fetch_or(&sig_ours, 1ULL << sig);
	}
}

/* Is the shim's handler in place where the application set nothing? */
bool batch_sig_hidden(int sig)
{
	return sig > 0 && sig < 64 &&
	       (atomic_load_explicit(&sig_ours, memory_order_relaxed) >> sig) & 1;
}

/* The application installs its own: the shim's is gone. */
void batch_sig_release(int sig)
{
	if (sig > 0 && sig < 64)
		atomic_fetch_and(&sig_ours, ~(1ULL << sig));
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
	int i;

	if (shim_cfg.profile != PROFILE_BATCH)
		return;
	cap = shim_cfg.batch_bytes;
	bound_ns = (uint64_t)shim_cfg.batch_us * 1000;
	for (i = 0; i < BATCH_BUFS; i++) {
		pthread_mutex_init(&bufs[i].lock, NULL);
		bufs[i].fd = -1;
		bufs[i].dupfd = -1;
	}
	/* Below the rings' hidden fds, far above the application's. */
	dup_min = 64;
	if (syscall(SYS_getrlimit, RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 512)
		dup_min = (int)((rl.rlim_cur > BATCH_FDS ? BATCH_FDS
							 : rl.rlim_cur) / 2) -
			  2 * BATCH_BUFS;
	batch_enabled = true;
	install_fatal();
	shim_hook_add(HOOK_SPAWN, flush_for_child);
	shim_hook_add(HOOK_FORK_CHILD, batch_fork_child);
	shim_hook_add(HOOK_EXIT, flush_at_exit);
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
	syscall(SYS_futex, &assigned, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
