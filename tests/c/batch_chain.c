/* SPDX-License-Identifier: MIT */
/*
 * Batch with SHIM_BATCH_FLUSH=ring: one thread's writes to several
 * sockets and a pipe leave as linked chains, in the order written.
 * - order: rounds of a message to each of three stream sockets, then a
 *   notice on a pipe; a reader in another process checks at each notice
 *   that every socket already holds that round's message;
 * - short writes: rounds of several KiB to three sockets with small
 *   buffers, and a notice on a pipe, to a reader that lags, so the
 *   chain's sends come back short and what is left goes by send(2): every
 *   byte must arrive, in order, and no notice before the data it follows
 *   (the link: the notice waits for the short send's rest);
 * - an error mid-chain: a socket, a pipe whose reader is gone, a socket.
 *   The pipe's write fails (EPIPE, at the next write to it, with its
 *   SIGPIPE, as write-behind reports); the sockets' data still arrives.
 */
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch SHIM_BATCH_FLUSH=ring SHIM_ADAPT=0 SHIM_BATCH_US=1000000 */
/* SHIM-EXPECT: write.batch>=1000 batch.chains>=1000 batch.chain_ops>=3000 batch.chain_cut>=2@6.4 */

#define SOCKS 3
#define MSG 64
#define ROUNDS 20000
#define BIG_ROUNDS 300
#define BIG 1500
#define BIG_PER 3

static void message(char *m, unsigned long r, int s)
{
	int len = snprintf(m, MSG, "round %08lu sock %d", r, s);

	memset(m + len, '.', MSG - 1 - len);
	m[MSG - 1] = '\n';
}

static int order_reader(int note, const int *socks)
{
	unsigned long r, early = 0, bad = 0, notes = 0;
	char want[MSG], got[MSG];

	while (t_read_full(note, &r, sizeof(r)) == sizeof(r)) {
		notes++;
		for (int s = 0; s < SOCKS; s++) {
			ssize_t n = recv(socks[s], got, MSG, MSG_DONTWAIT);

			if (n < 0 && errno == EAGAIN) {
				early++;
				n = 0;
			}
			if (n < 0 || t_read_full(socks[s], got + n,
						 (size_t)(MSG - n)) !=
					     (size_t)(MSG - n))
				return -1;
			message(want, r, s);
			bad += memcmp(got, want, MSG) != 0;
		}
	}
	printf("order: notices %lu early %lu bad %lu\n", notes, early, bad);
	return early || bad || notes != ROUNDS;
}

static int socks_pair(int *w, int *r, int sndbuf)
{
	for (int s = 0; s < SOCKS; s++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			return -1;
		if (sndbuf && (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
					  sizeof(sndbuf)) ||
			       setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sndbuf,
					  sizeof(sndbuf))))
			return -1;
		w[s] = sv[0];
		r[s] = sv[1];
	}
	return 0;
}

static int wait_child(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return T_EXIT_FAIL;
	return WIFEXITED(st) ? WEXITSTATUS(st) : T_EXIT_FAIL;
}

/*
 * Three socket pairs and a notice pipe; a child reads their far ends with
 * READER. The parent keeps the writing ends: w[], *note.
 */
static pid_t start_reader(int (*reader)(int note, const int *socks),
			  int sndbuf, int *w, int *note)
{
	int r[SOCKS], p[2];
	pid_t pid;

	if (socks_pair(w, r, sndbuf) || pipe(p))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		for (int s = 0; s < SOCKS; s++)
			close(w[s]);
		int ret = reader(p[0], r);

		fflush(stdout);
		_exit(ret ? T_EXIT_FAIL : T_EXIT_PASS);
	}
	close(p[0]);
	for (int s = 0; s < SOCKS; s++)
		close(r[s]);
	*note = p[1];
	return pid;
}

/* The writer is done: EOF everywhere, and the reader's verdict. */
static int end_reader(pid_t pid, const int *w, int note)
{
	close(note);
	for (int s = 0; s < SOCKS; s++)
		close(w[s]);
	return wait_child(pid);
}

static int test_order(void)
{
	int w[SOCKS], note;
	char m[MSG];
	pid_t pid = start_reader(order_reader, 0, w, &note);

	if (pid < 0)
		return T_EXIT_FAIL;
	for (unsigned long k = 0; k < ROUNDS; k++) {
		for (int s = 0; s < SOCKS; s++) {
			message(m, k, s);
			if (write(w[s], m, MSG) != MSG)
				return T_EXIT_FAIL;
		}
		if (write(note, &k, sizeof(k)) != sizeof(k))
			return T_EXIT_FAIL;
	}
	return end_reader(pid, w, note);
}

/* Byte i of socket s's stream. */
static unsigned char stream_byte(int s, unsigned long i)
{
	return (unsigned char)((i * 31 + (unsigned long)s * 7 + i / 251) & 0xff);
}

/* Round k's notice: every socket has had what the rounds up to k sent. */
static bool notice_late(int note, const int *socks, const unsigned long *at)
{
	unsigned long k;
	int avail;

	if (read(note, &k, sizeof(k)) != sizeof(k))
		return false;
	for (int s = 0; s < SOCKS; s++)
		if (ioctl(socks[s], FIONREAD, &avail) ||
		    at[s] + (unsigned long)avail < (k + 1) * BIG_PER * BIG)
			return true;
	return false;
}

/* Reads all three streams and the notices as they come, slowly at first. */
static int big_reader(int note, const int *socks)
{
	unsigned long at[SOCKS] = { 0 }, bad = 0, early = 0,
		      want = (unsigned long)BIG_ROUNDS * BIG_PER * BIG;
	struct pollfd pf[SOCKS + 1];
	unsigned char buf[700];
	int open_n = SOCKS + 1, turns = 0;

	for (int s = 0; s < SOCKS; s++)
		pf[s] = (struct pollfd){ .fd = socks[s], .events = POLLIN };
	pf[SOCKS] = (struct pollfd){ .fd = note, .events = POLLIN };
	while (open_n) {
		if (poll(pf, SOCKS + 1, -1) < 0)
			return -1;
		if (turns++ < 200)
			usleep(200);	/* lag: the writer's sends come back short */
		if (pf[SOCKS].fd >= 0 && pf[SOCKS].revents) {
			if (ioctl(note, FIONREAD, &open_n) || !open_n) {
				pf[SOCKS].fd = -1;	/* EOF */
			} else {
				early += notice_late(note, socks, at);
			}
			open_n = 0;
			for (int s = 0; s <= SOCKS; s++)
				open_n += pf[s].fd >= 0;
		}
		for (int s = 0; s < SOCKS; s++) {
			ssize_t n;

			if (pf[s].fd < 0 || !pf[s].revents)
				continue;
			n = read(pf[s].fd, buf, sizeof(buf));
			if (n < 0)
				return -1;
			if (n == 0) {
				pf[s].fd = -1;
				open_n--;
				continue;
			}
			for (ssize_t i = 0; i < n; i++)
				bad += buf[i] != stream_byte(s, at[s] + i);
			at[s] += n;
		}
	}
	for (int s = 0; s < SOCKS; s++)
		if (at[s] != want)
			bad++;
	printf("short writes: bytes %lu %lu %lu bad %lu early %lu\n", at[0],
	       at[1], at[2], bad, early);
	return bad || early;
}

static int test_short(void)
{
	int w[SOCKS], note;
	unsigned long at[SOCKS] = { 0 };
	unsigned char m[BIG];
	pid_t pid = start_reader(big_reader, 4096, w, &note);

	if (pid < 0)
		return T_EXIT_FAIL;
	for (unsigned long k = 0; k < BIG_ROUNDS; k++) {
		for (int s = 0; s < SOCKS; s++)
			for (int j = 0; j < BIG_PER; j++) {
				for (int i = 0; i < BIG; i++)
					m[i] = stream_byte(s, at[s] + i);
				if (write(w[s], m, BIG) != BIG)
					return T_EXIT_FAIL;
				at[s] += BIG;
			}
		if (write(note, &k, sizeof(k)) != sizeof(k))
			return T_EXIT_FAIL;
	}
	return end_reader(pid, w, note);
}

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static void show_recv(const char *label, int fd)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	printf("%s: %zd %.*s%s\n", label, n, n > 0 ? (int)n : 0, buf,
	       n < 0 ? strerror(errno) : "");
}

/* A socket, a pipe whose reader goes, a socket: one chain per round. */
static int test_epipe(void)
{
	int a[2], b[2], c[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) || pipe(b) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, c))
		return T_EXIT_FAIL;
	signal(SIGPIPE, on_sigpipe);
	for (int round = 1; round <= 3; round++) {
		char ma[16], mb[16], mc[16];

		snprintf(ma, sizeof(ma), "a%d", round);
		snprintf(mb, sizeof(mb), "b%d", round);
		snprintf(mc, sizeof(mc), "c%d", round);
		/* Printed after the barrier: printf would send what is staged. */
		ssize_t wa0 = round == 1 ? write(a[0], ma, 2) : 0;	/* a run */
		ssize_t wa = write(a[0], ma, 2);
		ssize_t wb = write(b[1], mb, 2);
		int eb = errno;
		ssize_t wc = write(c[0], mc, 2);

		if (round == 2)
			close(b[0]);	/* b's data is written after this */
		poll(NULL, 0, 0);	/* a barrier: what is staged goes */
		printf("write a -> %zd %zd, b -> %zd %s, c -> %zd\n", wa0, wa,
		       wb, wb < 0 ? strerror(eb) : "", wc);
		show_recv("recv a", a[1]);
		show_recv("recv c", c[1]);
		printf("sigpipes %d\n", (int)sigpipes);
	}
	return sigpipes == 1 ? T_EXIT_PASS : T_EXIT_FAIL;
}

int main(void)
{
	const char *k = getenv("SHIM_KERNEL");
	unsigned maj, min;
	int ret;

	/* Before 5.19 sockets are not chained (SEND without MSG_WAITALL). */
	if (k && sscanf(k, "%u.%u", &maj, &min) == 2 &&
	    (maj << 8 | min) < (5u << 8 | 19u)) {
		printf("SHIM_KERNEL=%s: sockets are not chained before 5.19\n", k);
		return T_EXIT_SKIP;
	}
	t_watchdog(120);
	ret = test_order();
	if (ret == T_EXIT_PASS)
		ret = test_short();
	if (ret == T_EXIT_PASS)
		ret = test_epipe();
	printf("%s\n", ret == T_EXIT_PASS ? "ok" : "FAILED");
	return ret;
}
