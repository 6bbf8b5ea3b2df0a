# Common helpers for the bats suites: run real, unchanged programs without
# and with the shim and compare; read the shim's summed statistics.
ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
SHIM_LIB=${SHIM_LIB:-$ROOT/build/libshim.so}
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

# Run a shell command line with the shim, statistics into $ST.*
# (every process the command starts writes its own file). ST is per test;
# set here and not in shimmed(), which often runs in a $(...) subshell.
# The suites count ring ops, and the judge would send a short program's
# calls to libc: the ring serves every call (SHIM_ADAPT=0) unless the
# caller says otherwise (SHIM_ADAPT set: a test of the judge, a column of
# the matrix). The same for every other shimmed run that counts ring ops.
ST=${BATS_TEST_TMPDIR:-/tmp}/st
shimmed() {
	ST=$BATS_TEST_TMPDIR/st
	SHIM_ADAPT=${SHIM_ADAPT-0} LD_PRELOAD=$SHIM_LIB SHIM_STATS=$ST timeout 60 bash -c "$1"
}

plain() {
	timeout 60 bash -c "$1"
}

# both CMD: run CMD plain and shimmed; transcripts (stdout, stderr, and the
# status appended) must match. The shimmed transcript is left in $output.
both() {
	local want got
	want=$(plain "$1" 2>&1; echo "status $?")
	got=$(shimmed "$1" 2>&1; echo "status $?")
	assert_equal "$got" "$want"
	# shellcheck disable=SC2034 # bats-assert's assert_output reads it
	output=$got
}

# Servers a test started in the background ($! appended to PIDS) go.
stop_started() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
}

# stat_of KEY: summed over every process of the last shimmed run (0 if absent).
# Under the batch profile a staged write (X.batch) counts as served, as X.ring.
stat_of() {
	local b=
	ST=$BATS_TEST_TMPDIR/st
	[ "${SHIM_PROFILE:-}" = batch ] && [[ $1 == *.ring ]] && b=${1%.ring}.batch
	"$ROOT/scripts/shim-stat" sum "$ST" |
		awk -v k="$1" -v b="$b" '$1 == k || $1 == b { v += $2 } END { print v + 0 }'
}

# assert_stat KEY OP N, OP one of -gt -ge -eq -le -lt
assert_stat() {
	local v
	ST=$BATS_TEST_TMPDIR/st
	v=$(stat_of "$1")
	test "$v" "$2" "$3" || fail "stat $1 = $v, want $2 $3
$("$ROOT/scripts/shim-stat" sum "$ST")"
}

# The sum of all *.ring counters: the calls the rings served.
ring_total() {
	ST=$BATS_TEST_TMPDIR/st
	"$ROOT/scripts/shim-stat" sum "$ST" | awk '$1 ~ /\.ring$/ { s += $2 } END { print s + 0 }'
}

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT: until something listens on 127.0.0.1:PORT (5 s at most).
wait_port() {
	local hex
	hex=$(printf ':%04X ' "$1")
	for _ in $(seq 100); do
		grep -q "0100007F$hex.* 0A " /proc/net/tcp && return 0
		sleep 0.05
	done
	return 1
}

# data_setup SIZE: $DATA, a file of SIZE random bytes (new for each test),
# $WANT its sha256sum line, and PIDS, the servers stop_started stops.
data_setup() {
	# shellcheck disable=SC2034 # the suites use them
	DATA=$BATS_TEST_TMPDIR/data
	head -c "$1" /dev/urandom > "$DATA"
	# shellcheck disable=SC2034
	WANT=$(sha256sum < "$DATA")
	PIDS=()
}

# profile_has X.Y: the kernel profile in force (SHIM_KERNEL, if set)
# includes what kernel X.Y brought; assertions about such features use it.
profile_has() {
	local have=${SHIM_KERNEL:-} maj min wmaj wmin
	[ -z "$have" ] && return 0
	IFS=. read -r maj min <<<"$have"
	IFS=. read -r wmaj wmin <<<"$1"
	[ $((maj * 256 + min)) -ge $((wmaj * 256 + wmin)) ]
}

# assert_rw_stat KEY OP N: a count that read/write on pipes or sockets
# make. Those take RWF_NOWAIT only from 6.4: under an older profile they go
# to libc (fd-type) instead, as on such a kernel.
assert_rw_stat() {
	if profile_has 6.4; then
		assert_stat "$@"
	else
		assert_stat fallback.fd-type -ge 1
	fi
}
