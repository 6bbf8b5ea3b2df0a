/* SPDX-License-Identifier: MIT */
/* UDP loopback: addresses, datagram boundaries, truncation, empty datagrams. */
#include <netinet/in.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: sendto.ring>=3 recvfrom.ring>=2 recvmsg.ring>=1 send.ring>=1 */

int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) }, b, from;
	socklen_t len = sizeof(a), flen;
	char buf[2000], small[4];
	struct iovec v = { buf, 10 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1,
			    .msg_name = &from, .msg_namelen = sizeof(from) };
	int r, s;

	t_watchdog(20);
	r = socket(AF_INET, SOCK_DGRAM, 0);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	bind(r, (struct sockaddr *)&a, sizeof(a));
	getsockname(r, (struct sockaddr *)&a, &len);
	b = a;
	b.sin_port = 0;
	bind(s, (struct sockaddr *)&b, sizeof(b));
	len = sizeof(b);
	getsockname(s, (struct sockaddr *)&b, &len);
	T_EXPECT("sendto 100", sendto(s, buf, 100, 0, (struct sockaddr *)&a, sizeof(a)), 100, 0);
	T_EXPECT("sendto 1000", sendto(s, buf, 1000, 0, (struct sockaddr *)&a, sizeof(a)), 1000, 0);
	T_EXPECT("sendto 0", sendto(s, buf, 0, 0, (struct sockaddr *)&a, sizeof(a)), 0, 0);
	T_EXPECT("sendto 7", sendto(s, buf, 7, 0, (struct sockaddr *)&a, sizeof(a)), 7, 0);
	flen = sizeof(from);
	T_EXPECT("recvfrom 100", recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen), 100, 0);
	T_CHECK(flen == sizeof(from) && from.sin_port == b.sin_port, "source address");
	flen = 4;	/* too small: truncated, full length reported */
	T_EXPECT("recvfrom small addr", recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen), 1000, 0);
	printf("addrlen %u\n", flen);
	T_EXPECT("recv empty datagram", recv(r, buf, sizeof(buf), 0), 0, 0);
	m.msg_namelen = sizeof(from);
	T_EXPECT("recvmsg truncated", recvmsg(r, &m, 0), 7, 0);
	T_EXPECT("sendto 50", sendto(s, buf, 50, 0, (struct sockaddr *)&a, sizeof(a)), 50, 0);
	m.msg_namelen = sizeof(from);
	T_EXPECT("recvmsg 10 of 50", recvmsg(r, &m, 0), 10, 0);
	printf("msg_flags trunc %d namelen %u\n", !!(m.msg_flags & MSG_TRUNC), m.msg_namelen);
	T_EXPECT("sendto 30", sendto(s, buf, 30, 0, (struct sockaddr *)&a, sizeof(a)), 30, 0);
	T_EXPECT("recv MSG_TRUNC", recv(r, small, sizeof(small), MSG_TRUNC), 30, 0);
	T_EXPECT("connect", connect(s, (struct sockaddr *)&a, sizeof(a)), 0, 0);
	T_EXPECT("send connected", send(s, "ping", 4, 0), 4, 0);
	T_EXPECT("recv", recv(r, buf, sizeof(buf), 0), 4, 0);
	T_EXPECT("recv empty nonblock", recv(r, buf, sizeof(buf), MSG_DONTWAIT), -1, EAGAIN);
	T_EXPECT("send too big", send(s, buf, 70000, 0), -1, EMSGSIZE);
	close(r);
	close(s);
	return t_end();
}
