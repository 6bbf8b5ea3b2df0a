/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: a writer that blocks where the shim cannot see (a futex,
 * here a condition variable) while its reader waits for the data. Only the
 * time bound (SHIM_BATCH_US) sends the staged write; every round must
 * complete, none may deadlock.
 */
#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch */
/* SHIM-EXPECT: write.batch>=100 */

#define ROUNDS 200

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t acked = PTHREAD_COND_INITIALIZER;
static int ack, p[2];

static void *reader(void *arg)
{
	char c;

	for (int i = 0; i < ROUNDS; i++) {
		if (read(p[0], &c, 1) != 1)
			break;
		pthread_mutex_lock(&m);
		ack++;
		pthread_cond_signal(&acked);
		pthread_mutex_unlock(&m);
	}
	return NULL;
}

int main(void)
{
	pthread_t r;
	double t0 = t_now();
	int done = 0;

	pipe(p);
	pthread_create(&r, NULL, reader, NULL);
	for (int i = 0; i < ROUNDS; i++) {
		struct timespec until;
		int rc = 0;

		write(p[1], "x", 1);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 5;
		pthread_mutex_lock(&m);
		while (ack <= i && rc == 0)
			rc = pthread_cond_timedwait(&acked, &m, &until);
		pthread_mutex_unlock(&m);
		if (rc)
			break;
		done++;
	}
	printf("rounds %d of %d\n", done, ROUNDS);
	T_CHECK(done == ROUNDS, "a round waited more than 5 s");
	/* Each round takes at most the time bound (1 ms) plus scheduling. */
	fprintf(stderr, "%.1f ms a round\n", (t_now() - t0) * 1000 / ROUNDS);
	close(p[1]);
	pthread_join(r, NULL);
	return t_failed ? T_EXIT_FAIL : T_EXIT_PASS;
}
