/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: the flusher thread ends once nothing is staged for a
 * while (a second thread makes every syscall on an fd dearer), and the
 * next staged write starts it again, so the time bound holds every time.
 * Each round: two writes to a pipe (a run: staged), then a wait the shim
 * cannot see (the raw read syscall) for the reader's answer, which comes
 * only once the reader has the data: only the flusher can send it. Then
 * the process idles until it has one thread again.
 */
#include <dirent.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch SHIM_BATCH_US=1000 */
/* SHIM-EXPECT: write.batch>=40 */

#define ROUNDS 20

static int threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Up to 5 s for the process to be down to its one thread. */
static bool one_thread(void)
{
	for (int i = 0; i < 500; i++) {
		if (threads() == 1)
			return true;
		usleep(10000);
	}
	return false;
}

int main(void)
{
	int data[2], ack[2], st, alone = 0;
	char buf[8];
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	t_watchdog(60);
	if (pipe(data) || pipe(ack))
		return T_EXIT_FAIL;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(data[1]);
		close(ack[0]);
		for (int i = 0; i < ROUNDS; i++)
			if (t_read_full(data[0], buf, 4) != 4 ||
			    memcmp(buf, "abcd", 4) ||
			    write(ack[1], "k", 1) != 1)
				_exit(T_EXIT_FAIL);
		_exit(T_EXIT_PASS);
	}
	close(data[0]);
	close(ack[1]);
	for (int i = 0; i < ROUNDS; i++) {
		alone += one_thread();
		if (write(data[1], "ab", 2) != 2 || write(data[1], "cd", 2) != 2)
			return T_EXIT_FAIL;
		/* Unseen by the shim: no barrier sends the staged bytes. */
		if (syscall(SYS_read, ack[0], buf, 1) != 1)
			return T_EXIT_FAIL;
	}
	T_CHECK(alone == ROUNDS, "one thread before %d of %d rounds", alone,
		ROUNDS);
	printf("rounds %d, each answered, one thread before each: %s\n",
	       ROUNDS, alone == ROUNDS ? "yes" : "no");
	close(data[1]);
	waitpid(pid, &st, 0);
	T_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "reader");
	close(ack[0]);
	return t_end();
}
