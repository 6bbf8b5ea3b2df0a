/* SPDX-License-Identifier: MIT */
/*
 * A program that sandboxes itself, as OpenSSH's pre-auth child does: pipe
 * I/O (through the ring under the shim), then a seccomp filter that kills
 * on any syscall it does not list, io_uring's included, then more I/O and
 * a normal exit. Under the shim the filter must find no ring in use: the
 * process goes pass-through before it is installed.
 */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: read.ring>=1@6.4 write.ring>=1@6.4 fallback.seccomp>=2 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "seccomp_filter.h"
#include "testlib.h"

#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
		  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static int install(void)
{
	struct sock_filter f[] = {
		SECCOMP_PROLOGUE,
#if defined(__SANITIZE_ADDRESS__)
		/* The sanitizers' exit work needs far more: kill io_uring only. */
		SECCOMP_ALLOW_ALL_BUT_IO_URING,
#else
		ALLOW(__NR_read), ALLOW(__NR_write), ALLOW(__NR_close),
		ALLOW(__NR_exit_group), ALLOW(__NR_exit),
		ALLOW(__NR_rt_sigreturn), ALLOW(__NR_newfstatat),
		ALLOW(__NR_fstat), ALLOW(__NR_brk), ALLOW(__NR_mmap),
		ALLOW(__NR_munmap), ALLOW(__NR_futex), ALLOW(__NR_prctl),
#endif
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};

	return t_seccomp_install(f, ARRAY_SIZE(f));
}

/* Through a pipe and back: what is read is what was written. */
static void round_trip(int p[2], const char *label, unsigned seed)
{
	unsigned char out[300], in[300];

	t_fill(out, sizeof(out), seed);
	T_EXPECT(label, write(p[1], out, sizeof(out)), sizeof(out), 0);
	T_EXPECT(label, read(p[0], in, sizeof(in)), sizeof(in), 0);
	T_CHECK(!memcmp(in, out, sizeof(in)), "%s: data differs", label);
}

int main(void)
{
	const char *pre = getenv("LD_PRELOAD");
	int p[2], i;

	if (pre && strstr(pre, "vgpreload")) {
		printf("valgrind runs syscalls of its own under the filter\n");
		return T_EXIT_SKIP;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	if (pipe(p) < 0)
		return T_EXIT_FAIL;
	for (i = 0; i < 3; i++)
		round_trip(p, "before filter", (unsigned)i);
	T_EXPECT("prctl(PR_SET_SECCOMP, FILTER)", install(), 0, 0);
	/* Other options reach the kernel untouched, under the filter too. */
	T_EXPECT("prctl(PR_GET_NO_NEW_PRIVS)",
		 syscall(__NR_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1, 0);
	for (i = 0; i < 3; i++)
		round_trip(p, "under filter", (unsigned)i + 7);
	T_EXPECT("close", close(p[0]), 0, 0);
	T_EXPECT("close", close(p[1]), 0, 0);
	printf("%s\n", t_failed ? "FAIL" : "ok");
	return t_failed ? T_EXIT_FAIL : T_EXIT_PASS;
}
