/* SPDX-License-Identifier: MIT */
/*
 * sqpoll's judge where no core is free: a thread per CPU spins for the
 * whole test while the main thread streams checked records through a
 * socketpair with send and recv (routed on every kernel profile) for longer
 * than several of the judge's looks. An SQ thread here could
 * only take a CPU from the spinners, so the shim must never start one:
 * every call goes to libc (fallback.sq-off) and no ring is made. Every
 * record must arrive once and in order all the same.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=sqpoll SHIM_ADAPT=1 */
/* SHIM-EXPECT: rings==0 send.ring==0 recv.ring==0 fallback.sq-off>=1000 */

#define SECONDS	0.4
#define SPINNERS_MAX 64

static atomic_bool stop;

static void *spin(void *arg)
{
	volatile unsigned long n = 0;

	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		n++;
	return NULL;
}

int main(void)
{
	pthread_t th[SPINNERS_MAX];
	unsigned char rec[64], got[64];
	int p[2], i, ncpu, records = 0;
	cpu_set_t set;
	double end;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return T_EXIT_SKIP;
	ncpu = CPU_COUNT(&set);
	if (ncpu > SPINNERS_MAX)
		ncpu = SPINNERS_MAX;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) < 0)
		return T_EXIT_FAIL;
	for (i = 0; i < ncpu; i++)
		if (pthread_create(&th[i], NULL, spin, NULL))
			return T_EXIT_FAIL;
	end = t_now() + SECONDS;
	while (t_now() < end && !t_failed) {
		size_t n = 1 + (size_t)(records * 37) % sizeof(rec);

		t_fill(rec, n, (unsigned)records);
		T_CHECK(send(p[1], rec, n, 0) == (ssize_t)n, "send %d", records);
		T_CHECK(recv(p[0], got, n, MSG_WAITALL) == (ssize_t)n &&
			!memcmp(rec, got, n), "record %d", records);
		records++;
	}
	atomic_store(&stop, true);
	for (i = 0; i < ncpu; i++)
		pthread_join(th[i], NULL);
	printf("records %s\n", records >= 1000 ? ">= 1000" : "too few");
	T_CHECK(records >= 1000, "only %d records", records);
	return t_failed;
}
