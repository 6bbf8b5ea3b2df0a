/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: a read of a memory device (/dev/zero, /dev/urandom)
 * depends on nothing the thread staged, so it leaves what is staged
 * staged (dd if=/dev/urandom bs=64 | ...), and the verdict belongs to the
 * file, not the number. Two parts:
 * - dd: 64-byte reads from /dev/urandom and /dev/zero, each written to a
 *   pipe; the reader's hash of the stream must be the writer's, and under
 *   the shim the writes leave in few flushes (SHIM-EXPECT batch.flushes);
 * - the number reused: a number that named /dev/zero names an eventfd
 *   next (by dup2, or by close and F_DUPFD), and the eventfd is only
 *   written once the other process has read the byte staged on a pipe
 *   before the read: the read of the eventfd must send it first, or both
 *   wait forever (the watchdog).
 */
#include <sys/eventfd.h>
#include <sys/wait.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch SHIM_BATCH_US=500000 */
/* SHIM-EXPECT: write.batch>=20000 batch.flushes<=2000 */

#define PIECES 20000
#define PIECE 64
#define ROUNDS 300

/* A hash of the stream so far: order counts, where reads cut it does not. */
static uint32_t hash_on(uint32_t h, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = h * 31 + b[i];
	return h;
}

static void dd(void)
{
	int p[2], res[2], st;
	int devs[2] = { open("/dev/urandom", O_RDONLY),
			open("/dev/zero", O_RDONLY) };
	unsigned char piece[PIECE];
	uint32_t sum = 0, theirs = 0;
	size_t bytes = 0;
	pid_t pid;

	if (devs[0] < 0 || devs[1] < 0 || pipe(p) || pipe(res))
		exit(T_EXIT_FAIL);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		uint32_t s = 0;
		ssize_t n;

		close(p[1]);
		close(res[0]);
		while ((n = read(p[0], piece, sizeof(piece))) > 0)
			s = hash_on(s, piece, (size_t)n);
		_exit(write(res[1], &s, sizeof(s)) == sizeof(s) ? T_EXIT_PASS
								: T_EXIT_FAIL);
	}
	close(p[0]);
	close(res[1]);
	for (int i = 0; i < PIECES; i++) {
		if (read(devs[i % 7 == 0], piece, PIECE) != PIECE ||
		    write(p[1], piece, PIECE) != PIECE)
			exit(T_EXIT_FAIL);
		sum = hash_on(sum, piece, PIECE);
		bytes += PIECE;
	}
	close(p[1]);
	T_CHECK(t_read_full(res[0], &theirs, sizeof(theirs)) == sizeof(theirs),
		"reader's hash");
	waitpid(pid, &st, 0);
	T_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "reader");
	T_CHECK(theirs == sum, "hashes differ: %u read, %u written", theirs, sum);
	printf("dd: %zu bytes through, hashes %s\n", bytes,
	       theirs == sum ? "equal" : "DIFFER");
	close(res[0]);
	close(devs[0]);
	close(devs[1]);
}

/* Each byte read from IN is answered on the eventfd EV. */
static int answer(int in, int ev)
{
	uint64_t one = 1;
	char c;

	for (int i = 0; i < ROUNDS; i++)
		if (read(in, &c, 1) != 1 || write(ev, &one, sizeof(one)) != 8)
			return -1;
	return 0;
}

static void reused(void)
{
	int p[2], ev = eventfd(0, 0), zero = open("/dev/zero", O_RDONLY);
	int num = open("/dev/zero", O_RDONLY), st;
	unsigned char buf[PIECE];
	uint64_t got;
	pid_t pid;

	if (ev < 0 || zero < 0 || num < 0 || pipe(p))
		exit(T_EXIT_FAIL);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		_exit(answer(p[0], ev) ? T_EXIT_FAIL : T_EXIT_PASS);
	}
	close(p[0]);
	for (int i = 0; i < ROUNDS; i++) {
		/* num names /dev/zero, read with data staged on the pipe */
		if (dup2(zero, num) != num || write(p[1], "x", 1) != 1 ||
		    read(num, buf, PIECE) != PIECE)
			exit(T_EXIT_FAIL);
		/* ...then the eventfd, answered only once the byte is read */
		if (i % 2) {
			if (dup2(ev, num) != num)
				exit(T_EXIT_FAIL);
		} else if (close(num) || fcntl(ev, F_DUPFD, num) != num) {
			exit(T_EXIT_FAIL);
		}
		if (read(num, &got, sizeof(got)) != 8 || got != 1)
			exit(T_EXIT_FAIL);
	}
	close(p[1]);
	waitpid(pid, &st, 0);
	T_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "answerer");
	printf("reused: %d rounds, each eventfd read answered\n", ROUNDS);
	close(num);
	close(zero);
	close(ev);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	t_watchdog(60);
	dd();
	reused();
	return t_end();
}
