/* SPDX-License-Identifier: MIT */
/* Configuration from the environment, read once at start-up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring/ring.h"
#include "shim/shim.h"

struct shim_config shim_cfg = {
	.log_level = LOG_OFF,
	.route = ROUTE_DEFAULT,
	.sq_idle_ms = 10,
	.sq_cpu = -1,
	.spin_us = 20,
	.sq_adapt = true,
	.batch_bytes = 64 * 1024,
	.batch_us = 1000,
};

/* False when unset or unparseable (then *out is left alone). */
static bool parse_uint(const char *name, unsigned max, unsigned *out)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (!s || !*s)
		return false;
	v = strtoul(s, &end, 10);
	if (*end || v > max || *s == '-') {
		shim_warn("%s: '%s' is not a number from 0 to %u; ignored",
			  name, s, max);
		return false;
	}
	*out = (unsigned)v;
	return true;
}

static const struct {
	const char *name;
	unsigned bits;
} route_names[] = {
	{ "socket", ROUTE_SOCKET },
	{ "pipe", ROUTE_PIPE },
	{ "file-read", ROUTE_FILE_READ },
	{ "file-write", ROUTE_FILE_WRITE | ROUTE_FILE_WRITE_NOWAIT },
	{ "file", ROUTE_FILE_READ | ROUTE_FILE_WRITE | ROUTE_FILE_WRITE_NOWAIT },
	{ "other", ROUTE_OTHER },
	{ "all", ~0U },
	{ "none", 0 },
	{ "default", ROUTE_DEFAULT },
};

static int route_lookup(const char *w, size_t len, unsigned *bits)
{
	size_t i;

	for (i = 0; i < sizeof(route_names) / sizeof(route_names[0]); i++) {
		if (strlen(route_names[i].name) == len &&
		    !memcmp(route_names[i].name, w, len)) {
			*bits = route_names[i].bits;
			return 0;
		}
	}
	return -1;
}

/*
 * SHIM_ROUTE: a comma list. Plain words replace the default set; words with
 * a leading '+' or '-' add to or remove from it ("-pipe", "+file-write").
 */
static void parse_route(const char *s)
{
	unsigned set = 0, add = 0, del = 0, bits;
	bool absolute = false;
	const char *w = s;

	while (*w) {
		size_t len = strcspn(w, ",");
		char sign = 0;
		const char *name = w;

		if (*name == '+' || *name == '-') {
			sign = *name++;
			len--;
		}
		if (len && route_lookup(name, len, &bits) == 0) {
			if (sign == '+')
				add |= bits;
			else if (sign == '-')
				del |= bits;
			else {
				set |= bits;
				absolute = true;
			}
		} else if (len) {
			shim_warn("SHIM_ROUTE: unknown word '%.*s' ignored "
				  "(known: socket pipe file-read file-write "
				  "file other all none default)", (int)len, name);
		}
		w += len + (sign ? 1 : 0);
		if (*w == ',')
			w++;
	}
	shim_cfg.route = ((absolute ? set : ROUTE_DEFAULT) | add) & ~del;
}

static int parse_level(const char *s)
{
	static const char *const names[] = {
		"off", "error", "warn", "info", "debug"
	};
	int i;

	for (i = 0; i < 5; i++)
		if (!strcmp(s, names[i]))
			return i;
	if (s[0] >= '0' && s[0] <= '4' && !s[1])
		return s[0] - '0';
	return -1;
}

static const char *const profile_names[] = {
	[PROFILE_EXACT] = "exact", [PROFILE_SQPOLL] = "sqpoll",
	[PROFILE_BATCH] = "batch",
};

static void parse_profile(const char *s)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (!strcmp(s, profile_names[i])) {
			shim_cfg.profile = i;
			return;
		}
	}
	shim_warn("SHIM_PROFILE: unknown profile '%s' (exact, sqpoll, batch); "
		  "using exact", s);
}

/* Is name one of the words of a comma list? */
bool shim_name_in_list(const char *list, const char *name)
{
	size_t len = strlen(name);
	const char *w = list;

	while (*w) {
		size_t n = strcspn(w, ",");

		if (n == len && !memcmp(w, name, len))
			return true;
		w += n;
		if (*w == ',')
			w++;
	}
	return false;
}

static const char *env(const char *name)
{
	const char *s = getenv(name);

	return s && *s ? s : NULL;
}

/* SHIM_LOG=info: one line with the profile and every non-default setting. */
void shim_config_banner(void)
{
	static const char *const vars[] = {
		"SHIM_DISABLE", "SHIM_ROUTE", "SHIM_STATS", "SHIM_KERNEL",
		"SHIM_STRICT", "SHIM_ONLY", "SHIM_SKIP", "SHIM_SQ_IDLE_MS",
		"SHIM_SQ_CPU", "SHIM_SPIN_US", "SHIM_SQ_ADAPT", "SHIM_BATCH_BYTES",
		"SHIM_BATCH_US",
	};
	char buf[400];
	size_t i, n = 0;

	if (shim_cfg.log_level < LOG_INFO)
		return;
	buf[0] = '\0';
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = env(vars[i]);
		int m;

		if (!v || n >= sizeof(buf))
			continue;
		m = snprintf(buf + n, sizeof(buf) - n, " %s=%s", vars[i], v);
		if (m > 0)
			n += (size_t)m;
	}
	shim_info("%s: profile %s;%s", shim_exe, profile_names[shim_cfg.profile],
		  n ? buf : " all defaults");
}

void shim_config_load(void)
{
	const char *s;
	int level = LOG_OFF;

	/*
	 * The log level first, so the other parsers can complain. A setting
	 * the shim cannot parse is the user's own mistake and is reported
	 * even when logging is off by default; SHIM_LOG=off silences it.
	 */
	shim_cfg.log_level = LOG_WARN;
	s = getenv("SHIM_LOG");
	if (s && *s) {
		int lvl = parse_level(s);

		if (lvl < 0) {
			shim_cfg.log_level = LOG_WARN;
			shim_warn("SHIM_LOG: unknown level '%s' (use error, "
				  "warn, info or debug); using warn", s);
			level = LOG_WARN;
		} else {
			level = shim_cfg.log_level = lvl;
		}
	}
	s = getenv("SHIM_DISABLE");
	if (s && *s && strcmp(s, "0"))
		shim_cfg.disable = true;
	s = getenv("SHIM_ROUTE");
	if (s && *s)
		parse_route(s);
	s = env("SHIM_STRICT");
	if (s && strcmp(s, "0"))
		shim_cfg.strict = true;
	s = env("SHIM_PROFILE");
	if (s)
		parse_profile(s);
	parse_uint("SHIM_SQ_IDLE_MS", 60000, &shim_cfg.sq_idle_ms);
	parse_uint("SHIM_SPIN_US", 100000, &shim_cfg.spin_us);
	s = env("SHIM_SQ_ADAPT");
	if (s && !strcmp(s, "0"))
		shim_cfg.sq_adapt = false;
	if (parse_uint("SHIM_BATCH_BYTES", 4 << 20, &shim_cfg.batch_bytes) &&
	    shim_cfg.batch_bytes < 4096) {
		shim_warn("SHIM_BATCH_BYTES: at least 4096; using 4096");
		shim_cfg.batch_bytes = 4096;
	}
	if (parse_uint("SHIM_BATCH_US", 1000000, &shim_cfg.batch_us) &&
	    !shim_cfg.batch_us)
		shim_cfg.batch_us = 1;
	{
		unsigned cpu;

		if (parse_uint("SHIM_SQ_CPU", 4095, &cpu))
			shim_cfg.sq_cpu = (int)cpu;
	}
	shim_cfg.only = env("SHIM_ONLY");
	shim_cfg.skip = env("SHIM_SKIP");
	s = getenv("SHIM_KERNEL");
	if (s && *s) {
		if (ring_parse_kernel(s, &ring_kernel_limit) < 0)
			shim_warn("SHIM_KERNEL: '%s' is not a version like 5.15 "
				  "or 6.1; ignored", s);
	}
	s = getenv("SHIM_STATS");
	if (s && *s) {
		if (strlen(s) >= sizeof(shim_cfg.stats_path) - 32)
			shim_warn("SHIM_STATS: path too long, statistics off");
		else
			strcpy(shim_cfg.stats_path, s);
	}
	shim_cfg.log_level = level;
}
