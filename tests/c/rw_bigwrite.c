/* SPDX-License-Identifier: MIT */
/*
 * A blocking write/send moves everything: io_uring returns short writes on
 * pipes (64 KiB of 1 MiB) and unix sockets where write(2) does not.
 */
#include <sys/uio.h>

#include "testlib.h"

/* Pipes, and read/write on sockets, take RWF_NOWAIT from 6.4. */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: write.ring>=1@6.4 */

#define BIG (8 << 20)
static unsigned char out[BIG], in[BIG];

struct drain {
	int fd;
	size_t n;
};

static void *drainer(void *arg)
{
	struct drain *d = arg;

	usleep(20000);	/* let the writer fill the buffer first */
	d->n = t_read_full(d->fd, in, d->n);
	return NULL;
}

static void one(const char *what, int rfd, int wfd, size_t n, int how)
{
	struct drain d = { rfd, n };
	struct iovec v[4];
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 4 };
	pthread_t t;
	long r;
	size_t q = n / 4;

	t_fill(out, n, (unsigned)n + (unsigned)how);
	for (int i = 0; i < 4; i++) {
		v[i].iov_base = out + i * q;
		v[i].iov_len = q;
	}
	pthread_create(&t, NULL, drainer, &d);
	if (how == 0)
		r = write(wfd, out, n);
	else if (how == 1)
		r = writev(wfd, v, 4);
	else if (how == 2)
		r = send(wfd, out, n, 0);
	else
		r = sendmsg(wfd, &m, 0);
	pthread_join(t, NULL);
	printf("%s %zu -> %ld, read %zu, same %d\n", what, n, r, d.n,
	       !memcmp(in, out, n));
	T_CHECK(r == (long)n && d.n == n && !memcmp(in, out, n), "%s", what);
}

int main(void)
{
	int p[2], s[2];

	t_watchdog(60);
	pipe(p);
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	one("pipe write", p[0], p[1], 1 << 20, 0);
	one("pipe write", p[0], p[1], BIG, 0);
	one("pipe writev", p[0], p[1], 1 << 20, 1);
	one("unix write", s[0], s[1], 1 << 20, 0);
	one("unix send", s[0], s[1], BIG, 2);
	one("unix sendmsg", s[0], s[1], 1 << 20, 3);
	return t_end();
}
