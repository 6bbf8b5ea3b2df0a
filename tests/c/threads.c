/* SPDX-License-Identifier: MIT */
/* Many threads, each with its own ring: roundtrips, and atomic pipe records. */
#include "testlib.h"

/* Pipes, and read/write on sockets, take RWF_NOWAIT from 6.4. */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: read.ring>=10000@6.4 write.ring>=10000@6.4 */

#define NT 64
#define ROUNDS 1000

static void *worker(void *arg)
{
	unsigned char out[256], in[256];
	int p[2], bad = 0;

	pipe(p);
	for (int i = 0; i < ROUNDS; i++) {
		size_t n = 1 + (size_t)(i * 37 % 255);

		t_fill(out, n, (unsigned)(long)arg + (unsigned)i);
		bad |= write(p[1], out, n) != (ssize_t)n;
		bad |= read(p[0], in, n) != (ssize_t)n || memcmp(in, out, n);
	}
	close(p[0]);
	close(p[1]);
	return (void *)(long)bad;
}

static int shared[2];

static void *recorder(void *arg)
{
	unsigned char rec[64];

	memset(rec, (int)(long)arg, sizeof(rec));
	for (int i = 0; i < 2000; i++)
		if (write(shared[1], rec, sizeof(rec)) != sizeof(rec))
			return (void *)1;
	return NULL;
}

int main(void)
{
	pthread_t t[NT];
	void *r;
	int bad = 0, torn = 0;
	unsigned char rec[64];

	t_watchdog(60);
	for (long i = 0; i < NT; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < NT; i++) {
		pthread_join(t[i], &r);
		bad |= r != NULL;
	}
	printf("%d threads x %d roundtrips: ok %d\n", NT, ROUNDS, !bad);
	T_CHECK(!bad, "roundtrips");

	pipe(shared);
	for (long i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, recorder, (void *)(i + 1));
	for (int n = 0; n < 8 * 2000; n++) {
		if (t_read_full(shared[0], rec, sizeof(rec)) != sizeof(rec)) {
			torn = 1;
			break;
		}
		for (size_t k = 1; k < sizeof(rec); k++)
			torn |= rec[k] != rec[0];
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], &r);
		bad |= r != NULL;
	}
	printf("8 writers x 2000 records of 64 bytes: torn %d\n", torn);
	T_CHECK(!torn && !bad, "records");
	return t_end();
}
