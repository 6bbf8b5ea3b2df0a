/* SPDX-License-Identifier: MIT */
/*
 * Many threads make a process's first routed call at the same moment: one
 * of them creates the live-stats file, and no other may truncate it under
 * the first one's copy (that was a SIGBUS, 1 run in 15 with io_uring_enter
 * denied). Each round is a fresh image, exec'd, so that each has a first
 * call to race for. SHIM_ADAPT=0: the judge would send those first calls to
 * libc, and no thread would try a ring (or meet its denial).
 */
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_ADAPT=0 */

#define THREADS 16
#define ROUNDS 40

extern char **environ;
static pthread_barrier_t start;

static void *first_call(void *arg)
{
	int p[2];
	char c;

	if (pipe(p))
		return (void *)1L;
	pthread_barrier_wait(&start);
	if (write(p[1], "x", 1) != 1 || read(p[0], &c, 1) != 1)
		return (void *)1L;
	close(p[0]);
	close(p[1]);
	return NULL;
}

static int child(void)
{
	pthread_t t[THREADS];
	void *bad;
	int i, ret = 0;

	pthread_barrier_init(&start, NULL, THREADS);
	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, first_call, NULL);
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], &bad);
		ret |= bad != NULL;
	}
	return ret;
}

int main(int argc, char **argv)
{
	char *args[] = { argv[0], "child", NULL };
	int i, status, bad = 0;
	pid_t pid;

	if (argc > 1)
		return child();
	t_watchdog(120);
	for (i = 0; i < ROUNDS; i++) {
		if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, args,
				environ) ||
		    waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			printf("round %d: status %#x\n", i, status);
			bad++;
		}
	}
	printf("%d rounds of %d threads racing for the first call: %d bad\n",
	       ROUNDS, THREADS, bad);
	T_CHECK(!bad, "a round failed");
	return t_end();
}
