/* SPDX-License-Identifier: MIT */
/*
 * The shim never occupies a number the application expects (the lowest
 * free fd), and survives close_range, closefrom and dup2 over everything.
 */
#include "testlib.h"

/* Pipes, and read/write on sockets, take RWF_NOWAIT from 6.4. */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: read.ring>=3@6.4 write.ring>=3@6.4 */

static int roundtrip(int p[2])
{
	char b[4];

	return write(p[1], "abc", 3) == 3 && read(p[0], b, 4) == 3 ? 0 : -1;
}

int main(void)
{
	int p[2], q[2], s[2], fd, i;

	t_watchdog(30);
	pipe(p);
	T_CHECK(roundtrip(p) == 0, "first I/O");
	printf("pipe %d %d\n", p[0], p[1]);
	fd = open("/dev/null", O_RDONLY);
	printf("open %d\n", fd);
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	printf("socketpair %d %d\n", s[0], s[1]);
	printf("dup %d\n", dup(fd));
	T_EXPECT("close_range 3..~0", close_range(3, ~0U, 0), 0, 0);
	T_EXPECT("pipe", pipe(q), 0, 0);
	printf("pipe after close_range %d %d\n", q[0], q[1]);
	T_CHECK(q[0] == 3 && q[1] == 4, "lowest fds after close_range");
	T_CHECK(roundtrip(q) == 0, "I/O after close_range");
	for (i = 5; i <= 64; i++)
		if (dup2(q[0], i) != i)
			T_CHECK(0, "dup2 %d", i);
	for (i = 5; i <= 64; i++)
		close(i);
	T_CHECK(roundtrip(q) == 0, "I/O after dup2 storm");
	closefrom(3);
	T_EXPECT("pipe", pipe(q), 0, 0);
	printf("pipe after closefrom %d %d\n", q[0], q[1]);
	T_CHECK(roundtrip(q) == 0, "I/O after closefrom");
	T_EXPECT("close 500", close(500), -1, EBADF);
	T_EXPECT("fcntl 1000", fcntl(1000, F_GETFD), -1, EBADF);
	return t_end();
}
