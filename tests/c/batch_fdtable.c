/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: the kernel's fd table already covers the staging dups'
 * high numbers when a thread first stages, in the process and in a fork
 * child. Growing a shared table waits for an RCU grace period (12-19 ms),
 * and every other thread that opens or dups waits with it; a server's
 * first answers stalled so. FDSize in /proc/self/status is the table's
 * size: a staged write from a second thread must leave it as it was when
 * that thread began.
 */
#include <pthread.h>
#include <sys/wait.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch SHIM_BATCH_US=500000 */
/* SHIM-EXPECT: write.batch>=1 */

static long fd_table_size(void)
{
	char buf[4096], *p;
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "FDSize:");
	return p ? atol(p + 7) : -1;
}

/*
 * A staged write and its read-back, from a thread of its own: the second
 * write of a run is the one staged (a pipe is watched until then).
 */
static void *stage_once(void *arg)
{
	long *size = arg;
	char c[2] = { 0, 0 };
	int p[2];

	size[0] = fd_table_size();
	if (pipe(p))
		return NULL;
	write(p[1], "x", 1);
	write(p[1], "y", 1);
	size[1] = fd_table_size();
	/* a barrier: the staged byte goes first */
	if (t_read_full(p[0], c, 2) != 2)
		c[0] = 0;
	close(p[0]);
	close(p[1]);
	return c[0] == 'x' && c[1] == 'y' ? arg : NULL;
}

static bool table_kept(const char *who)
{
	long size[2] = { -1, -2 };
	pthread_t t;
	void *ok = NULL;

	if (pthread_create(&t, NULL, stage_once, size) || pthread_join(t, &ok))
		return false;
	printf("%s: staged byte read back: %s; fd table unchanged: %s\n", who,
	       ok ? "yes" : "no", size[0] > 0 && size[1] == size[0] ? "yes" : "no");
	return ok && size[0] > 0 && size[1] == size[0];
}

int main(void)
{
	bool ok = table_kept("process");
	int st = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return T_EXIT_FAIL;
	if (pid == 0) {
		ok = table_kept("fork child");
		fflush(stdout);
		_exit(ok ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	ok = ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	return ok ? T_EXIT_PASS : T_EXIT_FAIL;
}
