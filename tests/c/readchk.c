/* SPDX-License-Identifier: MIT */
/*
 * The fortified entry points Debian's binaries call: __read_chk,
 * __pread_chk, __pread64_chk, __recv_chk, __recvfrom_chk. Called directly,
 * so the test does not depend on what _FORTIFY_SOURCE makes of it.
 */
#include <sys/socket.h>

#include "testlib.h"

/* Pipes, and read/write on sockets, take RWF_NOWAIT from 6.4. */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: read.ring>=1@6.4 pread.ring>=2 recv.ring>=1 recvfrom.ring>=1 */

extern ssize_t __read_chk(int, void *, size_t, size_t);
extern ssize_t __pread_chk(int, void *, size_t, off_t, size_t);
extern ssize_t __pread64_chk(int, void *, size_t, off_t, size_t);
extern ssize_t __recv_chk(int, void *, size_t, size_t, int);
extern ssize_t __recvfrom_chk(int, void *, size_t, size_t, int,
			      struct sockaddr *, socklen_t *);

int main(void)
{
	char path[] = "/tmp/shim-chk-XXXXXX", buf[64];
	socklen_t len = sizeof(struct sockaddr_storage);
	struct sockaddr_storage ss;
	int p[2], s[2], fd;

	t_watchdog(20);
	pipe(p);
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	fd = mkstemp(path);
	write(fd, "0123456789", 10);
	write(p[1], "pipe", 4);
	T_EXPECT("__read_chk", __read_chk(p[0], buf, 4, sizeof(buf)), 4, 0);
	T_EXPECT("__pread_chk", __pread_chk(fd, buf, 4, 3, sizeof(buf)), 4, 0);
	T_CHECK(!memcmp(buf, "3456", 4), "pread data");
	T_EXPECT("__pread64_chk", __pread64_chk(fd, buf, 20, 5, sizeof(buf)), 5, 0);
	send(s[1], "sock", 4, 0);
	T_EXPECT("__recv_chk", __recv_chk(s[0], buf, 2, sizeof(buf), 0), 2, 0);
	T_EXPECT("__recvfrom_chk", __recvfrom_chk(s[0], buf, 10, sizeof(buf), 0,
						  (struct sockaddr *)&ss, &len), 2, 0);
	T_EXPECT("__read_chk EBADF", __read_chk(-1, buf, 1, sizeof(buf)), -1, EBADF);
	T_EXPECT("__recv_chk EAGAIN", __recv_chk(s[0], buf, 1, sizeof(buf),
						 MSG_DONTWAIT), -1, EAGAIN);
	unlink(path);
	return t_end();
}
