/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: a socket is staged only from a run of writes on. A
 * client that sends each request and then waits for its answer never has
 * a send staged: the copy and the dup of the fd would only add to each
 * one. A client that writes four messages in a row before it reads has
 * them staged from the second write of its first run on. Every answer
 * must match its request either way.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch SHIM_BATCH_US=500000 */
/* SHIM-EXPECT: send.batch==0 write.batch>=290 */

#define EXCHANGES 300
#define RUNS 100
#define RUN_LEN 4
#define MSG 8

/* Reads n bytes at a time and answers each with its byte sum. */
static void answer(int fd, size_t n)
{
	unsigned char q[MSG * RUN_LEN], a;
	size_t i;

	while (t_read_full(fd, q, n) == n) {
		for (a = 0, i = 0; i < n; i++)
			a = (unsigned char)(a + q[i]);
		if (write(fd, &a, 1) != 1)
			break;
	}
}

static unsigned char sum_of(const unsigned char *q, size_t n)
{
	unsigned char a = 0;

	while (n--)
		a = (unsigned char)(a + *q++);
	return a;
}

/* One conversation with a child that answers every n bytes. */
static int converse(size_t n, bool runs)
{
	unsigned char q[MSG * RUN_LEN], a = 0;
	int s[2], bad = 0, i, k, st = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(s[0]);
		answer(s[1], n);
		_exit(0);
	}
	close(s[1]);
	for (i = 0; i < (runs ? RUNS : EXCHANGES); i++) {
		for (k = 0; k < (int)n; k++)
			q[k] = (unsigned char)(i * 7 + k);
		if (runs) {
			for (k = 0; k < RUN_LEN; k++)
				write(s[0], q + k * MSG, MSG);
		} else {
			send(s[0], q, MSG, 0);
		}
		if (recv(s[0], &a, 1, 0) != 1 || a != sum_of(q, n))
			bad++;
	}
	close(s[0]);
	waitpid(pid, &st, 0);
	return bad;
}

int main(void)
{
	int bad;

	bad = converse(MSG, false);
	printf("send, then wait for the answer: %d exchanges, %d wrong\n",
	       EXCHANGES, bad);
	T_CHECK(bad == 0, "request/response: wrong answers");
	bad = converse(MSG * RUN_LEN, true);
	printf("four writes, then the answer: %d runs, %d wrong\n", RUNS, bad);
	T_CHECK(bad == 0, "runs: wrong answers");
	return t_failed ? T_EXIT_FAIL : T_EXIT_PASS;
}
