/* SPDX-License-Identifier: MIT */
/*
 * Bad pointers get the syscall's EFAULT, never a crash: the shim reads
 * iovec arrays, msghdrs and socklen_t itself (and the batch profile copies
 * the data), so it must check them first, including memory that was fine
 * when it last looked and was unmapped or protected since.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "testlib.h"

/* Pipes, and read/write on sockets, take RWF_NOWAIT from 6.4. */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: write.ring>=1@6.4 writev.ring>=1@6.4 */

#define BAD ((void *)8)

static char good[64];

/* 16 bytes in, read back through a good buffer: the stream is intact. */
static void roundtrip(const char *label, int w, int r)
{
	char buf[16];

	T_EXPECT(label, write(w, "0123456789abcdef", 16), 16, 0);
	T_EXPECT(label, read(r, buf, 16), 16, 0);
	T_CHECK(!memcmp(buf, "0123456789abcdef", 16), "%s: data", label);
}

/* Read-type calls find data waiting, fail on the buffer, leave the data. */
static void refill(int w)
{
	T_EXPECT("refill", write(w, "0123456789abcdef", 16), 16, 0);
}

static void drain(int r)
{
	char buf[16];

	T_EXPECT("drain", read(r, buf, 16), 16, 0);
}

static void writers(const char *what, int w, int r, int sock, void *bad)
{
	struct iovec v = { bad, 16 }, gv = { good, 16 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	struct msghdr gm = { .msg_iov = &gv, .msg_iovlen = 1 };

	printf("-- %s\n", what);
	T_EXPECT("write buf", write(w, bad, 16), -1, EFAULT);
	T_EXPECT("writev base", writev(w, &v, 1), -1, EFAULT);
	T_EXPECT("writev array", writev(w, bad, 1), -1, EFAULT);
	T_EXPECT("pwritev2 array", pwritev2(w, bad, 1, -1, 0), -1, EFAULT);
	if (sock) {
		T_EXPECT("send buf", send(w, bad, 16, 0), -1, EFAULT);
		T_EXPECT("sendto buf", sendto(w, bad, 16, MSG_NOSIGNAL, NULL, 0),
			 -1, EFAULT);
		T_EXPECT("sendmsg base", sendmsg(w, &m, 0), -1, EFAULT);
		gm.msg_iov = bad;
		T_EXPECT("sendmsg array", sendmsg(w, &gm, 0), -1, EFAULT);
		T_EXPECT("sendmsg msghdr", sendmsg(w, bad, 0), -1, EFAULT);
	}
	roundtrip("after writers", w, r);

	printf("-- %s, reading\n", what);
	refill(w);
	T_EXPECT("read buf", read(r, bad, 16), -1, EFAULT);
	T_EXPECT("readv base", readv(r, &v, 1), -1, EFAULT);
	T_EXPECT("readv array", readv(r, bad, 1), -1, EFAULT);
	T_EXPECT("preadv2 array", preadv2(r, bad, 1, -1, 0), -1, EFAULT);
	if (sock) {
		socklen_t *badlen = bad;
		struct sockaddr_storage ss;

		T_EXPECT("recv buf", recv(r, bad, 16, 0), -1, EFAULT);
		T_EXPECT("recvmsg base", recvmsg(r, &m, 0), -1, EFAULT);
		gm.msg_iov = bad;
		T_EXPECT("recvmsg array", recvmsg(r, &gm, 0), -1, EFAULT);
		T_EXPECT("recvmsg msghdr", recvmsg(r, bad, 0), -1, EFAULT);
		drain(r);
		/* The data is taken before the length fails: gone, unchecked. */
		refill(w);
		T_EXPECT("recvfrom len", recvfrom(r, good, 16, 0,
						  (struct sockaddr *)&ss,
						  badlen), -1, EFAULT);
		recv(r, good, sizeof(good), MSG_DONTWAIT);
		return;
	}
	drain(r);
}

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	int p[2], s[2];
	struct iovec *vmap;
	char *map;

	t_watchdog(60);
	T_CHECK(pipe(p) == 0, "pipe");
	T_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0, "socketpair");
	memcpy(good, "0123456789abcdef", 16);

	writers("pipe, a low address", p[1], p[0], 0, BAD);
	writers("socket, a low address", s[0], s[1], 1, BAD);

	/*
	 * Memory used successfully first, then unmapped or made
	 * unreadable: what the shim remembers must not outlive it.
	 */
	map = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_CHECK(map != MAP_FAILED, "mmap");
	memcpy(map, "0123456789abcdef", 16);
	memcpy(map + pg, "0123456789abcdef", 16);
	vmap = (struct iovec *)(map + 2 * pg);
	vmap->iov_base = good;
	vmap->iov_len = 16;
	for (int i = 0; i < 3; i++) {
		T_EXPECT("write from the page", write(p[1], map, 16), 16, 0);
		T_EXPECT("writev from the page",
			 writev(s[0], &(struct iovec){ map + pg, 16 }, 1), 16, 0);
		T_EXPECT("writev, the array in the page",
			 writev(p[1], vmap, 1), 16, 0);
		drain(p[0]);
		drain(p[0]);
		drain(s[1]);
	}
	T_CHECK(munmap(map, pg) == 0, "munmap");
	T_CHECK(mprotect(map + pg, pg, PROT_NONE) == 0, "mprotect");
	T_CHECK(munmap(vmap, pg) == 0, "munmap");
	T_EXPECT("writev, the array unmapped", writev(p[1], vmap, 1), -1, EFAULT);
	writers("pipe, an unmapped page", p[1], p[0], 0, map);
	writers("socket, a PROT_NONE page", s[0], s[1], 1, map + pg);
	return t_end();
}
