/*
 * fanserver: a server that, for every event, writes a small message to
 * each of eight client sockets. The event is a byte from a driver; the
 * driver (a child that re-executes this program without LD_PRELOAD, so
 * only the server runs under the shim) sends the next byte once it has
 * read the message of the current event from all eight sockets, checking
 * each one's sequence number. Prints the events served and the messages
 * that came wrong ("bad 0" is the only right answer).
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include "bench.h"

#define CLIENTS_MAX 64
#define MSG 64

static void message(char *m, unsigned long ev, int c)
{
	int len = snprintf(m, MSG, "event %010lu client %02d", ev, c);

	memset(m + len, '-', MSG - 1 - len);
	m[MSG - 1] = '\n';
}

static int driver(int trig, const int *fds, int clients, unsigned long events)
{
	char want[MSG], got[MSG];
	unsigned long bad = 0;

	for (unsigned long ev = 0; ev < events; ev++) {
		if (write_all(trig, "e", 1))
			die("driver write");
		for (int c = 0; c < clients; c++) {
			message(want, ev, c);
			if (read_full(fds[c], got, MSG))
				die("driver read");
			bad += memcmp(got, want, MSG) != 0;
		}
	}
	printf("bad %lu\n", bad);
	fflush(stdout);
	return bad != 0;
}

static void server(int trig, const int *fds, int clients)
{
	char m[MSG], e;
	unsigned long ev = 0;

	while (read(trig, &e, 1) == 1) {
		for (int c = 0; c < clients; c++) {
			message(m, ev, c);
			if (send(fds[c], m, MSG, 0) != MSG)
				die("send");
		}
		ev++;
	}
	printf("events %lu\n", ev);
}

int main(int argc, char **argv)
{
	unsigned long events = 50000;
	int clients = 8, opt, trig[2], sv[CLIENTS_MAX][2], mine[CLIENTS_MAX];
	int status;
	pid_t pid;

	/* --driver TRIGGER_FD CLIENTS FIRST_FD EVENTS */
	if (argc == 6 && !strcmp(argv[1], "--driver")) {
		int n = atoi(argv[3]);

		for (int c = 0; c < n; c++)
			mine[c] = atoi(argv[4]) + c;
		return driver(atoi(argv[2]), mine, n, strtoul(argv[5], NULL, 10));
	}
	while ((opt = getopt(argc, argv, "n:c:")) != -1) {
		if (opt == 'n')
			events = strtoul(optarg, NULL, 10);
		else if (opt == 'c')
			clients = atoi(optarg);
		else {
			fprintf(stderr, "usage: fanserver [-n events] [-c clients]\n");
			return 2;
		}
	}
	if (clients < 1 || clients > CLIENTS_MAX)
		die("clients: 1 to %d", CLIENTS_MAX);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, trig) < 0)
		die("socketpair");
	for (int c = 0; c < clients; c++)
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv[c]) < 0)
			die("socketpair");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		/* The driver's ends at 100, 101, ...: fixed numbers to pass. */
		char a[16], b[16], n[16], ev[32];

		if (dup2(trig[1], 99) < 0)
			die("dup2");
		for (int c = 0; c < clients; c++)
			if (dup2(sv[c][1], 100 + c) < 0)
				die("dup2");
		snprintf(a, sizeof(a), "%d", 99);
		snprintf(n, sizeof(n), "%d", clients);
		snprintf(b, sizeof(b), "%d", 100);
		snprintf(ev, sizeof(ev), "%lu", events);
		unsetenv("LD_PRELOAD");
		execl("/proc/self/exe", argv[0], "--driver", a, n, b, ev,
		      (char *)NULL);
		die("exec");
	}
	close(trig[1]);
	for (int c = 0; c < clients; c++) {
		close(sv[c][1]);
		mine[c] = sv[c][0];
	}
	server(trig[0], mine, clients);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
