/* SPDX-License-Identifier: MIT */
/* Regular files: positions, offsets, vectors, EOF, errors, large reads. */
#include <sys/stat.h>
#include <sys/uio.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: read.ring>=3 pread.ring>=1 readv.ring>=1 preadv.ring>=1 */

#define BIG (16 << 20)
static unsigned char out[BIG], in[BIG];

int main(void)
{
	char path[] = "/tmp/shim-rwfile-XXXXXX", dir[] = "/tmp/shim-dir-XXXXXX";
	struct iovec v[3];
	int fd, wfd, dfd, afd;
	off_t pos;

	t_watchdog(60);
	fd = mkstemp(path);
	T_CHECK(fd >= 0, "mkstemp");
	t_fill(out, BIG, 7);
	T_EXPECT("write 16M", write(fd, out, BIG), BIG, 0);
	T_EXPECT("lseek 0", lseek(fd, 0, SEEK_SET), 0, 0);
	T_EXPECT("read 100", read(fd, in, 100), 100, 0);
	pos = lseek(fd, 0, SEEK_CUR);
	printf("pos %ld\n", (long)pos);
	T_EXPECT("read 4096", read(fd, in + 100, 4096), 4096, 0);
	T_CHECK(!memcmp(in, out, 4196), "sequential data");
	printf("pos %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	T_EXPECT("pread 1000@5000", pread(fd, in, 1000, 5000), 1000, 0);
	T_CHECK(!memcmp(in, out + 5000, 1000), "pread data");
	printf("pos after pread %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	T_EXPECT("pwrite 3@10", pwrite(fd, "XYZ", 3, 10), 3, 0);
	memcpy(out + 10, "XYZ", 3);
	T_EXPECT("pread neg", pread(fd, in, 10, -1), -1, EINVAL);
	v[0] = (struct iovec){ in, 10 };
	v[1] = (struct iovec){ in + 10, 20 };
	v[2] = (struct iovec){ in + 30, 30 };
	lseek(fd, 0, SEEK_SET);
	T_EXPECT("readv 60", readv(fd, v, 3), 60, 0);
	T_CHECK(!memcmp(in, out, 60), "readv data");
	T_EXPECT("preadv 60@100", preadv(fd, v, 3, 100), 60, 0);
	T_CHECK(!memcmp(in, out + 100, 60), "preadv data");
	T_EXPECT("preadv2 -1", preadv2(fd, v, 3, -1, 0), 60, 0);
	T_CHECK(!memcmp(in, out + 60, 60), "preadv2 data");
	printf("pos %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	T_EXPECT("preadv2 @0", preadv2(fd, v, 3, 0, 0), 60, 0);
	T_EXPECT("lseek end", lseek(fd, 0, SEEK_END), BIG, 0);
	T_EXPECT("read at EOF", read(fd, in, 10), 0, 0);
	T_EXPECT("pread past EOF", pread(fd, in, 10, BIG + 5), 0, 0);
	T_EXPECT("pread across EOF", pread(fd, in, 100, BIG - 40), 40, 0);
	lseek(fd, 0, SEEK_SET);
	T_EXPECT("read 1M chunks", t_read_full(fd, in, BIG), BIG, 0);
	T_CHECK(!memcmp(in, out, BIG), "chunked data");
	/* Drop the cache so some reads are partial NOWAIT ones. */
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	lseek(fd, 0, SEEK_SET);
	T_EXPECT("read 16M at once", read(fd, in, BIG), BIG, 0);
	T_CHECK(!memcmp(in, out, BIG), "big read data");

	wfd = open(path, O_WRONLY);
	T_EXPECT("read O_WRONLY", read(wfd, in, 1), -1, EBADF);
	T_EXPECT("pread O_WRONLY", pread(wfd, in, 1, 0), -1, EBADF);
	afd = open(path, O_WRONLY | O_APPEND);
	T_EXPECT("append", write(afd, "tail", 4), 4, 0);
	T_EXPECT("append pos", lseek(afd, 0, SEEK_CUR), BIG + 4, 0);
	T_EXPECT("read tail", pread(fd, in, 10, BIG), 4, 0);
	T_CHECK(!memcmp(in, "tail", 4), "append data");
	T_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	T_EXPECT("read dir", read(dfd, in, 10), -1, EISDIR);
	close(dfd);
	close(afd);
	close(wfd);
	close(fd);
	unlink(path);
	rmdir(dir);
	return t_end();
}
