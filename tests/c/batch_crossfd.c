/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: the order of one thread's writes across fds. A writer
 * puts records into four files in bursts of 1-6 and, after some bursts, a
 * notice on a pipe or a stream socket that says how many records each
 * file has by then. A reader in another process checks, for every notice,
 * that each file is at least that long: data written before the notice
 * on another fd must be there no later than the notice. The first write
 * is a notice, so its buffer is the one the time bound (50 us here) comes
 * to first; the writer computes a little between writes, so the bound
 * passes often. Records go by write, pwrite and writev, notices by write,
 * send and writev.
 */
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch SHIM_BATCH_US=50 */
/* SHIM-EXPECT: write.batch>=20 */

#define FILES 4
#define REC 48
#define RECORDS 20000
#define ROUNDS 12

struct notice {
	uint32_t count[FILES];
};

static unsigned rnd_state;

static unsigned rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 16) & 0x7fff;
}

static void compute(void)
{
	for (volatile int i = 0; i < 150; i++)
		;
}

static void record(int round, int fd, uint32_t n)
{
	round %= 4;
	char rec[REC];

	memset(rec, 'a' + (int)(n % 26), REC);
	rec[REC - 1] = '\n';
	switch (round) {
	case 1:
		if (pwrite(fd, rec, REC, (off_t)n * REC) != REC)
			_exit(T_EXIT_FAIL);
		return;
	case 3: {
		struct iovec v[2] = { { rec, 8 }, { rec + 8, REC - 8 } };

		if (writev(fd, v, 2) != REC)
			_exit(T_EXIT_FAIL);
		return;
	}
	default:
		if (write(fd, rec, REC) != REC)
			_exit(T_EXIT_FAIL);
	}
}

static void notify(int round, int fd, const struct notice *no)
{
	ssize_t r;

	round %= 4;
	if (round == 1) {
		r = send(fd, no, sizeof(*no), 0);
	} else if (round == 3) {
		struct iovec v[2] = { { (void *)no, 4 },
				      { (char *)no + 4, sizeof(*no) - 4 } };

		r = writev(fd, v, 2);
	} else {
		r = write(fd, no, sizeof(*no));
	}
	if (r != (ssize_t)sizeof(*no))
		_exit(T_EXIT_FAIL);
}

static int one_round(int round, const char *dir)
{
	int files[FILES], ch[2];
	struct notice no = { { 0 } };
	char path[256];
	pid_t pid;

	for (int f = 0; f < FILES; f++) {
		snprintf(path, sizeof(path), "%s/f%d.%d", dir, f, round);
		files[f] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (files[f] < 0)
			return -1;
	}
	if (round % 4 == 1 ? socketpair(AF_UNIX, SOCK_STREAM, 0, ch) : pipe(ch))
		return -1;
	pid = t_notice_reader(round, ch, files, FILES, REC);
	if (pid < 0)
		return -1;
	rnd_state = (unsigned)round * 7919u + 1;
	notify(round, ch[1], &no);
	for (uint32_t k = 0; k < RECORDS;) {
		int f = (int)(rnd() % FILES);
		unsigned burst = 1 + rnd() % 6;

		for (unsigned b = 0; b < burst && k < RECORDS; b++, k++) {
			record(round, files[f], no.count[f]++);
			compute();
		}
		if (rnd() % 2)
			notify(round, ch[1], &no);
	}
	notify(round, ch[1], &no);
	return t_notice_end(pid, ch[1], files, FILES);
}

int main(void)
{
	char dir[] = "/tmp/shim-crossfd.XXXXXX";
	char path[256];
	int ret = T_EXIT_PASS;

	t_watchdog(120);
	if (!mkdtemp(dir))
		return T_EXIT_FAIL;
	for (int round = 0; round < ROUNDS; round++) {
		int r = one_round(round, dir);

		if (r != T_EXIT_PASS) {
			printf("round %d: %s\n", round, r < 0 ? strerror(errno)
							      : "FAILED");
			ret = T_EXIT_FAIL;
		}
	}
	for (int round = 0; round < ROUNDS; round++)
		for (int f = 0; f < FILES; f++) {
			snprintf(path, sizeof(path), "%s/f%d.%d", dir, f, round);
			unlink(path);
		}
	rmdir(dir);
	printf("%s\n", ret == T_EXIT_PASS ? "ok" : "FAILED");
	return ret;
}
