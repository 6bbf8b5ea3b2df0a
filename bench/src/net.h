/* Socket helpers for the network subjects: plain blocking BSD sockets. */
#ifndef BENCH_NET_H
#define BENCH_NET_H

#include "bench.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

/* Request/response traffic must not wait on Nagle + delayed ACK. */
static inline void set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static inline void addr_of(struct sockaddr_in *sa, const char *host, int port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
		errno = 0;
		die("bad IPv4 address '%s'", host);
	}
}

/* Listen on host:port (port 0 = any) and return the fd; *bound gets the port. */
static inline int tcp_listen(const char *host, int port, int *bound)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int one = 1, fd;

	addr_of(&sa, host, port);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind %s:%d", host, port);
	if (listen(fd, 1024))
		die("listen");
	getsockname(fd, (struct sockaddr *)&sa, &len);
	*bound = ntohs(sa.sin_port);
	return fd;
}

static inline int tcp_connect(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Servers stop on SIGTERM/SIGINT by returning from main, so exit handlers
 * (and any preloaded library's destructors) run.  Block the signals before
 * any thread exists and let the main thread sigwait() for them.
 */
static inline void block_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	/* A client vanishing mid-write must not kill the server. */
	signal(SIGPIPE, SIG_IGN);
}

static inline void wait_stop_signal(const sigset_t *set)
{
	int sig;

	sigwait(set, &sig);
}

static inline void spawn_detached(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, fn, arg))
		die("pthread_create");
	pthread_attr_destroy(&attr);
}

/*
 * Thread per connection: accept forever (on its own thread, see
 * serve_forever) and hand each connection's fd to serve().
 */
struct acceptor {
	int listen_fd;
	void *(*serve)(void *);
};

static inline void *accept_loop(void *arg)
{
	const struct acceptor *a = arg;

	for (;;) {
		int fd = accept(a->listen_fd, NULL, NULL);

		if (fd < 0) {
			/* Out of fds or a reset before accept: keep serving. */
			if (errno != EINTR && errno != ECONNABORTED &&
			    errno != EMFILE && errno != ENFILE)
				die("accept");
			continue;
		}
		spawn_detached(a->serve, (void *)(intptr_t)fd);
	}
	return NULL;
}

/*
 * Listen on host:port (0: any free port, printed for the harness), accept
 * and serve until SIGINT or SIGTERM.
 */
static inline int serve_forever(const char *host, int port,
				void *(*serve)(void *))
{
	static struct acceptor acc;
	sigset_t stop;
	int bound;

	block_stop_signals(&stop);
	acc.listen_fd = tcp_listen(host, port, &bound);
	acc.serve = serve;
	printf("listening %d\n", bound);
	fflush(stdout);
	spawn_detached(accept_loop, &acc);
	wait_stop_signal(&stop);
	return 0;
}

#endif
