/* SPDX-License-Identifier: MIT */
/*
 * Live statistics: the counters themselves live in a small shared file,
 * $XDG_RUNTIME_DIR/libshim/<pid> (or /dev/shm/libshim-<uid>/<pid>), mapped
 * once, at initialisation. Publishing costs
 * nothing per call: the file is mapped over the threads' counter slots
 * (shim/shim.h), where they are, and shim-stat adds them up. The directory is the user's own (0700,
 * checked), so nothing is shared across users; the file is removed at exit
 * and by shim-stat when its process is gone.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shim/live.h"
#include "shim/real.h"
#include "shim/umem.h"

static struct shim_live *live;
/*
 * Two threads that meet their first ring at once would both create the
 * file, and the second one's O_TRUNC would pull the pages from under the
 * first one's copy (SIGBUS): one publishes, the other goes on counting.
 */
static _Atomic bool publishing;
static char live_path[300];
static bool live_forgotten;
/* This image was exec'd: its predecessor may have set its file aside. */
static bool live_aside_possible = true;

static int live_dir(char *dir, size_t len, bool create)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	uid_t uid = (uid_t)syscall(SYS_getuid);
	char num[SHIM_UTOA_LEN];
	struct stat st;

	if (!(xdg && *xdg ? shim_cat(dir, len, xdg, "/libshim", (char *)NULL)
			  : shim_cat(dir, len, "/dev/shm/libshim-",
				     shim_utoa(num, uid), (char *)NULL)))
		return -1;
	if (create)
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
	snprintf(live->mode_name, sizeof(live->mode_name), "%s",
		 shim_mode_name(shim_mode));
	live->mode = shim_mode;
}

void shim_live_update_mode(void)
{
	if (live)
		set_why();
}

/* The file an exec set aside under this pid (shim_live_hide()). */
static void remove_aside(const char *dir, long pid)
{
	char aside[300], num[SHIM_UTOA_LEN];

	if (shim_cat(aside, sizeof(aside), dir, "/",
		     shim_utoa(num, (unsigned long)pid), ".exec", (char *)NULL))
		syscall(SYS_unlinkat, AT_FDCWD, aside, 0);
}

/* The file, sized and mapped, its pid set; NULL: no live stats. */
static struct shim_live *create_file(void)
{
	char dir[256], num[SHIM_UTOA_LEN];
	struct shim_live *l;
	long pid = syscall(SYS_getpid);
	int fd;

	if (live_dir(dir, sizeof(dir), true) < 0)
		return NULL;
	remove_aside(dir, pid);	/* our image before exec */
	if (!shim_cat(live_path, sizeof(live_path), dir, "/",
		      shim_utoa(num, (unsigned long)pid), (char *)NULL))
		return NULL;
	fd = (int)syscall(SYS_openat, AT_FDCWD, live_path,
			  O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return NULL;
	if (syscall(SYS_ftruncate, fd, SHIM_LIVE_SLOTS_OFF + stat_slots_size()) < 0) {
		syscall(SYS_close, fd);
		return NULL;
	}
	/* Not the interposed mmap: the shim's own mapping shares nothing. */
	l = real.mmap(NULL, sizeof(*l), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (l == MAP_FAILED) {
		syscall(SYS_close, fd);
		return NULL;
	}
	/* The counters: the slots themselves become the file's pages. */
	if (stat_share(fd, SHIM_LIVE_SLOTS_OFF) < 0) {
		real.munmap(l, sizeof(*l));
		umem_changed();
		syscall(SYS_close, fd);
		return NULL;
	}
	syscall(SYS_close, fd);
	l->pid = (int32_t)pid;
	return l;
}

void shim_live_publish(void)
{
	uint64_t all = ~0ull, old;
	struct shim_live *l;
	struct timespec ts;
	int n;

	if (live || getenv("SHIM_NO_LIVE") || atomic_exchange(&publishing, true))
		return;
	/*
	 * No second try: mapping the file over the counter slots loses what
	 * other threads count meanwhile, and later the process may have many.
	 * This thread's signal handlers count too: blocked till it is done.
	 */
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof(all));
	l = create_file();
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof(all));
	if (!l)
		return;
	/* The header's page (mapped whole): the struct, the counters' names. */
	n = stat_names((char *)l + SHIM_LIVE_NAMES_OFF,
		       SHIM_LIVE_SLOTS_OFF - SHIM_LIVE_NAMES_OFF);
	l->names_off = SHIM_LIVE_NAMES_OFF;
	l->names_len = n < 0 ? 0 : (uint32_t)n;
	l->nslots = STAT_SLOTS;
	l->slot_size = sizeof(struct stat_slot);
	l->slots_off = SHIM_LIVE_SLOTS_OFF;
	l->nwords = sizeof(struct shim_stats) / sizeof(uint64_t);
	l->version = SHIM_LIVE_VERSION;
	l->size = sizeof(*l);
	l->ncalls = C__NR;
	l->nwhy = W__NR;
	clock_gettime(CLOCK_REALTIME, &ts);
	l->start_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	memcpy(l->exe, shim_exe, sizeof(l->exe));
	live = l;
	set_why();
	memcpy(l->magic, SHIM_LIVE_MAGIC, sizeof(SHIM_LIVE_MAGIC));
}

void shim_live_remove(void)
{
	char dir[256];

	if (live_forgotten)
		return;
	if (live) {
		syscall(SYS_unlinkat, AT_FDCWD, live_path, 0);
		return;
	}
	/*
	 * An image that never published may still hold its predecessor's; a
	 * fork child has none.
	 */
	if (live_aside_possible && !getenv("SHIM_NO_LIVE") &&
	    live_dir(dir, sizeof(dir), false) == 0)
		remove_aside(dir, (long)syscall(SYS_getpid));
}

/*
 * Across exec: the file is set aside as <pid>.exec, which shim-stat does not
 * list; the new image, if shimmed, removes it as it publishes its own, and
 * an exec that failed puts it back. The mapping itself never moves: other
 * threads may be counting in it.
 */
static void exec_name(char *buf, size_t len)
{
	snprintf(buf, len, "%s.exec", live_path);
}

void shim_live_hide(void)
{
	char aside[sizeof(live_path) + 8];

	if (!live || live_forgotten)
		return;
	exec_name(aside, sizeof(aside));
	syscall(SYS_renameat, AT_FDCWD, live_path, AT_FDCWD, aside);
}

void shim_live_unhide(void)
{
	char aside[sizeof(live_path) + 8];

	if (!live || live_forgotten)
		return;
	exec_name(aside, sizeof(aside));
	syscall(SYS_renameat, AT_FDCWD, aside, AT_FDCWD, live_path);
}

/*
 * A fork child: the parent's file is not its own. It gets one of its own
 * when it settles (shim_settle()), unless it execs or exits first, as a
 * shell's children do. shim_stats_fork_child() already put private pages
 * under the counter slots.
 */
void shim_live_fork_child(void)
{
	struct shim_live *old = live;

	live = NULL;
	live_aside_possible = false;
	if (live_forgotten)
		return;	/* under a filter: no new file; the header stays mapped */
	atomic_store(&publishing, false);	/* a fork child's own flag */
	if (old) {
		real.munmap(old, sizeof(*old));
		umem_changed();
	}
}

/*
 * A seccomp filter goes in: the file goes now, while unlinkat still works
 * (remove; under a filter already it stays, stale), and no live call
 * touches the file system again (the counters stay in
 * the mapping, which needs no syscall).
 */
void shim_live_forget(bool remove)
{
	if (remove)
		shim_live_remove();
	atomic_store(&publishing, true);	/* shim_live_publish() stays out */
	live_forgotten = true;
}
