/* SPDX-License-Identifier: MIT */
/* No fd or ring leaks over thread create/exit and fork loops. */
#include <sys/wait.h>

#include "testlib.h"

/* Pipes, and read/write on sockets, take RWF_NOWAIT from 6.4. */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: read.ring>=2000@6.4 rings>=2000@6.4 */

static int count_fds(void)
{
	char path[64];
	int n = 0;

	for (int fd = 0; fd < 4096; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

static int count_rings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, "io_uring") != NULL;
	if (f)
		fclose(f);
	return n;
}

static void *io(void *arg)
{
	char buf[8];
	int p[2];

	pipe(p);
	write(p[1], "abc", 3);
	read(p[0], buf, sizeof(buf));
	close(p[0]);
	close(p[1]);
	return NULL;
}

int main(void)
{
	int fds0, rings0, fds1, rings1, status;
	pthread_t t;

	t_watchdog(120);
	io(NULL);	/* the main thread's own ring, if any */
	fds0 = count_fds();
	rings0 = count_rings();
	for (int i = 0; i < 2000; i++) {
		pthread_create(&t, NULL, io, NULL);
		pthread_join(t, NULL);
	}
	for (int i = 0; i < 100; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			io(NULL);
			_exit(count_rings() <= rings0 + 1 ? 0 : 1);
		}
		waitpid(pid, &status, 0);
		T_CHECK(WIFEXITED(status) && !WEXITSTATUS(status), "child rings");
	}
	io(NULL);
	fds1 = count_fds();
	rings1 = count_rings();
	printf("fds stable %s\n", fds1 == fds0 ? "yes" : "no");
	printf("rings stable %s\n", rings1 <= rings0 + 1 ? "yes" : "no");
	T_CHECK(fds1 == fds0, "fds %d -> %d", fds0, fds1);
	T_CHECK(rings1 <= rings0 + 1, "rings %d -> %d", rings0, rings1);
	return t_end();
}
