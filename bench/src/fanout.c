/*
 * fanout: a writer of small records to four files and a pipe. Record i
 * (64 bytes) goes to file i % 4; after every 16 records a notice on the
 * pipe says how many are written. A reader process (fork, no exec: it
 * runs under whatever the writer runs under, and stages nothing) checks at
 * each notice that every record it announces is in its file: data written
 * before the notice on another fd must be there no later than the notice.
 * Prints the records written and the notices that came too early:
 * "early 0" is what the system calls give, and the bench compares the
 * output with the plain run's; the exit status is 0 either way.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include "bench.h"

#define FILES	4
#define RECORD	64
#define NOTE_EVERY 16

static void record(char *rec, unsigned long i)
{
	int len = snprintf(rec, RECORD, "%010lu file=%lu fan-out record", i,
			   i % FILES);

	memset(rec + len, '.', RECORD - 1 - len);
	rec[RECORD - 1] = '\n';
}

/* Is record i in its file? Reads what the writer announced. */
static int present(int fd, unsigned long i)
{
	char want[RECORD], got[RECORD];

	record(want, i);
	return pread(fd, got, RECORD, (off_t)(i / FILES) * RECORD) == RECORD &&
	       !memcmp(got, want, RECORD);
}

static int reader(int pipe_rd, const int *fds)
{
	unsigned long n, early = 0, notes = 0;

	while (read_full(pipe_rd, &n, sizeof(n)) == 0) {
		notes++;
		/* The last record of each file up to n. */
		for (unsigned long k = 0; k < FILES && k < n; k++)
			early += !present(fds[(n - 1 - k) % FILES], n - 1 - k);
	}
	printf("notices %lu early %lu\n", notes, early);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long count = 200000;
	char rec[RECORD], path[64];
	const char *dir = "/tmp";
	int opt, p[2], fds[FILES], status;
	pid_t pid;

	while ((opt = getopt(argc, argv, "n:d:")) != -1) {
		if (opt == 'n')
			count = strtoul(optarg, NULL, 10);
		else if (opt == 'd')
			dir = optarg;
		else {
			fprintf(stderr, "usage: fanout [-n records] [-d dir]\n");
			return 2;
		}
	}
	for (int f = 0; f < FILES; f++) {
		snprintf(path, sizeof(path), "%s/fanout.%d.XXXXXX", dir, f);
		fds[f] = mkstemp(path);
		if (fds[f] < 0)
			die("mkstemp %s", path);
		unlink(path);
	}
	if (pipe(p) < 0)
		die("pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(p[1]);
		status = reader(p[0], fds);
		fflush(stdout);
		_exit(status);
	}
	close(p[0]);
	for (unsigned long i = 0; i < count; i++) {
		record(rec, i);
		if (write_all(fds[i % FILES], rec, RECORD))
			die("write");
		if ((i + 1) % NOTE_EVERY == 0 || i + 1 == count) {
			unsigned long n = i + 1;

			if (write_all(p[1], &n, sizeof(n)))
				die("write pipe");
		}
	}
	close(p[1]);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	printf("records %lu\n", count);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
