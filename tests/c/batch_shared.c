/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: a process that shares writable memory or takes file
 * locks writes its files as it goes. Another process that learns through
 * that memory or lock that the data is written must find it in the file:
 * a child pwrites past the end, then sets a flag in a MAP_SHARED page; a
 * child writes under flock and unlocks. The time bound is long, so only
 * not staging can make the data appear in time.
 */
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch SHIM_BATCH_US=500000 */

static void spin_ms(int ms)
{
	double end = t_now() + ms / 1000.0;

	while (t_now() < end)
		;
}

int main(void)
{
	char path[] = "/tmp/shim-shared-XXXXXX", buf[16] = "";
	int fd = mkstemp(path), st;
	_Atomic int *flag = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	t_watchdog(20);
	write(fd, "head", 4);
	pid = fork();
	if (pid == 0) {
		int w = open(path, O_WRONLY);

		pwrite(w, "tail", 4, 4);
		atomic_store(flag, 1);
		spin_ms(300);
		_exit(0);
	}
	while (!atomic_load(flag))
		;
	printf("shared flag: %zd '%s'\n", pread(fd, buf, sizeof(buf) - 1, 0), buf);
	waitpid(pid, &st, 0);

	/* The lock alone: the child holds it, writes, lets go. */
	ftruncate(fd, 0);
	pid = fork();
	if (pid == 0) {
		int w = open(path, O_WRONLY);

		flock(w, LOCK_EX);
		atomic_store(flag, 2);
		spin_ms(50);
		write(w, "locked", 6);
		flock(w, LOCK_UN);
		spin_ms(300);
		_exit(0);
	}
	while (atomic_load(flag) != 2)
		;
	flock(fd, LOCK_EX);
	memset(buf, 0, sizeof(buf));
	printf("after flock: %zd '%s'\n", pread(fd, buf, sizeof(buf) - 1, 0), buf);
	flock(fd, LOCK_UN);
	waitpid(pid, &st, 0);
	close(fd);
	unlink(path);
	return t_end();
}
