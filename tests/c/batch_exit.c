/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: what a process wrote reaches the reader however the
 * process ends: return from main, exit, _exit, _Exit, exec, a fatal
 * signal it did not catch (SIGTERM, SIGINT, SIGABRT from abort), and in
 * a fork child too. Only SIGKILL, which nothing can catch, would lose it.
 * The shim's own handlers stay out of sight: the disposition reads
 * SIG_DFL before and after the first staged write, and a handler the
 * program set before writing anything is the one that runs.
 */
#include <sys/wait.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch */
/* SHIM-EXPECT: write.batch>=8 */

enum { END_RETURN, END_EXIT, END__EXIT, END__EXIT2, END_EXEC, END_TERM,
       END_INT, END_ABORT, END_OWN, END__NR };
static const char *const ends[] = { "return", "exit", "_exit", "_Exit",
				    "exec", "SIGTERM", "SIGINT", "abort",
				    "own" };

static void on_term(int sig)
{
	_exit(sig);
}

/* What the program is told SIGTERM's disposition is. */
static bool term_is_default(void)
{
	struct sigaction old;

	return sigaction(SIGTERM, NULL, &old) == 0 && old.sa_handler == SIG_DFL;
}

static int child_main(int how)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "written before %s\n", ends[how]);

	if (how == END_OWN)
		signal(SIGTERM, on_term);
	else if (!term_is_default())
		return 2;
	/* Several small writes: staged, in the batch profile. */
	for (int i = 0; i < n; i++)
		write(1, line + i, 1);
	switch (how) {
	case END_EXIT:
		exit(0);
	case END__EXIT:
		_exit(0);
	case END__EXIT2:
		_Exit(0);
	case END_EXEC:
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	case END_TERM:
		if (!term_is_default())
			return 2;
		kill(getpid(), SIGTERM);
		break;
	case END_OWN:
		kill(getpid(), SIGTERM);
		break;
	case END_INT:
		raise(SIGINT);
		break;
	case END_ABORT:
		abort();
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3)
		return child_main(atoi(argv[2]));
	for (int how = 0; how < END__NR; how++) {
		char buf[128] = "", arg[8];
		int p[2], st;
		pid_t pid;
		size_t n;

		pipe(p);
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			dup2(p[1], 1);
			close(p[0]);
			close(p[1]);
			if (how == END_RETURN) {
				/* A fresh image, so that main really returns. */
				snprintf(arg, sizeof(arg), "%d", how);
				/* argv[0], not /proc/self/exe: valgrind. */
				execl(strchr(argv[0], '/') ? argv[0]
							   : "/proc/self/exe",
				      argv[0], "child", arg, (char *)NULL);
				_exit(127);
			}
			_exit(child_main(how));
		}
		close(p[1]);
		n = t_read_full(p[0], buf, sizeof(buf) - 1);
		close(p[0]);
		waitpid(pid, &st, 0);
		printf("%-8s: read %zu bytes: %s", ends[how], n,
		       n ? buf : "(nothing)\n");
		printf("          status %s %d\n",
		       WIFSIGNALED(st) ? "signal" : "exit",
		       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		T_CHECK(n > 10, "%s lost the data", ends[how]);
	}
	return t_failed ? T_EXIT_FAIL : T_EXIT_PASS;
}
