/* SPDX-License-Identifier: MIT */
/*
 * A filter inherited across exec: the parent installs one that kills on
 * the io_uring syscalls and allows the rest (as a sandbox launcher or a
 * service manager would), then execs itself; the child does pipe I/O and
 * must survive it. The shim in the child cannot see the prctl: before its
 * first ring it finds "Seccomp: 2" in /proc/self/status and probes
 * io_uring in a short-lived child. Under a kernel profile older than 6.4
 * pipes are not routed: the child never wants a ring, and its calls count
 * as fd-type, not seccomp.
 */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: read.ring>=1@6.4 fallback.seccomp>=4@6.4 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "seccomp_filter.h"
#include "testlib.h"

static int install(void)
{
	struct sock_filter f[] = {
		SECCOMP_PROLOGUE,
		SECCOMP_ALLOW_ALL_BUT_IO_URING,
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};

	return t_seccomp_install(f, ARRAY_SIZE(f));
}

static void round_trip(const char *label, unsigned seed)
{
	unsigned char out[300], in[300];
	int p[2], i;

	if (pipe(p) < 0) {
		t_failed = 1;
		return;
	}
	for (i = 0; i < 3; i++) {
		t_fill(out, sizeof(out), seed + (unsigned)i);
		T_EXPECT(label, write(p[1], out, sizeof(out)), sizeof(out), 0);
		T_EXPECT(label, read(p[0], in, sizeof(in)), sizeof(in), 0);
		T_CHECK(!memcmp(in, out, sizeof(in)), "%s: data differs", label);
	}
	close(p[0]);
	close(p[1]);
}

int main(int argc, char **argv)
{
	const char *pre = getenv("LD_PRELOAD");
	int status;
	pid_t pid;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 1 && !strcmp(argv[1], "child")) {
		round_trip("child under inherited filter", 3);
		return t_failed ? T_EXIT_FAIL : T_EXIT_PASS;
	}
	if (pre && strstr(pre, "vgpreload")) {
		printf("valgrind runs syscalls of its own under the filter\n");
		return T_EXIT_SKIP;
	}
	round_trip("parent before filter", 1);
	pid = fork();
	if (pid == 0) {
		if (install() < 0)
			_exit(2);
		execl("/proc/self/exe", argv[0], "child", (char *)NULL);
		_exit(3);
	}
	T_CHECK(pid > 0, "fork");
	T_CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	printf("child: %s %d\n", WIFEXITED(status) ? "exit" : "signal",
	       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	T_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed");
	printf("%s\n", t_failed ? "FAIL" : "ok");
	return t_failed ? T_EXIT_FAIL : T_EXIT_PASS;
}
