/* bcp: cp(1) without the cleverness (no copy_file_range, no sparse files). */
#include "bench.h"
#include <fcntl.h>

int main(int argc, char **argv)
{
	size_t bufsz = 65536;
	int opt, in, out;
	char *buf;

	while ((opt = getopt(argc, argv, "b:")) != -1) {
		if (opt != 'b')
			goto usage;
		bufsz = parse_size(optarg);
	}
	if (argc - optind != 2)
		goto usage;
	in = open(argv[optind], O_RDONLY);
	if (in < 0)
		die("open %s", argv[optind]);
	out = open(argv[optind + 1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		die("open %s", argv[optind + 1]);
	buf = malloc(bufsz);
	if (!buf)
		die("malloc");
	copy_fd(in, out, buf, bufsz);
	if (close(out))
		die("close");
	close(in);
	free(buf);
	return 0;
usage:
	fprintf(stderr, "usage: bcp [-b bufsize] src dst\n");
	return 2;
}
