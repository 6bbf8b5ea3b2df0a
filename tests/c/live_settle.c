/* SPDX-License-Identifier: MIT */
/*
 * A process's live-statistics file is made once it shows that it lives:
 * at its first wait, its first pthread_create (before the thread runs),
 * or its 1024th read in libc; never at start-up, and never for a fork
 * child that exits first, as most of a shell's do. What it counted before
 * is in the file from the start, and in its statistics at exit.
 *
 * Without the shim there is never a file; the transcript is the same and
 * the exit status says whether each process found what it expected. Under
 * a seccomp filter the shim may give live statistics up: there only
 * "none yet" is checked.
 */
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "testlib.h"

/* Reads of /dev/zero go to libc (fd-type): 4 x 5 + 1100 + 5. */
/* SHIM-EXPECT: read.real==1125 */

static char dir[64] = "/tmp/live-settle-XXXXXX";
static bool expect_files, filtered;

static bool have_file(pid_t pid)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/libshim/%d", dir, (int)pid);
	return stat(path, &st) == 0;
}

static bool reads(int n)
{
	int fd = open("/dev/zero", O_RDONLY), i;
	char c;

	for (i = 0; fd >= 0 && i < n; i++)
		if (read(fd, &c, 1) != 1)
			break;
	if (fd >= 0)
		close(fd);
	return i == n;
}

/* The file is there now if and only if the shim publishes one. */
static bool published(void)
{
	return filtered || have_file(getpid()) == expect_files;
}

static void *in_thread(void *arg)
{
	*(bool *)arg = published();
	return NULL;
}

static int child(int how)
{
	struct timespec ms = { 0, 1000000 };
	bool ok = false;
	pthread_t t;

	if (!reads(5) || have_file(getpid()))
		return 1;	/* a few calls: not yet */
	switch (how) {
	case 0:		/* exits before it lives: never a file */
		return have_file(getpid());
	case 1:
		return !reads(1100) || !published();
	case 2:
		return nanosleep(&ms, NULL) || !published();
	case 3:
		if (pthread_create(&t, NULL, in_thread, &ok) ||
		    pthread_join(t, NULL))
			return 1;
		return !ok;
	}
	return 1;
}

static bool under_filter(void)
{
	char buf[4096], *p;
	int fd = open("/proc/self/status", O_RDONLY);
	/* Not counted: the expectation above is exact. */
	ssize_t n = fd < 0 ? -1 : syscall(SYS_read, fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	p = strstr(buf, "\nSeccomp:\t");
	return !p || p[10] != '0';
}

int main(void)
{
	static const char *const what[] = { "exits soon", "1100 reads",
					    "a sleep", "a thread" };
	const char *pre = getenv("LD_PRELOAD");
	char sub[96];
	int i, status;
	pid_t pid;

	if (!mkdtemp(dir) || setenv("XDG_RUNTIME_DIR", dir, 1))
		return T_EXIT_FAIL;
	filtered = under_filter();
	expect_files = pre && strstr(pre, "libshim") && !filtered &&
		       !getenv("SHIM_DISABLE") && !getenv("SHIM_NO_LIVE");
	T_CHECK(!have_file(getpid()), "the process published at start-up");
	printf("at start-up: no file\n");
	for (i = 0; i < (int)ARRAY_SIZE(what); i++) {
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			_exit(child(i));
		T_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid &&
			WIFEXITED(status) && WEXITSTATUS(status) == 0,
			"child (%s): status %#x", what[i], status);
		printf("child, %s: as expected\n", what[i]);
		T_CHECK(!have_file(pid), "child (%s) left its file", what[i]);
	}
	T_CHECK(reads(5), "reads");
	T_CHECK(!have_file(getpid()), "the parent published without living");
	printf("parent after its children: no file\n");
	snprintf(sub, sizeof(sub), "%s/libshim", dir);
	rmdir(sub);	/* the shim's, left empty */
	rmdir(dir);
	return t_end();
}
