/* SPDX-License-Identifier: MIT */
/* SO_RCVTIMEO / SO_SNDTIMEO: io_uring ignores them; the calls must not. */
#include <netinet/in.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: send.ring>=1 */

static unsigned char big[1 << 20];

static void timed(const char *what, long r, double t0)
{
	double dt = t_now() - t0;

	printf("%s -> %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
	T_CHECK(r == -1 && errno == EAGAIN, "%s", what);
	T_CHECK(dt > 0.15 && dt < 2, "%s took %.3fs", what, dt);
}

int main(void)
{
	struct timeval tv = { 0, 200000 };
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	char buf[16];
	int s[2], l;
	long r, total = 0;
	double t;

	t_watchdog(30);
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	setsockopt(s[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t = t_now();
	timed("recv timeout", recv(s[0], buf, sizeof(buf), 0), t);
	t = t_now();
	timed("read timeout", read(s[0], buf, sizeof(buf)), t);

	setsockopt(s[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	t = t_now();
	while ((r = send(s[1], big, sizeof(big), 0)) > 0) {
		total += r;
		if (t_now() - t > 10)
			break;
	}
	printf("send until timeout: sent something %d, then %s\n", total > 0,
	       r < 0 ? strerrorname_np(errno) : "?");
	T_CHECK(r == -1 && errno == EAGAIN, "send timeout");

	l = socket(AF_INET, SOCK_STREAM, 0);
	bind(l, (struct sockaddr *)&a, sizeof(a));
	listen(l, 1);
	getsockname(l, (struct sockaddr *)&a, &len);
	setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t = t_now();
	timed("accept timeout", accept(l, NULL, NULL), t);
	return t_end();
}
