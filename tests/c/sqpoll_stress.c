/* SPDX-License-Identifier: MIT */
/*
 * sqpoll under load: four processes of four thread pairs each, every pair
 * streaming checked records through a pipe and a socketpair at once, while
 * the parent sends SIGUSR1 (SA_RESTART) to the children and every thread
 * takes its share. Sixteen threads and four SQ threads on however few
 * cores: every byte must arrive once and in order, and a watchdog turns a
 * hang into a failure.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/wait.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=sqpoll SHIM_ADAPT=0 */
/* SHIM-EXPECT: write.ring>=1@6.4 send.ring>=1 */

#define PROCS	4
#define PAIRS	4
#define RECORDS	2000

struct pair {
	int p[2], s[2];
	int bad;
};

static void on_usr1(int sig) { (void)sig; }

static void *writer(void *arg)
{
	struct pair *q = arg;
	unsigned char rec[300];

	for (int i = 0; i < RECORDS && !q->bad; i++) {
		size_t n = 1 + (size_t)(i * 53) % 299;
		int fd = i & 1 ? q->s[0] : q->p[1];

		t_fill(rec, n, (unsigned)i);
		if ((size_t)(i & 1 ? send(fd, rec, n, 0) : write(fd, rec, n)) != n)
			q->bad = 1;
	}
	return NULL;
}

static void *reader(void *arg)
{
	struct pair *q = arg;
	unsigned char rec[300], want[300];

	for (int i = 0; i < RECORDS && !q->bad; i++) {
		size_t n = 1 + (size_t)(i * 53) % 299;
		int fd = i & 1 ? q->s[1] : q->p[0];

		t_fill(want, n, (unsigned)i);
		if (t_read_full(fd, rec, n) != n || memcmp(rec, want, n))
			q->bad = 1;
	}
	return NULL;
}

static int child(void)
{
	struct pair q[PAIRS];
	pthread_t w[PAIRS], r[PAIRS];
	int bad = 0;

	alarm(60);	/* the default action: a hang ends the child */
	for (int i = 0; i < PAIRS; i++) {
		q[i].bad = 0;
		if (pipe(q[i].p) || socketpair(AF_UNIX, SOCK_STREAM, 0, q[i].s))
			return 1;
		pthread_create(&w[i], NULL, writer, &q[i]);
		pthread_create(&r[i], NULL, reader, &q[i]);
	}
	for (int i = 0; i < PAIRS; i++) {
		pthread_join(w[i], NULL);
		pthread_join(r[i], NULL);
		bad |= q[i].bad;
	}
	return bad;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	pid_t pid[PROCS];
	bool reaped[PROCS] = { false };
	int st, failed = 0, left = PROCS;

	t_watchdog(90);
	sigaction(SIGUSR1, &sa, NULL);
	for (int i = 0; i < PROCS; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			_exit(child());
	}
	while (left) {
		pid_t p = waitpid(-1, &st, WNOHANG);

		if (p > 0) {
			left--;
			if (!WIFEXITED(st) || WEXITSTATUS(st))
				failed++;
			/* Its pid may be another process's from now on. */
			for (int i = 0; i < PROCS; i++)
				if (pid[i] == p)
					reaped[i] = true;
			continue;
		}
		for (int i = 0; i < PROCS; i++)
			if (!reaped[i])
				kill(pid[i], SIGUSR1);
		usleep(2000);
	}
	printf("%d processes x %d pairs x %d records: %d failed\n", PROCS,
	       PAIRS, RECORDS, failed);
	return failed != 0;
}
