#!/usr/bin/env bats
# socat over TCP and unix sockets, python3 -m http.server with curl: the
# bytes that arrive, with the shim on either side or both, and proof from
# the statistics that the ring served the socket calls.

load helpers

setup() {
	data_setup 4000000
}

teardown() {
	stop_started
}

# socat_pair LISTEN-ADDR CONNECT-ADDR WRAP-SERVER WRAP-CLIENT
socat_pair() {
	local out=$BATS_TEST_TMPDIR/out
	rm -f "$out"
	$3 timeout 30 socat -u "$1" "OPEN:$out,creat,trunc" &
	PIDS+=($!)
	if [[ $1 == TCP* ]]; then wait_port "$PORT"; else
		for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
	fi
	$4 timeout 30 socat -u "OPEN:$DATA" "$2"
	wait "${PIDS[-1]}"
	sha256sum < "$out"
}

# A command prefix (not a function: $! must be the program itself).
with_shim="env LD_PRELOAD=$SHIM_LIB SHIM_ADAPT=${SHIM_ADAPT-0} SHIM_STATS=$BATS_TEST_TMPDIR/st"

@test "socat over TCP, shim on both ends" {
	PORT=$(free_port)
	got=$(socat_pair "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr" "TCP:127.0.0.1:$PORT" "$with_shim" "$with_shim")
	assert_equal "$got" "$WANT"
	# IORING_ACCEPT_DONTWAIT came in 6.10: before it, accept goes to libc.
	if profile_has 6.10; then assert_stat accept.ring -ge 1; else assert_stat accept.real -ge 1; fi
	assert_stat connect.real -ge 1
	assert_stat read.ring -gt 10
	assert_rw_stat write.ring -gt 0
}

@test "socat over TCP, shim on one end only" {
	PORT=$(free_port)
	got=$(socat_pair "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr" "TCP:127.0.0.1:$PORT" "$with_shim" "")
	assert_equal "$got" "$WANT"
	PORT=$(free_port)
	got=$(socat_pair "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr" "TCP:127.0.0.1:$PORT" "" "$with_shim")
	assert_equal "$got" "$WANT"
	assert_rw_stat write.ring -gt 0
}

@test "socat over a unix socket" {
	SOCK=$BATS_TEST_TMPDIR/sock
	got=$(socat_pair "UNIX-LISTEN:$SOCK" "UNIX-CONNECT:$SOCK" "$with_shim" "$with_shim")
	assert_equal "$got" "$WANT"
	# IORING_ACCEPT_DONTWAIT came in 6.10: before it, accept goes to libc.
	if profile_has 6.10; then assert_stat accept.ring -ge 1; else assert_stat accept.real -ge 1; fi
	assert_stat connect.real -ge 1
	assert_stat read.ring -gt 10
}

# http_get WRAP-SERVER WRAP-CLIENT: fetch the data file through http.server.
http_get() {
	local port
	port=$(free_port)
	mkdir -p "$BATS_TEST_TMPDIR/www"
	cp "$DATA" "$BATS_TEST_TMPDIR/www/data"
	# A background job of a non-interactive shell starts with SIGINT
	# ignored, and python then keeps it ignored: restore its handler so
	# SIGINT ends the server normally and its statistics get written.
	$1 /usr/bin/python3 -c '
import runpy, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.argv = ["http.server"] + sys.argv[1:]
runpy.run_module("http.server", run_name="__main__")' \
		--bind 127.0.0.1 --directory "$BATS_TEST_TMPDIR/www" "$port" >/dev/null 2>&1 &
	PIDS+=($!)
	wait_port "$port"
	$2 timeout 30 curl -s "http://127.0.0.1:$port/data" | sha256sum
	$2 timeout 30 curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$port/nothing-here"
	kill -INT "${PIDS[-1]}"
	wait "${PIDS[-1]}" || true
}

@test "python3 -m http.server with curl, shim on server, client, both" {
	want=$(http_get "" "")
	for combo in "$with_shim|" "|$with_shim" "$with_shim|$with_shim"; do
		rm -f "$BATS_TEST_TMPDIR"/st.*
		got=$(http_get "${combo%|*}" "${combo#*|}")
		assert_equal "$got" "$want"
	done
	assert_equal "$(echo "$want" | head -1)" "$WANT"
	# IORING_ACCEPT_DONTWAIT came in 6.10: before it, accept goes to libc.
	if profile_has 6.10; then assert_stat accept.ring -ge 1; else assert_stat accept.real -ge 1; fi
	assert_stat recv.ring -ge 1
	assert_stat send.ring -ge 1
}
