/* SPDX-License-Identifier: MIT */
/*
 * A process that does nothing writes few of the shim's pages: each page a
 * process writes first is a page fault (12 us in a VM with page table
 * isolation), and every process pays them, a shell's every child. Big
 * arrays belong behind the small variables (SHIM_LARGE); one added
 * between them spreads a start-up's writes over pages again (10 of them
 * before they were moved, 5 after, 6 with SHIM_STATS's path).
 *
 * Counted from /proc/self/pagemap over the shim's writable segment: a
 * page present and not file-backed was written (or read while zero, which
 * costs a fault too). Before anything else and by raw syscalls, so that
 * the count is the start-up's. Without the shim there is nothing to count,
 * nor in a sanitizer's build of it (SHIM_TEST_INSTRUMENTED, from the
 * runner), whose own data the loader relocates: 28 pages under UBSan.
 * Where transparent huge pages of some size are always on, one fault may
 * map many pages: there a count above the bound is only reported.
 */
#include <dirent.h>
#include <link.h>
#include <sys/syscall.h>

#include "testlib.h"

/* The start-up's pages, with room for one more than today's 6. */
#define MAX_PAGES 7

struct seg {
	uintptr_t base, lo, hi;
};

static int find_shim(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct seg *s = arg;

	(void)size;
	if (!info->dlpi_name || !strstr(info->dlpi_name, "libshim"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W)) {
			s->base = info->dlpi_addr;
			s->lo = info->dlpi_addr + ph->p_vaddr;
			s->hi = s->lo + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

/* "[always]" in FILE; INHERIT: the top level's answer for "[inherit]". */
static bool thp_always(const char *file, bool inherit)
{
	char buf[128] = "";
	FILE *f = fopen(file, "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	return strstr(buf, "[always]") || (inherit && strstr(buf, "[inherit]"));
}

/* Could a fault in an anonymous mapping map more than one page? */
static bool thp_may_batch(void)
{
	const char *dir = "/sys/kernel/mm/transparent_hugepage";
	bool top, any;
	char file[512];
	struct dirent *e;
	DIR *d;

	snprintf(file, sizeof(file), "%s/enabled", dir);
	top = thp_always(file, false);
	any = top;
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, "hugepages-", 10))
			continue;
		snprintf(file, sizeof(file), "%s/%s/enabled", dir, e->d_name);
		any = any || thp_always(file, top);
	}
	if (d)
		closedir(d);
	return any;
}

int main(void)
{
	static uintptr_t written[64];
	struct seg s = { 0, 0, 0 };
	long page = sysconf(_SC_PAGESIZE);
	unsigned n = 0, total = 0;
	int fd;

	if (!getenv("SHIM_TEST_INSTRUMENTED"))
		dl_iterate_phdr(find_shim, &s);
	if (s.lo) {
		fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/pagemap",
				  O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			printf("pagemap: %s\n", strerror(errno));
			return T_EXIT_FAIL;
		}
		for (uintptr_t a = s.lo & ~(uintptr_t)(page - 1); a < s.hi;
		     a += (uintptr_t)page) {
			uint64_t e;

			if (syscall(SYS_pread64, fd, &e, sizeof(e),
				    (off_t)(a / (uintptr_t)page * sizeof(e))) !=
			    sizeof(e))
				break;
			total++;
			/* bit 63: present; bit 61: file page or shared. */
			if ((e >> 63 & 1) && !(e >> 61 & 1)) {
				if (n < ARRAY_SIZE(written))
					written[n] = a - s.base;
				n++;
			}
		}
		syscall(SYS_close, fd);
		T_CHECK(total > 0, "no page of the writable segment read");
		if (n > MAX_PAGES && thp_may_batch()) {
			fprintf(stderr, "%u pages present, with transparent huge "
				"pages always on: not counted as written\n", n);
		} else {
			T_CHECK(n <= MAX_PAGES, "%u of %u pages written at start-up",
				n, total);
			if (n > MAX_PAGES)
				for (unsigned i = 0; i < n && i < ARRAY_SIZE(written); i++)
					printf("  0x%lx\n", (unsigned long)written[i]);
		}
	}
	printf("pages written at start-up: at most %d\n", MAX_PAGES);
	return t_failed ? T_EXIT_FAIL : T_EXIT_PASS;
}
