/* SPDX-License-Identifier: MIT */
/*
 * A 2 kHz timer whose handler write()s to a pipe while the main thread is
 * inside the shim (submitting, waiting) doing write/read roundtrips: both
 * streams stay intact.
 */
#include <sys/time.h>

#include "testlib.h"

/* Pipes, and read/write on sockets, take RWF_NOWAIT from 6.4. */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: read.ring>=10000@6.4 write.ring>=10000@6.4 */

static int sigpipe_fds[2];
static volatile long sent;

static void on_alarm(int sig)
{
	static const char rec[8] = "SIGNAL!";
	int e = errno;

	if (write(sigpipe_fds[1], rec, sizeof(rec)) == sizeof(rec))
		sent++;
	errno = e;
}

static long received, torn;

static void *drain(void *arg)
{
	char rec[8];

	for (;;) {
		size_t n = t_read_full(sigpipe_fds[0], rec, sizeof(rec));

		if (n != sizeof(rec))
			break;
		received++;
		torn |= memcmp(rec, "SIGNAL!", 8) != 0;
	}
	return NULL;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct itimerval it = { { 0, 500 }, { 0, 500 } };
	unsigned char out[64], in[64];
	int p[2], bad = 0, rounds = 0;
	pthread_t t;
	sigset_t set;
	double t0;

	t_watchdog(60);
	pipe(p);
	pipe(sigpipe_fds);
	/* Only the main thread takes SIGALRM. */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_create(&t, NULL, drain, NULL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	t0 = t_now();
	for (int i = 0; i < 200000 && t_now() - t0 < 10; i++) {
		t_fill(out, sizeof(out), (unsigned)i);
		bad |= write(p[1], out, sizeof(out)) != sizeof(out);
		bad |= t_read_full(p[0], in, sizeof(in)) != sizeof(in) ||
		       memcmp(in, out, sizeof(out));
		rounds++;
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	close(sigpipe_fds[1]);
	pthread_join(t, NULL);
	printf("roundtrips intact %d, signal records intact %d\n", !bad,
	       received == sent && !torn);
	T_CHECK(!bad, "main stream");
	T_CHECK(received == sent && !torn, "signal stream %ld/%ld torn %ld",
		received, sent, torn);
	T_CHECK(sent > 100, "only %ld signals", sent);
	return t_end();
}
