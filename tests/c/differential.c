/* SPDX-License-Identifier: MIT */
/*
 * Differential test: a random but reproducible sequence of calls (reads,
 * writes, vectored and positional I/O, send/recv with flags, O_NONBLOCK
 * toggles seen and unseen by the shim, socket timeouts, signals, closes,
 * dups) over pipes, socketpairs, TCP loopback and a file, printing every
 * result. The runner compares the transcript without and with the shim.
 *
 * Every call's outcome is made independent of timing: stream reads never
 * ask for more than is known to be buffered unless the fd is non-blocking,
 * writes stay far below the buffer sizes, and the only waits are bounded by
 * an interval timer or SO_RCVTIMEO whose expiry is the expected result.
 *
 * DIFF_SEEDS=N (default 1000) runs seeds 1..N; DIFF_OPS ops per seed.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "testlib.h"

/* Pipes, and read/write on sockets, take RWF_NOWAIT from 6.4. */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: read.ring>=100 write.ring>=100@6.4 send.ring>=10 recv.ring>=10 */

enum { O_PIPE, O_USTREAM, O_UDGRAM, O_TCP, O_FILE, NR_OBJ };
static const char *const obj_name[] = { "pipe", "ustream", "udgram", "tcp",
					"file" };

struct obj {
	int rfd, wfd;
	long buffered;		/* bytes (or datagrams' bytes) in flight */
	int ndgrams;
	int dgram_len[64];
	unsigned char next_w;	/* payload byte pattern, writer side */
	unsigned char next_r;	/* expected pattern, reader side */
};

static struct obj obj[NR_OBJ];
static uint64_t rng;
static int nop;
static unsigned char buf[200000], rbuf[200000];

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void res(const char *what, const char *o, long arg, long r)
{
	printf("%d %s %s %ld -> %ld %s\n", nop, what, o, arg, r,
	       r < 0 ? strerrorname_np(errno) : "");
}

static void fill(struct obj *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = b->next_w++;
}

/* Data read must be exactly the next bytes written: no loss, no dup. */
static int check(struct obj *b, long n)
{
	long i;

	for (i = 0; i < n; i++) {
		if (rbuf[i] != b->next_r++) {
			printf("%d DATA MISMATCH at %ld\n", nop, i);
			return -1;
		}
	}
	return 0;
}

static void make_tcp(int *a, int *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	bind(l, (struct sockaddr *)&sa, sizeof(sa));
	listen(l, 1);
	getsockname(l, (struct sockaddr *)&sa, &len);
	*c = socket(AF_INET, SOCK_STREAM, 0);
	connect(*c, (struct sockaddr *)&sa, sizeof(sa));
	*a = accept(l, NULL, NULL);
	setsockopt(*c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(l);
}

static void open_all(void)
{
	int sv[2];
	char path[] = "/tmp/shim-diff-XXXXXX";

	memset(obj, 0, sizeof(obj));
	pipe(sv);
	obj[O_PIPE].rfd = sv[0];
	obj[O_PIPE].wfd = sv[1];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	obj[O_USTREAM].rfd = sv[0];
	obj[O_USTREAM].wfd = sv[1];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	obj[O_UDGRAM].rfd = sv[0];
	obj[O_UDGRAM].wfd = sv[1];
	make_tcp(&obj[O_TCP].rfd, &obj[O_TCP].wfd);
	obj[O_FILE].rfd = mkstemp(path);
	obj[O_FILE].wfd = obj[O_FILE].rfd;
	unlink(path);
	printf("fds:");
	for (int i = 0; i < NR_OBJ; i++)
		printf(" %s=%d,%d", obj_name[i], obj[i].rfd, obj[i].wfd);
	printf("\n");
}

static void close_all(void)
{
	for (int i = 0; i < NR_OBJ; i++) {
		close(obj[i].rfd);
		if (obj[i].wfd != obj[i].rfd)
			close(obj[i].wfd);
	}
}

static volatile sig_atomic_t got_sig;
static void on_sig(int s)
{
	got_sig++;
}

static void set_nonblock(int fd, int on, int raw)
{
	int fl = raw ? (int)syscall(SYS_fcntl, fd, F_GETFL) : fcntl(fd, F_GETFL);

	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	if (raw)
		syscall(SYS_fcntl, fd, F_SETFL, fl);
	else
		fcntl(fd, F_SETFL, fl);
}

static int is_nonblock(int fd)
{
	return (int)(syscall(SYS_fcntl, fd, F_GETFL) & O_NONBLOCK) != 0;
}

/* Write a size that cannot fill the buffer, so the count is deterministic. */
static void op_write(struct obj *b, const char *o)
{
	static const size_t sizes[] = { 1, 7, 64, 512, 4096, 16000 };
	size_t n = sizes[rnd(6)];
	struct iovec v[3];
	long r;
	int how = rnd(4);

	if (b == &obj[O_UDGRAM] && b->ndgrams >= 32)
		return;
	if (b->buffered + (long)n > 30000)
		return;
	fill(b, n);
	if (how == 0 || b == &obj[O_FILE]) {
		r = write(b->wfd, buf, n);
	} else if (how == 1) {
		v[0].iov_base = buf;
		v[0].iov_len = n / 3;
		v[1].iov_base = buf + n / 3;
		v[1].iov_len = n / 3;
		v[2].iov_base = buf + 2 * (n / 3);
		v[2].iov_len = n - 2 * (n / 3);
		r = writev(b->wfd, v, 3);
	} else if (b == &obj[O_PIPE]) {
		r = write(b->wfd, buf, n);
	} else if (how == 2) {
		r = send(b->wfd, buf, n, rnd(2) ? MSG_DONTWAIT : 0);
	} else {
		struct msghdr m = { .msg_iov = v, .msg_iovlen = 1 };

		v[0].iov_base = buf;
		v[0].iov_len = n;
		r = sendmsg(b->wfd, &m, MSG_NOSIGNAL);
	}
	res("write", o, (long)n, r);
	if (r > 0 && b != &obj[O_FILE]) {
		b->buffered += r;
		if (b == &obj[O_UDGRAM])
			b->dgram_len[b->ndgrams++] = (int)r;
	}
	if (r != (long)n)
		b->next_w -= (unsigned char)(n - (r > 0 ? r : 0));
}

static void op_read(struct obj *b, const char *o)
{
	static const size_t sizes[] = { 1, 10, 100, 4096, 70000 };
	size_t n = sizes[rnd(5)];
	int nb = is_nonblock(b->rfd), how = rnd(3);
	long r;

	if (b == &obj[O_FILE])
		return;
	/* Loopback TCP data may still be in flight: only settled cases. */
	if (b == &obj[O_TCP] && nb && b->buffered)
		return;
	if (!nb && b->buffered == 0)
		return;	/* would wait forever: the signal op covers waits */
	if (b == &obj[O_UDGRAM]) {
		/* A datagram read takes one whole datagram (or truncates). */
		if (b->ndgrams && n < (size_t)b->dgram_len[0])
			n = (size_t)b->dgram_len[0];
	} else if (!nb && n > (size_t)b->buffered) {
		n = (size_t)b->buffered;
	}
	if (b == &obj[O_TCP] && !nb) {
		r = recv(b->rfd, rbuf, n, MSG_WAITALL);
	} else if (how == 0 || b == &obj[O_PIPE]) {
		r = read(b->rfd, rbuf, n);
	} else if (how == 1) {
		r = recv(b->rfd, rbuf, n, 0);
	} else {
		struct iovec v = { rbuf, n };
		struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };

		r = recvmsg(b->rfd, &m, 0);
	}
	res("read", o, (long)n, r);
	if (r > 0) {
		if (check(b, r) < 0)
			exit(T_EXIT_FAIL);
		b->buffered -= r;
		if (b == &obj[O_UDGRAM] && b->ndgrams) {
			memmove(b->dgram_len, b->dgram_len + 1,
				sizeof(int) * (size_t)--b->ndgrams);
		}
	}
}

static void op_file(void)
{
	static const off_t offs[] = { 0, 1, 4095, 100000 };
	off_t off = offs[rnd(4)];
	size_t n = 1 + rnd(8192);
	long r;
	int i;

	switch (rnd(4)) {
	case 0:
		for (i = 0; i < (int)n; i++)
			buf[i] = (unsigned char)(off + i);
		r = pwrite(obj[O_FILE].wfd, buf, n, off);
		res("pwrite", "file", (long)off, r);
		break;
	case 1:
		r = pread(obj[O_FILE].rfd, rbuf, n, off);
		res("pread", "file", (long)off, r);
		if (r > 0)
			printf("%d sum %u\n", nop, rbuf[0] + 7u * rbuf[r - 1]);
		break;
	case 2:
		r = lseek(obj[O_FILE].rfd, off, SEEK_SET);
		res("lseek", "file", (long)off, r);
		break;
	default:
		r = read(obj[O_FILE].rfd, rbuf, n);
		res("fread", "file", (long)n, r);
		printf("%d pos %ld\n", nop, (long)lseek(obj[O_FILE].rfd, 0,
							SEEK_CUR));
		break;
	}
}

/* A wait that must end: an interval timer without SA_RESTART, or a timeout. */
static void op_wait(struct obj *b, const char *o)
{
	/*
	 * Repeating: a tick that lands before the read has started (the
	 * process was preempted after setitimer) is followed by one during
	 * it, with or without the shim. A handler that overtakes the shim's
	 * own ring op is tested where it can be made certain: sqpoll_signal.
	 */
	struct itimerval it = { .it_value = { 0, 3000 },
				.it_interval = { 0, 3000 } };
	struct timeval tv = { 0, 3000 };
	struct sigaction sa = { .sa_handler = on_sig };
	long r;

	if (b == &obj[O_FILE] || b->buffered)
		return;
	set_nonblock(b->rfd, 0, 0);
	if (b != &obj[O_PIPE] && rnd(2)) {
		setsockopt(b->rfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		r = recv(b->rfd, rbuf, 10, 0);
		res("timeout", o, 10, r);
		tv.tv_usec = 0;
		setsockopt(b->rfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		return;
	}
	sigaction(SIGALRM, &sa, NULL);
	got_sig = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	r = read(b->rfd, rbuf, 10);
	/*
	 * A read that ended without the signal (EOF, an error) must not
	 * leave the timer to interrupt whichever later call it lands in:
	 * that would depend on timing, not on the shim.
	 */
	it.it_value.tv_usec = 0;
	it.it_interval.tv_usec = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	/* Whether a late signal also ran after a read that ended is timing. */
	res("eintr", o, r < 0 ? got_sig > 0 : 0, r);
}

static void op_fdmisc(struct obj *b, const char *o)
{
	int fd, r;

	switch (rnd(5)) {
	case 0:
		set_nonblock(b->rfd, rnd(2), 0);
		res("nonblock", o, is_nonblock(b->rfd), 0);
		break;
	case 1:	/* behind the shim's back */
		set_nonblock(b->rfd, rnd(2), 1);
		res("rawnonblock", o, is_nonblock(b->rfd), 0);
		break;
	case 2:
		r = 1;
		ioctl(b->rfd, FIONBIO, &r);
		res("fionbio", o, is_nonblock(b->rfd), 0);
		break;
	case 3:
		fd = dup(b->rfd);
		res("dup", o, 0, fd);
		r = read(fd, rbuf, 0);
		res("read0", o, fd, r);
		res("close", o, fd, close(fd));
		res("close-again", o, fd, close(fd));
		break;
	default:
		fd = dup2(b->wfd, 60);
		res("dup2", o, 60, fd);
		r = (int)write(60, "", 0);
		res("write0", o, 60, r);
		res("close_range", o, 60, close_range(60, 70, 0));
		res("write-closed", o, 60, write(60, "x", 1));
		break;
	}
}

static void run_seed(unsigned seed, int ops)
{
	rng = 0x9E3779B97F4A7C15ull * (seed + 1);
	printf("seed %u\n", seed);
	open_all();
	for (nop = 0; nop < ops; nop++) {
		int k = (int)rnd(NR_OBJ);
		struct obj *b = &obj[k];

		switch (rnd(10)) {
		case 0: case 1: case 2:
			op_write(b, obj_name[k]);
			break;
		case 3: case 4: case 5:
			op_read(b, obj_name[k]);
			break;
		case 6:
			op_file();
			break;
		case 7:
			if (rnd(4) == 0)
				op_wait(b, obj_name[k]);
			break;
		default:
			op_fdmisc(b, obj_name[k]);
			break;
		}
	}
	close_all();
}

int main(void)
{
	const char *s = getenv("DIFF_SEEDS"), *o = getenv("DIFF_OPS");
	int seeds = s ? atoi(s) : 1000, ops = o ? atoi(o) : 60;

	signal(SIGPIPE, SIG_IGN);
	alarm(600);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	for (int i = 1; i <= seeds; i++)
		run_seed((unsigned)i, ops);
	return T_EXIT_PASS;
}
