/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: a read of a pipe that holds data is served at once and
 * leaves what the thread staged staged; a read that would wait sends it
 * first. Three parts:
 * - a filter: 64-byte reads from one pipe, each written to another; the
 *   output must be the input, byte for byte (and, under the shim, the
 *   writes batch across the reads: batch.reads_kept);
 * - ping-pong through two pipes, one byte at a time, each side writing
 *   then reading: every read that finds its pipe empty must first send
 *   what the thread staged, or both sides wait forever (the watchdog);
 * - an O_NONBLOCK input that is empty: read says EAGAIN at once, and the
 *   output staged before it is in the pipe by then (FIONREAD). A read
 *   served at once leaves errno as it was.
 */
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch SHIM_ADAPT=1 */
/* Pipes take RWF_NOWAIT from 6.4: before, every read sends first. */
/* SHIM-EXPECT: batch.reads_kept>=1000@6.4 write.batch>=1000 */

#define FILTER_BYTES (1 << 20)
#define PIECE 64
#define PINGS 2000

static unsigned char in_data[FILTER_BYTES];

static void filter(void)
{
	int a[2], b[2], st;
	unsigned char piece[PIECE], *out = malloc(FILTER_BYTES);
	size_t got = 0;
	pid_t feeder, drain;
	ssize_t n;

	t_fill(in_data, FILTER_BYTES, 7);
	if (!out || pipe(a) || pipe(b))
		exit(T_EXIT_FAIL);
	fflush(stdout);
	feeder = fork();
	if (feeder == 0) {
		close(a[0]);
		close(b[0]);
		close(b[1]);
		/* Uneven pieces: the filter's reads find partial pieces too. */
		for (size_t off = 0, k = 0; off < FILTER_BYTES; k++) {
			size_t len = 1 + (k * 37) % 300;

			if (len > FILTER_BYTES - off)
				len = FILTER_BYTES - off;
			if (write(a[1], in_data + off, len) != (ssize_t)len)
				_exit(T_EXIT_FAIL);
			off += len;
		}
		_exit(T_EXIT_PASS);
	}
	drain = fork();
	if (drain == 0) {
		close(a[0]);
		close(a[1]);
		close(b[1]);
		got = t_read_full(b[0], out, FILTER_BYTES);
		_exit(got == FILTER_BYTES && !memcmp(out, in_data, got) &&
			      read(b[0], piece, 1) == 0 ? T_EXIT_PASS
							 : T_EXIT_FAIL);
	}
	close(a[1]);
	close(b[0]);
	while ((n = read(a[0], piece, PIECE)) > 0)
		if (write(b[1], piece, (size_t)n) != n)
			exit(T_EXIT_FAIL);
	printf("filter: last read %zd\n", n);
	close(a[0]);
	close(b[1]);
	waitpid(feeder, &st, 0);
	T_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "feeder");
	waitpid(drain, &st, 0);
	T_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"output differs from input");
	printf("filter: %d bytes through, output %s\n", FILTER_BYTES,
	       WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "identical" : "DIFFERS");
	free(out);
}

static int ping(int in, int out, char first, bool starts)
{
	char c = first;

	for (int i = 0; i < PINGS; i++) {
		if (starts && write(out, &c, 1) != 1)
			return -1;
		if (read(in, &c, 1) != 1)
			return -1;
		c++;
		if (!starts && write(out, &c, 1) != 1)
			return -1;
	}
	return 0;
}

static void ping_pong(void)
{
	int ab[2], ba[2], st;
	pid_t pid;

	if (pipe(ab) || pipe(ba))
		exit(T_EXIT_FAIL);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(ab[1]);
		close(ba[0]);
		_exit(ping(ab[0], ba[1], 0, false) ? T_EXIT_FAIL : T_EXIT_PASS);
	}
	close(ab[0]);
	close(ba[1]);
	T_CHECK(ping(ba[0], ab[1], 'a', true) == 0, "ping");
	close(ab[1]);
	close(ba[0]);
	waitpid(pid, &st, 0);
	T_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "pong");
	printf("ping-pong: %d rounds\n", PINGS);
}

static void nonblocking(void)
{
	int in[2], out[2], avail = -1;
	char c;
	ssize_t r;

	if (pipe(in) || pipe(out) || fcntl(in[0], F_SETFL, O_NONBLOCK))
		exit(T_EXIT_FAIL);
	write(in[1], "xy", 2);
	errno = 1234;
	r = read(in[0], &c, 1);
	printf("nonblocking: read with data -> %zd '%c', errno kept: %s\n", r,
	       c, errno == 1234 ? "yes" : "no");
	T_CHECK(errno == 1234, "errno changed by a read that succeeded");
	write(out[1], "staged", 6);
	read(in[0], &c, 1);
	r = read(in[0], &c, 1);
	printf("nonblocking: empty -> %zd %s\n", r,
	       r < 0 ? strerrorname_np(errno) : "");
	T_CHECK(r < 0 && errno == EAGAIN, "empty non-blocking read");
	ioctl(out[0], FIONREAD, &avail);
	printf("nonblocking: output in the pipe by then: %d bytes\n", avail);
	T_CHECK(avail == 6, "staged output not sent before a read that "
			    "found nothing");
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
}

int main(void)
{
	t_watchdog(60);
	filter();
	ping_pong();
	nonblocking();
	return t_end();
}
