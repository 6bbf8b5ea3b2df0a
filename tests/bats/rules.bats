#!/usr/bin/env bats
# The rules files: which line matches, which file is read, that the
# environment wins, that each exec'd program matches its own name, and that
# a bad line is warned about once. SHIM_LOG=info shows the decision.

setup() {
	load helpers
	export XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/cfg
	mkdir -p "$XDG_CONFIG_HOME/libshim"
	R=$XDG_CONFIG_HOME/libshim/rules
	# The matrix runs every suite with SHIM_KERNEL or SHIM_PROFILE set:
	# those would show in the decisions these tests read.
	local v
	for v in $(compgen -e | grep '^SHIM_'); do
		[ "$v" = SHIM_LIB ] || unset "$v"
	done
}

# info CMD...: the shim's info lines of CMD (run shimmed, stdin empty).
info() {
	SHIM_LOG=info LD_PRELOAD=$SHIM_LIB "$@" < /dev/null 2>&1 > /dev/null
}

@test "rules: the first matching line decides, with its settings" {
	printf '# comment\n\ncat  batch SHIM_BATCH_US=500  # why\ncat sqpoll\n* exact SHIM_ROUTE=-pipe\n' > "$R"
	run info cat
	assert_output --partial "rule $R:3 matches cat: batch SHIM_BATCH_US=500"
	assert_output --partial "cat: profile batch; SHIM_BATCH_US=500"
	run info head -c 0
	assert_output --partial "rule $R:5 matches head: exact SHIM_ROUTE=-pipe"
	assert_output --partial "head: profile exact; SHIM_ROUTE=-pipe"
}

@test "rules: no matching line, no rule" {
	echo "cat batch" > "$R"
	run info head -c 0
	refute_output --partial "rule "
	assert_output --partial "head: profile exact; all defaults"
}

@test "rules: the environment wins over a rule, variable by variable" {
	echo "cat batch SHIM_BATCH_US=500 SHIM_BATCH_BYTES=8192" > "$R"
	run env SHIM_PROFILE=exact SHIM_BATCH_US=7 SHIM_LOG=info LD_PRELOAD="$SHIM_LIB" cat < /dev/null
	assert_output --partial "matches cat: batch (the environment's wins) SHIM_BATCH_US=500 (the environment's wins) SHIM_BATCH_BYTES=8192"
	assert_output --partial "cat: profile exact; SHIM_BATCH_BYTES=8192 SHIM_BATCH_US=7"
}

@test "rules: off loads the shim but routes nothing" {
	echo "cat off" > "$R"
	ST=$BATS_TEST_TMPDIR/st
	echo hello | SHIM_STATS=$ST LD_PRELOAD=$SHIM_LIB cat > /dev/null
	run "$ROOT/scripts/shim-stat" sum "$ST"
	assert_line "mode disabled"
	assert_line "ring.total 0" || refute_output --regexp '\.ring [1-9]'
}

@test "rules: children decide for themselves" {
	printf 'sh exact\ncat batch\n' > "$R"
	run info sh -c 'echo x | cat'
	assert_output --regexp "rule $R:1 matches sh: exact"
	assert_output --regexp "rule $R:2 matches cat: batch"
	assert_output --partial "cat: profile batch"
}

@test "rules: SHIM_CONFIG replaces both files; empty means no rules" {
	echo "cat batch" > "$R"
	echo "cat sqpoll" > "$BATS_TEST_TMPDIR/mine"
	run env SHIM_CONFIG="$BATS_TEST_TMPDIR/mine" SHIM_LOG=info LD_PRELOAD="$SHIM_LIB" cat < /dev/null
	assert_output --partial "rule $BATS_TEST_TMPDIR/mine:1 matches cat: sqpoll"
	run env SHIM_CONFIG= SHIM_LOG=info LD_PRELOAD="$SHIM_LIB" cat < /dev/null
	refute_output --partial "rule "
}

@test "rules: without XDG_CONFIG_HOME, ~/.config/libshim/rules" {
	mkdir -p "$BATS_TEST_TMPDIR/home/.config/libshim"
	echo "cat batch" > "$BATS_TEST_TMPDIR/home/.config/libshim/rules"
	run env -u XDG_CONFIG_HOME HOME="$BATS_TEST_TMPDIR/home" SHIM_LOG=info LD_PRELOAD="$SHIM_LIB" cat < /dev/null
	assert_output --partial "rule $BATS_TEST_TMPDIR/home/.config/libshim/rules:1 matches cat: batch"
}

@test "rules: a bad line is warned about once, skipped, and the rest still works" {
	printf 'cat\ncat fast\ncat batch SHIM_STATS=/tmp/x\ncat batch FOO=1\ncat batch\n' > "$R"
	run env LD_PRELOAD="$SHIM_LIB" cat < /dev/null
	assert_success
	assert_equal "$(grep -c 'warn: ' <<< "$output")" 4
	assert_line --partial "$R:1: 'no profile'"
	assert_line --partial "$R:2: 'fast'"
	assert_line --partial "$R:3: 'SHIM_STATS=/tmp/x'"
	assert_line --partial "$R:4: 'FOO=1'"
	run env SHIM_LOG=info LD_PRELOAD="$SHIM_LIB" cat < /dev/null
	assert_output --partial "rule $R:5 matches cat: batch"
	run env SHIM_LOG=off LD_PRELOAD="$SHIM_LIB" cat < /dev/null
	assert_output ""
}

@test "rules: a program's output is the same under its rule" {
	echo "* batch" > "$R"
	data_setup 300000
	both "dd if='$DATA' bs=64 status=none | cat | sha256sum"
	assert_output --partial "$WANT"
}
