/* SPDX-License-Identifier: MIT */
/*
 * Per-thread rings: creation (the setup flags the kernel takes, SQPOLL's
 * shared SQ thread, the op probe), teardown, the registry of live rings,
 * fork and the seccomp ban.
 */
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ring/internal.h"

/* ring_create() result for a refused probe or enter: this minus the errno. */
#define RING_PROBE_FAILED	(-10000)
#define RING_ENTER_FAILED	(-20000)

struct ring_caps ring_caps;

static void count_nothing(enum ring_counter c)
{
	(void)c;
}

struct ring_opts ring_opt = { .sq_cpu = -1, .count = count_nothing };
__thread struct ring_thread ring_tls;
static pthread_key_t ring_key;
static pthread_once_t ring_key_once = PTHREAD_ONCE_INIT;
_Atomic unsigned ring_gen;
static _Atomic int setup_choice;	/* index into setup_candidates */
static _Atomic bool caps_known;
static int sq_anchor_fd = -1;		/* under ring_registry_lock */
static _Atomic bool sqpoll_refused;
static _Atomic int sqpoll_refusal;	/* -errno, not yet taken */
_Atomic bool rings_banned;
struct ring_thread *ring_registry;
pthread_mutex_t ring_registry_lock = PTHREAD_MUTEX_INITIALIZER;

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

static void registry_add(struct ring_thread *rt)
{
	pthread_mutex_lock(&ring_registry_lock);
	rt->next = ring_registry;
	ring_registry = rt;
	pthread_mutex_unlock(&ring_registry_lock);
}

static void registry_del(struct ring_thread *rt)
{
	struct ring_thread **pp;

	pthread_mutex_lock(&ring_registry_lock);
	for (pp = &ring_registry; *pp; pp = &(*pp)->next) {
		if (*pp == rt) {
			*pp = rt->next;
			break;
		}
	}
	pthread_mutex_unlock(&ring_registry_lock);
}

/* Unmap and close without submitting anything: safe in a fork child too. */
static void ring_forget(struct ring_thread *rt)
{
	ring_files_reset(rt);
	if (rt->hidden_fd >= 0)
		ring_owned_set(rt->hidden_fd, false);
	if (atomic_load(&rt->lost))
		rt->uring.ring_fd = -1;	/* that number is the application's */
	io_uring_queue_exit(&rt->uring);
	rt->hidden_fd = -1;
	atomic_store(&rt->lost, false);
}

/* Out of the ring_registry and of the SQPOLL anchor: no longer this thread's. */
static void ring_detach(struct ring_thread *rt, int next_state)
{
	ring_count(RING_C_RINGS_FREED);
	if (rt->anchor) {
		pthread_mutex_lock(&ring_registry_lock);
		sq_anchor_fd = -1;
		pthread_mutex_unlock(&ring_registry_lock);
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
void ring_park(struct ring_thread *rt, int next_state)
{
	/* Files a parked ring kept would stay open for good: torn down. */
	if (ring_files_leave(rt) < 0 && !atomic_load(&rings_banned)) {
		ring_free(rt, next_state);
		return;
	}
	ring_detach(rt, next_state);
	/* A lost ring's number is the application's now; else the ring's. */
	if (atomic_load(&rt->lost) && rt->hidden_fd >= 0)
		ring_owned_set(rt->hidden_fd, false);
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
	p->sq_thread_idle = ring_opt.sq_idle_ms;
	if (ring_opt.sq_cpu >= 0) {
		p->flags |= IORING_SETUP_SQ_AFF;
		p->sq_thread_cpu = (unsigned)ring_opt.sq_cpu;
	}
	pthread_mutex_lock(&ring_registry_lock);
	if (sq_anchor_fd >= 0) {
		p->flags |= IORING_SETUP_ATTACH_WQ;
		p->wq_fd = (unsigned)sq_anchor_fd;
		ret = io_uring_queue_init_params(RING_ENTRIES, &rt->uring, p);
	} else if ((slot = ring_reserve_fd_high()) < 0) {
		ret = slot;
	} else {
		ret = io_uring_queue_init_params(RING_ENTRIES, &rt->uring, p);
		if (ret == 0) {
			ret = ring_take_fd_high(&rt->uring, slot);
			if (ret < 0)
				io_uring_queue_exit(&rt->uring);
		}
		if (ret < 0) {
			ring_release_fd_high(slot);
		} else {
			rt->hidden_fd = slot;
			sq_anchor_fd = slot;
			rt->anchor = true;
			ret = 0;
		}
	}
	pthread_mutex_unlock(&ring_registry_lock);
	if (ret == 0)
		rt->sqpoll = true;
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
	ring_files_reset(rt);
	if (ring_opt.sqpoll && !atomic_load(&sqpoll_refused)) {
		ret = sqpoll_create(rt, &p);
		if (ret == 0)
			goto created;
		atomic_store(&sqpoll_refused, true);
		atomic_store(&sqpoll_refusal, ret);	/* for the caller to tell */
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
	/*
	 * A filter that allows setup but refuses io_uring_enter is found
	 * here, before any SQE is published: an SQ thread may take one later
	 * whatever the refused enter said (a ring attaching to it wakes it),
	 * and run it after libc has made the call.
	 */
	ret = io_uring_enter((unsigned)rt->uring.ring_fd, 0, 0, 0, NULL);
	if (ret < 0) {
		/* Left as it is, as for a refused probe (below). */
		if (!rt->anchor && ring_hide_fd_high(&rt->uring) < 0)
			io_uring_queue_exit(&rt->uring);
		return RING_ENTER_FAILED + ret;
	}
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
			if (rt->uring.ring_fd >= 0 && ring_hide_fd_high(&rt->uring) < 0)
				io_uring_queue_exit(&rt->uring);
			return RING_PROBE_FAILED + ret;
		}
	}
	if (rt->anchor) {
		atomic_store(&caps_known, true);
		judge_ring_made(&rt->pay);
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
		ret = ring_hide_fd_high(&rt->uring);
		if (ret < 0) {
			io_uring_queue_exit(&rt->uring);
			return ret;
		}
		rt->hidden_fd = ret;
	}
	atomic_store(&caps_known, true);
	judge_ring_made(&rt->pay);
	return 0;
}

void ring_init(const struct ring_opts *opts)
{
	ring_opt = *opts;
}

int ring_take_sqpoll_refusal(void)
{
	return atomic_load_explicit(&sqpoll_refusal, memory_order_relaxed) ?
	       atomic_exchange(&sqpoll_refusal, 0) : 0;
}

/*
 * ring_get() and ring_get_unjudged(): one body, inlined into each so that
 * the hot path's copy tests only ring_opt.adapt.
 */
static inline __attribute__((always_inline)) struct ring_thread *
ring_take(int *err, int *setup_errno, bool judged)
{
	struct ring_thread *rt = &ring_tls;
	int ret;

	if (RING_UNLIKELY(rt->busy)) {
		*err = RING_E_BUSY;
		return NULL;
	}
	rt->busy = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (RING_UNLIKELY(atomic_load_explicit(&rings_banned, memory_order_relaxed))) {
		*err = RING_E_EXITING;
		goto out;
	}
	if (judged && ring_opt.adapt &&
	    RING_UNLIKELY(rt->pay.state != SQ_ON || !--rt->pay.on_left) &&
	    !judge_admit(&rt->pay, ring_opt.sqpoll &&
			 !atomic_load_explicit(&sqpoll_refused,
					       memory_order_relaxed),
			 (ring_opt.sq_idle_ms + 2) * 1000000ull)) {
		*err = RING_E_JUDGED;
		goto out;
	}
	if (RING_LIKELY(rt->state == RT_READY)) {
		if (RING_LIKELY(rt->gen == atomic_load_explicit(&ring_gen,
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
	if (ring_opt.may_create && !ring_opt.may_create()) {
		*err = RING_E_DENIED;
		goto out;
	}
	ret = ring_create(rt);
	if (ret < 0) {
		rt->state = RT_FAILED;
		rt->retry = RING_RETRY;
		*err = RING_E_SETUP;
		if (ret <= RING_ENTER_FAILED) {
			*err = RING_E_ENTER;
			ret -= RING_ENTER_FAILED;
		} else if (ret <= RING_PROBE_FAILED) {
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
	ring_count(RING_C_RINGS);
	*err = RING_W_NEW;
	return rt;
out:
	ring_put(rt);
	return NULL;
}

struct ring_thread *ring_get(int *err, int *setup_errno)
{
	return ring_take(err, setup_errno, true);
}

struct ring_thread *ring_get_unjudged(int *err, int *setup_errno)
{
	return ring_take(err, setup_errno, false);
}

void ring_fork_prepare(void)
{
	pthread_mutex_lock(&ring_registry_lock);
}

void ring_fork_parent(void)
{
	pthread_mutex_unlock(&ring_registry_lock);
}

/*
 * The child must never submit on an inherited ring (it would corrupt the
 * parent's view). Unmap every ring, including those of threads that do not
 * exist in the child, and let this thread create a fresh one when needed.
 */
void ring_fork_child(void)
{
	struct ring_thread *rt, *next;

	pthread_mutex_init(&ring_registry_lock, NULL);
	for (rt = ring_registry; rt; rt = next) {
		next = rt->next;
		/* The parent's files: the child cannot give them up. */
		ring_files_reset(rt);
		/* Under a filter the teardown may kill: the child keeps them. */
		if (!atomic_load(&rings_banned))
			ring_forget(rt);
		rt->state = RT_NONE;
		rt->next = NULL;
	}
	ring_registry = NULL;
	sq_anchor_fd = -1;
	if (!atomic_load(&rings_banned))
		ring_owned_clear_all();	/* else still open, hidden */
	atomic_fetch_add(&ring_gen, 1);
	if (ring_tls.state != RT_EXITING)
		ring_tls.state = RT_NONE;
	ring_tls.busy = 0;
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
	if (ring_tls.state == RT_READY && !ring_tls.busy)
		ring_park(&ring_tls, RT_NONE);
	for (i = 0; i < 100; i++) {
		busy = false;
		pthread_mutex_lock(&ring_registry_lock);
		for (rt = ring_registry; rt; rt = rt->next)
			if (rt != &ring_tls && rt->busy)
				busy = true;
		pthread_mutex_unlock(&ring_registry_lock);
		if (!busy)
			break;
		syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ms, NULL);
	}
}
