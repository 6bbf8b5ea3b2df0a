/* SPDX-License-Identifier: MIT */
/*
 * When the shim must give up a thread's ring and make another (here: the
 * application dup2()s over the ring's fd, which before 5.18 sits near the
 * top of RLIMIT_NOFILE), the next recv with SO_RCVTIMEO still times out
 * with EAGAIN. Tearing the old ring down would make the kernel signal the
 * thread a few ms later, and that recv would fail with EINTR.
 */
#include <dirent.h>
#include <sys/resource.h>
#include <sys/time.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_KERNEL=5.15 SHIM_ADAPT=0 */
/* SHIM-EXPECT: recv.ring>=10 send.ring>=10 rings>=5 */

/* The highest open fd: the ring's, if the shim made one. */
static int highest_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int hi = -1, dfd = dirfd(d);

	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd != dfd && fd > hi)
			hi = fd;
	}
	closedir(d);
	return hi;
}

int main(void)
{
	struct timeval tv = { 0, 100000 };
	int p[2], sv[2], spare, hi;
	char c;

	/* send/recv on a socket pair: routed on 5.15, where pipes refuse NOWAIT. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return T_EXIT_FAIL;
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	spare = dup(0);
	for (int i = 0; i < 5; i++) {
		/* A routed read: the thread's ring exists after it. */
		T_EXPECT("send", send(p[1], "x", 1, 0), 1, 0);
		T_EXPECT("recv", recv(p[0], &c, 1, 0), 1, 0);
		hi = highest_fd();
		/* Over the ring's fd (or, without the shim, over our own). */
		if (hi > spare)
			dup2(spare, hi);
		/* The next routed call finds its ring gone and makes another. */
		T_EXPECT("send", send(p[1], "y", 1, 0), 1, 0);
		T_EXPECT("recv", recv(p[0], &c, 1, 0), 1, 0);
		if (hi > spare)
			close(hi);
		T_EXPECT("recv with SO_RCVTIMEO", recv(sv[0], &c, 1, 0), -1, EAGAIN);
	}
	return t_end();
}
