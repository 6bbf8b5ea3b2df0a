#!/usr/bin/env bats
# Programs whose processes share files: PostgreSQL backends extend and read
# the same relation files under locks in shared memory; git records the
# sizes and times of what it wrote. Each runs plain and under the shim in
# every profile (exact, sqpoll, batch), and the results must agree.
# Servers listen on 127.0.0.1 only and are stopped at the end of the test.

load helpers

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

setup() {
	PIDS=()
	cd "$BATS_TEST_TMPDIR"
	: > pgdirs
}

# The clusters run in $(...) subshells: their directories are in a file.
teardown() {
	local d
	while read -r d; do
		[ -f "$d/data/postmaster.pid" ] &&
			runuser -u postgres -- "$PGBIN/pg_ctl" -D "$d/data" -m immediate \
				-w stop >/dev/null 2>&1
		rm -rf "$d"
	done < "$BATS_TEST_TMPDIR/pgdirs"
	stop_started
}

pg_need() {
	[ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pgbench" ] ||
		skip "postgresql-15 and postgresql-contrib not installed"
	id postgres >/dev/null 2>&1 || skip "no postgres user"
	[ "$(id -u)" = 0 ] || skip "needs root, to run the server as postgres"
}

# pg_cluster PRE ROUNDS TX: under the command prefix PRE (empty: plain),
# initdb, start, pgbench -i -s 5, ROUNDS runs of 4 clients x TX
# transactions (4000: about as many as -T 2 makes here: the tables grow past
# their free space, and backends extend and read the same files), then the
# bank's invariant and the row counts, which do not depend on timing; then
# a clean stop.
pg_cluster() {
	local pre=$1 rounds=$2 tx=$3 d port r
	d=$(mktemp -d /tmp/shim-pg.XXXXXX)
	echo "$d" >> "$BATS_TEST_TMPDIR/pgdirs"
	cd "$d" || return 1
	chmod 755 "$d"
	chown postgres: "$d"
	port=$(free_port)
	pg() { runuser -u postgres -- env $pre "$@"; }
	pg "$PGBIN/initdb" -A trust -N -U postgres -D "$d/data" >"$d/initdb.log" 2>&1 ||
		{ cat "$d/initdb.log"; return 1; }
	# free_port's port can be taken before the server binds it: try others.
	for r in 1 2 3; do
		pg "$PGBIN/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 60 \
			-o "-k $d -p $port -c listen_addresses=127.0.0.1 -c fsync=off" \
			start >/dev/null && break
		grep -q "Address already in use" "$d/server.log" && [ "$r" != 3 ] ||
			{ cat "$d/server.log"; return 1; }
		port=$(free_port)
	done
	pg "$PGBIN/pgbench" -h "$d" -p "$port" -U postgres -i -s 5 -q postgres \
		>"$d/init.log" 2>&1 || { cat "$d/init.log"; return 1; }
	for r in $(seq "$rounds"); do
		pg "$PGBIN/pgbench" -h "$d" -p "$port" -U postgres -n -c 4 -j 2 -t "$tx" \
			postgres >"$d/run$r.log" 2>&1 || { cat "$d/run$r.log"; return 1; }
	done
	pg "$PGBIN/psql" -h "$d" -p "$port" -U postgres -At -d postgres -c \
		"select 'accounts', count(*) from pgbench_accounts;
		 select 'history', count(*) / $rounds from pgbench_history;
		 select 'consistent', (select sum(abalance) from pgbench_accounts) =
			(select sum(delta) from pgbench_history);
		 select 'branches', (select sum(bbalance) from pgbench_branches) =
			(select sum(delta) from pgbench_history);" || return 1
	pg "$PGBIN/pg_ctl" -D "$d/data" -w -t 60 stop >/dev/null || return 1
	grep -h "ERROR\|PANIC" "$d/server.log" || true
}

# pg_under PROFILE ROUNDS TX: the plain transcript must be the shimmed one.
pg_under() {
	local want got
	pg_need
	want=$(pg_cluster "" 1 "$3" 2>&1; echo "status $?")
	got=$(pg_cluster "LD_PRELOAD=$SHIM_LIB SHIM_PROFILE=$1" "$2" "$3" 2>&1; echo "status $?")
	assert_equal "$got" "$want"
	[[ $got == *"consistent|t"* ]] || fail "$got"
}

# Judged: the backends' calls go to libc but for the judge's trials.
@test "postgres + pgbench, profile exact" {
	pg_under exact 1 1000
}

# Every backend's calls on its ring, as exact served them before its judge.
@test "postgres + pgbench, profile exact, the ring forced (SHIM_ADAPT=0)" {
	pg_under "exact SHIM_ADAPT=0" 1 500
}

# An SQ thread per ring, every backend's and client's, on a small machine:
# few transactions. SHIM_ADAPT=0: the judge would keep most backends
# off the SQ thread here, and the SQ thread is what is tested.
@test "postgres + pgbench, profile sqpoll" {
	pg_under "sqpoll SHIM_ADAPT=0" 1 200
}

@test "postgres + pgbench, profile batch, five runs" {
	pg_under batch 5 4000
}

# git_over_daemon PRE: git daemon and git clone both under PRE; what the
# clone checked out must be clean: the index holds the sizes and times
# git took by fstat at checkout, which must be the files'.
git_over_daemon() {
	local pre=$1 port pid
	port=$(free_port)
	rm -rf c
	env $pre git daemon --export-all --base-path="$BATS_TEST_TMPDIR" \
		--listen=127.0.0.1 --port="$port" --reuseaddr "$BATS_TEST_TMPDIR" \
		>/dev/null 2>&1 &
	pid=$!
	wait_port "$port" || { kill "$pid"; echo "no daemon"; return 1; }
	env $pre git clone -q "git://127.0.0.1:$port/r" c 2>&1
	# diff-files trusts the index: it lists what no longer matches the
	# recorded stat data (status would refresh it first, quietly).
	(cd c && echo "stat-dirty: $(git diff-files --name-only | wc -l)" &&
		env $pre git fsck --full 2>&1 && echo "status: [$(env $pre git status --porcelain)]" &&
		git rev-list --count HEAD && git ls-files | wc -l)
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}

@test "git daemon: clone, fsck and a clean status under every profile" {
	command -v git >/dev/null || skip "git not installed"
	export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@e GIT_COMMITTER_NAME=t \
		GIT_COMMITTER_EMAIL=t@e GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' \
		GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' HOME=$BATS_TEST_TMPDIR
	git init -q -b main r
	(cd r && for i in $(seq 1 40); do seq 1 $((i * 50)) > "f$i"; mkdir -p "d$((i % 4))" &&
		seq "$i" 3000 > "d$((i % 4))/g$i"; done && git add . && git commit -qm one &&
		for i in $(seq 1 40 3); do echo "$i" >> "f$i"; done && git commit -qam two)
	local want got p
	want=$(git_over_daemon ""; echo "status $?")
	for p in exact "exact SHIM_ADAPT=0" sqpoll "sqpoll SHIM_ADAPT=0" batch; do
		got=$(git_over_daemon "LD_PRELOAD=$SHIM_LIB SHIM_PROFILE=$p"; echo "status $?")
		assert_equal "$got" "$want"
	done
	[[ $got == *"status: []"* ]] || fail "$got"
}
