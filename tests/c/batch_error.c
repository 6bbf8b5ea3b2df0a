/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: a write error found when staged data goes out (the
 * reader left) is returned by a later write or send on that fd, with
 * SIGPIPE raised once on the caller, never with MSG_NOSIGNAL. Without the
 * shim the syscall reports it at once; both give the same answer to "which
 * errno, how many SIGPIPEs by then".
 */
#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch */
/* SHIM-EXPECT: write.batch>=1 send.batch>=1 */

static volatile sig_atomic_t hits;
static void on_pipe(int sig) { hits++; }

/* Write until an error comes back; at most 50 tries, 2 ms apart. */
static void until_error(const char *what, int sock, int flags)
{
	int s[2], i;
	long r = 0;

	if (sock)
		socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	else
		pipe(s);
	hits = 0;
	r = sock ? send(s[1], "data", 4, flags) : write(s[1], "data", 4);
	printf("%s: first write -> %ld\n", what, r);
	close(s[0]);
	for (i = 0; i < 50; i++) {
		errno = 0;
		r = sock ? send(s[1], "more", 4, flags) : write(s[1], "more", 4);
		if (r < 0)
			break;
		usleep(2000);
	}
	printf("%s: error -> %ld %s, SIGPIPE %d by then\n", what, r,
	       r < 0 ? strerrorname_np(errno) : "", (int)hits);
	T_CHECK(r < 0 && errno == EPIPE, "%s: no EPIPE", what);
	printf("%s: close -> %d\n", what, close(s[1]));
}

int main(void)
{
	signal(SIGPIPE, on_pipe);
	until_error("pipe write", 0, 0);
	until_error("socket send", 1, 0);
	until_error("socket send MSG_NOSIGNAL", 1, MSG_NOSIGNAL);
	return t_failed ? T_EXIT_FAIL : T_EXIT_PASS;
}
