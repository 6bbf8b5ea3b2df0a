/* echo-server: the textbook thread-per-connection TCP echo server. */
#include "net.h"

#define BUFSZ 65536


static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *buf = malloc(BUFSZ);

	if (!buf)
		die("malloc");
	set_nodelay(fd);
	for (;;) {
		ssize_t n = recv(fd, buf, BUFSZ, 0);
		ssize_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		while (off < n) {
			ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				goto out;
			off += w;
		}
	}
out:
	free(buf);
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	int port = 0, opt;

	while ((opt = getopt(argc, argv, "a:p:")) != -1) {
		switch (opt) {
		case 'a':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: echo-server [-a addr] [-p port]\n");
			return 2;
		}
	}
	return serve_forever(host, port, serve);
}
