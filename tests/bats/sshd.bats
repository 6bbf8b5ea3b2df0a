#!/usr/bin/env bats
# sshd and its clients, ssh and rsync, under every profile. sshd's pre-auth
# child installs a seccomp filter that kills on any syscall it does not
# list, io_uring's included: the shim must go pass-through before it goes
# in. Keys, config and trees live in the test's temp dir; every sshd the
# test starts is stopped by teardown.

load helpers

setup_file() {
	command -v /usr/sbin/sshd >/dev/null && command -v rsync >/dev/null &&
		command -v ssh-keygen >/dev/null || return 0
	local d=$BATS_FILE_TMPDIR
	ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
	ssh-keygen -q -t ed25519 -N '' -f "$d/user_key"
	cp "$d/user_key.pub" "$d/authorized_keys"
	mkdir -p "$d/tree/sub/deeper"
	head -c 300000 /dev/urandom > "$d/tree/big"
	seq 1 5000 > "$d/tree/sub/seq"
	for i in $(seq 1 20); do echo "file $i" > "$d/tree/sub/deeper/f$i"; done
}

setup() {
	PIDS=()
	[ -x /usr/sbin/sshd ] || skip "openssh-server not installed"
	command -v rsync >/dev/null || skip "rsync not installed"
	[ "$(id -u)" = 0 ] || skip "needs root (sshd)"
	mkdir -p /run/sshd
}

teardown() {
	stop_started
	local p
	for p in "${PIDS[@]}"; do
		timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null || true
	done
}

tree_hash() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum
}

# start_sshd PROFILE: sshd on a free loopback port, under the shim with
# that profile, or without it (PROFILE none). Sets PORT.
start_sshd() {
	local d=$BATS_FILE_TMPDIR cfg=$BATS_TEST_TMPDIR/sshd_config-$1
	PORT=$(free_port)
	cat > "$cfg" <<-CFG
	Port $PORT
	ListenAddress 127.0.0.1
	HostKey $d/host_key
	AuthorizedKeysFile $d/authorized_keys
	PermitRootLogin prohibit-password
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	StrictModes no
	UsePAM no
	PidFile $BATS_TEST_TMPDIR/sshd-$1.pid
	CFG
	if [ "$1" = none ]; then
		/usr/sbin/sshd -D -e -f "$cfg" 2>> "$BATS_TEST_TMPDIR/sshd.log" &
	else
		# SHIM_ADAPT=0: sshd's short sessions end before sqpoll's
		# judge would let them poll, and the SQ thread is what is tested.
		env LD_PRELOAD="$SHIM_LIB" SHIM_PROFILE="$1" SHIM_ADAPT=0 SHIM_LOG=info \
			SHIM_STATS="$BATS_TEST_TMPDIR/sd-$1" \
			/usr/sbin/sshd -D -e -f "$cfg" 2>> "$BATS_TEST_TMPDIR/sshd.log" &
	fi
	PIDS+=($!)
	wait_port "$PORT" || fail "sshd ($1) did not listen: $(cat "$BATS_TEST_TMPDIR/sshd.log")"
}

# client PROFILE CMD...: CMD without the shim (none) or under it.
client() {
	local p=$1
	shift
	if [ "$p" = none ]; then
		timeout 20 "$@"
	else
		timeout 20 env LD_PRELOAD="$SHIM_LIB" SHIM_PROFILE="$p" SHIM_ADAPT=0 \
			SHIM_STATS="$BATS_TEST_TMPDIR/cl-$p" "$@"
	fi
}

ssh_opts() {
	echo "-F /dev/null -p $PORT -i $BATS_FILE_TMPDIR/user_key -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
}

# check SERVER CLIENT: ssh true, ssh with output, rsync of the tree.
check() {
	local dest=$BATS_TEST_TMPDIR/dest-$1-$2 opts
	opts=$(ssh_opts)
	# shellcheck disable=SC2086 # the options are words
	run client "$2" ssh $opts 127.0.0.1 true
	assert_success
	# shellcheck disable=SC2086
	run client "$2" ssh $opts 127.0.0.1 'seq 1 3000 | sha256sum'
	assert_success
	assert_output "$(seq 1 3000 | sha256sum)"
	run client "$2" rsync -a -e "ssh $opts" "$BATS_FILE_TMPDIR/tree/" "127.0.0.1:$dest/"
	assert_success
	assert_equal "$(tree_hash "$dest")" "$(tree_hash "$BATS_FILE_TMPDIR/tree")"
}

# The shim served a shimmed sshd's calls from rings. Its pre-auth child,
# the one that sandboxes itself, leaves no statistics: it is chrooted to
# /run/sshd and runs under RLIMIT_FSIZE 0 (libshim(7), seccomp).
assert_served() {
	local sum
	sum=$("$ROOT/scripts/shim-stat" sum "$BATS_TEST_TMPDIR/sd-$1")
	echo "$sum" | awk '$1 ~ /\.(ring|batch)$/ { n += $2 } END { exit !(n > 0) }' ||
		fail "no call of sshd ($1) went through the shim:
$sum"
}

@test "sshd without the shim, clients with and without it" {
	start_sshd none
	check none none
	check none exact
}

@test "sshd under the exact profile" {
	start_sshd exact
	check exact none
	check exact exact
	assert_served exact
}

@test "sshd under the sqpoll profile" {
	start_sshd sqpoll
	check sqpoll none
	check sqpoll sqpoll
	assert_served sqpoll
}

@test "sshd under the batch profile" {
	start_sshd batch
	check batch none
	check batch batch
	assert_served batch
}
