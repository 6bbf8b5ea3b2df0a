/*
 * proxy: thread-per-connection TCP relay, listen port -> upstream host:port.
 * Each connection gets two threads, one per direction, each a plain
 * blocking read/write loop; EOF is passed on with shutdown(SHUT_WR).
 */
#include "net.h"

#define BUFSZ 65536

struct pipe_end {
	int from, to;
};

static struct sockaddr_in upstream;

static void relay(int from, int to)
{
	char *buf = malloc(BUFSZ);

	if (!buf)
		die("malloc");
	for (;;) {
		ssize_t n = read(from, buf, BUFSZ);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || write_all(to, buf, n))
			break;
	}
	shutdown(to, SHUT_WR);
	free(buf);
}

static void *downstream(void *arg)
{
	struct pipe_end *p = arg;

	relay(p->from, p->to);
	return NULL;
}

static void *serve(void *arg)
{
	int client = (int)(intptr_t)arg;
	struct pipe_end back;
	pthread_t t;
	int up = tcp_connect(&upstream);

	if (up < 0) {
		close(client);
		return NULL;
	}
	set_nodelay(client);
	set_nodelay(up);
	back.from = up;
	back.to = client;
	if (pthread_create(&t, NULL, downstream, &back))
		die("pthread_create");
	relay(client, up);
	pthread_join(t, NULL);
	close(up);
	close(client);
	return NULL;
}

static void parse_upstream(char *spec)
{
	char *colon = strrchr(spec, ':');

	if (!colon) {
		errno = 0;
		die("upstream must be host:port, got '%s'", spec);
	}
	*colon = '\0';
	addr_of(&upstream, spec, atoi(colon + 1));
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	int port = 0, opt;
	char *up = NULL;

	while ((opt = getopt(argc, argv, "a:l:u:")) != -1) {
		switch (opt) {
		case 'a':
			host = optarg;
			break;
		case 'l':
			port = atoi(optarg);
			break;
		case 'u':
			up = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (!up)
		goto usage;
	parse_upstream(up);
	return serve_forever(host, port, serve);
usage:
	fprintf(stderr, "usage: proxy [-a addr] [-l port] -u host:port\n");
	return 2;
}
