/* SPDX-License-Identifier: MIT */
/* read/write on a pipe: sizes, EOF, zero length, bad fds and pointers. */
#include "testlib.h"

/* Pipes, and read/write on sockets, take RWF_NOWAIT from 6.4. */
/* SHIM-ENV: SHIM_ADAPT=0 */
/* SHIM-EXPECT: read.ring>=4@6.4 write.ring>=4@6.4 */

int main(void)
{
	static unsigned char out[65536], in[65536];
	static const size_t sizes[] = { 1, 100, 4096, 65536 };
	void *volatile bad = (void *)8;	/* unmapped: EFAULT */
	int p[2], i;

	t_watchdog(30);
	T_EXPECT("pipe", pipe(p), 0, 0);
	printf("fds %d %d\n", p[0], p[1]);
	for (i = 0; i < 4; i++) {
		size_t n = sizes[i];

		t_fill(out, n, (unsigned)i);
		T_EXPECT("write", write(p[1], out, n), (long)n, 0);
		T_EXPECT("read", t_read_full(p[0], in, n), (long)n, 0);
		T_CHECK(!memcmp(in, out, n), "data of size %zu", n);
	}
	T_EXPECT("write 0", write(p[1], out, 0), 0, 0);
	T_EXPECT("read 0", read(p[0], in, 0), 0, 0);
	T_EXPECT("write 8", write(p[1], out, 8), 8, 0);
	T_EXPECT("write bad pointer", write(p[1], bad, 8), -1, EFAULT);
	T_EXPECT("read bad pointer", read(p[0], bad, 8), -1, EFAULT);
	T_EXPECT("read rest", read(p[0], in, 8), 8, 0);
	T_EXPECT("write to read end", write(p[0], out, 1), -1, EBADF);
	T_EXPECT("read from write end", read(p[1], in, 1), -1, EBADF);
	T_EXPECT("read fd -1", read(-1, in, 1), -1, EBADF);
	T_EXPECT("write fd 999", write(999, out, 1), -1, EBADF);
	T_EXPECT("write 3", write(p[1], "abc", 3), 3, 0);
	errno = 1234;
	T_CHECK(read(p[0], in, 3) == 3 && errno == 1234, "errno kept on success");
	T_EXPECT("close writer", close(p[1]), 0, 0);
	T_EXPECT("read at EOF", read(p[0], in, 10), 0, 0);
	T_EXPECT("close reader", close(p[0]), 0, 0);
	T_EXPECT("read closed", read(p[0], in, 1), -1, EBADF);
	return t_end();
}
