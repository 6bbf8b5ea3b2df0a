/* SPDX-License-Identifier: MIT */
/*
 * The live-statistics file each shimmed process publishes, read by
 * scripts/shim-stat. Layout version 3; shim-stat parses it with these exact
 * offsets (x86_64, little endian), so any change bumps SHIM_LIVE_VERSION.
 * The counters' names and the mode's are in the file (shim/stats.c defines
 * them): the reader lists what it finds, not a copy of its own.
 */
#ifndef SHIM_LIVE_H
#define SHIM_LIVE_H

#include <stdint.h>

#include "shim/shim.h"

#define SHIM_LIVE_MAGIC "LIBSHIM"
#define SHIM_LIVE_VERSION 3

struct shim_live {
	char magic[8];		/* "LIBSHIM\0" */
	uint32_t version;
	uint32_t size;		/* sizeof(struct shim_live) */
	int32_t pid;
	int32_t mode;		/* enum shim_mode */
	uint32_t ncalls;	/* C__NR */
	uint32_t nwhy;		/* W__NR */
	uint64_t start_ns;	/* CLOCK_REALTIME at publication */
	char exe[64];
	char why[128];
	/*
	 * Version 2: the counters are the threads' own slots (shim/shim.h),
	 * nslots of them, each nwords uint64 at slots_off + i * slot_size;
	 * their sum is the process's count, in struct shim_stats order.
	 */
	uint32_t nslots;
	uint32_t slot_size;
	uint32_t slots_off;
	uint32_t nwords;
	/*
	 * Version 3: the nwords counters' names, space-separated, in their
	 * order, names_len bytes at names_off in the header's page; and the
	 * mode by name (mode above: its number).
	 */
	uint32_t names_off;
	uint32_t names_len;
	char mode_name[16];
};
/* The slots follow the header's page, mapped where they always were. */
#define SHIM_LIVE_SLOTS_OFF 4096
#define SHIM_LIVE_NAMES_OFF 512
_Static_assert(sizeof(struct shim_live) <= SHIM_LIVE_NAMES_OFF, "header");

/* stats.c: the counters' names (shim-stat's schema), the mode's name. */
int stat_names(char *buf, size_t len);
const char *shim_mode_name(int mode);

#endif
