#!/usr/bin/env bats
# make deb: what the package holds, and that it works installed: by dpkg
# into an empty directory root (its own database, no maintainer scripts),
# run from there, then removed.

setup_file() {
	command -v dpkg-deb > /dev/null || skip "dpkg-deb not installed"
	ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	DEB=$("$ROOT/scripts/mkdeb" "$(dirname "${SHIM_LIB:-$ROOT/build/libshim.so}")" 2>/dev/null | tail -n 1)
	export DEB
	export MA
	MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
}

setup() {
	load helpers
	[ -n "${DEB:-}" ] && [ -f "$DEB" ] || skip "no package built"
}

@test "deb: control fields and contents" {
	run dpkg-deb -f "$DEB" Package Architecture Depends
	assert_line "Package: libshim"
	assert_line "Architecture: $(dpkg-architecture -qDEB_HOST_ARCH)"
	assert_line --regexp '^Depends: libc6 \(>= 2\.[0-9]+\), python3$'
	run dpkg-deb -c "$DEB"
	for f in usr/bin/shim-run usr/bin/shim-stat "usr/lib/$MA/libshim/libshim.so" \
		"usr/lib/$MA/libshim/shim-compare" \
		usr/share/man/man1/shim-run.1.gz usr/share/man/man1/shim-stat.1.gz \
		usr/share/man/man7/libshim.7.gz usr/share/doc/libshim/copyright \
		usr/share/doc/libshim/examples/rules; do
		assert_line --regexp " \./$f\$"
	done
	refute_output --partial ' ./etc/'
}

@test "deb: dpkg installs it into a directory root, it runs from there, dpkg removes it" {
	r=$BATS_TEST_TMPDIR/root
	mkdir -p "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates"
	: > "$r/var/lib/dpkg/status"
	# That root has no libc6 or python3 package: the host's serve.
	run dpkg --root="$r" --force-depends -i "$DEB"
	assert_success
	run "$r/usr/bin/shim-run" --check
	assert_success
	assert_output --partial 'io_uring_setup: ok'
	run "$r/usr/bin/shim-run" --stats -- sh -c 'echo hi | cat'
	assert_success
	assert_output --partial "libshim stats:"
	run "$r/usr/bin/shim-run" --compare --quick --runs 1 --profiles exact,batch -- sh -c 'echo hi | cat'
	assert_success
	assert_output --regexp 'batch .* yes +yes'
	if command -v man > /dev/null; then
		run man -l "$r/usr/share/man/man1/shim-run.1.gz"
		assert_success
	fi
	run dpkg --root="$r" -r libshim
	assert_success
	[ ! -e "$r/usr/bin/shim-run" ]
}
