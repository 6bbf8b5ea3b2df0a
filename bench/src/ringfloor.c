/*
 * ringfloor: what io_uring itself costs on this machine, with no shim in
 * between; the floor under anything libshim can do per call.
 * Output: "<name> <ns per op> ns <ops>".
 *
 * flush8.*: what the batch profile's flush of eight fds' buffers (64 bytes
 * each, to pipes or unix stream sockets) costs per write: eight write(2)s,
 * or one io_uring_enter with the eight as one linked chain (what keeps
 * their order), or unlinked. Only the writes are timed; the reads that
 * drain the other ends are not.
 *
 * *.fixed: the same with the file registered (IOSQE_FIXED_FILE), which
 * spares the kernel taking and dropping a reference to the file per op:
 * what registered files could save the shim's ring ops at best.
 *
 * fdtable.*: a 64-byte write and read through one pipe, as system calls,
 * in a process of one thread (solo), beside a second thread that only
 * sleeps (idle: once the fd table is shared, the kernel takes a reference
 * on each call's file), and beside that thread on a private fd table of
 * its own (private). What a helper thread of the shim (batch's flusher)
 * costs every call of the process, and what unsharing the table saves.
 */
#include "bench.h"
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define BATCH 32
#define FILE_SIZE (1 << 20)

static uint64_t budget_ns = 300000000;
static struct io_uring ring;
static int file_fd;
static bool fixed;	/* ops name registered file slots, not fds */
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

/* With fixed set, the op names slot: the file registered at that index. */
static void set_file(struct io_uring_sqe *sqe, int slot)
{
	if (fixed) {
		sqe->fd = slot;
		sqe->flags |= IOSQE_FIXED_FILE;
	}
}

static void read_n(unsigned int n, size_t size)
{
	struct io_uring_sqe *sqe;

	for (unsigned int i = 0; i < n; i++) {
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read(sqe, file_fd, buf + i * size, size,
				   (i * size) % FILE_SIZE);
		set_file(sqe, 0);
	}
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

#define FLUSH_FDS 8
enum flush_how { FLUSH_SYSCALLS, FLUSH_LINKED, FLUSH_UNLINKED };

static void flush_once(const int *w, bool sock, enum flush_how how)
{
	struct io_uring_sqe *sqe;

	for (int i = 0; i < FLUSH_FDS; i++) {
		if (how == FLUSH_SYSCALLS) {
			if ((sock ? send(w[i], buf, 64, MSG_NOSIGNAL)
				  : write(w[i], buf, 64)) != 64)
				die("write");
			continue;
		}
		sqe = io_uring_get_sqe(&ring);
		if (sock)
			io_uring_prep_send(sqe, w[i], buf, 64, MSG_NOSIGNAL);
		else
			io_uring_prep_write(sqe, w[i], buf, 64, 0);
		set_file(sqe, i);
		if (how == FLUSH_LINKED && i < FLUSH_FDS - 1)
			sqe->flags |= IOSQE_IO_LINK;
	}
	if (how == FLUSH_SYSCALLS)
		return;
	if (io_uring_submit_and_wait(&ring, FLUSH_FDS) < 0)
		die("submit");
	reap(FLUSH_FDS);
}

static void measure_flush(const char *name, bool sock, enum flush_how how)
{
	int w[FLUSH_FDS], r[FLUSH_FDS], p[2];
	uint64_t ops = 0, el = 0, t0, start = now_ns();
	char sink[64];

	for (int i = 0; i < FLUSH_FDS; i++) {
		if (sock ? socketpair(AF_UNIX, SOCK_STREAM, 0, p) : pipe(p))
			die("pipe");
		r[i] = p[0];
		w[i] = p[1];
	}
	if (fixed && io_uring_register_files(&ring, w, FLUSH_FDS))
		die("register_files");
	do {
		t0 = now_ns();
		flush_once(w, sock, how);
		el += now_ns() - t0;
		ops += FLUSH_FDS;
		for (int i = 0; i < FLUSH_FDS; i++)
			if (read(r[i], sink, sizeof(sink)) != 64)
				die("read");
	} while (now_ns() - start < budget_ns);
	if (fixed)
		io_uring_unregister_files(&ring);
	for (int i = 0; i < FLUSH_FDS; i++) {
		close(r[i]);
		close(w[i]);
	}
	printf("%s %.1f ns %llu\n", name, (double)el / ops,
	       (unsigned long long)ops);
	fflush(stdout);
}

enum fd_share { SHARE_SOLO, SHARE_IDLE, SHARE_PRIVATE };
static int share_pipe[2];
static atomic_int share_ready;

static void pipe_rw_n(unsigned int n, size_t size)
{
	for (unsigned int i = 0; i < n; i++)
		if (write(share_pipe[1], buf, size) != (ssize_t)size ||
		    read(share_pipe[0], buf, size) != (ssize_t)size)
			die("pipe");
}

static void *idle_thread(void *arg)
{
	if (*(enum fd_share *)arg == SHARE_PRIVATE &&
	    (unshare(CLONE_FILES) ||
	     syscall(SYS_close_range, 0U, ~0U, 0U)))
		die("unshare");
	atomic_store(&share_ready, 1);
	for (;;)
		pause();
	return NULL;
}

/* In a child of its own: no thread nor io-wq worker from the rest. */
static void measure_share(const char *name, enum fd_share how)
{
	pthread_t t;
	int st;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (pipe(share_pipe))
			die("pipe");
		if (how != SHARE_SOLO) {
			if (pthread_create(&t, NULL, idle_thread, &how))
				die("pthread_create");
			while (!atomic_load(&share_ready))
				sched_yield();
		}
		measure(name, pipe_rw_n, 1, 64);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		die("%s: child failed", name);
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
	if (io_uring_register_files(&ring, &file_fd, 1))
		die("register_files");
	fixed = true;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(name, sizeof(name), "read.uring1.%zu.fixed", sizes[i]);
		measure(name, read_n, 1, sizes[i]);
	}
	io_uring_unregister_files(&ring);
	fixed = false;
	for (int sock = 0; sock < 2; sock++) {
		static const char *how[] = { "syscalls", "linked", "unlinked" };

		for (int h = FLUSH_SYSCALLS; h <= FLUSH_UNLINKED; h++) {
			snprintf(name, sizeof(name), "flush8.%s.%s",
				 sock ? "unix" : "pipe", how[h]);
			measure_flush(name, sock, (enum flush_how)h);
		}
		snprintf(name, sizeof(name), "flush8.%s.linked.fixed",
			 sock ? "unix" : "pipe");
		fixed = true;
		measure_flush(name, sock, FLUSH_LINKED);
		fixed = false;
	}
	measure_share("fdtable.solo", SHARE_SOLO);
	measure_share("fdtable.idle", SHARE_IDLE);
	measure_share("fdtable.private", SHARE_PRIVATE);
	io_uring_queue_exit(&ring);
	close(file_fd);
	return 0;
}
