#!/usr/bin/env bats
# The application corpus: programs users actually run, each without and
# with the shim, compared. Servers are started on loopback by the test and
# stopped at its end; anything not installed is skipped, never failed.

load helpers

# A command prefix (not a function: $! must be the server itself).
with_shim="env LD_PRELOAD=$SHIM_LIB SHIM_ADAPT=${SHIM_ADAPT-0} SHIM_STATS=$BATS_TEST_TMPDIR/st"

setup() {
	PIDS=()
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	stop_started
}

need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "$c not installed"
	done
}

@test "bash: pipelines, traps, subshells, job control off" {
	both 'set +m
trap "echo exit-trap" EXIT
trap "echo usr1-trap" USR1
seq 1 20000 | while read -r l; do echo "$l"; done | tail -n 1
kill -USR1 $$
(exit 3); echo "subshell $?"
{ echo a; echo b >&2; } 2>&1 | sort
x=$(seq 1 1000 | paste -sd+ | bc); echo "sum $x"
coproc cat; echo through >&"${COPROC[1]}"; exec {COPROC[1]}>&-; read -r y <&"${COPROC[0]}"; echo "coproc $y"'
	assert_output --partial "sum 500500"
	assert_output --partial "coproc through"
	# bash's read builtin reads pipes a byte at a time; echo goes
	# through stdio, which the shim cannot see.
	assert_rw_stat read.ring -ge 1000
}

# A small C project: six units, a generated header, a library and a program.
make_project() {
	local i t
	t=$(printf '\t')
	mkdir -p "$1"
	for i in 1 2 3 4 5 6; do
		printf 'int f%d(int x) { return x * %d + %d; }\n' "$i" "$i" "$i" > "$1/u$i.c"
	done
	cat > "$1/main.c" <<'EOF'
#include <stdio.h>
#include "gen.h"
int f1(int), f2(int), f3(int), f4(int), f5(int), f6(int);
int main(void)
{
	printf("%d %s\n", f1(1) + f2(2) + f3(3) + f4(4) + f5(5) + f6(6), GEN);
	return 0;
}
EOF
	cat > "$1/Makefile" <<EOF
CFLAGS = -O2 -pipe
OBJS = u1.o u2.o u3.o u4.o u5.o u6.o
prog: main.o libu.a
${t}\$(CC) -o \$@ main.o libu.a
main.o: gen.h
gen.h:
${t}echo '#define GEN "generated"' > \$@
libu.a: \$(OBJS)
${t}ar rcs \$@ \$(OBJS) 2>/dev/null
EOF
}

@test "make -j2 builds a small C project (cc -pipe, ar) the same" {
	need make cc
	make_project a
	make_project b
	plain "make -s -j2 -C a && a/prog"
	run shimmed "make -s -j2 -C b && b/prog"
	assert_success
	assert_output "$(a/prog)"
	cmp a/libu.a b/libu.a
	cmp a/main.o b/main.o
	# cc1 writes its assembly through a pipe to as (-pipe).
	assert_rw_stat write.ring -ge 6
	assert_rw_stat read.ring -ge 6
}

@test "SHIM_SKIP leaves the compilers alone, SHIM_ONLY picks make" {
	need make cc
	make_project c
	SHIM_SKIP=cc1,as,collect2,ld run shimmed "make -s -j2 -C c && c/prog"
	assert_success
	grep -lE '"exe": "(cc1|as)"' "$BATS_TEST_TMPDIR"/st.* > compilers
	[ -s compilers ] || fail "no statistics from cc1 or as"
	! xargs grep -l '"mode": "ring"' < compilers || fail "a skipped compiler used the ring"
	xargs grep -h '"mode"' < compilers | sort -u > modes
	assert_equal "$(cat modes)" '"mode": "disabled",'
	rm -f "$BATS_TEST_TMPDIR"/st.*
	make_project d
	SHIM_ONLY=make run shimmed "make -s -j2 -C d && d/prog"
	assert_success
	grep -l '"mode": "ring"' "$BATS_TEST_TMPDIR"/st.* | xargs -r grep -hE '"exe"' | sort -u > rings
	# make's jobserver pipe is make's only routed fd before 6.4
	if profile_has 6.4; then
		assert_equal "$(cat rings)" '"exe": "make",'
	else
		assert_equal "$(grep -vc '"exe": "make",' rings)" 0
	fi
}

@test "git: commit, clone over the pack protocol, log, fsck" {
	need git
	export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@e GIT_COMMITTER_NAME=t \
		GIT_COMMITTER_EMAIL=t@e GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' \
		GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' HOME=$BATS_TEST_TMPDIR
	script='rm -rf r c; git init -q -b main r && cd r &&
for i in $(seq 1 30); do seq 1 $((i * 100)) > f$i; git add f$i; git commit -qm "c$i"; done &&
cd .. && git clone -q --no-local r c && cd c && git log --oneline | head -n 3 &&
git rev-list --count HEAD && git fsck --full 2>&1 && git gc -q && git count-objects -v | grep -v size'
	both "$script"
	assert_output --partial "30"
	assert_stat read.ring -ge 10
	assert_rw_stat write.ring -ge 10
}

@test "sqlite3 runs a script: tables, 20000 rows, joins, aggregates" {
	need sqlite3
	cat > q.sql <<-'EOF'
	CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL);
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
	INSERT INTO t SELECT i, hex(i * 7919), i * 0.5 FROM n;
	CREATE INDEX tb ON t(b);
	CREATE TABLE u AS SELECT a % 97 AS k, count(*) AS n FROM t GROUP BY 1;
	SELECT count(*), sum(c), max(b) FROM t;
	SELECT k, n FROM u ORDER BY n DESC, k LIMIT 3;
	SELECT count(*) FROM t JOIN u ON t.a % 97 = u.k WHERE t.b LIKE '3%';
	PRAGMA integrity_check;
	EOF
	both 'rm -f db; sqlite3 db < q.sql && sqlite3 db "SELECT count(*) FROM t" < /dev/null'
	assert_output --partial "ok"
	# the database file's reads are positional reads of a regular file
	assert_stat pread.ring -ge 1
}

@test "nginx with two workers serves files to curl (master/worker fork)" {
	need nginx curl
	head -c 3000000 /dev/urandom > big
	echo small > small.txt
	port=$(free_port)
	mkdir -p logs tmp
	cat > nginx.conf <<-EOF
	daemon off;
	# As root, workers would drop to nobody: unable to read this test's
	# files or write its statistics. Ignored when not run as root.
	user root;
	master_process on;
	worker_processes 2;
	pid $BATS_TEST_TMPDIR/nginx.pid;
	error_log $BATS_TEST_TMPDIR/logs/error.log;
	events { worker_connections 64; }
	http {
		access_log off;
		sendfile off;
		client_body_temp_path $BATS_TEST_TMPDIR/tmp;
		proxy_temp_path $BATS_TEST_TMPDIR/tmp;
		fastcgi_temp_path $BATS_TEST_TMPDIR/tmp;
		uwsgi_temp_path $BATS_TEST_TMPDIR/tmp;
		scgi_temp_path $BATS_TEST_TMPDIR/tmp;
		server {
			listen 127.0.0.1:$port;
			root $BATS_TEST_TMPDIR;
		}
	}
	EOF
	want=$(sha256sum < big)
	for wrap in "" "$with_shim"; do
		$wrap nginx -p "$BATS_TEST_TMPDIR" -c "$BATS_TEST_TMPDIR/nginx.conf" &
		PIDS+=($!)
		wait_port "$port"
		for i in 1 2 3 4 5 6; do
			got=$(timeout 30 curl -s "http://127.0.0.1:$port/big" | sha256sum)
			assert_equal "$got" "$want"
		done
		assert_equal "$(curl -s "http://127.0.0.1:$port/small.txt")" small
		assert_equal "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/none")" 404
		# graceful stop: workers finish and exit normally
		kill -QUIT "${PIDS[-1]}"
		wait "${PIDS[-1]}"
	done
	# master and two workers each wrote statistics
	[ "$(grep -l '"exe": "nginx"' "$BATS_TEST_TMPDIR"/st.* | wc -l)" -ge 3 ] || fail "not 3 nginx processes"
	assert_stat recv.ring -ge 1
	assert_rw_stat writev.ring -ge 10
}

@test "redis-server with redis-cli: commands, pipelining, a clean shutdown" {
	need redis-server redis-cli
	cmds='for i in $(seq 1 300); do echo "SET k$i v$i"; echo "INCR n"; done |
redis-cli -p $port --pipe | tail -n 1
redis-cli -p $port GET k77; redis-cli -p $port GET n
redis-cli -p $port LPUSH l a b c; redis-cli -p $port LRANGE l 0 -1
redis-cli -p $port DBSIZE'
	declare -A out
	for wrap in plain shimmed; do
		port=$(free_port)
		if [ $wrap = shimmed ]; then
			env LD_PRELOAD="$SHIM_LIB" SHIM_ADAPT="${SHIM_ADAPT-0}" \
				SHIM_STATS="$BATS_TEST_TMPDIR/st" redis-server --port "$port" --bind 127.0.0.1 --save "" \
				--appendonly no --dir "$BATS_TEST_TMPDIR" >/dev/null &
		else
			redis-server --port "$port" --bind 127.0.0.1 --save "" \
				--appendonly no --dir "$BATS_TEST_TMPDIR" >/dev/null &
		fi
		PIDS+=($!)
		wait_port "$port"
		out[$wrap]=$($wrap "port=$port; $cmds" 2>&1)
		redis-cli -p "$port" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
		wait "${PIDS[-1]}" || true
	done
	assert_equal "${out[shimmed]}" "${out[plain]}"
	[[ ${out[plain]} == *v77* ]] || fail "redis output: ${out[plain]}"
	grep -q '"exe": "redis-server"' "$BATS_TEST_TMPDIR"/st.* || fail "redis-server wrote no statistics"
	# redis-cli's waits for replies go to libc; the server reads and
	# writes when epoll says ready, and those the ring serves.
	assert_rw_stat read.ring -ge 8
	assert_rw_stat write.ring -ge 5
}

@test "gdb -batch runs a program under the shim" {
	need gdb
	seq 1 5000 > lines
	script='gdb -q -batch -ex run --args /bin/sh -c "cat lines | wc -l" 2>&1 |
grep -vE "^\[(Inferior|Detaching|New|Thread)|libthread_db|process [0-9]+ is executing"'
	both "$script"
	assert_output --partial 5000
	assert_stat read.ring -ge 1
}

@test "python3: asyncio TCP echo and subprocess pipes" {
	cat > p.py <<-'EOF'
	import asyncio, hashlib, subprocess, sys

	async def echo(r, w):
	    while data := await r.read(65536):
	        w.write(data)
	        await w.drain()
	    w.close()

	async def main():
	    srv = await asyncio.start_server(echo, "127.0.0.1", 0)
	    port = srv.sockets[0].getsockname()[1]
	    async def client(i):
	        r, w = await asyncio.open_connection("127.0.0.1", port)
	        msg = bytes([i]) * (100000 + i)
	        w.write(msg)
	        await w.drain()
	        got = await r.readexactly(len(msg))
	        w.close()
	        return hashlib.sha256(got).hexdigest() == hashlib.sha256(msg).hexdigest()
	    ok = await asyncio.gather(*(client(i) for i in range(20)))
	    print("asyncio echo", all(ok), len(ok))
	    srv.close()
	    await srv.wait_closed()

	asyncio.run(main())
	big = b"line\n" * 200000
	p = subprocess.run(["cat"], input=big, capture_output=True)
	print("subprocess.run", p.returncode, p.stdout == big)
	with subprocess.Popen(["sort", "-r"], stdin=subprocess.PIPE, stdout=subprocess.PIPE) as s:
	    out, _ = s.communicate(b"\n".join(b"%d" % i for i in range(1000)) + b"\n")
	print("popen", s.returncode, out.split(b"\n")[0])
	print("check_output", subprocess.check_output("seq 1 100 | wc -l", shell=True).strip())
	EOF
	both 'python3 p.py'
	assert_output --partial "asyncio echo True 20"
	assert_output --partial "subprocess.run 0 True"
	assert_stat recv.ring -ge 10
	assert_stat send.ring -ge 10
}
