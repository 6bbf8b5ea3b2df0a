#!/usr/bin/env bats
# io_uring refused (seccomp on io_uring_setup, io_uring_enter or
# io_uring_register, as a container profile or kernel.io_uring_disabled
# would): real programs give the same output and exit status, the shim
# reports pass-through or ring errors, and no ring served a call. Plus the
# switches and bad settings a user can give.

load helpers

SECCOMP=$ROOT/build/seccomp-run

setup() {
	data_setup 3000000
}

teardown() {
	stop_started
}

# denied DENY CMD: CMD under the shim with io_uring refused as DENY says.
denied() {
	ST=$BATS_TEST_TMPDIR/st
	timeout 60 "$SECCOMP" $1 -- env LD_PRELOAD="$SHIM_LIB" SHIM_STATS="$ST" \
		SHIM_ADAPT="${SHIM_ADAPT-0}" bash -c "$2"
}

field() {
	"$ROOT/scripts/shim-stat" sum "$BATS_TEST_TMPDIR/st" | awk -v k="$1" '$1 == k { $1 = ""; print substr($0, 2) }'
}

pipeline='cat "$DATA" | cat | dd bs=7k 2>/dev/null | sha256sum'

@test "pipelines work when io_uring_setup is refused (EPERM, ENOSYS)" {
	export DATA
	for deny in --setup=EPERM --setup=ENOSYS; do
		rm -f "$BATS_TEST_TMPDIR"/st.*
		got=$(denied "$deny" "$pipeline")
		assert_equal "$got" "$WANT"
		assert_equal "$(ring_total)" 0
		assert_stat rings -eq 0
		assert_stat fallback.passthrough -gt 10
		[[ $(field mode) == *passthrough* ]] || fail "mode: $(field mode)"
		[[ $(field why) == *io_uring_setup:* ]] || fail "why: $(field why)"
	done
}

@test "pipelines work when io_uring_enter is refused after setup" {
	export DATA
	got=$(denied --enter=EPERM "$pipeline")
	assert_equal "$got" "$WANT"
	# A new ring's first enter finds it out, before any op (an SQ
	# thread could take one without an enter): no ring is kept.
	assert_equal "$(ring_total)" 0
	assert_stat rings -eq 0
	assert_stat fallback.passthrough -gt 10
	[[ $(field why) == *io_uring_enter* ]] || fail "why: $(field why)"
}

@test "pipelines work when io_uring_register (the op probe) is refused" {
	export DATA
	got=$(denied --register=EPERM "$pipeline")
	assert_equal "$got" "$WANT"
	assert_equal "$(ring_total)" 0
	assert_stat rings -eq 0
	[[ $(field why) == *PROBE* ]] || fail "why: $(field why)"
}

@test "socat over TCP with io_uring refused on both ends" {
	for deny in --setup=EPERM --enter=EPERM; do
		rm -f "$BATS_TEST_TMPDIR"/st.* "$BATS_TEST_TMPDIR/out"
		PORT=$(free_port)
		denied "$deny" "exec socat -u TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr OPEN:$BATS_TEST_TMPDIR/out,creat" &
		PIDS+=($!)
		wait_port "$PORT"
		denied "$deny" "exec socat -u OPEN:$DATA TCP:127.0.0.1:$PORT"
		wait "${PIDS[-1]}"
		assert_equal "$(sha256sum < "$BATS_TEST_TMPDIR/out")" "$WANT"
		assert_equal "$(ring_total)" 0
		assert_equal "$(grep -l '"exe": "socat"' "$BATS_TEST_TMPDIR"/st.* | wc -l)" 2
	done
}

@test "curl against python http.server with io_uring refused" {
	mkdir -p "$BATS_TEST_TMPDIR/www"
	cp "$DATA" "$BATS_TEST_TMPDIR/www/data"
	port=$(free_port)
	python3 -m http.server --bind 127.0.0.1 --directory "$BATS_TEST_TMPDIR/www" "$port" >/dev/null 2>&1 &
	PIDS+=($!)
	wait_port "$port"
	got=$(denied --setup=EPERM "curl -s http://127.0.0.1:$port/data | sha256sum")
	assert_equal "$got" "$WANT"
	code=$(denied --setup=EPERM "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/missing")
	assert_equal "$code" 404
	assert_equal "$(ring_total)" 0
}

@test "exit statuses and stderr are kept under seccomp" {
	run denied --setup=EPERM 'cat /nonexistent-file'
	assert_equal "$status" 1
	assert_output --partial "No such file or directory"
	run denied --enter=EPERM 'exit 7'
	assert_equal "$status" 7
}

@test "SHIM_DISABLE=1: every call to libc, mode disabled" {
	export DATA
	got=$(SHIM_DISABLE=1 shimmed "$pipeline")
	assert_equal "$got" "$WANT"
	assert_equal "$(ring_total)" 0
	assert_stat rings -eq 0
	[[ $(field mode) == disabled* ]] || fail "mode: $(field mode)"
}

@test "bad settings warn once and change nothing else" {
	export DATA
	run bash -c "SHIM_ROUTE=+bogus SHIM_PROFILE=nonsense SHIM_ADAPT=${SHIM_ADAPT-0} LD_PRELOAD=$SHIM_LIB \
		SHIM_STATS=$BATS_TEST_TMPDIR/st bash -c '$pipeline' 2>$BATS_TEST_TMPDIR/err"
	assert_success
	assert_output "$WANT"
	grep -q bogus "$BATS_TEST_TMPDIR/err" || fail "no warning: $(cat "$BATS_TEST_TMPDIR/err")"
	grep -q nonsense "$BATS_TEST_TMPDIR/err" || fail "no warning: $(cat "$BATS_TEST_TMPDIR/err")"
	[ "$(ring_total)" -gt 0 ] || fail "the ring served nothing"
}

@test "SHIM_STRICT=1 under seccomp: exits 86 and says why" {
	# a socket call: routed on every kernel, so the denial is met (by
	# the first call: the judge's first calls would not try a ring)
	run "$SECCOMP" --setup=EPERM -- env LD_PRELOAD="$SHIM_LIB" SHIM_STRICT=1 SHIM_ADAPT=0 \
		/usr/bin/python3 -c 'import socket; a, b = socket.socketpair(); a.send(b"x"); print(b.recv(1))'
	assert_equal "$status" 86
	assert_output --partial "passthrough"
	# Strict without a denial: the same pipeline runs to the end.
	run env LD_PRELOAD="$SHIM_LIB" SHIM_STRICT=1 sh -c 'echo x | cat | cat'
	assert_success
	assert_output x
	# /proc and /sys files go to libc by design (fd-type): not fatal.
	run env LD_PRELOAD="$SHIM_LIB" SHIM_STRICT=1 sh -c 'cat /proc/self/status /sys/kernel/mm/transparent_hugepage/enabled /proc/self/stat | cat > /dev/null'
	assert_success
}

@test "shim-run --disable and --check under seccomp" {
	run "$SECCOMP" --setup=EPERM -- "$ROOT/scripts/shim-run" --lib "$SHIM_LIB" --check
	assert_success
	assert_output --partial "pass-through"
	run "$SECCOMP" --setup=EPERM -- "$ROOT/scripts/shim-run" --lib "$SHIM_LIB" --stats -- sh -c 'echo hello | cat'
	assert_success
	assert_output --partial hello
}

# The report takes the ring itself: a judge that sends a thread's first
# calls to libc must not make it say pass-through.
@test "shim-run --check finds the ring under every profile" {
	local p
	for p in exact sqpoll batch; do
		run "$ROOT/scripts/shim-run" --lib "$SHIM_LIB" --profile "$p" --check
		assert_success
		assert_output --partial 'io_uring_setup: ok'
		refute_output --partial 'pass-through'
	done
}

@test "process_vm_readv refused: bad pointers still EFAULT, unchecked memory goes to libc" {
	local efault=$ROOT/build/tests/efault want got prof
	want=$("$efault")
	for prof in exact batch; do
		rm -f "$BATS_TEST_TMPDIR"/st.*
		got=$(denied --deny=process_vm_readv=EPERM "SHIM_PROFILE=$prof $efault")
		assert_equal "$got" "$want"
		assert_stat writev.real -ge 1
		assert_stat writev.ring -eq 0
	done
	# The batch profile stages nothing it cannot check, and loses nothing.
	rm -f "$BATS_TEST_TMPDIR"/st.*
	export DATA
	got=$(denied --deny=process_vm_readv=EPERM \
		'export SHIM_PROFILE=batch; dd if="$DATA" bs=64 2>/dev/null | cat | sha256sum')
	assert_equal "$got" "$WANT"
	assert_stat write.batch -eq 0
	(( $(stat_of write.ring) + $(stat_of write.real) >= 1000 )) ||
		fail "the writes were not seen"
}

@test "pipelines survive a filter that kills on io_uring (start-up probe)" {
	export DATA
	for deny in "--setup=KILL" "--enter=KILL" "--register=KILL"; do
		rm -f "$BATS_TEST_TMPDIR"/st.*
		got=$(denied "$deny" "$pipeline")
		assert_equal "$got" "$WANT"
		assert_equal "$(ring_total)" 0
		assert_stat rings -eq 0
		assert_stat fallback.seccomp -gt 10
		[[ $(field why) == *"seccomp filter would kill io_uring"* ]] || fail "why: $(field why)"
	done
	# A filter that kills something else: the probe lets rings be used.
	rm -f "$BATS_TEST_TMPDIR"/st.*
	got=$(denied --deny=getpgid=KILL "$pipeline")
	assert_equal "$got" "$WANT"
	assert_stat fallback.seccomp -eq 0
	if profile_has 6.4; then
		[ "$(ring_total)" -gt 0 ] || fail "the ring served nothing"
	fi
}
