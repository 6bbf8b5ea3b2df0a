/* logwriter: an unbuffered logger, one write() per 64-byte record. */
#include "bench.h"

#define RECORD 64

int main(int argc, char **argv)
{
	unsigned long count = 1000000;
	char rec[RECORD + 1];
	int opt;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n') {
			fprintf(stderr, "usage: logwriter [-n records] > out\n");
			return 2;
		}
		count = strtoul(optarg, NULL, 10);
	}
	for (unsigned long i = 0; i < count; i++) {
		/* Format every record like a real logger would, so the
		 * per-record cost is not just the syscall. */
		int len = snprintf(rec, sizeof(rec),
				   "%010lu INFO worker=%02lu served request ok",
				   i, i % 16);

		memset(rec + len, ' ', RECORD - 1 - len);
		rec[RECORD - 1] = '\n';
		if (write_all(STDOUT_FILENO, rec, RECORD))
			die("write");
	}
	return 0;
}
