/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: writes to one fd keep the order in which the write calls
 * returned, across threads, and two fds on one pipe (2>&1) keep their
 * interleaving; a child started by fork, system, popen or posix_spawn
 * writes after what its parent wrote before starting it. Every record carries a global sequence number taken under
 * the same lock as its write; the reader must see them in order, all of
 * them, once.
 */
#include <spawn.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch */
/* SHIM-EXPECT: write.batch>=1000 writev.batch>=100 */

#define THREADS 4
#define PER_THREAD 20000
#define REC 16

static pthread_mutex_t order = PTHREAD_MUTEX_INITIALIZER;
static unsigned next_seq;
static int wfd, wfd2;

static void *writer(void *arg)
{
	long id = (long)arg;
	char rec[REC + 1];

	for (int i = 0; i < PER_THREAD; i++) {
		pthread_mutex_lock(&order);
		snprintf(rec, sizeof(rec), "%ld %013u\n", id, next_seq++);
		if (i % 50 == 0) {
			struct iovec v[2] = { { rec, 5 }, { rec + 5, REC - 5 } };

			writev(i % 100 ? wfd : wfd2, v, 2);
		} else {
			write(i % 7 ? wfd : wfd2, rec, REC);
		}
		pthread_mutex_unlock(&order);
	}
	return NULL;
}

static void *reader(void *arg)
{
	int rfd = *(int *)arg;
	static char buf[THREADS * PER_THREAD * REC];
	size_t got = t_read_full(rfd, buf, sizeof(buf));
	long bad = got == sizeof(buf) ? 0 : 1;

	for (size_t i = 0; !bad && i < got / REC; i++) {
		unsigned seq;

		if (sscanf(buf + i * REC + 2, "%13u", &seq) != 1 || seq != i)
			bad = 1;
	}
	return (void *)bad;
}

/* Parent and child write to one pipe, in turns. */
static void children(void)
{
	char cmd[64], buf[256] = "";
	char *argv[] = { "sh", "-c", cmd, NULL };
	extern char **environ;
	int p[2], st;
	pid_t pid;
	FILE *f;

	pipe(p);
	snprintf(cmd, sizeof(cmd), "echo 2-system >&%d", p[1]);
	write(p[1], "1-parent\n", 9);
	system(cmd);
	write(p[1], "3-parent\n", 9);
	snprintf(cmd, sizeof(cmd), "echo 4-spawn >&%d", p[1]);
	posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ);
	waitpid(pid, &st, 0);
	write(p[1], "5-parent\n", 9);
	snprintf(cmd, sizeof(cmd), "echo 6-popen >&%d", p[1]);
	f = popen(cmd, "r");
	pclose(f);
	write(p[1], "7-parent\n", 9);
	pid = fork();
	if (pid == 0) {
		write(p[1], "8-fork\n", 7);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	close(p[1]);
	t_read_full(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	printf("%s", buf);
	T_CHECK(!strcmp(buf, "1-parent\n2-system\n3-parent\n4-spawn\n"
			"5-parent\n6-popen\n7-parent\n8-fork\n"),
		"children out of turn");
}

int main(void)
{
	pthread_t w[THREADS], r;
	void *bad;
	int p[2];

	pipe(p);
	wfd = p[1];
	wfd2 = dup(p[1]);	/* stdout and stderr on one pipe */
	pthread_create(&r, NULL, reader, &p[0]);
	for (long i = 0; i < THREADS; i++)
		pthread_create(&w[i], NULL, writer, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(w[i], NULL);
	close(wfd);
	close(wfd2);
	pthread_join(r, &bad);
	printf("%d records from %d threads in order: %s\n",
	       THREADS * PER_THREAD, THREADS, bad ? "no" : "yes");
	T_CHECK(!bad, "order");
	children();
	return t_failed ? T_EXIT_FAIL : T_EXIT_PASS;
}
