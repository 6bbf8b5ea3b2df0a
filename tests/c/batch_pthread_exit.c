/* SPDX-License-Identifier: MIT */
/*
 * A program whose main thread ends with pthread_exit(): with no other
 * thread left, glibc ends the process with exit(0), which flushes stdio.
 * Under batch the shim's flusher thread must not outlive the application's
 * last thread: it kept such a process alive forever (and deaf to SIGTERM,
 * since it blocks every signal), with its stdio output never written.
 * Also with a worker thread that writes after main is gone, and with main
 * cancelling itself before a read that would block: the read is a
 * cancellation point, where the shim sends it straight to the syscall too.
 */
#include <poll.h>
#include <pthread.h>
#include <sys/wait.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch SHIM_BATCH_US=500000 */
/* SHIM-EXPECT: write.batch>=1 */

static int out;

static void *worker(void *arg)
{
	struct timespec ms = { 0, 20000000 };

	(void)arg;
	nanosleep(&ms, NULL);	/* main is gone by now */
	write(out, "worker: write\n", 14);
	write(out, "worker: again\n", 14);
	return NULL;
}

static void child(int how)
{
	pthread_t t;

	out = 1;
	write(1, "main: write\n", 12);
	write(1, "main: again\n", 12);	/* a run: staged */
	printf("main: stdio, left in its buffer\n");
	if (how == 1 && pthread_create(&t, NULL, worker, NULL))
		_exit(2);
	if (how == 2) {
		int p[2], i;
		char c;

		if (pipe(p))
			_exit(2);
		/* Long enough for reads of the pipe to take the fast path. */
		for (i = 0; i < 20000; i++)
			if (write(p[1], "x", 1) != 1 || read(p[0], &c, 1) != 1)
				_exit(2);
		pthread_cancel(pthread_self());
		read(p[0], &c, 1);	/* empty: only the cancellation ends it */
		write(1, "main: read returned\n", 20);
	}
	pthread_exit(NULL);
}

static const char *const what[] = { "main alone", "with a worker",
				    "cancelled" };

/* The child's output, as long as it takes it to end (5 s at most). */
static bool run(int how, char *buf, size_t len)
{
	struct pollfd pfd;
	size_t got = 0;
	int p[2], st = 0;
	pid_t pid;
	ssize_t n;

	if (pipe(p))
		return false;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 1);
		close(p[1]);
		child(how);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while (got < len - 1 && poll(&pfd, 1, 5000) == 1 &&
	       (n = read(p[0], buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(p[0]);
	if (waitpid(pid, &st, WNOHANG) == 0) {
		struct timespec ms = { 0, 100000000 };
		int i;

		for (i = 0; i < 50 && waitpid(pid, &st, WNOHANG) == 0; i++)
			nanosleep(&ms, NULL);
		if (i == 50) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			printf("%s: still running after 5 s\n", what[how]);
			return false;
		}
	}
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(void)
{
	char buf[512];
	int how;

	for (how = 0; how < 3; how++) {
		bool ok = run(how, buf, sizeof(buf));

		printf("%s: %s%s", what[how], ok ? "exit 0\n" : "FAILED\n",
		       buf);
		T_CHECK(ok, "the process did not end as without the shim");
	}
	return t_end();
}
