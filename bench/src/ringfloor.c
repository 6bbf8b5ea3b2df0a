/*
 * ringfloor: what io_uring itself costs on this machine, with no shim in
 * between; the floor under anything libshim can do per call.
 * Output: "<name> <ns per op> ns <ops>".
 */
#include "bench.h"
#include <fcntl.h>
#include <liburing.h>

#define BATCH 32
#define FILE_SIZE (1 << 20)

static uint64_t budget_ns = 300000000;
static struct io_uring ring;
static int file_fd;
static char *buf;

static void reap(unsigned int n)
{
	struct io_uring_cqe *cqe;

	for (unsigned int i = 0; i < n; i++) {
		if (io_uring_wait_cqe(&ring, &cqe))
			die("wait_cqe");
		if (cqe->res < 0) {
			errno = -cqe->res;
			die("cqe");
		}
		io_uring_cqe_seen(&ring, cqe);
	}
}

/* One submission of n ops + wait for all of them. */
static void nop_n(unsigned int n, size_t size)
{
	(void)size;
	for (unsigned int i = 0; i < n; i++)
		io_uring_prep_nop(io_uring_get_sqe(&ring));
	if (io_uring_submit_and_wait(&ring, n) < 0)
		die("submit");
	reap(n);
}

static void read_n(unsigned int n, size_t size)
{
	for (unsigned int i = 0; i < n; i++)
		io_uring_prep_read(io_uring_get_sqe(&ring), file_fd,
				   buf + i * size, size, (i * size) % FILE_SIZE);
	if (io_uring_submit_and_wait(&ring, n) < 0)
		die("submit");
	reap(n);
}

static void pread_n(unsigned int n, size_t size)
{
	for (unsigned int i = 0; i < n; i++)
		if (pread(file_fd, buf, size, 0) != (ssize_t)size)
			die("pread");
}

static void measure(const char *name, void (*fn)(unsigned int, size_t),
		    unsigned int per_call, size_t size)
{
	uint64_t ops = 0, t0, el;

	fn(per_call, size);
	t0 = now_ns();
	do {
		for (int i = 0; i < 16; i++)
			fn(per_call, size);
		ops += 16 * per_call;
		el = now_ns() - t0;
	} while (el < budget_ns);
	printf("%s %.1f ns %llu\n", name, (double)el / ops,
	       (unsigned long long)ops);
	fflush(stdout);
}

static void make_file(void)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[4096];

	snprintf(path, sizeof(path), "%s/ringfloor.XXXXXX", dir);
	file_fd = mkstemp(path);
	if (file_fd < 0)
		die("mkstemp %s", path);
	unlink(path);
	memset(buf, 'r', FILE_SIZE);
	if (write_all(file_fd, buf, FILE_SIZE))
		die("write");
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 64, 4096 };
	char name[64];
	int opt;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't') {
			fprintf(stderr, "usage: ringfloor [-t ms]\n");
			return 2;
		}
		budget_ns = strtoull(optarg, NULL, 10) * 1000000ull;
	}
	buf = malloc(FILE_SIZE + BATCH * 4096);
	if (!buf)
		die("malloc");
	make_file();
	if (io_uring_queue_init(64, &ring, 0))
		die("io_uring_queue_init");
	measure("nop.single", nop_n, 1, 0);
	measure("nop.batch32", nop_n, BATCH, 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(name, sizeof(name), "pread.syscall.%zu", sizes[i]);
		measure(name, pread_n, 1, sizes[i]);
		snprintf(name, sizeof(name), "read.uring1.%zu", sizes[i]);
		measure(name, read_n, 1, sizes[i]);
		snprintf(name, sizeof(name), "read.uring32.%zu", sizes[i]);
		measure(name, read_n, BATCH, sizes[i]);
	}
	io_uring_queue_exit(&ring);
	close(file_fd);
	return 0;
}
