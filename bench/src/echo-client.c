/*
 * echo-client: load generator for echo-server (or anything that echoes).
 *   -m rr    persistent connections, one request in flight per connection:
 *            requests/s and round-trip latency p50/p99
 *   -m conn  a fresh connection per request: connections/s
 * -c threads (one connection each), -t seconds, -s message size.
 */
#include "net.h"

struct worker {
	pthread_t tid;
	uint64_t done;
	uint32_t *lat_ns;	/* rr only: one sample per request */
	size_t nlat, cap;
	int failed;
};

static struct sockaddr_in target;
static size_t msg_size = 64;
static uint64_t deadline;
static int conn_mode;

static void record(struct worker *w, uint64_t ns)
{
	if (w->nlat == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 65536;
		w->lat_ns = realloc(w->lat_ns, w->cap * sizeof(*w->lat_ns));
		if (!w->lat_ns)
			die("realloc");
	}
	w->lat_ns[w->nlat++] = ns > UINT32_MAX ? UINT32_MAX : ns;
}

static int round_trip(int fd, const char *out, char *in)
{
	return write_all(fd, out, msg_size) || read_full(fd, in, msg_size);
}

static void run_rr(struct worker *w, const char *out, char *in)
{
	int fd = tcp_connect(&target);

	if (fd < 0) {
		w->failed = 1;
		return;
	}
	set_nodelay(fd);
	for (;;) {
		uint64_t t0 = now_ns(), t1;

		if (t0 >= deadline)
			break;
		if (round_trip(fd, out, in)) {
			w->failed = 1;
			break;
		}
		t1 = now_ns();
		record(w, t1 - t0);
		w->done++;
	}
	close(fd);
}

static void run_conn(struct worker *w, const char *out, char *in)
{
	struct linger abort_close = { .l_onoff = 1, .l_linger = 0 };

	while (now_ns() < deadline) {
		int fd = tcp_connect(&target);

		if (fd < 0 || round_trip(fd, out, in)) {
			w->failed = 1;
			if (fd >= 0)
				close(fd);
			break;
		}
		/* RST on close, as many load generators do: tens of thousands
		 * of FIN closes would exhaust ephemeral ports in TIME_WAIT. */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_close,
			   sizeof(abort_close));
		close(fd);
		w->done++;
	}
}

static void *work(void *arg)
{
	struct worker *w = arg;
	char *out = malloc(msg_size), *in = malloc(msg_size);

	if (!out || !in)
		die("malloc");
	memset(out, 'x', msg_size);
	if (conn_mode)
		run_conn(w, out, in);
	else
		run_rr(w, out, in);
	free(out);
	free(in);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static void report_latency(struct worker *w, int n)
{
	size_t total = 0, k = 0;
	uint32_t *all;

	for (int i = 0; i < n; i++)
		total += w[i].nlat;
	if (!total)
		return;
	all = malloc(total * sizeof(*all));
	if (!all)
		die("malloc");
	for (int i = 0; i < n; i++) {
		memcpy(all + k, w[i].lat_ns, w[i].nlat * sizeof(*all));
		k += w[i].nlat;
	}
	qsort(all, total, sizeof(*all), cmp_u32);
	printf("p50_us %.2f\n", all[total / 2] / 1e3);
	printf("p99_us %.2f\n", all[total * 99 / 100] / 1e3);
	free(all);
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *mode = "rr";
	int port = 0, threads = 1, opt, failed = 0;
	double secs = 2, elapsed;
	uint64_t start, done = 0;
	struct worker *w;

	while ((opt = getopt(argc, argv, "H:p:m:c:t:s:")) != -1) {
		switch (opt) {
		case 'H':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'm':
			mode = optarg;
			break;
		case 'c':
			threads = atoi(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 's':
			msg_size = parse_size(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (!port || threads < 1 || secs <= 0)
		goto usage;
	if (!strcmp(mode, "conn"))
		conn_mode = 1;
	else if (strcmp(mode, "rr"))
		goto usage;
	addr_of(&target, host, port);
	signal(SIGPIPE, SIG_IGN);
	w = calloc(threads, sizeof(*w));
	if (!w)
		die("calloc");
	start = now_ns();
	deadline = start + (uint64_t)(secs * 1e9);
	for (int i = 0; i < threads; i++)
		if (pthread_create(&w[i].tid, NULL, work, &w[i]))
			die("pthread_create");
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].tid, NULL);
		done += w[i].done;
		failed |= w[i].failed;
	}
	elapsed = (now_ns() - start) / 1e9;
	printf("requests %llu\n", (unsigned long long)done);
	printf("%s %.1f\n", conn_mode ? "conn_per_s" : "req_per_s",
	       done / elapsed);
	if (!conn_mode)
		report_latency(w, threads);
	for (int i = 0; i < threads; i++)
		free(w[i].lat_ns);
	free(w);
	if (failed)
		fprintf(stderr, "echo-client: some connections failed\n");
	return failed;
usage:
	fprintf(stderr, "usage: echo-client -p port [-H host] [-m rr|conn] "
		"[-c conns] [-t secs] [-s msgsize]\n");
	return 2;
}
