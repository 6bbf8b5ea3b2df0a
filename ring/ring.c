/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ring/judge.h"
#include "ring/ring.h"
#include "shim/shim.h"

#define RING_ENTRIES	8
#define RING_RETRY	256	/* calls before a failed setup is retried */
#define TAG_OP		1
#define TAG_TIMEOUT	2
#define TAG_CANCEL	3
#define OWNED_MAX	65536
/* ring_create() result for a refused probe: this minus the errno. */
#define RING_PROBE_FAILED	(-10000)

struct ring_caps ring_caps;


static __thread struct ring_thread tls_ring;
static pthread_key_t ring_key;
static pthread_once_t ring_key_once = PTHREAD_ONCE_INIT;
static _Atomic unsigned ring_gen;
static _Atomic int setup_choice;	/* index into setup_candidates */
static _Atomic bool caps_known;
static int sq_anchor_fd = -1;		/* under registry_lock */
static _Atomic bool sqpoll_refused;
/* A seccomp filter is (about to be) in force: io_uring is never entered,
 * created or torn down again in this process. */
static _Atomic bool rings_banned;

/* Registry of live rings, for the fork child; never touched per call. */
static struct ring_thread *registry;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

/* Ring fds kept high when they cannot be registered and closed (pre-5.18). */
static _Atomic uint64_t owned[OWNED_MAX / 64];

/*
 * Best first. DEFER_TASKRUN keeps completions from flagging the thread with
 * TIF_NOTIFY_SIGNAL behind the application's back (a spurious EINTR in its
 * epoll_wait); COOP_TASKRUN is the next best thing before 6.1.
 */
static const unsigned setup_candidates[] = {
	IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
		IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CLAMP,
	IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
		IORING_SETUP_CLAMP,
	IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP,
	IORING_SETUP_CLAMP,
	0,
};
#define NR_CANDIDATES (sizeof(setup_candidates) / sizeof(setup_candidates[0]))

static void owned_set(int fd, bool on)
{
	uint64_t bit;

	if ((unsigned)fd >= OWNED_MAX)
		return;
	bit = 1ULL << (fd % 64);
	if (on)
		atomic_fetch_or(&owned[fd / 64], bit);
	else
		atomic_fetch_and(&owned[fd / 64], ~bit);
}

bool ring_owns_fd(int fd)
{
	if ((unsigned)fd >= OWNED_MAX)
		return false;
	return (atomic_load_explicit(&owned[fd / 64], memory_order_relaxed) >>
		(fd % 64)) & 1;
}

/* The application dup2'ed over a ring fd: its owner must drop that ring. */
void ring_fd_taken(int fd)
{
	struct ring_thread *rt;

	pthread_mutex_lock(&registry_lock);
	for (rt = registry; rt; rt = rt->next)
		if (rt->hidden_fd == fd)
			atomic_store(&rt->lost, true);
	pthread_mutex_unlock(&registry_lock);
	owned_set(fd, false);
}

static void registry_add(struct ring_thread *rt)
{
	pthread_mutex_lock(&registry_lock);
	rt->next = registry;
	registry = rt;
	pthread_mutex_unlock(&registry_lock);
}

static void registry_del(struct ring_thread *rt)
{
	struct ring_thread **pp;

	pthread_mutex_lock(&registry_lock);
	for (pp = &registry; *pp; pp = &(*pp)->next) {
		if (*pp == rt) {
			*pp = rt->next;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

/* Unmap and close without submitting anything: safe in a fork child too. */
static void ring_forget(struct ring_thread *rt)
{
	if (rt->hidden_fd >= 0)
		owned_set(rt->hidden_fd, false);
	if (atomic_load(&rt->lost))
		rt->uring.ring_fd = -1;	/* that number is the application's */
	io_uring_queue_exit(&rt->uring);
	rt->hidden_fd = -1;
	atomic_store(&rt->lost, false);
}

/* Out of the registry and of the SQPOLL anchor: no longer this thread's. */
static void ring_detach(struct ring_thread *rt, int next_state)
{
	stat_add(&shim_st->rings_freed, 1);
	if (rt->anchor) {
		pthread_mutex_lock(&registry_lock);
		sq_anchor_fd = -1;
		pthread_mutex_unlock(&registry_lock);
		rt->anchor = false;
	}
	registry_del(rt);
	rt->state = next_state;
	rt->retry = RING_RETRY;
}

static void ring_free(struct ring_thread *rt, int next_state)
{
	ring_detach(rt, next_state);
	ring_forget(rt);
}

/*
 * Drop a ring in a thread that goes on running, without tearing it down:
 * the kernel's exit work for a ring signals the thread that created it a
 * few ms later (task_work, TWA_SIGNAL), and a recv or accept with
 * SO_RCVTIMEO that it lands in fails with EINTR, which the application
 * must never see. The mapping (a few pages) stays until the process exits;
 * this happens only after io_uring failed this thread.
 */
static void ring_park(struct ring_thread *rt, int next_state)
{
	ring_detach(rt, next_state);
	/* A lost ring's number is the application's now; else the ring's. */
	if (atomic_load(&rt->lost) && rt->hidden_fd >= 0)
		owned_set(rt->hidden_fd, false);
	atomic_store(&rt->lost, false);
	rt->hidden_fd = -1;
}

static void ring_thread_exit(void *arg)
{
	struct ring_thread *rt = arg;

	/* Under a filter even the unregister in the teardown may kill. */
	if (rt->state == RT_READY && atomic_load(&rings_banned))
		ring_park(rt, RT_EXITING);
	else if (rt->state == RT_READY)
		ring_free(rt, RT_EXITING);
	rt->state = RT_EXITING;
}

static void ring_key_init(void)
{
	pthread_key_create(&ring_key, ring_thread_exit);
}

static int probe_ops(struct io_uring *r)
{
	/* No malloc (io_uring_get_probe would): the probe lives here. */
	union {
		struct io_uring_probe p;
		char buf[sizeof(struct io_uring_probe) +
			 256 * sizeof(struct io_uring_probe_op)];
	} pr;
	uint64_t ops[4] = { 0 };
	unsigned i;
	int ret;

	memset(&pr, 0, sizeof(pr));
	ret = io_uring_register_probe(r, &pr.p, 256);
	/*
	 * EINVAL: before 5.6, where no op is known to work. Anything else
	 * (EPERM from a filter on io_uring_register) says the same thing
	 * louder, and the ring is given up.
	 */
	if (ret == -EINVAL)
		return 0;
	if (ret < 0)
		return ret;
	for (i = 0; i < pr.p.ops_len && i < 256; i++)
		if (pr.p.ops[i].flags & IO_URING_OP_SUPPORTED)
			ops[pr.p.ops[i].op / 64] |= 1ULL << (pr.p.ops[i].op % 64);
	ring_caps_apply_profile(ops);
	for (i = 0; i < 4; i++)
		atomic_store((_Atomic uint64_t *)&ring_caps.ops[i], ops[i]);
	return 0;
}

void ring_disable_op(unsigned op)
{
	if (op < 256)
		atomic_fetch_and((_Atomic uint64_t *)&ring_caps.ops[op / 64],
				 ~(1ULL << (op % 64)));
}

/*
 * Move the ring fd out of the range the application allocates from: near
 * the top of RLIMIT_NOFILE, where only a program that dup2()s to fixed high
 * numbers would look, and those calls are watched (intercept/fd.c).
 */
static int hide_fd_high(struct io_uring *r)
{
	struct rlimit rl;
	long top, span, fd = -1;

	if (syscall(SYS_getrlimit, RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < 128)
		return -EMFILE;
	top = (long)(rl.rlim_cur > OWNED_MAX ? OWNED_MAX : rl.rlim_cur);
	/* Many threads' rings: widen the window downwards, to half the limit. */
	for (span = 64; span <= top / 2; span *= 2) {
		fd = syscall(SYS_fcntl, r->ring_fd, F_DUPFD_CLOEXEC, top - span);
		if (fd >= 0 || errno != EMFILE)
			break;
	}
	if (fd < 0)
		return -errno;
	syscall(SYS_close, r->ring_fd);
	r->ring_fd = (int)fd;
	r->enter_ring_fd = (int)fd;
	owned_set((int)fd, true);
	return (int)fd;
}

/*
 * A high slot taken before the SQ thread exists. Growing the fd table of a
 * process whose files an SQ thread shares waits for an RCU grace period
 * (expand_fdtable() calls synchronize_rcu() when the table is shared):
 * about 8 ms here, paid by every process's first sqpoll ring. The slot is
 * held by an O_PATH fd of "/" and the ring fd is dup3()ed over it.
 */
static int reserve_fd_high(void)
{
	struct io_uring r = { .ring_fd = -1 };
	int ret;

	r.ring_fd = (int)syscall(SYS_openat, AT_FDCWD, "/", O_PATH | O_CLOEXEC);
	if (r.ring_fd < 0)
		return -errno;
	ret = hide_fd_high(&r);
	if (ret < 0)
		syscall(SYS_close, r.ring_fd);
	return ret;
}

/* Put the ring fd in the reserved slot (see reserve_fd_high()). */
static int take_fd_high(struct io_uring *r, int slot)
{
	if (syscall(SYS_dup3, r->ring_fd, slot, O_CLOEXEC) < 0)
		return -errno;
	syscall(SYS_close, r->ring_fd);
	r->ring_fd = slot;
	r->enter_ring_fd = slot;
	return slot;
}

static void release_fd_high(int slot)
{
	owned_set(slot, false);
	syscall(SYS_close, slot);
}

/*
 * SHIM_PROFILE=sqpoll: one kernel SQ thread for the whole process. The
 * first ring owns it and keeps its fd (hidden high) so that the rings of
 * later threads can attach to it (IORING_SETUP_ATTACH_WQ).
 */
static int sqpoll_create(struct ring_thread *rt, struct io_uring_params *p)
{
	int ret, slot;

	memset(p, 0, sizeof(*p));
	p->flags = IORING_SETUP_SQPOLL | IORING_SETUP_CLAMP;
	if (ring_setup_allowed(IORING_SETUP_SUBMIT_ALL))
		p->flags |= IORING_SETUP_SUBMIT_ALL;
	p->sq_thread_idle = shim_cfg.sq_idle_ms;
	if (shim_cfg.sq_cpu >= 0) {
		p->flags |= IORING_SETUP_SQ_AFF;
		p->sq_thread_cpu = (unsigned)shim_cfg.sq_cpu;
	}
	pthread_mutex_lock(&registry_lock);
	if (sq_anchor_fd >= 0) {
		p->flags |= IORING_SETUP_ATTACH_WQ;
		p->wq_fd = (unsigned)sq_anchor_fd;
		ret = io_uring_queue_init_params(RING_ENTRIES, &rt->uring, p);
	} else if ((slot = reserve_fd_high()) < 0) {
		ret = slot;
	} else {
		ret = io_uring_queue_init_params(RING_ENTRIES, &rt->uring, p);
		if (ret == 0) {
			ret = take_fd_high(&rt->uring, slot);
			if (ret < 0)
				io_uring_queue_exit(&rt->uring);
		}
		if (ret < 0) {
			release_fd_high(slot);
		} else {
			rt->hidden_fd = slot;
			sq_anchor_fd = slot;
			rt->anchor = true;
			ret = 0;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	if (ret == 0) {
		rt->sqpoll = true;
		sq_ring_made(&rt->pay);
	}
	return ret;
}

static int ring_create(struct ring_thread *rt)
{
	struct io_uring_params p;
	unsigned i = atomic_load(&setup_choice);
	int ret;

	rt->hidden_fd = -1;
	rt->sqpoll = false;
	rt->anchor = false;
	atomic_store(&rt->lost, false);
	if (shim_cfg.profile == PROFILE_SQPOLL && !atomic_load(&sqpoll_refused)) {
		ret = sqpoll_create(rt, &p);
		if (ret == 0)
			goto created;
		atomic_store(&sqpoll_refused, true);
		shim_warn("SQPOLL ring refused (%s): profile exact instead",
			  shim_errname(-ret));
	}

	while (!ring_setup_allowed(setup_candidates[i]))
		i++;	/* the last candidate, 0, is always allowed */
	for (;;) {
		memset(&p, 0, sizeof(p));
		p.flags = setup_candidates[i];
		ret = io_uring_queue_init_params(RING_ENTRIES, &rt->uring, &p);
		if (ret != -EINVAL || i + 1 >= NR_CANDIDATES)
			break;
		i++;
	}
	if (ret < 0)
		return ret;
	atomic_store(&setup_choice, i);
created:
	if (!atomic_load(&caps_known)) {
		ring_caps.setup_flags = p.flags;
		ring_caps.features = p.features;
		ret = probe_ops(&rt->uring);
		if (ret < 0) {
			/*
			 * Left as it is, on purpose: tearing a ring down makes
			 * the kernel's exit work signal this thread a few ms
			 * later (task_work, TWA_SIGNAL), and a recv with
			 * SO_RCVTIMEO that it lands in fails with EINTR. The
			 * process goes to pass-through and makes no more.
			 */
			if (rt->uring.ring_fd >= 0 && hide_fd_high(&rt->uring) < 0)
				io_uring_queue_exit(&rt->uring);
			return RING_PROBE_FAILED + ret;
		}
	}
	if (rt->anchor) {
		atomic_store(&caps_known, true);
		return 0;
	}
	/*
	 * Keep the fd away from the application: enter by registered index
	 * and close the fd itself (liburing 2.3 does not do this for us).
	 */
	if (ring_cap_allowed(RCAP_FEATURE, RF_REG_RING_FD) &&
	    io_uring_register_ring_fd(&rt->uring) == 1) {
		syscall(SYS_close, rt->uring.ring_fd);
		rt->uring.ring_fd = -1;
		ring_caps.reg_ring_fd = true;
	} else {
		ret = hide_fd_high(&rt->uring);
		if (ret < 0) {
			io_uring_queue_exit(&rt->uring);
			return ret;
		}
		rt->hidden_fd = ret;
	}
	atomic_store(&caps_known, true);
	return 0;
}

struct ring_thread *ring_get(int *err, int *setup_errno)
{
	struct ring_thread *rt = &tls_ring;
	int ret;

	if (unlikely(rt->busy)) {
		*err = RING_E_BUSY;
		return NULL;
	}
	rt->busy = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (unlikely(atomic_load_explicit(&rings_banned, memory_order_relaxed))) {
		*err = RING_E_EXITING;
		goto out;
	}
	if (unlikely(shim_cfg.profile == PROFILE_SQPOLL) && shim_cfg.sq_adapt &&
	    !atomic_load_explicit(&sqpoll_refused, memory_order_relaxed) &&
	    rt->pay.state != SQ_ON && !sq_admit(&rt->pay)) {
		*err = RING_E_SQOFF;
		goto out;
	}
	if (likely(rt->state == RT_READY)) {
		if (likely(rt->gen == atomic_load_explicit(&ring_gen,
						memory_order_relaxed) &&
			   !atomic_load_explicit(&rt->lost,
						 memory_order_relaxed)))
			return rt;
		ring_park(rt, RT_NONE);
	}
	if (rt->state == RT_EXITING) {
		*err = RING_E_EXITING;
		goto out;
	}
	if (rt->state == RT_FAILED && --rt->retry) {
		*err = RING_E_RETRY;
		goto out;
	}
	ret = ring_create(rt);
	if (ret < 0) {
		rt->state = RT_FAILED;
		rt->retry = RING_RETRY;
		*err = RING_E_SETUP;
		if (ret <= RING_PROBE_FAILED) {
			*err = RING_E_PROBE;
			ret -= RING_PROBE_FAILED;
		}
		*setup_errno = -ret;
		goto out;
	}
	pthread_once(&ring_key_once, ring_key_init);
	pthread_setspecific(ring_key, rt);
	rt->gen = atomic_load(&ring_gen);
	rt->state = RT_READY;
	registry_add(rt);
	stat_add(&shim_st->rings, 1);
	return rt;
out:
	ring_put(rt);
	return NULL;
}

static void link_timeout(struct ring_thread *rt,
			 const struct __kernel_timespec *ts)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&rt->uring);

	rt->op_sqe->flags |= IOSQE_IO_LINK;
	io_uring_prep_link_timeout(sqe, (struct __kernel_timespec *)ts, 0);
	io_uring_sqe_set_data64(sqe, TAG_TIMEOUT);
}

static int submit_cancel(struct ring_thread *rt)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&rt->uring);
	int ret;

	io_uring_prep_cancel64(sqe, TAG_OP, 0);
	io_uring_sqe_set_data64(sqe, TAG_CANCEL);
	do {
		stat_add(&shim_st->enter, 1);
		ret = io_uring_submit(&rt->uring);
	} while (ret == -EINTR);
	return ret;
}

/* One CQE, waiting for it if there is none; -EINTR when a signal came. */
static int next_cqe(struct ring_thread *rt, struct io_uring_cqe **cqe)
{
	if (io_uring_peek_cqe(&rt->uring, cqe) == 0)
		return 0;
	stat_add(&shim_st->enter, 1);
	return io_uring_wait_cqe(&rt->uring, cqe);
}

static int submit_and_wait(struct ring_thread *rt)
{
	stat_add(&shim_st->enter, 1);
	return io_uring_submit_and_wait(&rt->uring, 1);
}

/*
 * An SQE whose SQ thread has set NEED_WAKEUP and taken nothing for this
 * long is not going to be taken: the thread looks at the rings once more
 * right after setting the flag, and then sleeps.
 */
#define SQ_ASLEEP_NS	(50 * 1000000ull)

/*
 * SQPOLL where io_uring_enter failed (a filter refused it, say): the SQ
 * thread may have taken the SQEs anyway, on its last look before sleeping,
 * or be taking them now, and then the op runs whatever the failed call
 * said. Its fate is read from the rings themselves, without a syscall.
 * True: it was taken, and its completion is in the CQ ring; false: it was
 * not taken and the SQ thread sleeps (only another ring's wake-up of the
 * same SQ thread could still run it: see ring_park()).
 */
static bool sq_fate(struct ring_thread *rt)
{
	struct io_uring *r = &rt->uring;
	struct io_uring_cqe *cqe;
	uint64_t t, asleep = 0;

	for (;;) {
		if (io_uring_peek_cqe(r, &cqe) == 0)
			return true;
		if (IO_URING_READ_ONCE(*r->sq.khead) != r->sq.sqe_tail) {
			t = now_ns();
			if (!(IO_URING_READ_ONCE(*r->sq.kflags) &
			      IORING_SQ_NEED_WAKEUP))
				asleep = 0;
			else if (!asleep)
				asleep = t;
			else if (t - asleep > SQ_ASLEEP_NS)
				return false;
		}
		/* Taken: a completion always comes; let the SQ thread run. */
		syscall(SYS_sched_yield);
	}
}

/*
 * SQPOLL: the SQ thread picks the SQE up without a syscall (one only to wake
 * it after its idle time); spin a bounded time for the CQE before
 * next_cqe() blocks in the kernel.
 */
static int sqpoll_submit(struct ring_thread *rt, int nr)
{
	struct io_uring *r = &rt->uring;
	struct io_uring_cqe *cqe;
	uint64_t deadline;
	bool hit;
	int ret;

	do {
		if (IO_URING_READ_ONCE(*r->sq.kflags) & IORING_SQ_NEED_WAKEUP)
			stat_add(&shim_st->enter, 1);
		ret = io_uring_submit(r);
	} while (ret == -EINTR);
	/*
	 * Once the tail is published the SQEs are the SQ thread's, whatever
	 * io_uring_submit() says: it counts those not yet consumed, 0 when
	 * the SQ thread was quick. A failed wake-up means they will never run
	 * only if the SQ thread is seen asleep without them.
	 */
	if (ret < 0 && IO_URING_READ_ONCE(*r->sq.khead) != r->sq.sqe_tail &&
	    !sq_fate(rt))
		return ret;
	hit = io_uring_peek_cqe(r, &cqe) == 0;
	if (!hit && shim_cfg.spin_us) {
		deadline = now_ns() + shim_cfg.spin_us * 1000ull;
		while (!(hit = io_uring_peek_cqe(r, &cqe) == 0) &&
		       now_ns() < deadline)
			__builtin_ia32_pause();
	}
	if (shim_cfg.sq_adapt)
		sq_account(&rt->pay, hit);
	return nr;
}

int ring_run(struct ring_thread *rt, const struct ring_wait *w, int *res,
	     unsigned *done)
{
	bool op_done = false, to_pending, cancelled = false, cancel_cqe = false;
	struct io_uring_cqe *cqe;
	int ret, nr;

	to_pending = w && w->timeout;
	if (to_pending)
		link_timeout(rt, w->timeout);
	io_uring_sqe_set_data64(rt->op_sqe, TAG_OP);
	nr = to_pending ? 2 : 1;
	ret = rt->sqpoll ? sqpoll_submit(rt, nr) : submit_and_wait(rt);
	if (ret < nr) {
		/*
		 * Nothing ran (SUBMIT_ALL: all or an error). The SQEs may still
		 * sit in the SQ ring, so this ring is done for.
		 */
		ring_park(rt, RT_FAILED);
		return ret < 0 ? ret : -EAGAIN;
	}
	*done = 0;
	while (!op_done || to_pending) {
		ret = next_cqe(rt, &cqe);
		if (ret == -EINTR || ret == -ETIME) {
			if (!cancelled && !op_done && w && w->intr &&
			    w->intr(w->arg)) {
				cancelled = true;
				*done |= RING_DONE_CANCELLED;
				if (submit_cancel(rt) < 0)
					cancelled = false;
				else
					cancel_cqe = true;
			}
			continue;
		}
		if (ret < 0 && rt->sqpoll && !op_done && !to_pending) {
			/* The wait was refused; the rings say what became of it. */
			if (sq_fate(rt))
				continue;
			ring_park(rt, RT_FAILED);
			return ret;
		}
		if (ret < 0) {
			/* The ring itself went away; the op cannot be reaped. */
			ring_park(rt, RT_FAILED);
			*res = -EINTR;
			return 0;
		}
		switch (io_uring_cqe_get_data64(cqe)) {
		case TAG_OP:
			*res = cqe->res;
			op_done = true;
			break;
		case TAG_TIMEOUT:
			if (cqe->res == -ETIME)
				*done |= RING_DONE_TIMEOUT;
			to_pending = false;
			break;
		case TAG_CANCEL:
			cancel_cqe = false;
			break;
		}
		io_uring_cqe_seen(&rt->uring, cqe);
	}
	/* A cancel CQE may still be on its way; reap it so none is left. */
	while (cancel_cqe) {
		ret = next_cqe(rt, &cqe);
		if (ret == -EINTR || ret == -ETIME)
			continue;
		if (ret < 0)
			break;
		if (io_uring_cqe_get_data64(cqe) == TAG_CANCEL)
			cancel_cqe = false;
		io_uring_cqe_seen(&rt->uring, cqe);
	}
	return 0;
}

void ring_fork_prepare(void)
{
	pthread_mutex_lock(&registry_lock);
}

void ring_fork_parent(void)
{
	pthread_mutex_unlock(&registry_lock);
}

/*
 * The child must never submit on an inherited ring (it would corrupt the
 * parent's view). Unmap every ring, including those of threads that do not
 * exist in the child, and let this thread create a fresh one when needed.
 */
void ring_fork_child(void)
{
	struct ring_thread *rt, *next;

	pthread_mutex_init(&registry_lock, NULL);
	for (rt = registry; rt; rt = next) {
		next = rt->next;
		/* Under a filter the teardown may kill: the child keeps them. */
		if (!atomic_load(&rings_banned))
			ring_forget(rt);
		rt->state = RT_NONE;
		rt->next = NULL;
	}
	registry = NULL;
	sq_anchor_fd = -1;
	if (!atomic_load(&rings_banned))
		memset(owned, 0, sizeof(owned));	/* else still open, hidden */
	atomic_fetch_add(&ring_gen, 1);
	if (tls_ring.state != RT_EXITING)
		tls_ring.state = RT_NONE;
	tls_ring.busy = 0;
}

/*
 * Before a seccomp filter goes in: no thread may enter, create or tear down
 * a ring afterwards (the filter may kill the process for it). Rings are
 * parked, never freed: freeing unregisters the ring fd (io_uring_register)
 * and its exit work signals the owner. The calling thread parks its own
 * now; every other thread finds its generation stale or the ban at its
 * next ring_get() and parks there, without a syscall. A thread inside a
 * ring op right now (ops never wait) is given a moment to leave it, for
 * SECCOMP_FILTER_FLAG_TSYNC, which filters every thread.
 */
void ring_ban(void)
{
	struct timespec ms = { 0, 1000000 };
	struct ring_thread *rt;
	bool busy;
	int i;

	atomic_store(&rings_banned, true);
	atomic_fetch_add(&ring_gen, 1);
	if (tls_ring.state == RT_READY && !tls_ring.busy)
		ring_park(&tls_ring, RT_NONE);
	for (i = 0; i < 100; i++) {
		busy = false;
		pthread_mutex_lock(&registry_lock);
		for (rt = registry; rt; rt = rt->next)
			if (rt != &tls_ring && rt->busy)
				busy = true;
		pthread_mutex_unlock(&registry_lock);
		if (!busy)
			break;
		syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ms, NULL);
	}
}

/* A file of the shim's own, out of the application's range and guarded. */
int ring_hide_fd(int fd)
{
	struct io_uring r = { .ring_fd = fd };
	int ret = hide_fd_high(&r);

	if (ret < 0)
		syscall(SYS_close, fd);
	return ret;
}

void ring_unhide_fd(int fd)
{
	owned_set(fd, false);
}
