/* SPDX-License-Identifier: MIT */
/*
 * A signal during a blocked read/recv/accept: EINTR without SA_RESTART,
 * transparent restart with it (signal() implies it), EINTR again after
 * siginterrupt(), and EINTR regardless when SO_RCVTIMEO is set (signal(7)).
 */
#include <netinet/in.h>

#include "testlib.h"

/* siginterrupt is what old programs call; it is what is being tested. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* Pipes, and read/write on sockets, take RWF_NOWAIT from 6.4. */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: write.ring>=1@6.4 */

enum { READ, RECV, ACCEPT };

struct job {
	_Atomic int tid;
	int kind, fd, peer;
	long ret;
	int err;
};

static volatile sig_atomic_t caught;
static void on_usr1(int sig) { caught++; }

static void *blocker(void *arg)
{
	struct job *j = arg;
	char buf[16];

	j->tid = gettid();
	errno = 0;
	if (j->kind == READ)
		j->ret = read(j->fd, buf, sizeof(buf));
	else if (j->kind == RECV)
		j->ret = recv(j->fd, buf, sizeof(buf), 0);
	else {
		j->ret = accept(j->fd, NULL, NULL);
		if (j->ret >= 0) {
			close((int)j->ret);
			j->ret = 1;
		}
	}
	j->err = errno;
	return NULL;
}

/*
 * Until the blocker sleeps (in its call, or under the shim possibly in the
 * ring's wait: the signal must end the call either way), and a little
 * more. A fixed delay alone is not enough on a loaded machine.
 */
static void wait_asleep(struct job *j)
{
	char path[64], st[256], *p;
	int tries, fd;

	for (tries = 0; tries < 2000; tries++) {
		usleep(1000);
		if (!j->tid)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", j->tid);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		st[0] = 0;
		if (read(fd, st, sizeof(st) - 1) > 0)
			st[sizeof(st) - 1] = 0;
		close(fd);
		p = strrchr(st, ')');
		if (p && p[1] == ' ' && p[2] == 'S')
			break;
	}
	usleep(50000);
}

static int listener(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = 0;
	bind(l, (struct sockaddr *)a, sizeof(*a));
	listen(l, 4);
	getsockname(l, (struct sockaddr *)a, &len);
	return l;
}

static const char *const kinds[] = { "read", "recv", "accept" };

/* mode: 0 sigaction without SA_RESTART, 1 with, 2 signal(), 3 siginterrupt, 4 rcvtimeo */
static void one(int kind, int mode)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct sockaddr_in a;
	struct job j = { .kind = kind };
	struct timeval tv = { 5, 0 };
	int fds[2], c = -1;
	pthread_t t;

	if (mode == 1)
		sa.sa_flags = SA_RESTART;
	if (mode >= 2) {
		signal(SIGUSR1, on_usr1);
		if (mode == 3)
			siginterrupt(SIGUSR1, 1);
	} else {
		sigaction(SIGUSR1, &sa, NULL);
	}
	if (kind == READ) {
		pipe(fds);
	} else if (kind == RECV) {
		socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	} else {
		fds[0] = listener(&a);
		fds[1] = -1;
	}
	if (mode == 4 && kind != READ)
		setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	j.fd = fds[0];
	caught = 0;
	pthread_create(&t, NULL, blocker, &j);
	wait_asleep(&j);
	pthread_kill(t, SIGUSR1);
	usleep(100000);
	if (kind == ACCEPT) {
		c = socket(AF_INET, SOCK_STREAM, 0);
		connect(c, (struct sockaddr *)&a, sizeof(a));
	} else {
		write(fds[1], "late", 4);
	}
	pthread_join(t, NULL);
	printf("%s mode %d: caught %d -> %ld %s\n", kinds[kind], mode, (int)caught,
	       j.ret, j.ret < 0 ? strerrorname_np(j.err) : "");
	{
		int want_intr = mode == 0 || mode == 3 || (mode == 4 && kind != READ);

		T_CHECK(want_intr ? (j.ret == -1 && j.err == EINTR) : j.ret > 0,
			"%s mode %d", kinds[kind], mode);
	}
	if (mode == 3)
		siginterrupt(SIGUSR1, 0);
	close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	if (c >= 0)
		close(c);
}

int main(void)
{
	t_watchdog(60);
	for (int kind = READ; kind <= ACCEPT; kind++)
		for (int mode = 0; mode <= 4; mode++)
			one(kind, mode);
	return t_end();
}
