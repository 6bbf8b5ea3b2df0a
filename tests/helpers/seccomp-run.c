/* SPDX-License-Identifier: MIT */
/*
 * seccomp-run: run a command with the io_uring syscalls refused, as a
 * container's seccomp profile or kernel.io_uring_disabled would.
 *
 *   seccomp-run [--setup=EPERM|ENOSYS|KILL] [--enter=EPERM|KILL] \
 *		 [--register=EPERM|KILL] [--deny=SYSCALL=ERRNO]... -- CMD [ARGS...]
 *
 * --deny refuses any other syscall the same way (process_vm_readv, which
 * the shim uses to check application pointers, is refused by some
 * sandboxes). KILL instead of an errno kills the process at that syscall
 * (SECCOMP_RET_KILL_PROCESS), as OpenSSH's sandbox and most allow-list
 * filters do for what they do not list.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define KILL_ACTION 0x10000	/* not an errno */

static int parse_errno(const char *s)
{
	if (!strcmp(s, "KILL"))
		return KILL_ACTION;
	if (!strcmp(s, "EPERM"))
		return EPERM;
	if (!strcmp(s, "ENOSYS"))
		return ENOSYS;
	if (!strcmp(s, "EACCES"))
		return EACCES;
	return -1;
}

static int deny(scmp_filter_ctx ctx, const char *name, const char *err)
{
	int e = parse_errno(err);
	int nr = seccomp_syscall_resolve_name(name);

	if (e < 0 || nr == __NR_SCMP_ERROR) {
		fprintf(stderr, "seccomp-run: bad syscall '%s' or errno '%s'\n",
			name, err);
		return -1;
	}
	return seccomp_rule_add(ctx, e == KILL_ACTION ? SCMP_ACT_KILL_PROCESS :
				SCMP_ACT_ERRNO(e), nr, 0);
}

int main(int argc, char **argv)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int i;

	if (!ctx)
		return 126;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		int ret = 0;

		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strncmp(a, "--setup=", 8)) {
			ret = deny(ctx, "io_uring_setup", a + 8);
		} else if (!strncmp(a, "--enter=", 8)) {
			ret = deny(ctx, "io_uring_enter", a + 8);
		} else if (!strncmp(a, "--register=", 11)) {
			ret = deny(ctx, "io_uring_register", a + 11);
		} else if (!strncmp(a, "--deny=", 7) && strchr(a + 7, '=')) {
			char name[64];
			const char *eq = strchr(a + 7, '=');

			snprintf(name, sizeof(name), "%.*s", (int)(eq - a - 7),
				 a + 7);
			ret = deny(ctx, name, eq + 1);
		} else if (a[0] == '-') {
			fprintf(stderr, "seccomp-run: unknown option %s\n", a);
			return 126;
		} else {
			break;
		}
		if (ret < 0)
			return 126;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: seccomp-run [--setup=EPERM|ENOSYS|KILL] "
			"[--enter=EPERM|KILL] [--register=EPERM|KILL] "
			"[--deny=SYSCALL=ERRNO|KILL]... -- CMD [ARGS...]\n");
		return 126;
	}
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) < 0 ||
	    seccomp_load(ctx) < 0) {
		perror("seccomp-run: seccomp_load");
		return 126;
	}
	seccomp_release(ctx);
	execvp(argv[i], argv + i);
	fprintf(stderr, "seccomp-run: %s: %s\n", argv[i], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
