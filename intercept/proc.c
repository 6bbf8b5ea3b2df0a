/* SPDX-License-Identifier: MIT */
/*
 * The ends of a process image that skip the destructor: _exit and _Exit
 * (dash always ends so, as does a fork child that gives up) and the exec
 * family. Each writes the statistics and takes the live file along. A
 * vfork child shares its parent's memory and files: it touches neither.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "batch/batch.h"
#include "shim/real.h"
#include "shim/shim.h"

static _Noreturn void process_exit(int status)
{
	if (!shim_in_vfork)
		shim_process_end();
	for (;;)
		syscall(SYS_exit_group, status);
}

/* fork() without the atfork handlers: the child still needs ours. */
SHIM_EXPORT pid_t _Fork(void)
{
	pid_t pid;

	shim_ready();
	shim_hooks_run(HOOK_SPAWN);
	pid = real._Fork ? real._Fork() : -1;
	if (pid == 0)
		shim_after_fork_child();
	return pid;
}

SHIM_EXPORT void _exit(int status)
{
	process_exit(status);
}

SHIM_EXPORT void _Exit(int status)
{
	process_exit(status);
}

/*
 * exec: destructors do not run, so the counters so far are written now
 * (the new image, shimmed again, writes its own file under the same pid
 * with a suffix) and the live file is set aside. An exec that failed
 * undoes both, and the image counts on as if nothing had happened.
 */
static void exec_begin(void)
{
	if (shim_in_vfork)
		return;
	batch_flush_all(true);
	shim_stats_write();
	shim_live_hide();
}

static int exec_failed(int ret)
{
	int saved = errno;

	if (!shim_in_vfork) {
		shim_stats_unwrite();
		shim_live_unhide();
	}
	errno = saved;
	return ret;
}

SHIM_EXPORT int execve(const char *path, char *const argv[],
		       char *const envp[])
{
	exec_begin();
	return exec_failed(real.execve(path, argv, envp));
}

SHIM_EXPORT int execv(const char *path, char *const argv[])
{
	exec_begin();
	return exec_failed(real.execv(path, argv));
}

SHIM_EXPORT int execvp(const char *file, char *const argv[])
{
	exec_begin();
	return exec_failed(real.execvp(file, argv));
}

SHIM_EXPORT int execvpe(const char *file, char *const argv[],
			char *const envp[])
{
	exec_begin();
	return exec_failed(real.execvpe(file, argv, envp));
}

SHIM_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	exec_begin();
	return exec_failed(real.fexecve(fd, argv, envp));
}

/*
 * The list forms: collect the arguments, as libc's own execl does. The
 * va_list travels by pointer so that execle can read envp after the NULL.
 */
static size_t exec_argc(va_list *ap)
{
	va_list aq;
	size_t argc = 1;

	va_copy(aq, *ap);
	while (va_arg(aq, char *))
		argc++;
	va_end(aq);
	return argc;
}

static void exec_argv(char **argv, size_t argc, const char *arg0, va_list *ap)
{
	argv[0] = (char *)arg0;
	for (size_t i = 1; i <= argc; i++)
		argv[i] = va_arg(*ap, char *);
}

enum exec_how { EXEC_PATH, EXEC_SEARCH, EXEC_ENV };

static int exec_list(const char *path, const char *arg, va_list *ap,
		     enum exec_how how)
{
	size_t argc = exec_argc(ap);
	char *argv[argc + 1];

	exec_argv(argv, argc, arg, ap);
	if (how == EXEC_ENV)
		return execve(path, argv, va_arg(*ap, char **));
	if (how == EXEC_SEARCH)
		return execvp(path, argv);
	return execv(path, argv);
}

SHIM_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	int ret;

	va_start(ap, arg);
	ret = exec_list(path, arg, &ap, EXEC_PATH);
	va_end(ap);
	return ret;
}

SHIM_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	int ret;

	va_start(ap, arg);
	ret = exec_list(file, arg, &ap, EXEC_SEARCH);
	va_end(ap);
	return ret;
}

SHIM_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	int ret;

	va_start(ap, arg);
	ret = exec_list(path, arg, &ap, EXEC_ENV);
	va_end(ap);
	return ret;
}

/*
 * posix_spawn, system and popen start their child with glibc's own clone
 * and exec, unseen: staged writes go out first, so that the child's
 * output comes after them (batch profile).
 */
SHIM_EXPORT int posix_spawn(pid_t *pid, const char *path,
			    const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[],
			    char *const envp[])
{
	shim_ready();
	batch_flush_all(false);
	return real.posix_spawn(pid, path, fa, attr, argv, envp);
}

SHIM_EXPORT int posix_spawnp(pid_t *pid, const char *file,
			     const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[],
			     char *const envp[])
{
	shim_ready();
	batch_flush_all(false);
	return real.posix_spawnp(pid, file, fa, attr, argv, envp);
}

SHIM_EXPORT int system(const char *cmd)
{
	shim_ready();
	batch_flush_all(false);
	return real.system(cmd);
}

SHIM_EXPORT FILE *popen(const char *cmd, const char *mode)
{
	shim_ready();
	batch_flush_all(false);
	return real.popen(cmd, mode);
}
