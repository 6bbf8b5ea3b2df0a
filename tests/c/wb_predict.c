/* SPDX-License-Identifier: MIT */
/*
 * The would-block prediction: an fd whose ring attempts keep saying EAGAIN
 * goes straight to libc for a while. That must never turn a non-blocking
 * fd into a blocking wait, nor hold back data that has arrived: after many
 * EAGAINs, the call right after the peer writes returns the data at once;
 * a blocking reader whose writer trickles data gets each piece as it comes.
 */
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "testlib.h"

/* Prediction only follows ring EAGAINs: recv on a socket has them always. */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: recv.ring>=1 fallback.wouldblock.predicted>=1000 */

#define SPINS 200
#define ROUNDS 20
#define PIECES 40

static int pfd[2];

/* Many EAGAINs, then data: the very next call must return it. */
static int nonblock_round(int rd, int wr, bool use_recv)
{
	char buf[16];
	long r = 0;
	int i, eagain = 0;
	double t;

	for (i = 0; i < SPINS; i++) {
		r = use_recv ? recv(rd, buf, sizeof(buf), 0)
			     : read(rd, buf, sizeof(buf));
		eagain += r < 0 && errno == EAGAIN;
	}
	if (write(wr, "hello", 5) != 5)
		return -1;
	t = t_now();
	r = use_recv ? recv(rd, buf, sizeof(buf), 0) : read(rd, buf, sizeof(buf));
	T_CHECK(t_now() - t < 0.5, "data waited %.2fs", t_now() - t);
	T_CHECK(r == 5 && !memcmp(buf, "hello", 5), "got %ld", r);
	return eagain;
}

static void *trickle(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < PIECES; i++) {
		usleep(2000);
		if (write(pfd[1], "abcd", 4) != 4)
			break;
	}
	close(pfd[1]);
	return NULL;
}

int main(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s[2], p[2], l, c, i, eagain = 0, got = 0, bytes = 0;
	pthread_t th;
	char buf[64];
	long r;
	double t;

	t_watchdog(30);
	T_EXPECT("socketpair", socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK,
					  0, s), 0, 0);
	/* Nothing predicted yet: this one is the ring's. */
	T_EXPECT("send", send(s[1], "x", 1, 0), 1, 0);
	T_EXPECT("recv", recv(s[0], buf, sizeof(buf), 0), 1, 0);
	for (i = 0; i < ROUNDS; i++)
		eagain += nonblock_round(s[0], s[1], true);
	printf("socket recv: EAGAIN %d of %d\n", eagain, ROUNDS * SPINS);

	T_EXPECT("pipe2", pipe2(p, O_NONBLOCK), 0, 0);
	for (i = 0, eagain = 0; i < ROUNDS; i++)
		eagain += nonblock_round(p[0], p[1], false);
	printf("pipe read: EAGAIN %d of %d\n", eagain, ROUNDS * SPINS);

	/* A non-blocking listener: EAGAIN, EAGAIN, ..., then a connection. */
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "/tmp/wbp-%d", (int)getpid());
	unlink(a.sun_path);
	T_EXPECT("bind", bind(l, (struct sockaddr *)&a, sizeof(a)), 0, 0);
	T_EXPECT("listen", listen(l, 4), 0, 0);
	for (i = 0, eagain = 0; i < SPINS; i++) {
		r = accept(l, NULL, NULL);
		eagain += r < 0 && errno == EAGAIN;
	}
	printf("accept: EAGAIN %d of %d\n", eagain, SPINS);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	T_EXPECT("connect", connect(c, (struct sockaddr *)&a, sizeof(a)), 0, 0);
	t = t_now();
	r = accept(l, NULL, NULL);
	T_CHECK(r >= 0 && t_now() - t < 0.5, "accept %ld after %.2fs", r,
		t_now() - t);
	unlink(a.sun_path);

	/* A blocking pipe: each piece as it comes, then EOF. */
	T_EXPECT("pipe", pipe(pfd), 0, 0);
	pthread_create(&th, NULL, trickle, NULL);
	t = t_now();
	while ((r = read(pfd[0], buf, sizeof(buf))) > 0) {
		got++;
		bytes += (int)r;
	}
	pthread_join(th, NULL);
	printf("blocking pipe: %d bytes, EOF %ld\n", bytes, r);
	T_CHECK(got >= PIECES / 2, "only %d reads for %d pieces", got, PIECES);
	T_CHECK(t_now() - t < 5, "trickle took %.2fs", t_now() - t);
	return t_failed ? T_EXIT_FAIL : T_EXIT_PASS;
}
