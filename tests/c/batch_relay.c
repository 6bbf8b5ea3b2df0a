/* SPDX-License-Identifier: MIT */
/*
 * Batch profile, with the judge on: a relay that reads one socket and
 * writes what it read to another, message by message, never has a write
 * staged, whichever way the judge sends each call (ring or libc). Every
 * read between two writes breaks the run that staging needs, also when
 * the judge tries the ring for a write that could have gone to libc.
 */
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch SHIM_ADAPT=1 SHIM_BATCH_US=500000 */
/* SHIM-EXPECT: write.batch==0 */

#define MESSAGES 3000
#define MSG 16

static int in[2], out[2];

/* The relay: read(in) -> write(out), as a proxy's thread does. */
static void *relay(void *arg)
{
	char buf[MSG];
	size_t n;

	(void)arg;
	while ((n = t_read_full(in[1], buf, MSG)) == MSG)
		if (write(out[0], buf, MSG) != MSG)
			break;
	shutdown(out[0], SHUT_WR);
	return NULL;
}

int main(void)
{
	char q[MSG], a[MSG];
	int i, bad = 0;
	pthread_t t;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, in) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, out) ||
	    pthread_create(&t, NULL, relay, NULL))
		return T_EXIT_FAIL;
	for (i = 0; i < MESSAGES; i++) {
		memset(q, 'a' + i % 26, MSG);
		send(in[0], q, MSG, MSG_NOSIGNAL);
		if (t_read_full(out[1], a, MSG) != MSG || memcmp(q, a, MSG))
			bad++;
	}
	shutdown(in[0], SHUT_WR);
	pthread_join(t, NULL);
	printf("relayed %d messages one by one, %d wrong\n", MESSAGES, bad);
	T_CHECK(bad == 0, "relay: wrong messages");
	return t_failed ? T_EXIT_FAIL : T_EXIT_PASS;
}
