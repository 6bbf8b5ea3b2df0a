/* bcat: cat(1) reduced to its loop: read a buffer, write it, repeat. */
#include "bench.h"
#include <fcntl.h>

int main(int argc, char **argv)
{
	size_t bufsz = 65536;
	char *buf;
	int opt;

	while ((opt = getopt(argc, argv, "b:")) != -1) {
		if (opt != 'b') {
			fprintf(stderr, "usage: bcat [-b bufsize] [file...]\n");
			return 2;
		}
		bufsz = parse_size(optarg);
	}
	buf = malloc(bufsz);
	if (!buf)
		die("malloc");
	if (optind == argc)
		copy_fd(STDIN_FILENO, STDOUT_FILENO, buf, bufsz);
	for (int i = optind; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);

		if (fd < 0)
			die("open %s", argv[i]);
		copy_fd(fd, STDOUT_FILENO, buf, bufsz);
		close(fd);
	}
	free(buf);
	return 0;
}
