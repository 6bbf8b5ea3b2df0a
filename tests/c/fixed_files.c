/* SPDX-License-Identifier: MIT */
/*
 * Registered files: once the ring has served an fd often enough, a slot
 * of the ring's file table holds the fd's file, and the slot keeps the
 * file open until it is emptied. Each way of closing or replacing the fd
 * must let the file go at once: a pipe's reader sees end-of-file while
 * the writer goes on living. Here the write end of a pipe is used until
 * it has a slot, then closed by close, dup2, close_range, closefrom,
 * fclose, freopen, in a thread the program made, by a SIGEV_THREAD timer
 * (a thread libc makes), by exec (CLOEXEC), and in a fork child and its
 * parent; the reader waits at most two seconds for end-of-file. A number
 * that names another file afterwards (dup2, freopen, a handler's dup2
 * while the main loop reads) reads and writes that file, never the old.
 */
#include <poll.h>
#include <sys/time.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_ADAPT=0 SHIM_FIXED_FILES=32 */
/* Pipes take RWF_NOWAIT, and are routed, from 6.4. */
/* SHIM-EXPECT: write.ring>=300@6.4 read.ring>=300@6.4 */
/* SHIM-EXPECT: files.registered>=10@6.4!batch files.fixed_ops>=300@6.4!batch */

/* More ring ops on each end than it takes to give it a slot. */
#define WARM 48

/* Writes and reads back WARM bytes through w and r. */
static void warm(int w, int r)
{
	char c;
	int i, bad = 0;

	for (i = 0; i < WARM; i++)
		if (write(w, "w", 1) != 1 || read(r, &c, 1) != 1 || c != 'w')
			bad++;
	T_CHECK(!bad, "warm: %d bad round trips", bad);
}

/* "eof", "data" or "open" (no end within 2 s) for the read end r. */
static const char *end_of(int r)
{
	struct pollfd p = { .fd = r, .events = POLLIN };
	char c;

	if (poll(&p, 1, 2000) <= 0)
		return "open";
	return read(r, &c, 1) == 0 ? "eof" : "data";
}

static void report(const char *how, int r)
{
	const char *e = end_of(r);

	printf("%s: reader sees %s\n", how, e);
	T_CHECK(!strcmp(e, "eof"), "%s: the pipe stays open", how);
	close(r);
}

static void make_pipe(int p[2])
{
	if (pipe(p))
		exit(T_EXIT_FAIL);
}

static void by_close(void)
{
	int p[2];

	make_pipe(p);
	warm(p[1], p[0]);
	printf("close -> %d\n", close(p[1]));
	report("close", p[0]);
}

/* The number then names the other pipe: writes go there. */
static void by_dup2(void)
{
	int p[2], q[2];
	char c = 0;
	ssize_t n;

	make_pipe(p);
	make_pipe(q);
	warm(p[1], p[0]);
	printf("dup2 -> %d\n", dup2(q[1], p[1]) == p[1]);
	report("dup2", p[0]);
	printf("dup2: write to the number -> %zd\n", write(p[1], "n", 1));
	n = read(q[0], &c, 1);
	printf("dup2: other pipe reads %zd '%c'\n", n, c);
	warm(p[1], q[0]);
	close(p[1]);
	close(q[1]);
	report("dup2, then close", q[0]);
}

static void by_close_range(void)
{
	int p[2];

	make_pipe(p);
	warm(p[1], p[0]);
	printf("close_range -> %d\n",
	       close_range((unsigned)p[1], (unsigned)p[1], 0));
	report("close_range", p[0]);
}

static void by_closefrom(void)
{
	int p[2], w;

	make_pipe(p);
	w = dup2(p[1], 900);
	close(p[1]);
	warm(w, p[0]);
	closefrom(900);
	printf("closefrom: fd 900 now %s\n",
	       fcntl(900, F_GETFD) < 0 ? "closed" : "open");
	report("closefrom", p[0]);
}

static void by_fclose(void)
{
	int p[2];
	FILE *f;

	make_pipe(p);
	warm(p[1], p[0]);
	f = fdopen(p[1], "w");
	printf("fclose -> %d\n", f ? fclose(f) : -2);
	report("fclose", p[0]);
}

/* freopen closes the stream's fd and opens the new file, most often on
 * the same number: reads of the number then read the new file. */
static void by_freopen(void)
{
	char path[] = "/tmp/shim-fixed.XXXXXX";
	int p[2], fd = mkstemp(path);
	char buf[16] = "";
	ssize_t n;
	FILE *f;

	if (fd < 0 || write(fd, "new file", 8) != 8)
		exit(T_EXIT_FAIL);
	close(fd);
	make_pipe(p);
	warm(p[1], p[0]);
	/* Data a read of the old pipe would find. */
	if (write(p[1], "old pipe", 8) != 8)
		exit(T_EXIT_FAIL);
	/* The read end is the stream: its slot goes too. */
	f = fdopen(p[0], "r");
	if (!f)
		exit(T_EXIT_FAIL);
	f = freopen(path, "r", f);
	unlink(path);
	printf("freopen: same number %d\n", f && fileno(f) == p[0]);
	n = read(fileno(f), buf, 8);
	printf("freopen: read the number -> %zd '%s'\n", n, buf);
	T_CHECK(!strcmp(buf, "new file"), "freopen: read the old file");
	fclose(f);
	/* The pipe's read end is gone: a write finds no reader. */
	signal(SIGPIPE, SIG_IGN);
	errno = 0;
	n = write(p[1], "x", 1);
	printf("freopen: write to the old pipe -> %zd %s\n", n,
	       n < 0 ? strerrorname_np(errno) : "");
	signal(SIGPIPE, SIG_DFL);
	close(p[1]);
}

static void *closer(void *arg)
{
	close(*(int *)arg);
	return NULL;
}

static void by_thread(void)
{
	pthread_t t;
	int p[2];

	make_pipe(p);
	warm(p[1], p[0]);
	pthread_create(&t, NULL, closer, &p[1]);
	pthread_join(t, NULL);
	report("another thread's close", p[0]);
}

static void on_timer(union sigval v)
{
	close(v.sival_int);
}

/* libc makes the thread that runs on_timer. */
static void by_timer_thread(void)
{
	struct sigevent ev = { .sigev_notify = SIGEV_THREAD,
			       .sigev_notify_function = on_timer };
	struct itimerspec its = { .it_value = { 0, 1000000 } };
	timer_t tm;
	int p[2];

	make_pipe(p);
	warm(p[1], p[0]);
	ev.sigev_value.sival_int = p[1];
	if (timer_create(CLOCK_MONOTONIC, &ev, &tm) ||
	    timer_settime(tm, 0, &its, NULL))
		exit(T_EXIT_FAIL);
	report("a timer thread's close", p[0]);
	timer_delete(tm);
}

/* A child with the pipe's write end in a slot execs a program that lives
 * on: the end is CLOEXEC, so the reader sees EOF while it runs. */
static void by_exec(void)
{
	int p[2], ready[2];
	pid_t pid;
	char c;

	make_pipe(p);
	make_pipe(ready);
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		warm(p[1], p[0]);
		close(p[0]);
		fcntl(p[1], F_SETFD, FD_CLOEXEC);
		fcntl(ready[1], F_SETFD, FD_CLOEXEC);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		execl("/bin/sleep", "sleep", "10", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	close(ready[1]);
	/* Not before the child has read its own data back. */
	printf("exec: child ready %zd\n", read(ready[0], &c, 1));
	close(ready[0]);
	report("exec", p[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Parent and child each give the write end a slot in their own ring;
 * the reader sees both's data, and EOF once both closed theirs. */
static void by_fork(void)
{
	int p[2], st, i, n = 0;
	char buf[256];
	ssize_t r;
	pid_t pid;

	make_pipe(p);
	warm(p[1], p[0]);
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < WARM; i++)
			if (write(p[1], "c", 1) != 1)
				_exit(1);
		close(p[1]);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	for (i = 0; i < WARM; i++)
		if (write(p[1], "p", 1) != 1)
			t_failed = 1;
	close(p[1]);
	while ((r = read(p[0], buf, sizeof(buf))) > 0)
		n += (int)r;
	printf("fork: child exit %d, reader got %d bytes, then %zd\n",
	       WEXITSTATUS(st), n, r);
	T_CHECK(n == 2 * WARM && r == 0, "fork: data or EOF lost");
	close(p[0]);
}

/* A handler moves the number between two pipes while the loop reads it. */
static int pipe_a[2], pipe_b[2], rfd;
static volatile sig_atomic_t on_b, moves;

static void mover(int sig)
{
	int saved = errno;

	(void)sig;
	on_b = !on_b;
	dup2(on_b ? pipe_b[0] : pipe_a[0], rfd);
	moves++;
	errno = saved;
}

static void refill(void)
{
	static const char a[64] = { [0 ... 63] = 'a' }, b[64] = { [0 ... 63] = 'b' };

	/* Each pipe holds only its own letter; keep both well filled. */
	if (write(pipe_a[1], a, sizeof(a)) != sizeof(a) ||
	    write(pipe_b[1], b, sizeof(b)) != sizeof(b))
		exit(T_EXIT_FAIL);
}

static void by_handler(void)
{
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	struct sigaction sa = { .sa_handler = mover, .sa_flags = SA_RESTART };
	sigset_t blk;
	double end;
	char c, cur;
	int bad = 0, fails = 0, i;
	long reads = 0;

	if (pipe(pipe_a) || pipe(pipe_b))
		exit(T_EXIT_FAIL);
	fcntl(pipe_a[1], F_SETPIPE_SZ, 1 << 20);
	fcntl(pipe_b[1], F_SETPIPE_SZ, 1 << 20);
	rfd = dup(pipe_a[0]);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	end = t_now() + 0.5;
	while (t_now() < end) {
		refill();
		for (i = 0; i < 64; i++, reads++)
			if (read(rfd, &c, 1) != 1)
				fails++;
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	sigemptyset(&blk);
	sigaddset(&blk, SIGALRM);
	sigprocmask(SIG_BLOCK, &blk, NULL);
	/* Still: every read must come from the pipe the number names. */
	cur = on_b ? 'b' : 'a';
	for (i = 0; i < 64; i++)
		if (read(rfd, &c, 1) != 1 || c != cur)
			bad++;
	sigprocmask(SIG_UNBLOCK, &blk, NULL);
	printf("handler moves: failed reads %d, reads from the old pipe %d\n",
	       fails, bad);
	T_CHECK(!fails && !bad && moves > 0 && reads > 0,
		"handler moves: %d failed, %d stale, %ld moves",
		fails, bad, (long)moves);
	close(rfd);
	close(pipe_a[0]);
	close(pipe_a[1]);
	close(pipe_b[0]);
	close(pipe_b[1]);
}

/* In a child of its own, which has one thread until fn makes another. */
static void in_child(void (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		fn();
		_exit(t_failed ? T_EXIT_FAIL : T_EXIT_PASS);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != T_EXIT_PASS)
		t_failed = 1;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	by_close();
	by_dup2();
	by_close_range();
	by_closefrom();
	by_fclose();
	by_freopen();
	by_exec();
	by_fork();
	by_handler();
	in_child(by_thread);
	in_child(by_timer_thread);
	return t_failed ? T_EXIT_FAIL : T_EXIT_PASS;
}
