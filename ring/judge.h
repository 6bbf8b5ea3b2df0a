/* SPDX-License-Identifier: MIT */
/*
 * The judge (ring/judge.c): whether a thread's calls use its ring (SQPOLL
 * or plain) or libc. Private to ring/.
 */
#ifndef SHIM_RING_JUDGE_H
#define SHIM_RING_JUDGE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ring/ring.h"

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Not on: may this call use the thread's ring (made if need be)? CORE:
 * an SQPOLL ring, which pays only with a free core; COOL_NS: how long its
 * SQ thread spins on after the last op.
 */
bool judge_admit(struct ring_pay *p, bool core, uint64_t cool_ns);
/* One SQPOLL op's completion came within the caller's spin, or not. */
void judge_account(struct ring_pay *p, bool hit);
/* The thread's SQPOLL ring was just made. */
void judge_ring_made(struct ring_pay *p);

#endif
