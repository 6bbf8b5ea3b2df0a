/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: fclose() and pclose() close their stream's fd inside
 * glibc, where the shim cannot see the close; the shim's fclose/pclose
 * send what was staged on that fd first and forget it.
 * - write(2)s staged on the fd of an fdopen()ed pipe, then fclose: the
 *   reader, non-blocking, finds all the data and then end-of-file at once
 *   (a buffer still staged, or its dup still open, would say EAGAIN);
 * - the fd's number, reused by fopen() right after, then written with
 *   write(2): its bytes go to the new file, none into the old pipe;
 * - write(2)s staged on a popen()ed "cat"'s pipe, then pclose: cat saw
 *   all of them and end-of-file, so pclose did not wait for more.
 */
#include <sys/stat.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch */
/* SHIM-EXPECT: write.batch>=20 */

#define PIECES 40

static void write_pieces(int fd, char c)
{
	for (int i = 0; i < PIECES; i++)
		if (write(fd, &c, 1) != 1)
			T_CHECK(0, "write %d", i);
}

static size_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (size_t)st.st_size;
}

static void fclose_then_reuse(const char *path)
{
	char buf[256];
	int p[2], fd;
	ssize_t n, got = 0;
	FILE *f, *g;

	if (pipe(p))
		exit(T_EXIT_FAIL);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	f = fdopen(p[1], "w");
	if (!f)
		exit(T_EXIT_FAIL);
	write_pieces(p[1], 'a');
	T_CHECK(fclose(f) == 0, "fclose: %s", strerror(errno));
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		got += n;
	printf("fclose: the reader got %zd bytes, then %s\n", got,
	       n == 0 ? "end-of-file" : strerror(errno));
	T_CHECK(got == PIECES && n == 0, "fclose left data or the pipe open");

	g = fopen(path, "w");
	if (!g)
		exit(T_EXIT_FAIL);
	fd = fileno(g);
	printf("fopen reused the number: %s\n", fd == p[1] ? "yes" : "no");
	write_pieces(fd, 'b');
	T_CHECK(fclose(g) == 0, "fclose: %s", strerror(errno));
	n = read(p[0], buf, sizeof(buf));
	printf("the file has %zu bytes, the old pipe %zd\n", file_size(path),
	       n);
	T_CHECK(file_size(path) == PIECES && n == 0, "a write went astray");
	close(p[0]);
}

static void pclose_cat(const char *path)
{
	char cmd[512];
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd), "exec cat > '%s'", path);
	f = popen(cmd, "w");
	if (!f)
		exit(T_EXIT_FAIL);
	write_pieces(fileno(f), 'c');
	st = pclose(f);
	printf("pclose: status %d, cat wrote %zu bytes\n", st,
	       file_size(path));
	T_CHECK(st == 0 && file_size(path) == PIECES, "pclose lost data");
}

int main(void)
{
	char path[] = "/tmp/shim-fclose-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return T_EXIT_SKIP;
	close(fd);
	t_watchdog(60);
	fclose_then_reuse(path);
	pclose_cat(path);
	unlink(path);
	return t_end();
}
