/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: a pipe is watched until a run of writes shows that
 * staging pays, and a read that answers at once does not end the run.
 * - write, then read back, on one pipe (a request and its answer): never
 *   staged, so no buffer, no dup and no flusher thread: the process keeps
 *   its one thread (a second one would make every syscall of the process
 *   dearer: the kernel's shared fd table);
 * - a filter: 64-byte reads of one pipe, each written to another: the
 *   writes are staged across the reads (write.batch), and the output is
 *   the input, byte for byte, in order;
 * - a write to a pipe, a read of another that is empty (O_NONBLOCK,
 *   EAGAIN), then a second write: the empty read is a barrier, so nothing
 *   may be left behind (the reader sees both writes at once).
 */
#include <dirent.h>
#include <sys/ioctl.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch */
/* Before 6.4 a pipe takes no RWF_NOWAIT: every read of one ends a run. */
/* SHIM-EXPECT: write.batch>=150@6.4 */

#define PIECE 64
#define ROUNDS 2000
#define PIECES 200	/* 12.8 KB: fits a pipe's buffer */

static int threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void read_back(void)
{
	char out[PIECE], in[PIECE];
	int p[2], bad = 0;

	if (pipe(p))
		exit(T_EXIT_FAIL);
	for (int i = 0; i < ROUNDS; i++) {
		memset(out, 'a' + i % 26, sizeof(out));
		if (write(p[1], out, PIECE) != PIECE ||
		    read(p[0], in, PIECE) != PIECE || memcmp(in, out, PIECE))
			bad++;
	}
	printf("read back: %d rounds, %d bad, threads %d\n", ROUNDS, bad,
	       threads());
	T_CHECK(!bad, "read back");
	T_CHECK(threads() == 1, "a thread started for writes never staged");
	close(p[0]);
	close(p[1]);
}

static void filter(void)
{
	static unsigned char data[PIECES * PIECE], got[PIECES * PIECE];
	unsigned char piece[PIECE];
	int a[2], b[2];

	if (pipe(a) || pipe(b))
		exit(T_EXIT_FAIL);
	t_fill(data, sizeof(data), 3);
	if (write(a[1], data, sizeof(data)) != (ssize_t)sizeof(data))
		exit(T_EXIT_FAIL);
	for (int i = 0; i < PIECES; i++)
		if (read(a[0], piece, PIECE) != PIECE ||
		    write(b[1], piece, PIECE) != PIECE)
			exit(T_EXIT_FAIL);
	/* The read of b is a barrier: what is staged on b goes out first. */
	T_CHECK(t_read_full(b[0], got, sizeof(got)) == sizeof(got) &&
			!memcmp(got, data, sizeof(got)),
		"filter output differs");
	printf("filter: %d pieces through, identical\n", PIECES);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

static void empty_read(void)
{
	int out[2], in[2], avail = -1;
	char c;

	if (pipe(out) || pipe(in) || fcntl(in[0], F_SETFL, O_NONBLOCK))
		exit(T_EXIT_FAIL);
	for (int i = 0; i < 100; i++) {
		write(out[1], "ab", 2);
		T_CHECK(read(in[0], &c, 1) < 0 && errno == EAGAIN, "empty read");
		write(out[1], "cd", 2);
		T_CHECK(read(in[0], &c, 1) < 0 && errno == EAGAIN, "empty read");
		ioctl(out[0], FIONREAD, &avail);
		if (avail != 4)
			break;
		char buf[4];
		if (read(out[0], buf, 4) != 4 || memcmp(buf, "abcd", 4))
			avail = -1;
	}
	printf("empty read: both writes in the pipe by the next empty read: %s\n",
	       avail == 4 ? "yes" : "no");
	T_CHECK(avail == 4, "a write left staged past a read that found nothing");
	close(out[0]);
	close(out[1]);
	close(in[0]);
	close(in[1]);
}

int main(void)
{
	t_watchdog(60);
	read_back();
	filter();
	empty_read();
	return t_end();
}
