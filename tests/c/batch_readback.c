/* SPDX-License-Identifier: MIT */
/*
 * Batch profile: what a thread wrote to a file is there for every read it
 * makes next: through the same fd (pread, after lseek), through another
 * fd on the same file, and after a dup2 over the fd; and a request staged
 * on a socket goes out before the thread waits for its answer.
 */
#include <sys/uio.h>
#include <sys/wait.h>

#include "testlib.h"

/* SHIM-ENV: SHIM_PROFILE=batch */
/* SHIM-EXPECT: write.batch>=2 send.batch>=1 sendmsg.batch>=1 pwrite.batch>=2 pwritev.batch>=1 */

static void show(const char *what, int fd, off_t off)
{
	char buf[64] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, off);

	printf("%s: %zd '%s'\n", what, n, n > 0 ? buf : "");
}

int main(void)
{
	char path[] = "/tmp/shim-readback-XXXXXX", buf[16] = "";
	int w = mkstemp(path), r = open(path, O_RDONLY), s[2];
	pid_t pid;

	write(w, "one ", 4);
	show("same fd", w, 0);
	write(w, "two ", 4);
	show("other fd", r, 0);
	write(w, "three ", 6);
	printf("lseek end -> %ld\n", (long)lseek(w, 0, SEEK_END));
	write(w, "four", 4);
	dup2(r, w);
	show("after dup2", r, 0);
	close(w);

	/*
	 * pwrite at contiguous offsets joins one buffer; a write at the file
	 * position, or a pwrite elsewhere, sends what is there first, so
	 * every byte lands where the calls put it, in their order.
	 */
	w = open(path, O_WRONLY | O_TRUNC);
	write(w, "aaaa", 4);
	pwrite(w, "BB", 2, 1);
	pwrite(w, "CC", 2, 3);
	pwritev(w, &(struct iovec){ "EE", 2 }, 1, 5);
	pwrite(w, "R", 1, 0);
	write(w, "dddd", 4);
	pwrite(w, "Z", 1, 7);
	pwrite(w, "Y", 1, 2);
	show("pwrite", r, 0);
	close(w);
	/* O_APPEND: Linux appends a pwrite whatever its offset. */
	w = open(path, O_WRONLY | O_APPEND);
	write(w, "+", 1);
	pwrite(w, "!", 1, 0);
	show("pwrite O_APPEND", r, 0);
	printf("pwrite bad offset -> %zd\n", pwrite(w, "x", 1, -1));
	close(w);
	close(r);
	unlink(path);

	/* A request and its answer: the answer needs the request out. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	pid = fork();
	if (pid == 0) {
		char q[4];

		close(s[0]);
		if (t_read_full(s[1], q, 4) == 4)
			write(s[1], memcmp(q, "ping", 4) ? "bad!" : "pong", 4);
		_exit(0);
	}
	close(s[1]);
	/*
	 * Half by send, half by sendmsg: one stream, in order. A socket is
	 * staged from the second write of a run on: "p" goes out at once.
	 */
	send(s[0], "p", 1, 0);
	send(s[0], "i", 1, 0);
	sendmsg(s[0], &(struct msghdr){ .msg_iov = &(struct iovec){ "ng", 2 },
					 .msg_iovlen = 1 }, MSG_NOSIGNAL);
	printf("answer: %zd '%.4s'\n", recv(s[0], buf, sizeof(buf), 0), buf);
	waitpid(pid, NULL, 0);
	close(s[0]);
	return t_failed ? T_EXIT_FAIL : T_EXIT_PASS;
}
