/* SPDX-License-Identifier: MIT */
/*
 * A signal that arrives while the SQ thread has not yet run the shim's
 * would-block attempt. The read must end as the syscall would have: EINTR
 * without SA_RESTART, a restart (that waits for data) with it, EINTR with
 * SO_RCVTIMEO whatever the flags say, and no EINTR on an O_NONBLOCK fd.
 *
 * To make "the SQ thread is late" certain rather than likely, a SCHED_FIFO
 * thread occupies the CPU the SQ thread is bound to (SHIM_SQ_CPU=1) while
 * the main thread, on CPU 0, reads an empty pipe or socket and a timer
 * fires; the main thread is SCHED_FIFO too, so other load on the machine
 * cannot delay its read past the timer. Without the shim the spinner only
 * burns the other CPU. A helper
 * thread writes one byte much later, so a read that wrongly went on waiting
 * ends with data instead of hanging, and the transcripts differ.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/time.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=sqpoll SHIM_SQ_CPU=1 SHIM_ADAPT=0 */
/* SHIM-EXPECT: read.ring>=1@6.4 */

#define SPIN_MS		60
#define TIMER_US	5000
#define RESCUE_MS	400

static volatile sig_atomic_t got_sig;
static _Atomic int spin_state;	/* 0 idle, 1 asked, 2 spinning */
static _Atomic bool quit;

static void on_alrm(int sig) { got_sig++; }

static double now_ms(void) { return t_now() * 1000.0; }

static bool pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0;
}

static void *spinner(void *arg)
{
	struct sched_param sp = { .sched_priority = 1 };
	double end;

	if (!pin(1) || sched_setscheduler(0, SCHED_FIFO, &sp) != 0) {
		atomic_store(&spin_state, -1);
		return NULL;
	}
	while (!atomic_load(&quit)) {
		if (atomic_load(&spin_state) != 1) {
			usleep(1000);
			continue;
		}
		end = now_ms() + SPIN_MS;
		atomic_store(&spin_state, 2);
		while (now_ms() < end)
			;
		atomic_store(&spin_state, 0);
	}
	return NULL;
}

struct rescue {
	int fd;
	pthread_t th;
};

static void *rescue_fn(void *arg)
{
	struct rescue *r = arg;

	usleep(RESCUE_MS * 1000);
	if (write(r->fd, "r", 1) != 1)
		_exit(T_EXIT_FAIL);
	return NULL;
}

static void *watchdog(void *arg)
{
	sleep(30);
	printf("watchdog: hung\n");
	fflush(stdout);
	_exit(T_EXIT_FAIL);
}

/*
 * One read of an empty fd while the SQ CPU is taken and a timer fires;
 * the byte written later is drained afterwards either way.
 */
static void one(const char *label, int rfd, int wfd, bool restart,
		bool nonblock, bool is_sock, long want, int want_errno)
{
	struct sigaction sa = { .sa_handler = on_alrm };
	struct itimerval it = { .it_value = { 0, TIMER_US } };
	struct rescue rs = { .fd = wfd };
	char c;
	long r;
	int e;

	if (restart)
		sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	fcntl(rfd, F_SETFL, nonblock ? O_NONBLOCK : 0);
	got_sig = 0;
	atomic_store(&spin_state, 1);
	while (atomic_load(&spin_state) == 1)
		;
	pthread_create(&rs.th, NULL, rescue_fn, &rs);
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 0;
	r = is_sock ? recv(rfd, &c, 1, 0) : read(rfd, &c, 1);
	e = errno;
	printf("%s -> %ld %s\n", label, r, r < 0 ? strerrorname_np(e) : "");
	T_CHECK(r == want && (r >= 0 || e == want_errno), "%s: want %ld %s",
		label, want, want < 0 ? strerrorname_np(want_errno) : "");
	pthread_join(rs.th, NULL);
	fcntl(rfd, F_SETFL, 0);
	if (r <= 0) {
		r = read(rfd, &c, 1);
		T_CHECK(r == 1, "%s: drain read %ld", label, r);
	}
	/* A non-blocking read never waits for the timer: let it fire. */
	while (!got_sig)
		usleep(1000);
	while (atomic_load(&spin_state) != 0)
		usleep(1000);
}

int main(void)
{
	struct timeval tv = { 5, 0 };
	pthread_t sp, wd;
	int p[2], s[2];

	setvbuf(stdout, NULL, _IONBF, 0);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("needs 2 CPUs\n");
		return T_EXIT_SKIP;
	}
	if (!pin(0)) {
		printf("sched_setaffinity refused\n");
		return T_EXIT_SKIP;
	}
	{
		struct sched_param mp = { .sched_priority = 1 };

		if (sched_setscheduler(0, SCHED_FIFO, &mp) != 0) {
			printf("SCHED_FIFO refused\n");
			return T_EXIT_SKIP;
		}
	}
	pthread_create(&sp, NULL, spinner, NULL);
	usleep(20000);
	if (atomic_load(&spin_state) < 0) {
		printf("SCHED_FIFO refused\n");
		return T_EXIT_SKIP;
	}
	pthread_create(&wd, NULL, watchdog, NULL);
	if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, s))
		return T_EXIT_FAIL;
	/* A first read makes the ring (and the SQ thread) outside the test. */
	T_EXPECT("warm write", write(p[1], "w", 1), 1, 0);
	T_EXPECT("warm read", read(p[0], (char[1]){ 0 }, 1), 1, 0);

	for (int round = 0; round < 2; round++) {
		one("pipe eintr", p[0], p[1], false, false, false, -1, EINTR);
		one("pipe restart", p[0], p[1], true, false, false, 1, 0);
		one("pipe nonblock", p[0], p[1], false, true, false, -1, EAGAIN);
		one("sock eintr", s[0], s[1], false, false, true, -1, EINTR);
		one("sock restart", s[0], s[1], true, false, true, 1, 0);
		setsockopt(s[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		one("sock timeo restart", s[0], s[1], true, false, true, -1,
		    EINTR);
		tv.tv_sec = 0;
		setsockopt(s[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		tv.tv_sec = 5;
	}
	atomic_store(&quit, true);
	pthread_join(sp, NULL);
	return t_failed ? T_EXIT_FAIL : T_EXIT_PASS;
}
