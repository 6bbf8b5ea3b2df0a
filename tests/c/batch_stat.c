/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: what the process wrote to a file is in the size and times
 * every stat call reports, whatever fd or name it asks by, and in what
 * mmap, sendfile and copy_file_range see; times set after a write stay
 * set (the data must not land after them). The time bound is long here,
 * so only the barriers can make the data appear.
 */
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch SHIM_BATCH_US=500000 */
/* SHIM-EXPECT: write.batch>=6 */

static off_t size_by(const char *how, int fd, const char *path)
{
	struct stat st = { 0 };
	struct statx sx = { 0 };

	if (!strcmp(how, "fstat"))
		fstat(fd, &st);
	else if (!strcmp(how, "stat"))
		stat(path, &st);
	else if (!strcmp(how, "lstat"))
		lstat(path, &st);
	else if (!strcmp(how, "fstatat"))
		fstatat(AT_FDCWD, path, &st, 0);
	else if (!strcmp(how, "statx")) {
		statx(AT_FDCWD, path, 0, STATX_SIZE, &sx);
		st.st_size = (off_t)sx.stx_size;
	} else if (!strcmp(how, "lseek-other"))
		st.st_size = lseek(fd, 0, SEEK_END);
	return st.st_size;
}

int main(void)
{
	static const char *const hows[] = { "fstat", "stat", "lstat", "fstatat",
					    "statx", "lseek-other" };
	char path[] = "/tmp/shim-stat-XXXXXX", path2[] = "/tmp/shim-stat2-XXXXXX";
	char buf[64] = "";
	int w = mkstemp(path), r = open(path, O_RDONLY), w2, p[2];
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct stat st;
	size_t i;
	void *m;

	for (i = 0; i < ARRAY_SIZE(hows); i++) {
		write(w, "0123456789", 10);
		printf("%s after write: %ld\n", hows[i],
		       (long)size_by(hows[i], strcmp(hows[i], "lseek-other") ? w : r,
				     path));
	}
	pwrite(w, "P", 1, 60);
	printf("fstat after pwrite: %ld\n", (long)size_by("fstat", w, path));

	/* Times set now are the file's, not those of a later flush. */
	write(w, "tt", 2);
	futimens(w, ts);
	close(w);
	stat(path, &st);
	printf("futimens then close: mtime %ld size %ld\n",
	       (long)st.st_mtim.tv_sec, (long)st.st_size);

	w = open(path, O_WRONLY | O_TRUNC);
	write(w, "mapped!", 7);
	m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, r, 0);
	printf("mmap: '%.7s'\n", m == MAP_FAILED ? "failed" : (char *)m);
	if (m != MAP_FAILED)
		munmap(m, 4096);

	write(w, " sent", 5);
	pipe(p);
	printf("sendfile: %zd\n", sendfile(p[1], r, &(off_t){ 0 }, 64));
	printf("  read: %zd '%s'\n", read(p[0], buf, sizeof(buf) - 1), buf);

	write(w, " copied", 7);
	w2 = mkstemp(path2);
	printf("copy_file_range: %zd\n",
	       copy_file_range(r, &(loff_t){ 0 }, w2, NULL, 64, 0));
	memset(buf, 0, sizeof(buf));
	printf("  pread: %zd '%s'\n", pread(w2, buf, sizeof(buf) - 1, 0), buf);

	write(w, "+", 1);
	truncate(path, 22);
	printf("truncate by name: %ld\n", (long)lseek(r, 0, SEEK_END));
	close(w);
	close(w2);
	close(r);
	unlink(path);
	unlink(path2);
	return t_end();
}
