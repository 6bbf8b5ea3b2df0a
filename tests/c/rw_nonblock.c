/* SPDX-License-Identifier: MIT */
/*
 * O_NONBLOCK however it is set (pipe2, fcntl, ioctl FIONBIO, a raw syscall
 * the shim cannot see) and MSG_DONTWAIT must give EAGAIN at once, never a
 * blocking wait: io_uring itself ignores O_NONBLOCK.
 */
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "testlib.h"

/* Pipes, and read/write on sockets, take RWF_NOWAIT from 6.4. */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: write.ring>=1@6.4 recv.ring>=1 */

static unsigned char buf[1 << 20];

int main(void)
{
	int p[2], s[2], on = 1, off = 0, fl;
	long total = 0, r;
	double t;

	t_watchdog(20);
	T_EXPECT("pipe2 nonblock", pipe2(p, O_NONBLOCK), 0, 0);
	t = t_now();
	T_EXPECT("read empty", read(p[0], buf, 10), -1, EAGAIN);
	T_CHECK(t_now() - t < 1, "EAGAIN took %.2fs", t_now() - t);
	while ((r = write(p[1], buf, 4096)) > 0)
		total += r;
	printf("filled %ld EAGAIN=%d\n", total, errno == EAGAIN);
	T_EXPECT("write big to full", write(p[1], buf, sizeof(buf)), -1, EAGAIN);
	while (read(p[0], buf, sizeof(buf)) > 0)
		;
	T_EXPECT("write 100000 into empty", write(p[1], buf, 100000), 65536, 0);
	while (read(p[0], buf, sizeof(buf)) > 0)
		;

	/* Blocking again via fcntl: the read waits for data a thread wrote. */
	fl = fcntl(p[0], F_GETFL);
	T_EXPECT("fcntl clear", fcntl(p[0], F_SETFL, fl & ~O_NONBLOCK), 0, 0);
	T_EXPECT("write 5", write(p[1], "hello", 5), 5, 0);
	T_EXPECT("blocking read", read(p[0], buf, 10), 5, 0);
	T_EXPECT("FIONBIO on", ioctl(p[0], FIONBIO, &on), 0, 0);
	T_EXPECT("read empty FIONBIO", read(p[0], buf, 10), -1, EAGAIN);
	T_EXPECT("FIONBIO off", ioctl(p[0], FIONBIO, &off), 0, 0);
	/* Behind the shim's back: raw fcntl. */
	fl = (int)syscall(SYS_fcntl, p[0], F_GETFL);
	syscall(SYS_fcntl, p[0], F_SETFL, fl | O_NONBLOCK);
	t = t_now();
	T_EXPECT("read empty raw-nonblock", read(p[0], buf, 10), -1, EAGAIN);
	T_CHECK(t_now() - t < 1, "EAGAIN took %.2fs", t_now() - t);

	T_EXPECT("socketpair nonblock",
		 socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s), 0, 0);
	T_EXPECT("recv empty", recv(s[0], buf, 10, 0), -1, EAGAIN);
	T_EXPECT("accept on socketpair", accept(s[0], NULL, NULL), -1, EINVAL);
	fl = fcntl(s[0], F_GETFL);
	fcntl(s[0], F_SETFL, fl & ~O_NONBLOCK);
	T_EXPECT("recv DONTWAIT on blocking", recv(s[0], buf, 10, MSG_DONTWAIT),
		 -1, EAGAIN);
	T_EXPECT("send", send(s[1], "xy", 2, 0), 2, 0);
	T_EXPECT("recv DONTWAIT with data", recv(s[0], buf, 10, MSG_DONTWAIT), 2, 0);
	return t_end();
}
