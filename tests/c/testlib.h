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
