/* SPDX-License-Identifier: MIT */
/*
 * Live statistics: the counters themselves live in a small shared file,
 * $XDG_RUNTIME_DIR/libshim/<pid> (or /dev/shm/libshim-<uid>/<pid>), mapped
 * once when the process makes its first routing decision. Publishing costs
 * nothing per call: the hot path increments the same atomics as before,
 * they just sit in a shared page. The directory is the user's own (0700,
 * checked), so nothing is shared across users; the file is removed at exit
 * and by shim-stat when its process is gone.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shim/live.h"

static struct shim_live *live;
static char live_path[300];

static int live_dir(char *dir, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	uid_t uid = (uid_t)syscall(SYS_getuid);

	if (xdg && *xdg && strlen(xdg) < len - 16)
		snprintf(dir, len, "%s/libshim", xdg);
	else
		snprintf(dir, len, "/dev/shm/libshim-%u", (unsigned)uid);
	syscall(SYS_mkdirat, AT_FDCWD, dir, 0700);
	/* Ours, a real directory, private: or no live stats at all. */
	if (syscall(SYS_newfstatat, AT_FDCWD, dir, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 077))
		return -1;
	return 0;
}

static void set_why(void)
{
	snprintf(live->why, sizeof(live->why), "%s", shim_mode_why);
	live->mode = shim_mode;
}

void shim_live_update_mode(void)
{
	if (live)
		set_why();
}

void shim_live_publish(void)
{
	char dir[256];
	struct shim_live *l;
	struct timespec ts;
	long pid = syscall(SYS_getpid);
	int fd;

	if (live || getenv("SHIM_NO_LIVE") || live_dir(dir, sizeof(dir)) < 0)
		return;
	snprintf(live_path, sizeof(live_path), "%s/%ld", dir, pid);
	fd = (int)syscall(SYS_openat, AT_FDCWD, live_path,
			  O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	if (syscall(SYS_ftruncate, fd, sizeof(*l)) < 0) {
		syscall(SYS_close, fd);
		return;
	}
	l = mmap(NULL, sizeof(*l), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	syscall(SYS_close, fd);
	if (l == MAP_FAILED)
		return;
	memcpy(&l->stats, shim_st, sizeof(l->stats));
	l->version = SHIM_LIVE_VERSION;
	l->size = sizeof(*l);
	l->pid = (int32_t)pid;
	l->ncalls = C__NR;
	l->nwhy = W__NR;
	clock_gettime(CLOCK_REALTIME, &ts);
	l->start_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	memcpy(l->exe, shim_exe, sizeof(l->exe));
	live = l;
	set_why();
	memcpy(l->magic, SHIM_LIVE_MAGIC, sizeof(SHIM_LIVE_MAGIC));
	atomic_store(&shim_st, &l->stats);
}

void shim_live_remove(void)
{
	if (live)
		syscall(SYS_unlinkat, AT_FDCWD, live_path, 0);
}

/*
 * A fork child gets fresh counters in a file of its own: the inherited
 * mapping is shared with the parent.
 */
void shim_live_fork_child(void)
{
	static struct shim_stats stats_child;
	struct shim_live *old = live;

	if (!old)
		return;
	live = NULL;
	atomic_store(&shim_st, &stats_child);
	munmap(old, sizeof(*old));
	shim_live_publish();
}
