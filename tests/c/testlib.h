/* SPDX-License-Identifier: MIT */
/*
 * Small helpers for the C tests. A test prints a transcript of what it saw
 * (identical with and without the shim) and exits T_EXIT_PASS, T_EXIT_FAIL
 * or T_EXIT_SKIP (what scripts/test-verdict reads, automake's codes).
 */
#ifndef SHIM_TESTLIB_H
#define SHIM_TESTLIB_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A test's exit status: passed, failed, or cannot run here (skipped). */
#define T_EXIT_PASS 0
#define T_EXIT_FAIL 1
#define T_EXIT_SKIP 77

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Unused in a test that judges by its transcript alone (differential). */
static int t_failed __attribute__((unused));

/* Print "label -> result errno" and check it against what the syscall gives. */
#define T_EXPECT(label, expr, want, want_errno)				\
	do {								\
		long _r;						\
		errno = 0;						\
		_r = (long)(expr);					\
		int _e = errno;						\
		printf("%s -> %ld %s\n", label, _r,			\
		       _r < 0 ? strerrorname_np(_e) : "");		\
		if (_r != (long)(want) ||				\
		    (_r < 0 && _e != (want_errno))) {			\
			printf("  FAIL: want %ld %s\n", (long)(want),	\
			       (want) < 0 ? strerrorname_np(want_errno) : ""); \
			t_failed = 1;					\
		}							\
	} while (0)

#define T_CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			printf("FAIL %s:%d: ", __FILE__, __LINE__);	\
			printf(__VA_ARGS__);				\
			printf("\n");					\
			t_failed = 1;					\
		}							\
	} while (0)

static inline void t_fill(unsigned char *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(seed + i * 131 + (i >> 8));
}

static inline uint32_t t_sum(const unsigned char *b, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = s * 31 + b[i];
	return s;
}

static inline double t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read exactly n bytes (or to EOF); returns the count. */
static inline size_t t_read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/*
 * The cross-fd order tests (batch_crossfd, batch_slowflush): a notice is
 * NFILES uint32_t, the records of REC bytes each file had when the writer
 * wrote it. A child reads the notices from ch[0] until EOF and checks, for
 * each, that every file is at least that long (else the notice came
 * early); it prints "round R notices N early E" and fails if E > 0.
 * Returns its pid, with ch[0] closed here; -1 if fork failed.
 */
static inline pid_t t_notice_reader(int round, int ch[2], const int *files,
				    int nfiles, size_t rec)
{
	uint32_t no[16];
	size_t size = (size_t)nfiles * sizeof(no[0]);
	unsigned long notes = 0, early = 0;
	struct stat st;
	pid_t pid;

	if (nfiles > 16)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid != 0) {
		if (pid > 0)
			close(ch[0]);
		return pid;
	}
	close(ch[1]);
	while (t_read_full(ch[0], no, size) == size) {
		bool late = false;

		notes++;
		for (int f = 0; f < nfiles; f++)
			if (fstat(files[f], &st) ||
			    st.st_size < (off_t)no[f] * (off_t)rec)
				late = true;
		early += late;
	}
	printf("round %d notices %lu early %lu\n", round, notes, early);
	fflush(stdout);
	_exit(early ? T_EXIT_FAIL : T_EXIT_PASS);
}

/*
 * The writer is done: EOF on NOTE (ch[1]), the files closed, and the
 * reader's verdict (T_EXIT_*; -1 if it cannot be had).
 */
static inline int t_notice_end(pid_t pid, int note, const int *files,
			       int nfiles)
{
	int status;

	close(note);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	for (int f = 0; f < nfiles; f++)
		close(files[f]);
	return WIFEXITED(status) ? WEXITSTATUS(status) : T_EXIT_FAIL;
}

static inline int t_end(void)
{
	printf("%s\n", t_failed ? "FAILED" : "ok");
	return t_failed ? T_EXIT_FAIL : T_EXIT_PASS;
}

static inline void t_watchdog(unsigned sec)
{
	signal(SIGALRM, SIG_DFL);
	alarm(sec);
}

#endif
