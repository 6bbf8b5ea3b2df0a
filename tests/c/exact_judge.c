/* SPDX-License-Identifier: MIT */
/*
 * exact's judge on calls the kernel serves at once: 64-byte reads of a
 * cached file, each cheaper as its syscall than as an op on a plain ring.
 * The first phase, preads for PHASE1_S, outlasts the judge's first look
 * and its first trials: their ring half must serve correct data
 * (pread.ring). The second, PHASE2_READS plain reads, comes after them,
 * when the judge has found libc cheaper: most of them must go there
 * (read.real, fallback.cheaper), again with correct data. Without the
 * judge every one of them would be a ring op.
 */
#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=exact SHIM_ADAPT=1 */
/* SHIM-EXPECT: rings>=1 pread.ring>=512 read.real>=200000 */
/* SHIM-EXPECT: fallback.cheaper>=200000 */

#define REC	 64
#define RECS	 1024		/* a 64 KiB file, read over and over */
#define PHASE1_S 0.25
#define PHASE1_MIN 1000
#define PHASE2_READS 400000

static unsigned char file[REC * RECS];

int main(void)
{
	char path[] = "/tmp/shim-exactjudge-XXXXXX";
	unsigned char got[REC];
	long calls = 0, bad = 0, i;
	double end;
	int fd;

	t_watchdog(120);
	fd = mkstemp(path);
	if (fd < 0)
		return T_EXIT_FAIL;
	unlink(path);
	t_fill(file, sizeof(file), 3);
	T_EXPECT("write 64K", write(fd, file, sizeof(file)), sizeof(file), 0);

	/* Phase 1: past the judge's first look (50 ms) and its trials. */
	end = t_now() + PHASE1_S;
	while (t_now() < end || calls < PHASE1_MIN) {
		long rec = calls % RECS;

		if (pread(fd, got, REC, rec * REC) != REC ||
		    memcmp(got, file + rec * REC, REC))
			bad++;
		calls++;
	}
	printf("phase 1: at least %d preads, %ld wrong\n", PHASE1_MIN, bad);
	T_CHECK(!bad, "%ld of %ld preads wrong", bad, calls);

	/* Phase 2: the file's records in turn, rewound at its end. */
	bad = 0;
	for (i = 0; i < PHASE2_READS; i++) {
		long rec = i % RECS;

		if (!rec && lseek(fd, 0, SEEK_SET) != 0)
			bad++;
		if (read(fd, got, REC) != REC ||
		    memcmp(got, file + rec * REC, REC))
			bad++;
	}
	printf("phase 2: %d reads, %ld wrong\n", PHASE2_READS, bad);
	T_CHECK(!bad, "%ld of %d reads wrong", bad, PHASE2_READS);
	close(fd);
	return t_end();
}
