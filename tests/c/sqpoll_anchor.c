/* SPDX-License-Identifier: MIT */
/*
 * sqpoll: one SQ thread per process, owned by the first thread's ring and
 * shared by the others (ATTACH_WQ). What happens to the others when that
 * owner goes: its thread exits while another keeps doing I/O, a new thread
 * starts after it, the application closes every fd above stderr (the
 * owner's fd among them), and a fork child does I/O of its own. Every byte
 * must arrive once, in order, and nothing may hang (a watchdog ends it).
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/wait.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=sqpoll SHIM_ADAPT=0 */
/* Pipes take RWF_NOWAIT from 6.4. */
/* SHIM-EXPECT: read.ring>=100@6.4 write.ring>=100@6.4 send.ring>=100 */

#define ROUNDS 300

static int bad;

/* ROUNDS messages through a pipe and a socketpair, each checked. */
static void traffic(const char *who)
{
	unsigned char out[257], in[257];
	int p[2], s[2], i;

	if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, s)) {
		printf("%s: pipe/socketpair failed\n", who);
		bad = 1;
		return;
	}
	for (i = 0; i < ROUNDS; i++) {
		size_t n = 1 + (size_t)(i * 37) % 256;

		t_fill(out, n, (unsigned)i);
		if (write(p[1], out, n) != (ssize_t)n ||
		    read(p[0], in, n) != (ssize_t)n || memcmp(in, out, n) ||
		    send(s[0], out, n, 0) != (ssize_t)n ||
		    recv(s[1], in, n, MSG_WAITALL) != (ssize_t)n ||
		    memcmp(in, out, n)) {
			printf("%s: round %d lost or changed bytes\n", who, i);
			bad = 1;
			break;
		}
	}
	close(p[0]);
	close(p[1]);
	close(s[0]);
	close(s[1]);
	printf("%s: %s\n", who, bad ? "FAILED" : "ok");
}

static _Atomic int stage;

static void *owner(void *arg)
{
	traffic("owner");		/* the process's first ring: the anchor */
	atomic_store(&stage, 1);
	return NULL;			/* and its thread exits */
}

static void *attached(void *arg)
{
	while (atomic_load(&stage) < 1)
		usleep(1000);
	traffic("attached, owner gone");
	return NULL;
}

int main(void)
{
	pthread_t a, b, c;
	pid_t pid;
	int st;

	t_watchdog(60);
	setvbuf(stdout, NULL, _IONBF, 0);
	pthread_create(&a, NULL, owner, NULL);
	pthread_join(a, NULL);
	pthread_create(&b, NULL, attached, NULL);
	pthread_join(b, NULL);
	pthread_create(&c, NULL, attached, NULL);
	pthread_join(c, NULL);
	traffic("main, after both");

	close_range(3, ~0U, 0);
	traffic("main, after close_range");

	pid = fork();
	if (pid == 0) {
		traffic("fork child");
		_exit(bad);
	}
	waitpid(pid, &st, 0);
	printf("child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	traffic("main, after the child");
	return bad || !WIFEXITED(st) || WEXITSTATUS(st);
}
