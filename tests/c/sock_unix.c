/* SPDX-License-Identifier: MIT */
/* Unix sockets: SCM_RIGHTS, SCM_CREDENTIALS, control truncation. */
#include <sys/un.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: sendmsg.ring>=2 recvmsg.ring>=2 */

int main(void)
{
	union {
		char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	char data[16] = "fd", rd[16];
	struct iovec v = { data, 2 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = CMSG_SPACE(sizeof(int)) };
	struct cmsghdr *c;
	int s[2], d[2], p[2], fd, one = 1;

	t_watchdog(20);
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	socketpair(AF_UNIX, SOCK_DGRAM, 0, d);
	pipe(p);
	write(p[1], "through", 7);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &p[0], sizeof(int));
	T_EXPECT("sendmsg SCM_RIGHTS", sendmsg(s[0], &m, 0), 2, 0);
	memset(u.buf, 0, sizeof(u.buf));
	m.msg_controllen = sizeof(u.buf);
	v.iov_base = rd;
	v.iov_len = sizeof(rd);
	T_EXPECT("recvmsg", recvmsg(s[1], &m, 0), 2, 0);
	c = CMSG_FIRSTHDR(&m);
	T_CHECK(c && c->cmsg_type == SCM_RIGHTS, "SCM_RIGHTS received");
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	printf("controllen %zu received fd %d flags %d\n", (size_t)m.msg_controllen, fd, m.msg_flags);
	T_EXPECT("read passed fd", read(fd, rd, sizeof(rd)), 7, 0);
	close(fd);

	/* Control buffer too small for the fd: MSG_CTRUNC, fd not installed. */
	v.iov_base = data;
	v.iov_len = 2;
	m.msg_controllen = CMSG_SPACE(sizeof(int));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &p[0], sizeof(int));
	T_EXPECT("sendmsg again", sendmsg(d[0], &m, 0), 2, 0);
	m.msg_controllen = 4;
	v.iov_base = rd;
	v.iov_len = sizeof(rd);
	T_EXPECT("recvmsg small control", recvmsg(d[1], &m, 0), 2, 0);
	printf("ctrunc %d controllen %zu\n", !!(m.msg_flags & MSG_CTRUNC), (size_t)m.msg_controllen);

	setsockopt(d[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	T_EXPECT("send", send(d[0], "cred", 4, 0), 4, 0);
	m.msg_controllen = sizeof(u.buf);
	T_EXPECT("recvmsg cred", recvmsg(d[1], &m, 0), 4, 0);
	c = CMSG_FIRSTHDR(&m);
	if (c && c->cmsg_type == SCM_CREDENTIALS) {
		struct ucred cr;

		memcpy(&cr, CMSG_DATA(c), sizeof(cr));
		printf("cred uid %u gid %u\n", cr.uid, cr.gid);
	} else {
		T_CHECK(0, "no SCM_CREDENTIALS");
	}
	return t_end();
}
