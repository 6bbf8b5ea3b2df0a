/* SPDX-License-Identifier: MIT */
/*
 * SIGPIPE: raised on the calling thread exactly once by write() and send()
 * to a broken pipe or socket; never with MSG_NOSIGNAL or SIG_IGN; pending
 * when blocked. io_uring's SEND never raises it.
 */
#include "testlib.h"

/* Pipes, and read/write on sockets, take RWF_NOWAIT from 6.4. */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: write.ring>=1@6.4 send.ring>=1 */

static volatile sig_atomic_t hits, wrong_thread;
static pthread_t me;

static void on_pipe(int sig)
{
	hits++;
	if (!pthread_equal(pthread_self(), me))
		wrong_thread = 1;
}

static void broken(int *w, int sock)
{
	int p[2];

	if (sock)
		socketpair(AF_UNIX, SOCK_STREAM, 0, p);
	else
		pipe(p);
	close(p[0]);
	*w = p[1];
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_pipe };
	struct timespec zero = { 0, 0 };
	sigset_t set, pend;
	int w;

	t_watchdog(20);
	me = pthread_self();
	sigaction(SIGPIPE, &sa, NULL);
	broken(&w, 0);
	T_EXPECT("write broken pipe", write(w, "x", 1), -1, EPIPE);
	printf("hits %d\n", (int)hits);
	T_CHECK(hits == 1, "write: %d SIGPIPEs", (int)hits);
	close(w);
	broken(&w, 1);
	hits = 0;
	T_EXPECT("send broken socket", send(w, "x", 1, 0), -1, EPIPE);
	printf("hits %d\n", (int)hits);
	T_CHECK(hits == 1, "send: %d SIGPIPEs", (int)hits);
	hits = 0;
	T_EXPECT("send NOSIGNAL", send(w, "x", 1, MSG_NOSIGNAL), -1, EPIPE);
	T_EXPECT("write broken socket", write(w, "x", 1), -1, EPIPE);
	printf("hits %d wrong thread %d\n", (int)hits, (int)wrong_thread);
	T_CHECK(hits == 1 && !wrong_thread, "NOSIGNAL/write: %d", (int)hits);

	signal(SIGPIPE, SIG_IGN);
	hits = 0;
	T_EXPECT("send ignored", send(w, "x", 1, 0), -1, EPIPE);
	T_CHECK(hits == 0, "ignored: %d", (int)hits);

	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	T_EXPECT("send blocked", send(w, "x", 1, 0), -1, EPIPE);
	sigpending(&pend);
	printf("pending %d\n", sigismember(&pend, SIGPIPE));
	T_EXPECT("sigtimedwait", sigtimedwait(&set, NULL, &zero), SIGPIPE, 0);
	T_EXPECT("sigtimedwait again", sigtimedwait(&set, NULL, &zero), -1, EAGAIN);
	close(w);
	return t_end();
}
