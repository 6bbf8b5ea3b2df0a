/* SPDX-License-Identifier: MIT */
/*
 * Threads at scale: 1000 threads blocked in I/O at once (each with its own
 * ring under the shim), then 10000 thread create/exit cycles after which
 * the process holds no more fds, mappings or memory than before them.
 */
#include <sys/resource.h>
#include <dirent.h>

#include "testlib.h"

/* Pipes, and read/write on sockets, take RWF_NOWAIT from 6.4. */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: rings>=10000@6.4 read.ring>=20000@6.4 write.ring>=20000@6.4 fallback.ring-error==0 */

#define NT	1000
#define GROUPS	100
#define ROUNDS	10
#define REC	64
#define CYCLES	10000
#define WARMUP	1000

static int group_pipe[GROUPS][2];
static pthread_barrier_t all_alive;
static _Atomic unsigned long long written_sum[GROUPS], read_sum[GROUPS];
static _Atomic int bad_records;

/* A record: the writer's tag in every byte but the last, which checks it. */
static void rec_make(unsigned char *r, unsigned tag)
{
	memset(r, (int)(tag & 0xff), REC - 1);
	r[REC - 1] = (unsigned char)(tag >> 8) ^ 0x5a;
}

static int rec_tag(const unsigned char *r)
{
	for (int i = 1; i < REC - 1; i++)
		if (r[i] != r[0])
			return -1;
	return r[0] | ((r[REC - 1] ^ 0x5a) << 8);
}

/*
 * Each thread writes a record into its group's pipe, then reads one: at
 * any moment the group has written at least as much as it has read, so
 * every read is eventually satisfied, while most threads sit blocked.
 */
static void *member(void *arg)
{
	unsigned tag = (unsigned)(long)arg, g = tag % GROUPS;
	unsigned char out[REC], in[REC];

	rec_make(out, tag);
	pthread_barrier_wait(&all_alive);
	for (int i = 0; i < ROUNDS; i++) {
		if (write(group_pipe[g][1], out, REC) != REC)
			return (void *)1;
		written_sum[g] += tag;
		if (t_read_full(group_pipe[g][0], in, REC) != REC)
			return (void *)1;
		int t = rec_tag(in);

		if (t < 0 || (unsigned)t % GROUPS != g)
			bad_records++;
		else
			read_sum[g] += (unsigned)t;
	}
	return NULL;
}

static int thousand_at_once(void)
{
	static pthread_t th[NT];
	pthread_attr_t a;
	int bad = 0;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	pthread_barrier_init(&all_alive, NULL, NT);
	for (int g = 0; g < GROUPS; g++)
		if (pipe(group_pipe[g]) < 0)
			return 1;
	for (long i = 0; i < NT; i++)
		if (pthread_create(&th[i], &a, member, (void *)i)) {
			printf("pthread_create %ld failed\n", i);
			exit(T_EXIT_FAIL);
		}
	for (int i = 0; i < NT; i++) {
		void *r;

		pthread_join(th[i], &r);
		bad |= r != NULL;
	}
	for (int g = 0; g < GROUPS; g++) {
		bad |= written_sum[g] != read_sum[g];
		close(group_pipe[g][0]);
		close(group_pipe[g][1]);
	}
	pthread_barrier_destroy(&all_alive);
	pthread_attr_destroy(&a);
	printf("1000 threads: every call ok %d, records intact %d, "
	       "sums match %d\n", !bad, bad_records == 0, !bad);
	return bad || bad_records;
}

static int cycle_pipe[2];

static void *short_lived(void *arg)
{
	unsigned char b[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, c[8];

	if (write(cycle_pipe[1], b, sizeof(b)) != sizeof(b) ||
	    read(cycle_pipe[0], c, sizeof(c)) != sizeof(c) ||
	    memcmp(b, c, sizeof(b)))
		return (void *)1;
	return NULL;
}

static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	long n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static long count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;
	int c;

	while (f && (c = getc(f)) != EOF)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;

	if (f) {
		if (fscanf(f, "%ld %ld", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Four threads at a time, as a server's short-lived workers come and go. */
static int cycles(int n)
{
	int bad = 0;

	for (int i = 0; i < n; i += 4) {
		pthread_t th[4];

		for (int j = 0; j < 4; j++)
			if (pthread_create(&th[j], NULL, short_lived, NULL))
				return 1;
		for (int j = 0; j < 4; j++) {
			void *r;

			pthread_join(th[j], &r);
			bad |= r != NULL;
		}
	}
	return bad;
}

int main(void)
{
	long fds0, maps0, rss0, fds1, maps1, rss1;
	int bad;

	if (thousand_at_once())
		t_failed = 1;

	if (pipe(cycle_pipe) < 0)
		return T_EXIT_FAIL;
	/* glibc caches stacks and malloc grows arenas: let both settle. */
	bad = cycles(WARMUP);
	fds0 = count_fds();
	maps0 = count_maps();
	rss0 = rss_kib();
	bad |= cycles(CYCLES);
	fds1 = count_fds();
	maps1 = count_maps();
	rss1 = rss_kib();
	printf("10000 create/exit cycles: every call ok %d\n", !bad);
#ifdef __SANITIZE_ADDRESS__
	/* ASan's quarantine and per-thread areas grow by design: fds only. */
	maps1 = maps0;
	rss1 = rss0;
#endif
	printf("fds grew %d, mappings grew %d, memory grew %d\n",
	       fds1 != fds0, maps1 > maps0 + 2, rss1 > rss0 + 4096);
	if (bad || fds1 != fds0 || maps1 > maps0 + 2 || rss1 > rss0 + 4096) {
		fprintf(stderr, "fds %ld -> %ld, maps %ld -> %ld, rss %ld -> "
			"%ld KiB\n", fds0, fds1, maps0, maps1, rss0, rss1);
		t_failed = 1;
	}
	return t_failed ? T_EXIT_FAIL : T_EXIT_PASS;
}
