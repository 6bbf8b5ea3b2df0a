/* SPDX-License-Identifier: MIT */
/*
 * pthread_cancel (deferred) of threads blocked in read, recv and accept:
 * cancelled promptly, cleanup handlers run, and the process's I/O keeps
 * working afterwards.
 */
#include <netinet/in.h>

#include "testlib.h"

/* Pipes, and read/write on sockets, take RWF_NOWAIT from 6.4. */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: read.ring>=1@6.4 write.ring>=1@6.4 */

static volatile int cleaned;
static void cleanup(void *arg) { cleaned++; }

struct job { int kind, fd; };

static void *blocker(void *arg)
{
	struct job *j = arg;
	char buf[8];

	pthread_cleanup_push(cleanup, NULL);
	if (j->kind == 0)
		read(j->fd, buf, sizeof(buf));
	else if (j->kind == 1)
		recv(j->fd, buf, sizeof(buf), 0);
	else
		accept(j->fd, NULL, NULL);
	pthread_cleanup_pop(0);
	return (void *)1;
}

int main(void)
{
	static const char *const names[] = { "read", "recv", "accept" };
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int p[2], s[2], l;
	char buf[8];

	t_watchdog(30);
	pipe(p);
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	l = socket(AF_INET, SOCK_STREAM, 0);
	bind(l, (struct sockaddr *)&a, sizeof(a));
	listen(l, 1);
	/* Give this thread a ring first. */
	write(p[1], "x", 1);
	read(p[0], buf, 1);
	for (int k = 0; k < 3; k++) {
		struct job j = { k, k == 0 ? p[0] : k == 1 ? s[0] : l };
		pthread_t t;
		void *ret;
		double t0;

		cleaned = 0;
		pthread_create(&t, NULL, blocker, &j);
		usleep(100000);
		t0 = t_now();
		pthread_cancel(t);
		pthread_join(t, &ret);
		printf("%s: cancelled %d cleanup %d\n", names[k],
		       ret == PTHREAD_CANCELED, cleaned);
		T_CHECK(ret == PTHREAD_CANCELED && cleaned == 1 &&
			t_now() - t0 < 2, "%s cancel", names[k]);
	}
	T_EXPECT("write after", write(p[1], "after", 5), 5, 0);
	T_EXPECT("read after", read(p[0], buf, sizeof(buf)), 5, 0);
	T_EXPECT("send after", send(s[1], "x", 1, 0), 1, 0);
	T_EXPECT("recv after", recv(s[0], buf, 1, 0), 1, 0);
	return t_end();
}
