/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: a file opened O_DSYNC or O_SYNC is written when the
 * application writes, never staged: its writes return once the data is
 * on the disk, and a write-behind would return before. A plain file next
 * to them is staged as usual (the counters say which was which: pwrite on
 * the O_DSYNC file, writev on the O_SYNC one, write on the plain one).
 */
#include <sys/stat.h>
#include <sys/uio.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch */
/* SHIM-EXPECT: write.batch>=100 pwrite.batch==0 writev.batch==0 */

#define RECS 200
#define REC 32

static int check(const char *path, const char *what)
{
	char buf[REC * RECS], want[REC];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	printf("%s: %zd bytes\n", what, n);
	for (int i = 0; i < RECS && n == (ssize_t)sizeof(buf); i++) {
		memset(want, 'a' + i % 26, REC);
		if (memcmp(buf + i * REC, want, REC))
			return -1;
	}
	return n == (ssize_t)sizeof(buf) ? 0 : -1;
}

int main(void)
{
	char dir[] = "/tmp/shim-osync.XXXXXX", p[3][256];
	static const char *const names[3] = { "dsync", "sync", "plain" };
	static const int flags[3] = { O_DSYNC, O_SYNC, 0 };
	int fd[3], ret = T_EXIT_PASS;
	char rec[REC];

	if (!mkdtemp(dir))
		return T_EXIT_FAIL;
	for (int f = 0; f < 3; f++) {
		snprintf(p[f], sizeof(p[f]), "%s/%s", dir, names[f]);
		fd[f] = open(p[f], O_WRONLY | O_CREAT | O_TRUNC | flags[f], 0600);
		if (fd[f] < 0)
			return T_EXIT_FAIL;
	}
	for (int i = 0; i < RECS; i++) {
		struct iovec v[2] = { { rec, REC / 2 }, { rec + REC / 2, REC / 2 } };

		memset(rec, 'a' + i % 26, REC);
		/* Two in a row on each: a run, which staging waits for. */
		if (pwrite(fd[0], rec, REC / 2, (off_t)i * REC) != REC / 2 ||
		    pwrite(fd[0], rec + REC / 2, REC / 2,
			   (off_t)i * REC + REC / 2) != REC / 2)
			ret = T_EXIT_FAIL;
		if (writev(fd[1], v, 1) != REC / 2 ||
		    writev(fd[1], v + 1, 1) != REC / 2)
			ret = T_EXIT_FAIL;
		if (write(fd[2], rec, REC / 2) != REC / 2 ||
		    write(fd[2], rec + REC / 2, REC / 2) != REC / 2)
			ret = T_EXIT_FAIL;
	}
	for (int f = 0; f < 3; f++) {
		if (close(fd[f]))
			ret = T_EXIT_FAIL;
		if (check(p[f], names[f]))
			ret = T_EXIT_FAIL;
		unlink(p[f]);
	}
	rmdir(dir);
	printf("%s\n", ret == T_EXIT_PASS ? "ok" : "FAILED");
	return ret;
}
