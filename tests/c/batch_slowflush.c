/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: one thread's order across fds while the flusher's write
 * of a file takes longer than the time bound. Records of 256 KiB go to
 * two files, so that the flusher, which writes a buffer whose bound has
 * passed, holds a file's buffer for many bounds (the writer pauses after
 * each record, so that the bound passes); a notice on a pipe after
 * some of them says how long each file is by then. The reader checks, for
 * each notice, that the files are at least that long: a writer that
 * stopped waiting for the file's buffer at the bound sent the notice while
 * the records before it were still being written (seen under qemu, where
 * every write is slow, with records of 48 bytes).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch SHIM_BATCH_US=20 SHIM_BATCH_BYTES=4194304 */
/* SHIM-EXPECT: write.batch>=100 */

#define FILES 2
#define REC (256 * 1024)
#define RECORDS 240
#define ROUNDS 4

struct notice {
	uint32_t count[FILES];
};

static char rec[REC];

/* Long enough for the bound to pass and the flusher to take the record. */
static void pause_us(double us)
{
	double until = t_now() + us / 1e6;

	while (t_now() < until)
		;
}

static void put(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		_exit(T_EXIT_FAIL);
}

static int one_round(int round, const char *dir)
{
	int files[FILES], ch[2];
	struct notice no = { { 0 } };
	char path[256];
	unsigned rnd = (unsigned)round * 7919u + 1;
	pid_t pid;

	for (int f = 0; f < FILES; f++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, f);
		files[f] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (files[f] < 0)
			return -1;
	}
	if (pipe(ch))
		return -1;
	pid = t_notice_reader(round, ch, files, FILES, REC);
	if (pid < 0)
		return -1;
	for (int k = 0; k < RECORDS; k++) {
		int f;

		rnd = rnd * 1103515245u + 12345u;
		f = (int)((rnd >> 16) % FILES);
		/* Two writes: a buffer of one would cool its fd down. */
		put(files[f], rec, REC / 2);
		put(files[f], rec + REC / 2, REC / 2);
		no.count[f]++;
		pause_us(100);
		if ((rnd >> 20) % 2)
			put(ch[1], &no, sizeof(no));
	}
	put(ch[1], &no, sizeof(no));
	return t_notice_end(pid, ch[1], files, FILES);
}

int main(void)
{
	char dir[] = "/tmp/shim-slowflush.XXXXXX";
	char path[256];
	int ret = T_EXIT_PASS;

	t_watchdog(120);
	memset(rec, 'r', sizeof(rec));
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
	for (int f = 0; f < FILES; f++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, f);
		unlink(path);
	}
	rmdir(dir);
	printf("%s\n", ret == T_EXIT_PASS ? "ok" : "FAILED");
	return ret;
}
