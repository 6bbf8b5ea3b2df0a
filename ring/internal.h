/* SPDX-License-Identifier: MIT */
/*
 * What the files of the ring layer share. Nothing here (nor anywhere in
 * ring/) includes the shim's other layers: the options come in through
 * ring_init(), the counts go out through its count function, failures
 * come back as error codes.
 */
#ifndef SHIM_RING_INTERNAL_H
#define SHIM_RING_INTERNAL_H

#include <pthread.h>

#include "ring/judge.h"
#include "ring/ring.h"

#define RING_LIKELY(x)	 __builtin_expect(!!(x), 1)
#define RING_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define RING_ENTRIES	8
#define RING_RETRY	256	/* calls before a failed setup is retried */
#define TAG_OP		1

extern struct ring_opts ring_opt;
extern _Atomic unsigned ring_gen;
/* A seccomp filter is (about to be) in force: io_uring is never entered,
 * created or torn down again in this process. */
extern _Atomic bool rings_banned;
/* Registry of live rings, for the fork child; never touched per call. */
extern struct ring_thread *ring_registry;
extern pthread_mutex_t ring_registry_lock;

static inline void ring_count(enum ring_counter c)
{
	ring_opt.count(c);
}

/* setup.c */
void ring_park(struct ring_thread *rt, int next_state);

/* files.c: a new ring, or a forgotten one, has no table; a ring that is
 * parked gives its files up first (-errno: the kernel kept them). */
void ring_files_reset(struct ring_thread *rt);
int ring_files_leave(struct ring_thread *rt);

/* fds.c: ring fds kept high, out of the application's way */
void ring_owned_set(int fd, bool on);
void ring_owned_clear_all(void);
int ring_hide_fd_high(struct io_uring *r);
int ring_reserve_fd_high(void);
int ring_take_fd_high(struct io_uring *r, int slot);
void ring_release_fd_high(int slot);

#endif
