/*
 * micro: cost of one blocking call, measured the ordinary way (a loop around
 * the call in one thread).  Every case is a pair that cannot block: write
 * then read back the same bytes, so the numbers are per-call overhead and
 * not scheduler wake-ups.  Output: "<name> <value> <unit> <iterations>".
 *   -c pipe|unix|tcp|file|zero|accept  (repeatable; default all)
 *   -t ms per measurement (default 200)
 */
#include "net.h"
#include <fcntl.h>

#define BATCH 64
#define FILE_SIZE (1 << 20)

struct ctx {
	int rfd, wfd;
	char *buf;
	size_t size;
	off_t off;
};

typedef void (*op_fn)(struct ctx *c);

static const size_t sizes[] = { 64, 4096, 65536 };
static uint64_t budget_ns = 200000000;

static void measure(const char *name, op_fn fn, struct ctx *c)
{
	uint64_t n = 0, t0, el;

	for (int i = 0; i < BATCH; i++)	/* fault in buffers, warm caches */
		fn(c);
	t0 = now_ns();
	do {
		for (int i = 0; i < BATCH; i++)
			fn(c);
		n += BATCH;
		el = now_ns() - t0;
	} while (el < budget_ns);
	printf("%s.%zu %.1f ns %llu\n", name, c->size, (double)el / n,
	       (unsigned long long)n);
	fflush(stdout);
}

static void op_write_read(struct ctx *c)
{
	if (write_all(c->wfd, c->buf, c->size) ||
	    read_full(c->rfd, c->buf, c->size))
		die("write/read");
}

static void op_send_recv(struct ctx *c)
{
	size_t done;

	for (done = 0; done < c->size;) {
		ssize_t n = send(c->wfd, c->buf + done, c->size - done, 0);

		if (n < 0)
			die("send");
		done += n;
	}
	for (done = 0; done < c->size;) {
		ssize_t n = recv(c->rfd, c->buf + done, c->size - done, 0);

		if (n <= 0)
			die("recv");
		done += n;
	}
}

static void op_pread(struct ctx *c)
{
	if (pread(c->rfd, c->buf, c->size, c->off) != (ssize_t)c->size)
		die("pread");
	c->off = (c->off + c->size) % FILE_SIZE;
}

static void op_read(struct ctx *c)
{
	if (read(c->rfd, c->buf, c->size) != (ssize_t)c->size)
		die("read");
}

static void each_size(const char *name, op_fn fn, struct ctx *c)
{
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		c->size = sizes[i];
		c->off = 0;
		measure(name, fn, c);
	}
}

/* Big buffers so the largest message never blocks the single thread. */
static void grow_buffers(int fd)
{
	int sz = 1 << 20;

	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

static void case_pipe(struct ctx *c)
{
	int p[2];

	if (pipe(p))
		die("pipe");
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	c->rfd = p[0];
	c->wfd = p[1];
	each_size("pipe.write+read", op_write_read, c);
	close(p[0]);
	close(p[1]);
}

static void case_unix(struct ctx *c)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("socketpair");
	grow_buffers(sv[0]);
	grow_buffers(sv[1]);
	c->wfd = sv[0];
	c->rfd = sv[1];
	each_size("unix.send+recv", op_send_recv, c);
	close(sv[0]);
	close(sv[1]);
}

static void case_tcp(struct ctx *c)
{
	struct sockaddr_in sa;
	int port, lfd = tcp_listen("127.0.0.1", 0, &port), cfd, afd;

	addr_of(&sa, "127.0.0.1", port);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (cfd < 0)
		die("socket");
	grow_buffers(cfd);
	if (connect(cfd, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect");
	afd = accept(lfd, NULL, NULL);
	if (afd < 0)
		die("accept");
	grow_buffers(afd);
	set_nodelay(cfd);
	c->wfd = cfd;
	c->rfd = afd;
	each_size("tcp.send+recv", op_send_recv, c);
	close(afd);
	close(cfd);
	close(lfd);
}

static void case_file(struct ctx *c)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/micro.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		die("mkstemp %s", path);
	unlink(path);
	memset(c->buf, 'f', FILE_SIZE);
	if (write_all(fd, c->buf, FILE_SIZE))
		die("write");
	c->rfd = fd;
	each_size("file.pread", op_pread, c);
	close(fd);
}

static void case_zero(struct ctx *c)
{
	c->rfd = open("/dev/zero", O_RDONLY);
	if (c->rfd < 0)
		die("open /dev/zero");
	each_size("zero.read", op_read, c);
	close(c->rfd);
}

/* connect + accept + close of both ends: the short-connection floor. */
static void case_accept(void)
{
	struct linger abort_close = { .l_onoff = 1, .l_linger = 0 };
	struct sockaddr_in sa;
	int port, lfd = tcp_listen("127.0.0.1", 0, &port);
	uint64_t n = 0, t0, el;

	addr_of(&sa, "127.0.0.1", port);
	t0 = now_ns();
	do {
		int cfd = tcp_connect(&sa), afd;

		if (cfd < 0)
			die("connect");
		afd = accept(lfd, NULL, NULL);
		if (afd < 0)
			die("accept");
		/* RST instead of FIN: thousands of loops per second would
		 * otherwise fill the ephemeral port range with TIME_WAIT. */
		setsockopt(cfd, SOL_SOCKET, SO_LINGER, &abort_close,
			   sizeof(abort_close));
		close(cfd);
		close(afd);
		n++;
		el = now_ns() - t0;
	} while (el < budget_ns);
	printf("tcp.accept+connect %.1f pairs/s %llu\n", n * 1e9 / el,
	       (unsigned long long)n);
	close(lfd);
}

static int wanted(const char *name, char **cases, int ncases)
{
	if (!ncases)
		return 1;
	for (int i = 0; i < ncases; i++)
		if (!strcmp(cases[i], name))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct ctx c = { 0 };
	char *cases[16];
	int ncases = 0, opt;

	while ((opt = getopt(argc, argv, "c:t:")) != -1) {
		if (opt == 'c' && ncases < 16) {
			cases[ncases++] = optarg;
		} else if (opt == 't') {
			budget_ns = strtoull(optarg, NULL, 10) * 1000000ull;
		} else {
			fprintf(stderr, "usage: micro [-c case]... [-t ms]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	c.buf = malloc(FILE_SIZE);
	if (!c.buf)
		die("malloc");
	if (wanted("pipe", cases, ncases))
		case_pipe(&c);
	if (wanted("unix", cases, ncases))
		case_unix(&c);
	if (wanted("tcp", cases, ncases))
		case_tcp(&c);
	if (wanted("file", cases, ncases))
		case_file(&c);
	if (wanted("zero", cases, ncases))
		case_zero(&c);
	if (wanted("accept", cases, ncases))
		case_accept();
	free(c.buf);
	return 0;
}
