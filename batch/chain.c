/* SPDX-License-Identifier: MIT */
/*
 * SHIM_BATCH_FLUSH=ring: the chain. Without it, a thread that moves on to
 * another fd sends what it staged first, so that its data leaves in the
 * order it wrote it; with it, what the thread stages on several fds waits
 * together and leaves in one io_uring_enter, one linked write per buffer.
 *
 * The order: each buffer holds one run of the thread's writes to its fd,
 * and its seq says where that run came in the thread's writes since its
 * last barrier. The buffers go out in seq order, linked, so that no write
 * of the chain starts before the one before it is complete: a reader never
 * sees data the thread wrote after data it cannot see yet, on any fd. A
 * write back to a buffer that is not the last (the order would need that
 * buffer twice) sends the chain first, and so does any write that is not
 * staged. Any other flush of a buffer of the chain (the fd is closed, read
 * through, written unstaged, stat()ed) sends the buffers before it first.
 *
 * Only while the process has one thread of its own. The flusher only ever
 * tries a lock, so that thread may wait for a buffer while it holds
 * another; two threads of the application could each hold a buffer the
 * other waits for, behind a write that waits for a reader that is one of
 * them. Chains end at pthread_create (HOOK_THREAD), and at the first staged
 * write of a thread made without it (glibc's own helpers).
 */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "batch/internal.h"
#include "ring/ring.h"

static _Atomic bool chain_off;
/* The thread whose chain it is (its batch_self()). */
static _Atomic(const char *) chain_owner;
static uint64_t chain_next;	/* the owner's, under the buffer's lock */
__thread bool batch_any_order;
__thread bool batch_only_try;

bool batch_chain_live(void)
{
	return shim_cfg.batch_chain &&
	       !atomic_load_explicit(&chain_off, memory_order_relaxed);
}

static bool chain_is_mine(void)
{
	return batch_chain_live() &&
	       atomic_load_explicit(&chain_owner, memory_order_relaxed) ==
		       batch_self();
}

/* Insert b into m[0..*k), kept in seq order (0, data from before, first). */
static void by_seq(struct bbuf **m, int *k, int max, struct bbuf *b)
{
	int i = *k;

	if (*k >= max)
		return;
	while (i > 0 && m[i - 1]->seq > b->seq) {
		m[i] = m[i - 1];
		i--;
	}
	m[i] = b;
	(*k)++;
}

/* Every buffer of the chain, in seq order (read unlocked: a hint). */
static int members(struct bbuf **m, uint64_t below)
{
	int i, k = 0;

	for (i = 0; i < BATCH_BUFS; i++) {
		struct bbuf *b = &batch_bufs[i];
		uint64_t s = __atomic_load_n(&b->seq, __ATOMIC_RELAXED);

		if (s && s < below && atomic_load(&b->fd) >= 0)
			by_seq(m, &k, BATCH_BUFS, b);
	}
	return k;
}

/*
 * No more chains: every buffer of the chain goes out, in order, waiting
 * as WAIT says for a buffer another thread holds.
 */
static void chain_end(enum batch_wait wait)
{
	struct bbuf *m[BATCH_BUFS];
	int i, k;

	if (atomic_exchange(&chain_off, true))
		return;
	k = members(m, UINT64_MAX);
	for (i = 0; i < k; i++) {
		if (batch_lock_buf(m[i], wait))
			continue;
		if (m[i]->fd >= 0)
			batch_flush_locked(m[i], true);
		pthread_mutex_unlock(&m[i]->lock);
	}
}

/* HOOK_THREAD: a second thread is about to exist. */
static void chain_threads(void)
{
	sig_atomic_t prev = in_batch;
	int saved = errno;

	if (!batch_chain_live() || prev)
		return;
	in_batch = 1;
	chain_end(BW_WAIT);	/* the flusher only holds a lock to write */
	in_batch = prev;
	errno = saved;
}

/*
 * A thread is about to stage: the chain is its own, the first to stage
 * claims it, and another thread's write ends chains (it waits for a buffer
 * no longer than the time bound: the owner may hold it for a write that
 * waits for this very thread to read).
 */
static bool chain_claim(void)
{
	const char *o;

	if (!batch_chain_live() || batch_is_flusher)
		return false;
	o = atomic_load_explicit(&chain_owner, memory_order_relaxed);
	if (o == batch_self() ||
	    (!o && atomic_compare_exchange_strong(&chain_owner, &o, batch_self())))
		return true;
	chain_end(BW_BOUNDED);
	return false;
}

/*
 * A staged write to fd comes next (batch_flush_before()): may it join what
 * this thread staged without sending that first? Yes if fd's buffer is the
 * chain's last (the newest seq), or in no chain while the chain has room.
 * A buffer further back would put this write before later ones.
 */
bool batch_chain_extends(int fd)
{
	int i;
	uint64_t seq;

	if (!chain_claim() || batch_mine > MINE_MAX)
		return false;
	i = atomic_load(&fd_tab[fd].batch_buf);
	seq = i ? __atomic_load_n(&batch_bufs[i - 1].seq, __ATOMIC_RELAXED) : 0;
	if (seq)
		return seq == chain_next;
	return batch_mine < MINE_MAX;
}

/*
 * With b locked, before the write's data goes in: b joins the chain, as
 * its last, or is its last already. False: b is further back in the
 * chain, or holds data from before that has no place in it (staged when
 * the chain was no one's); the caller sends it first (and what came
 * before it).
 */
bool batch_chain_join(struct bbuf *b)
{
	if (!chain_is_mine())
		return true;
	if (b->seq)
		return b->seq == chain_next;
	if (b->len)
		return false;
	__atomic_store_n(&b->seq, ++chain_next, __ATOMIC_RELAXED);
	return true;
}

/*
 * The buffers m[0..n) (locked, in order) as one linked chain on this
 * thread's ring: done[i], what of m[i] is written. A write the chain cut
 * short, failed or never ran is the caller's to finish. A pipe's SIGPIPE
 * is held back as batch_pipe_write_quiet() does; the caller's write of
 * that buffer raises or owes it.
 */
static void ring_chain(struct bbuf **m, int n, size_t *done, bool *unknown)
{
	struct io_uring_sqe *sqe[CHAIN_MAX];
	uint64_t bit = 1ULL << (SIGPIPE - 1), old = 0;
	struct timespec zero = { 0, 0 };
	int res[CHAIN_MAX], map[CHAIN_MAX], err, serr, i, k = 0;
	bool pipes = false, epipe = false;
	struct ring_thread *rt = ring_get_unjudged(&err, &serr);

	if (!rt)
		return;
	for (i = 0; i < n && k < CHAIN_MAX; i++) {
		struct bbuf *b = m[i];

		if (!b->len)
			continue;
		if (!(sqe[k] = io_uring_get_sqe(&rt->uring)))
			break;
		if (b->sock)
			io_uring_prep_send(sqe[k], b->dupfd, b->data,
					   b->len, MSG_NOSIGNAL | MSG_WAITALL);
		else
			io_uring_prep_write(sqe[k], b->dupfd, b->data,
					    (unsigned)b->len,
					    b->file && b->at >= 0 ?
						    (uint64_t)b->at : -1ULL);
		sqe[k]->flags |= IOSQE_IO_LINK;
		pipes |= !b->sock && !b->file;
		map[k++] = i;
	}
	if (!k) {
		ring_put(rt);
		return;
	}
	sqe[k - 1]->flags &= ~IOSQE_IO_LINK;
	if (pipes)
		syscall(SYS_rt_sigprocmask, SIG_BLOCK, &bit, &old, sizeof(bit));
	if (ring_run_chain(rt, sqe, (unsigned)k, res) == 0) {
		stat_add(&shim_st->batch_chains, 1);
		stat_add(&shim_st->batch_chain_ops, (uint64_t)k);
		for (i = 0; i < k; i++) {
			if (res[i] != (int)m[map[i]]->len)
				stat_add(&shim_st->batch_chain_cut, 1);
			if (res[i] > 0)
				done[map[i]] = (size_t)res[i];
			else if (res[i] == -EIO)	/* its fate unknown */
				unknown[map[i]] = true;
			epipe |= res[i] == -EPIPE;
		}
	}
	if (pipes) {
		if (epipe && !(old & bit))
			syscall(SYS_rt_sigtimedwait, &bit, NULL, &zero,
				sizeof(bit));
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL,
			sizeof(old));
	}
	ring_put(rt);
}

/*
 * Buffers that go as one linked submission: pipes' and sockets'. A
 * regular file's buffered write is punted to an io-wq worker on ext4 and
 * tmpfs (20 us and more, against 3 for write(2)), so files are written
 * by the syscall, in their place in the order. A socket's SEND needs
 * MSG_WAITALL to end the link when it comes back short: without it, a
 * short SEND completes, and what follows it in the chain would overtake
 * its rest.
 */
static bool chains(const struct bbuf *b)
{
	return b->len && !b->file &&
	       ring_cap_allowed(RCAP_FEATURE, b->sock ? RF_SEND_WAITALL
						      : RF_PIPE_NOWAIT);
}

/*
 * A pipe chains only where pipes take RWF_NOWAIT (6.4): before, io_uring
 * hands every write to a blocking pipe to an io-wq worker, as it does a
 * file's. Asked once, at the first chain with a pipe in it; a kernel that
 * refuses then refuses for every pipe.
 */
static void pipes_asked(struct bbuf **m, int n)
{
	static _Atomic bool asked;
	struct ring_thread *rt;
	int i, err, serr, yes;

	if (atomic_load_explicit(&asked, memory_order_relaxed) ||
	    !ring_cap_allowed(RCAP_FEATURE, RF_PIPE_NOWAIT))
		return;
	for (i = 0; i < n && (m[i]->sock || m[i]->file); i++)
		;
	if (i == n || !(rt = ring_get_unjudged(&err, &serr)))
		return;
	yes = ring_probe_nowait_read(rt, AF_UNSPEC);
	ring_put(rt);
	if (yes == 0)
		ring_cap_refused(RF_PIPE_NOWAIT);
	if (yes >= 0)
		atomic_store(&asked, true);
}

/*
 * m[0..n), locked, in order: written, and each one done (released unless
 * keep[i]). From the application's thread, each run of two or more that
 * chains() goes as a chain; what a chain left, and the rest, is written
 * one by one, in order, as without it. COOL: a buffer of one write that
 * went on its own cools its fd down (batch_cool_down), as without chains.
 */
void batch_chain_write(struct bbuf **m, int n, const bool *keep, bool cool,
		       int *err)
{
	size_t done[CHAIN_MAX] = { 0 };
	bool unknown[CHAIN_MAX] = { false };
	int i, run = 0;

	if (n > CHAIN_MAX)
		n = CHAIN_MAX;
	if (!batch_is_flusher)
		pipes_asked(m, n);
	for (i = 0; i < n; i++) {
		bool owe = false;
		int e = 0;

		/* The run from here, submitted before any of it is written. */
		if (!run && !batch_is_flusher) {
			while (i + run < n && chains(m[i + run]))
				run++;
			if (run >= 2)
				ring_chain(m + i, run, done + i, unknown + i);
			else
				run = 0;
		}
		if (run)
			run--;
		else if (cool)
			batch_cool_down(m[i]);
		if (unknown[i])
			e = EIO;
		else if (m[i]->len > done[i])
			e = batch_flush_data(m[i], done[i], &owe);
		e = batch_flush_done(m[i], e, owe, keep[i]);
		if (err)
			err[i] = e;
	}
}

/*
 * batch_flush_locked() of a buffer of the chain (b, locked): the buffers
 * before it in the chain go first, with it. The flusher only tries their
 * locks, and a read's flush of its fd (batch_only_try) waits for one no
 * longer than the time bound: the holder may be writing it into a pipe
 * this thread is about to read. Then b stays as it is (returns 0). A
 * fatal signal's flush writes b at once.
 */
int batch_chain_through(struct bbuf *b, bool keep)
{
	struct bbuf *m[CHAIN_MAX], *before[BATCH_BUFS];
	bool kp[CHAIN_MAX] = { false };
	int err[CHAIN_MAX], i, k = 0, nb;

	if (!batch_any_order) {
		nb = members(before, b->seq);
		for (i = 0; i < nb && k < CHAIN_MAX - 1; i++) {
			struct bbuf *p = before[i];

			if (p == b)
				continue;
			if (batch_lock_buf(p, batch_is_flusher ? BW_TRY
					      : batch_only_try ? BW_BOUNDED
							       : BW_WAIT)) {
				while (k)
					pthread_mutex_unlock(&m[--k]->lock);
				return 0;
			}
			if (p->fd < 0 || !p->seq || p->seq >= b->seq) {
				pthread_mutex_unlock(&p->lock);
				continue;
			}
			kp[k] = p->chunks > 1;
			m[k++] = p;
		}
	}
	kp[k] = keep;
	m[k++] = b;
	batch_chain_write(m, k, kp, false, err);
	for (i = 0; i < k - 1; i++)
		pthread_mutex_unlock(&m[i]->lock);
	return err[k - 1];
}

/*
 * A barrier, or a write back to an earlier buffer of the chain: every
 * buffer of it goes out, with the others this thread staged into (IDX,
 * N), in seq order. A buffer another thread holds is waited for as WAIT
 * says; if it is not taken, it and those after it stay for the flusher.
 * FILES_ONLY: up to the last regular file's. SW: the thread moves on to
 * another fd, and a buffer of several writes stays its fd's.
 */
void batch_chain_flush(const unsigned char *idx, int n, bool files_only,
		       bool sw, enum batch_wait wait)
{
	struct bbuf *all[BATCH_BUFS], *m[CHAIN_MAX];
	bool kp[CHAIN_MAX] = { false };
	int i, j, k, at = 0, got, upto;

	k = members(all, UINT64_MAX);
	for (i = 0; i < n; i++) {
		struct bbuf *b = &batch_bufs[idx[i]];

		for (j = 0; j < k && all[j] != b; j++)
			;
		if (j == k && !b->seq)
			by_seq(all, &k, BATCH_BUFS, b);
	}
	while (at < k) {
		bool held = false;

		for (got = upto = 0; at < k && got < CHAIN_MAX; at++) {
			struct bbuf *b = all[at];

			if (batch_lock_buf(b, wait)) {
				held = true;
				break;
			}
			if (b->fd < 0) {
				pthread_mutex_unlock(&b->lock);
				continue;
			}
			kp[got] = sw && b->chunks > 1;
			m[got++] = b;
			if (!files_only || b->file)
				upto = got;
		}
		/*
		 * A chain's buffers stay their fds' (the flusher gives up one
		 * that stays empty for a bound): a server that writes to the
		 * same sockets at every event would otherwise take and close
		 * a dup of each, six system calls per buffer.
		 */
		for (i = j = 0; i < upto; i++)
			j += chains(m[i]);
		for (i = 0; i < upto && j >= 2; i++)
			kp[i] |= chains(m[i]);
		batch_chain_write(m, upto, kp, !files_only, NULL);
		for (i = 0; i < got; i++)
			pthread_mutex_unlock(&m[i]->lock);
		/* Not taken: it, and what follows it, wait for the flusher. */
		if (held || (files_only && upto < got))
			break;
	}
}

/*
 * The flusher's pass: the chain's first buffer waited a whole bound, so
 * the chain goes out, in order, as far as its locks are free.
 */
void batch_chain_due(void)
{
	struct bbuf *m[BATCH_BUFS];
	int i, k;

	if (!batch_chain_live() || !(k = members(m, UINT64_MAX)) ||
	    __atomic_load_n(&m[0]->since, __ATOMIC_RELAXED) + batch_bound_ns >
		    batch_now_ns())
		return;
	for (i = 0; i < k; i++) {
		if (pthread_mutex_trylock(&m[i]->lock))
			break;
		if (m[i]->fd >= 0 && m[i]->seq)
			batch_flush_locked(m[i], true);
		pthread_mutex_unlock(&m[i]->lock);
	}
}

/* The fork child: one thread, no chain yet. */
void batch_chain_fork_child(void)
{
	atomic_store(&chain_off, false);
	atomic_store(&chain_owner, NULL);
	chain_next = 0;
}

void batch_chain_init(void)
{
	if (shim_cfg.batch_chain)
		shim_hook_add(HOOK_THREAD, chain_threads);
}
