/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: a write error found when staged data goes out (the
 * reader left) is returned by a later write or send on that fd, with
 * SIGPIPE raised once on the caller, never with MSG_NOSIGNAL. Without the
 * shim the syscall reports it at once; both give the same answer to "which
 * errno, how many SIGPIPEs by then". Also with three fds written in turn,
 * the second's reader gone before the thread moves on to the third: the
 * flush that the move makes finds EPIPE, the second fd's next write
 * reports it, and the first and third fds lose nothing.
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
	/* A pipe or socket is staged from the second write of a run on. */
	r = sock ? send(s[1], "da", 2, flags) + send(s[1], "ta", 2, flags)
		 : write(s[1], "da", 2) + write(s[1], "ta", 2);
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

static void middle_of_three(void)
{
	int a[2], b[2], c[2];
	char got[32] = "";
	long r;

	if (pipe(a) || pipe(b) || pipe(c))
		exit(T_EXIT_FAIL);
	hits = 0;
	/* Each fd starts with a run, so that it is staged with or without
	 * the linked flush (which also stages a move between fds). */
	write(a[1], "fir", 3);
	write(a[1], "st ", 3);
	write(b[1], "sec", 3);
	write(b[1], "ond", 3);
	close(b[0]);
	write(c[1], "thi", 3);
	write(c[1], "rd", 2);
	write(a[1], "again", 5);
	errno = 0;
	r = write(b[1], "late", 4);
	printf("three fds: second's next write -> %ld %s, SIGPIPE %d\n", r,
	       r < 0 ? strerrorname_np(errno) : "", (int)hits);
	T_CHECK(r < 0 && errno == EPIPE, "three fds: no EPIPE");
	close(a[1]);
	close(b[1]);
	close(c[1]);
	got[t_read_full(a[0], got, sizeof(got) - 1)] = 0;
	printf("three fds: first has \"%s\"\n", got);
	T_CHECK(!strcmp(got, "first again"), "three fds: first");
	got[t_read_full(c[0], got, sizeof(got) - 1)] = 0;
	printf("three fds: third has \"%s\"\n", got);
	T_CHECK(!strcmp(got, "third"), "three fds: third");
	close(a[0]);
	close(c[0]);
}

int main(void)
{
	signal(SIGPIPE, on_pipe);
	until_error("pipe write", 0, 0);
	until_error("socket send", 1, 0);
	until_error("socket send MSG_NOSIGNAL", 1, MSG_NOSIGNAL);
	middle_of_three();
	return t_failed ? T_EXIT_FAIL : T_EXIT_PASS;
}
