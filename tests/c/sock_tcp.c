/* SPDX-License-Identifier: MIT */
/* TCP loopback: fd numbers, accept4 flags, every send/recv form, errors. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/uio.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: accept.ring>=1@6.10 connect.real>=1 send.ring>=1 recv.ring>=1 */
/* SHIM-EXPECT: sendto.ring>=1 recvfrom.ring>=1 sendmsg.ring>=1 recvmsg.ring>=1 */

static struct sockaddr_in listen_on(int *l)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	*l = socket(AF_INET, SOCK_STREAM, 0);
	bind(*l, (struct sockaddr *)&a, sizeof(a));
	listen(*l, 8);
	getsockname(*l, (struct sockaddr *)&a, &len);
	return a;
}

int main(void)
{
	struct sockaddr_in a, peer, from;
	socklen_t plen = sizeof(peer), flen;
	char buf[256], b1[5], b2[5], b3[5];
	struct iovec v[3] = { { b1, 5 }, { b2, 5 }, { b3, 5 } };
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 3 };
	int l, c, s, c2, s2, p[2], one = 1;
	long r;

	t_watchdog(30);
	a = listen_on(&l);
	c = socket(AF_INET, SOCK_STREAM, 0);
	printf("listen %d client %d\n", l, c);
	T_EXPECT("connect", connect(c, (struct sockaddr *)&a, sizeof(a)), 0, 0);
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s = accept4(l, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	printf("accept4 -> %d plen %u nonblock %d cloexec %d\n", s, plen,
	       !!(fcntl(s, F_GETFL) & O_NONBLOCK), !!(fcntl(s, F_GETFD) & FD_CLOEXEC));
	T_CHECK(peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK), "peer address");
	fcntl(s, F_SETFL, 0);
	T_EXPECT("send", send(c, "hello", 5, 0), 5, 0);
	T_EXPECT("recv peek", recv(s, buf, 5, MSG_PEEK), 5, 0);
	T_EXPECT("recv", recv(s, buf, 5, 0), 5, 0);
	T_EXPECT("sendto", sendto(s, "world", 5, 0, NULL, 0), 5, 0);
	flen = sizeof(from);
	T_EXPECT("recvfrom", recvfrom(c, buf, 5, 0, (struct sockaddr *)&from, &flen), 5, 0);
	printf("recvfrom addrlen %u\n", flen);
	T_EXPECT("write", write(c, "abcdefghijklmno", 15), 15, 0);
	usleep(10000);
	T_EXPECT("recvmsg 3 iovecs", recvmsg(s, &m, 0), 15, 0);
	printf("msg_flags %d %.5s%.5s%.5s\n", m.msg_flags, b1, b2, b3);
	T_EXPECT("sendmsg", sendmsg(s, &m, 0), 15, 0);
	T_EXPECT("read", t_read_full(c, buf, 15), 15, 0);
	T_EXPECT("shutdown", shutdown(c, SHUT_WR), 0, 0);
	T_EXPECT("recv EOF", recv(s, buf, 10, 0), 0, 0);
	close(s);
	usleep(20000);
	r = send(c, "x", 1, MSG_NOSIGNAL);
	if (r == 1)	/* the first send after the peer closed may still go */
		r = send(c, "x", 1, MSG_NOSIGNAL);
	usleep(20000);
	if (r == 1)
		r = send(c, "x", 1, MSG_NOSIGNAL);
	printf("send after close -> %ld %s\n", r, r < 0 ? strerrorname_np(errno) : "");
	close(c);

	fcntl(l, F_SETFL, O_NONBLOCK);
	T_EXPECT("accept nonblock empty", accept(l, NULL, NULL), -1, EAGAIN);
	c2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	r = connect(c2, (struct sockaddr *)&a, sizeof(a));
	printf("nonblock connect ok-or-inprogress %d\n", r == 0 || errno == EINPROGRESS);
	usleep(10000);
	s2 = accept(l, NULL, NULL);
	printf("accept after nonblock connect -> %d\n", s2);
	close(s2);
	close(c2);
	T_EXPECT("recv on listener", recv(l, buf, 1, 0), -1, ENOTCONN);
	close(l);
	c2 = socket(AF_INET, SOCK_STREAM, 0);
	T_EXPECT("connect refused", connect(c2, (struct sockaddr *)&a, sizeof(a)),
		 -1, ECONNREFUSED);
	T_EXPECT("connect bad len", connect(c2, (struct sockaddr *)&a, 3), -1, EINVAL);
	close(c2);
	pipe(p);
	T_EXPECT("send on pipe", send(p[1], "x", 1, 0), -1, ENOTSOCK);
	T_EXPECT("recv on pipe", recv(p[0], buf, 1, MSG_DONTWAIT), -1, ENOTSOCK);
	c2 = socket(AF_INET, SOCK_STREAM, 0);
	T_EXPECT("accept unlistened", accept(c2, NULL, NULL), -1, EINVAL);
	T_EXPECT("send unconnected", send(c2, "x", 1, MSG_NOSIGNAL), -1, EPIPE);
	return t_end();
}
