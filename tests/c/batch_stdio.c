/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: stdio's writes go out with glibc's internal write, which
 * the shim does not see, so every stdio call that may write first sends
 * what is staged on its stream's fd. Pieces written alternately with
 * write(2) and with each stdio entry point, to an unbuffered stream on a
 * pipe and to a fully buffered one on a regular file, must come out in
 * the order they were written.
 */
#include <stdarg.h>
#include <stdbool.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch */
/* SHIM-EXPECT: write.batch>=5 */

/* Piece n through stdio entry point n % STDIO_WAYS, after a write(2). */
#define STDIO_WAYS 14
#define ROUNDS 4

static int vfp(FILE *f, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfprintf(f, fmt, ap);
	va_end(ap);
	return r;
}

static void by_stdio(FILE *f, int way, char c)
{
	char s[2] = { c, 0 };

	switch (way) {
	case 0: fputs(s, f); break;
	case 1: fputs_unlocked(s, f); break;
	case 2: fwrite(s, 1, 1, f); break;
	case 3: fwrite_unlocked(s, 1, 1, f); break;
	case 4: fputc(c, f); break;
	case 5: fputc_unlocked(c, f); break;
	case 6: putc(c, f); break;
	case 7: putc_unlocked(c, f); break;
	case 8: fprintf(f, "%c", c); break;
	case 9: vfp(f, "%s", s); break;
	case 10: fprintf(f, "%s", s); break;
	case 11: dprintf(fileno(f), "%c", c); break;
	case 12:	/* s as the format: a plain string, on purpose */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-security"
		fprintf(f, s);	/* NOLINT */
#pragma GCC diagnostic pop
		break;
	default: fputs(s, f); break;
	}
}

/* Alternate write(2) and stdio; flush = the stream needs fflush. */
static void interleave(FILE *f, bool flush, char *want)
{
	int fd = fileno(f), n = 0;

	for (int r = 0; r < ROUNDS; r++) {
		for (int way = 0; way < STDIO_WAYS; way++) {
			char w = (char)('a' + n % 26), s = (char)('A' + n % 26);

			T_CHECK(write(fd, &w, 1) == 1, "write");
			want[2 * n] = w;
			by_stdio(f, way, s);
			if (flush && way != 11)
				fflush(f);
			want[2 * n + 1] = s;
			n++;
		}
	}
	want[2 * n] = 0;
}

int main(void)
{
	char want[2 * STDIO_WAYS * ROUNDS + 1], got[sizeof(want)];
	char path[] = "/tmp/shim-batch-stdio.XXXXXX";
	size_t n = sizeof(want) - 1;
	int p[2], fd;
	FILE *f;

	/* A pipe behind an unbuffered stream: each stdio call writes. */
	if (pipe(p) < 0 || !(f = fdopen(p[1], "w")))
		return 1;
	setvbuf(f, NULL, _IONBF, 0);
	interleave(f, false, want);
	fclose(f);
	T_CHECK(t_read_full(p[0], got, sizeof(got)) == n, "pipe length");
	got[n] = 0;
	printf("pipe: %s\n", strcmp(got, want) ? "out of order" : "in order");
	T_CHECK(!strcmp(got, want), "pipe got %s want %s", got, want);
	close(p[0]);

	/* A file behind a buffered stream, fflush after each piece. */
	fd = mkstemp(path);
	if (fd < 0 || !(f = fdopen(fd, "w")))
		return 1;
	unlink(path);
	interleave(f, true, want);
	fflush(f);
	memset(got, 0, sizeof(got));
	T_CHECK(pread(fd, got, n, 0) == (ssize_t)n, "file length");
	printf("file: %s\n", strcmp(got, want) ? "out of order" : "in order");
	T_CHECK(!strcmp(got, want), "file got %s want %s", got, want);
	fclose(f);

	/* printf and puts on stdout itself, after a write(2) to it. */
	fflush(stdout);
	T_CHECK(write(1, "w1 ", 3) == 3, "write");
	printf("p1 ");
	fflush(stdout);
	T_CHECK(write(1, "w2 ", 3) == 3, "write");
	puts("p2");
	fflush(stdout);
	return t_failed;
}
