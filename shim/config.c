/* SPDX-License-Identifier: MIT */
/*
 * Configuration from the environment and the rules files, read once at
 * start-up. This runs in the constructor (or at the first interposed call,
 * before it): no malloc, no stdio on files, and files are read with raw
 * syscalls so the shim never enters its own read().
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring/ring.h"
#include "shim/shim.h"

struct shim_config shim_cfg = {
	.log_level = LOG_OFF,
	.route = ROUTE_DEFAULT,
	.sq_idle_ms = 10,
	.sq_cpu = -1,
	.spin_us = 20,
	.adapt = true,
	.batch_bytes = 64 * 1024,
	.batch_us = 1000,
	.batch_chain = true,
	.stats_path = "",
};
static char stats_path[SHIM_STATS_PATH_MAX] SHIM_LARGE;

/* False when unset or unparseable (then *out is left alone). */
static const char *setting(const char *name);

static bool parse_uint(const char *name, unsigned max, unsigned *out)
{
	const char *s = setting(name);
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

/*
 * Rules: lines of "program profile [VAR=value ...]" in SHIM_CONFIG, or else
 * the user's file and then /etc/libshim.conf; the first line whose program
 * matches wins. The matched line's words stay in rules_buf (split in place),
 * so nothing is allocated; a file longer than the buffer is used in part.
 */
#define RULES_BYTES 16384
#define RULE_VARS 8

static char rules_buf[RULES_BYTES + 1] SHIM_LARGE;
static struct {
	bool matched;
	const char *profile;		/* exact, sqpoll, batch or off */
	const char *var[RULE_VARS];	/* "SHIM_X=value" */
	unsigned nvar;
	char where[300];		/* file:line, for SHIM_LOG=info */
} rule;

/* What a rule may set: the variables this file reads, but not the
 * per-process ones (SHIM_STATS, SHIM_ONLY, SHIM_SKIP) nor SHIM_PROFILE,
 * which is the rule's second word. */
static const char *const rule_settable[] = {
	"SHIM_LOG", "SHIM_DISABLE", "SHIM_ROUTE", "SHIM_STRICT", "SHIM_KERNEL",
	"SHIM_SQ_IDLE_MS", "SHIM_SQ_CPU", "SHIM_SPIN_US", "SHIM_BATCH_BYTES",
	"SHIM_BATCH_US", "SHIM_BATCH_FLUSH", "SHIM_FIXED_FILES",
};

/* The environment first, even when empty: a variable set explicitly wins
 * over any rule (SHIM_BATCH_US= cancels a rule's value). */
static const char *setting(const char *name)
{
	const char *s = getenv(name);
	size_t len = strlen(name);
	unsigned i;

	if (s)
		return *s ? s : NULL;
	if (!rule.matched)
		return NULL;
	if (!strcmp(name, "SHIM_PROFILE"))
		return strcmp(rule.profile, "off") ? rule.profile : NULL;
	if (!strcmp(name, "SHIM_DISABLE") && !strcmp(rule.profile, "off"))
		return "1";
	for (i = 0; i < rule.nvar; i++)
		if (!strncmp(rule.var[i], name, len) && rule.var[i][len] == '=')
			return rule.var[i][len + 1] ? rule.var[i] + len + 1 : NULL;
	return NULL;
}

static const char *env(const char *name)
{
	return setting(name);
}

static bool rule_var_ok(const char *w)
{
	const char *eq = strchr(w, '=');
	size_t i, len = eq ? (size_t)(eq - w) : 0;

	for (i = 0; eq && i < sizeof(rule_settable) / sizeof(rule_settable[0]); i++)
		if (strlen(rule_settable[i]) == len &&
		    !memcmp(rule_settable[i], w, len))
			return true;
	return false;
}

/* The whole file into rules_buf, or -1 (a missing file is no rules). */
static long rules_read(const char *path)
{
	long fd, n, got = 0;

	fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (got < RULES_BYTES) {
		n = syscall(SYS_read, (int)fd, rules_buf + got,
			    (size_t)(RULES_BYTES - got));
		if (n <= 0)
			break;
		got += n;
	}
	if (got == RULES_BYTES)
		shim_warn("%s: longer than %d bytes; the rest is ignored",
			  path, RULES_BYTES);
	syscall(SYS_close, (int)fd);
	rules_buf[got] = '\0';
	return got;
}

/*
 * The executable's own name (the interpreter of a script, the target of a
 * symlink), read only when a rule needs it: most processes have no rules
 * file, and every one would pay for the readlink.
 */
const char *shim_exe_base(void)
{
	static char exe[256];
	static bool known;
	const char *base;
	long n;

	if (!known) {
		n = syscall(SYS_readlink, "/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
		known = true;
	}
	base = strrchr(exe, '/');
	return base ? base + 1 : exe;
}

/*
 * Parse one file; every line is checked (a bad one is warned about once
 * and skipped), the first that matches one of the names is kept. True if
 * one did.
 */
static bool rules_parse(const char *path, const char *name)
{
	char *line = rules_buf, *next;
	unsigned lineno = 0;

	if (rules_read(path) < 0)
		return false;
	for (; *line; line = next) {
		char *w[2 + RULE_VARS + 1], *p, *hash;
		unsigned n = 0, i;
		const char *bad = NULL;

		lineno++;
		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		for (p = line; n < sizeof(w) / sizeof(w[0]);) {
			p += strspn(p, " \t\r");
			if (!*p)
				break;
			w[n++] = p;
			p += strcspn(p, " \t\r");
			if (*p)
				*p++ = '\0';
		}
		if (!n)
			continue;
		if (n < 2)
			bad = "no profile";
		else if (n > 2 + RULE_VARS)
			bad = "too many settings";
		else if (strcmp(w[1], "exact") && strcmp(w[1], "sqpoll") &&
			 strcmp(w[1], "batch") && strcmp(w[1], "off"))
			bad = w[1];
		for (i = 2; !bad && i < n; i++)
			if (!rule_var_ok(w[i]))
				bad = w[i];
		if (bad) {
			/* Each bad line once per process: the file is read once. */
			shim_warn("%s:%u: '%s': want 'PROGRAM exact|sqpoll|batch|"
				  "off [SHIM_VAR=value ...]' (settable: SHIM_LOG "
				  "SHIM_DISABLE SHIM_ROUTE SHIM_STRICT SHIM_KERNEL "
				  "SHIM_SQ_IDLE_MS SHIM_SQ_CPU SHIM_SPIN_US "
				  "SHIM_BATCH_BYTES SHIM_BATCH_US SHIM_BATCH_FLUSH "
				  "SHIM_FIXED_FILES); line ignored",
				  path, lineno, bad);
			continue;
		}
		if (rule.matched || (strcmp(w[0], "*") && strcmp(w[0], name) &&
				     strcmp(w[0], shim_exe_base())))
			continue;
		rule.matched = true;
		rule.profile = w[1];
		rule.nvar = n - 2;
		for (i = 2; i < n; i++)
			rule.var[i - 2] = w[i];
		snprintf(rule.where, sizeof(rule.where), "%s:%u", path, lineno);
	}
	return rule.matched;
}

/* $XDG_CONFIG_HOME/libshim/rules, or else ~/.config/libshim/rules. */
static bool rules_parse_user(const char *name)
{
	const char *dir = getenv("XDG_CONFIG_HOME"), *tail = "/libshim/rules";
	/* Most paths fit on the stack: a page written is a fault per process. */
	char path[256];
	static char long_path[4096] SHIM_LARGE;

	if (!dir || *dir != '/') {
		dir = getenv("HOME");
		tail = "/.config/libshim/rules";
		if (!dir || !*dir)
			return false;
	}
	if (shim_cat(path, sizeof(path), dir, tail, (char *)NULL))
		return rules_parse(path, name);
	return shim_cat(long_path, sizeof(long_path), dir, tail, (char *)NULL) &&
	       rules_parse(long_path, name);
}

/*
 * The program's names: the one it was started as (argv[0]'s basename,
 * program_invocation_short_name) and its executable's (the interpreter of
 * a script, the target of a symlink), as SHIM_ONLY matches them.
 */
static void rules_load(void)
{
	extern char *program_invocation_short_name;
	const char *name = program_invocation_short_name, *s;

	if (!name)
		name = "";
	s = getenv("SHIM_CONFIG");
	if (s) {	/* set: that file only; empty: no rules at all */
		if (*s)
			rules_parse(s, name);
		return;
	}
	if (!rules_parse_user(name))
		rules_parse("/etc/libshim.conf", name);
}

/* SHIM_LOG=info: the rule that decided, and what of it the environment
 * overrode. */
static void rules_report(void)
{
	char buf[400];
	size_t n = 0;
	unsigned i;
	int m;

	if (!rule.matched || shim_cfg.log_level < LOG_INFO)
		return;
	buf[0] = '\0';
	for (i = 0; i < rule.nvar && n < sizeof(buf); i++) {
		size_t len = strcspn(rule.var[i], "=");

		m = snprintf(buf + n, sizeof(buf) - n, " %s%s", rule.var[i],
			     getenv(strndupa(rule.var[i], len)) ?
			     " (the environment's wins)" : "");
		if (m > 0)
			n += (size_t)m;
	}
	shim_info("rule %s matches %s: %s%s%s", rule.where, shim_exe,
		  rule.profile,
		  getenv(strcmp(rule.profile, "off") ? "SHIM_PROFILE" :
			 "SHIM_DISABLE") ? " (the environment's wins)" : "",
		  buf);
}

void shim_config_banner(void)
{
	static const char *const vars[] = {
		"SHIM_DISABLE", "SHIM_ROUTE", "SHIM_STATS", "SHIM_KERNEL",
		"SHIM_STRICT", "SHIM_ONLY", "SHIM_SKIP", "SHIM_SQ_IDLE_MS",
		"SHIM_SQ_CPU", "SHIM_SPIN_US", "SHIM_ADAPT", "SHIM_SQ_ADAPT",
		"SHIM_BATCH_BYTES",
		"SHIM_BATCH_US", "SHIM_BATCH_FLUSH", "SHIM_FIXED_FILES",
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
	s = setting("SHIM_LOG");
	if (s && *s) {	/* for the rules' own warnings */
		int lvl = parse_level(s);

		shim_cfg.log_level = lvl < 0 ? LOG_WARN : lvl;
	}
	rules_load();
	shim_cfg.log_level = LOG_WARN;
	s = setting("SHIM_LOG");
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
	s = setting("SHIM_DISABLE");
	if (s && *s && strcmp(s, "0"))
		shim_cfg.disable = true;
	s = setting("SHIM_ROUTE");
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
	/* SHIM_SQ_ADAPT: its name from when only sqpoll had a judge. */
	s = env("SHIM_ADAPT");
	if (!s)
		s = env("SHIM_SQ_ADAPT");
	if (s && !strcmp(s, "0"))
		shim_cfg.adapt = false;
	if (parse_uint("SHIM_BATCH_BYTES", 4 << 20, &shim_cfg.batch_bytes) &&
	    shim_cfg.batch_bytes < 4096) {
		shim_warn("SHIM_BATCH_BYTES: at least 4096; using 4096");
		shim_cfg.batch_bytes = 4096;
	}
	if (parse_uint("SHIM_BATCH_US", 1000000, &shim_cfg.batch_us) &&
	    !shim_cfg.batch_us)
		shim_cfg.batch_us = 1;
	s = env("SHIM_BATCH_FLUSH");
	if (s && !strcmp(s, "write"))
		shim_cfg.batch_chain = false;
	else if (s && *s && strcmp(s, "ring"))
		shim_warn("SHIM_BATCH_FLUSH: '%s' is neither ring nor write; "
			  "using ring", s);
	parse_uint("SHIM_FIXED_FILES", 255, &shim_cfg.fixed_after);
	{
		unsigned cpu;

		if (parse_uint("SHIM_SQ_CPU", 4095, &cpu))
			shim_cfg.sq_cpu = (int)cpu;
	}
	shim_cfg.only = env("SHIM_ONLY");
	shim_cfg.skip = env("SHIM_SKIP");
	s = setting("SHIM_KERNEL");
	if (s && *s) {
		if (ring_parse_kernel(s, &ring_kernel_limit) < 0)
			shim_warn("SHIM_KERNEL: '%s' is not a version like 5.15 "
				  "or 6.1; ignored", s);
	}
	s = setting("SHIM_STATS");
	if (s && *s) {
		if (strlen(s) >= sizeof(stats_path) - 32) {
			shim_warn("SHIM_STATS: path too long, statistics off");
		} else {
			strcpy(stats_path, s);
			shim_cfg.stats_path = stats_path;
		}
	}
	shim_cfg.log_level = level;
	rules_report();
}
