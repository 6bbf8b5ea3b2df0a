/* SPDX-License-Identifier: MIT */
/*
 * fork, vfork, posix_spawn, system, popen, and fork from a threaded parent:
 * parent and child each keep working, no child touches the parent's ring.
 */
#include <spawn.h>
#include <sys/wait.h>

#include "testlib.h"

/* Pipes, and read/write on sockets, take RWF_NOWAIT from 6.4. */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: read.ring>=50@6.4 write.ring>=50@6.4 */

extern char **environ;

static int roundtrip(int p[2], const char *msg)
{
	char buf[64];
	size_t n = strlen(msg);

	if (write(p[1], msg, n) != (ssize_t)n)
		return -1;
	return read(p[0], buf, sizeof(buf)) == (ssize_t)n &&
	       !memcmp(buf, msg, n) ? 0 : -1;
}

static volatile int stop;

static void *busy(void *arg)
{
	int p[2], bad = 0;

	pipe(p);
	while (!stop)
		bad |= roundtrip(p, "thread");
	close(p[0]);
	close(p[1]);
	return (void *)(long)bad;
}

int main(void)
{
	int p[2], back[2], status, i, ok = 1;
	char buf[64];
	pid_t pid;

	t_watchdog(60);
	pipe(p);
	T_CHECK(roundtrip(p, "parent") == 0, "parent before");
	for (i = 0; i < 50; i++) {
		pipe(back);
		pid = fork();
		if (pid == 0) {
			int q[2], r;

			pipe(q);
			r = roundtrip(q, "child") | roundtrip(p, "inherited");
			write(back[1], r ? "bad" : "good", 4);
			_exit(0);
		}
		close(back[1]);
		ok &= read(back[0], buf, 4) == 4 && !memcmp(buf, "good", 4);
		close(back[0]);
		waitpid(pid, &status, 0);
		ok &= roundtrip(p, "parent") == 0;
	}
	printf("50 forks ok %d\n", ok);
	T_CHECK(ok, "fork loop");

	pid = vfork();
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	printf("vfork+exec true: %d\n", WEXITSTATUS(status));
	T_CHECK(roundtrip(p, "after vfork") == 0, "after vfork");

	/* The list forms pass every argument, and execle its envp. */
	{
		char *env[] = { "X=from-envp", NULL };
		const char *want = "zero one from-envp\n";
		ssize_t n;

		pipe(back);
		pid = fork();
		if (pid == 0) {
			dup2(back[1], 1);
			execle("/bin/sh", "sh", "-c", "echo \"$0 $1 $X\"", "zero",
			       "one", (char *)NULL, env);
			_exit(127);
		}
		close(back[1]);
		n = read(back[0], buf, sizeof(buf));
		close(back[0]);
		waitpid(pid, &status, 0);
		printf("execle: %.*s", (int)(n > 0 ? n : 0), buf);
		T_CHECK(n == (ssize_t)strlen(want) && !memcmp(buf, want, n),
			"execle argv and envp");
		pid = fork();
		if (pid == 0) {
			execlp("sh", "sh", "-c", "exit $#", "x", "a", "b",
			       (char *)NULL);
			_exit(127);
		}
		waitpid(pid, &status, 0);
		printf("execlp: exit %d\n", WEXITSTATUS(status));
		T_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2,
			"execlp argv");
	}

	{
		posix_spawn_file_actions_t fa;
		char *argv[] = { "echo", "hi", NULL };
		ssize_t n;

		pipe(back);
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, back[1], 1);
		posix_spawn_file_actions_addclose(&fa, back[0]);
		T_EXPECT("posix_spawn", posix_spawn(&pid, "/bin/echo", &fa, NULL, argv, environ), 0, 0);
		posix_spawn_file_actions_destroy(&fa);
		close(back[1]);
		n = read(back[0], buf, sizeof(buf));
		printf("spawned echo said %.*s", (int)(n > 0 ? n : 0), buf);
		close(back[0]);
		waitpid(pid, &status, 0);
	}
	printf("system: %d\n", WEXITSTATUS(system("exit 3")));
	{
		FILE *f = popen("echo popen-stdio", "r");
		char line[64] = "";

		fgets(line, sizeof(line), f);
		printf("popen: %s", line);
		pclose(f);
		f = popen("echo popen-read", "r");
		ssize_t n = read(fileno(f), line, sizeof(line));
		printf("popen read: %.*s", (int)(n > 0 ? n : 0), line);
		pclose(f);
	}

	{
		pthread_t t[4];
		void *bad;
		int allgood = 1;

		for (i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, busy, NULL);
		for (i = 0; i < 20; i++) {
			pid = fork();
			if (pid == 0) {
				int q[2];

				pipe(q);
				_exit(roundtrip(q, "threaded child") ? 1 : 0);
			}
			waitpid(pid, &status, 0);
			allgood &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
		}
		stop = 1;
		for (i = 0; i < 4; i++) {
			pthread_join(t[i], &bad);
			allgood &= bad == NULL;
		}
		printf("threaded forks ok %d\n", allgood);
		T_CHECK(allgood, "threaded forks");
	}
	T_CHECK(roundtrip(p, "parent at end") == 0, "parent at end");
	return t_end();
}
