#!/usr/bin/env bats
# Signals, timeouts and SIGPIPE as real programs meet them, without and
# with the shim: the same output and the same exit status, and proof from
# the statistics that the calls involved went through the ring.

load helpers

@test "timeout kills cat blocked in read on a pipe" {
	both 'sleep 1.2 | timeout 0.5 cat; echo "cat: ${PIPESTATUS[1]}"'
	assert_output --partial "cat: 124"
	# A killed process writes no statistics: show the same path with a
	# reader that lives, whose waits the ring hands to libc.
	both '{ sleep 0.3; echo late; } | timeout 5 cat; echo "cat: ${PIPESTATUS[1]}"'
	assert_output --partial "cat: 0"
	assert_rw_stat fallback.wouldblock -ge 1
	assert_rw_stat write.ring -ge 1
}

@test "timeout -s INT and -s HUP against a blocked read" {
	both 'sleep 1.2 | timeout -s INT 0.3 cat; echo "${PIPESTATUS[1]}"; sleep 1.2 | timeout -s HUP 0.3 dd of=/dev/null status=none; echo "${PIPESTATUS[1]}"'
	assert_output --partial 124
}

@test "yes | head: SIGPIPE ends the writer (status 141)" {
	both 'yes | head -n 100000 | wc -l; echo "yes: ${PIPESTATUS[0]}"'
	assert_output --partial "yes: 141"
	# yes dies of SIGPIPE and writes no statistics; head does. A reader
	# faster than its writer finds the pipe empty: its reads went to the
	# ring and then libc, or straight to libc once predicted to wait.
	if profile_has 6.4; then
		[ $(($(stat_of read.ring) + $(stat_of fallback.wouldblock))) -ge 1 ] ||
			fail "head's reads never reached the ring"
	else
		assert_stat fallback.fd-type -ge 1
	fi
}

@test "SIGPIPE ignored: the writer sees EPIPE instead" {
	cd "$BATS_TEST_TMPDIR"
	both 'trap "" PIPE; yes 2>err | head -c 10 >/dev/null; echo "yes: ${PIPESTATUS[0]}"; cat err'
	assert_output --partial "yes: 1"
	assert_output --partial "Broken pipe"
	assert_rw_stat write.ring -ge 1
}

@test "python: a signal handler that raises interrupts a blocking recv" {
	both 'python3 -c "
import signal, socket
class Alarm(Exception): pass
def h(*a): raise Alarm()
signal.signal(signal.SIGALRM, h)
a, b = socket.socketpair()
signal.setitimer(signal.ITIMER_REAL, 0.2)
try:
    a.recv(10)
except Alarm:
    print(\"interrupted\")
b.send(b\"late\")
print(a.recv(10))
"'
	assert_output --partial interrupted
	assert_stat recv.ring -ge 1
}

@test "python: a handler that returns lets recv go on (PEP 475 retries EINTR)" {
	both 'python3 -c "
import signal, socket, threading, time
n = 0
def h(*a):
    global n; n += 1
signal.signal(signal.SIGALRM, h)
a, b = socket.socketpair()
signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
threading.Timer(0.5, lambda: b.send(b\"data\")).start()
print(a.recv(10))
signal.setitimer(signal.ITIMER_REAL, 0)
print(\"handler ran\", n > 3)
"'
	assert_output --partial "handler ran True"
}

@test "python: SO_RCVTIMEO and SO_SNDTIMEO on blocking sockets" {
	both 'python3 -c "
import socket, struct, time
a, b = socket.socketpair()
a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack(\"ll\", 0, 200000))
t = time.monotonic()
try:
    a.recv(10)
except OSError as e:
    print(\"recv\", e.errno, 0.15 < time.monotonic() - t < 2)
b.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack(\"ll\", 0, 200000))
sent = 0
try:
    while True:
        sent += b.send(b\"x\" * 65536)
except OSError as e:
    print(\"send\", e.errno, sent > 0)
"'
	assert_output --partial "recv 11 True"
	assert_output --partial "send 11 True"
	# The waits that time out run in libc, under the kernel's own timer.
	assert_stat fallback.wouldblock -ge 2
	assert_stat send.ring -ge 1
}

@test "curl --max-time against a server that never answers" {
	port=$(free_port)
	python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $port)); s.listen(8)
conns = []
t = time.monotonic()
while time.monotonic() - t < 20:
    s.settimeout(1)
    try: conns.append(s.accept()[0])
    except OSError: pass
" &
	srv=$!
	wait_port "$port"
	both "curl -s --max-time 1 http://127.0.0.1:$port/; echo curl \$?"
	kill "$srv"
	assert_output --partial "curl 28"
}

@test "bash trap runs while read waits on a fifo; the data still arrives" {
	cd "$BATS_TEST_TMPDIR"
	mkfifo f1 f2
	both 'trap "echo trapped" USR1
{ sleep 0.3; kill -USR1 $$; sleep 0.3; echo data; } > f1 &
read -r x < f1; echo "read: $? $x"; wait
trap "echo trapped again" USR2
{ sleep 0.3; kill -USR2 $$; sleep 0.3; echo more; } > f2 &
cat f2; wait'
	assert_output --partial "trapped"
}

@test "dd reports progress on SIGUSR1 while blocked and loses no data" {
	script='{ head -c 100000 /dev/zero; sleep 0.6; head -c 100000 /dev/zero; } |
dd bs=4096 iflag=fullblock 2>err | wc -c &
sleep 0.3; pkill -USR1 -x dd -P $$ 2>/dev/null || kill -USR1 $(pgrep -x dd); wait
grep -c "records in" err'
	cd "$BATS_TEST_TMPDIR"
	both "$script"
	assert_output --partial 200000
}

@test "xargs -P 4 with many short writers into one pipe" {
	both 'seq 1 400 | xargs -P 4 -n 1 sh -c "printf \"%0100d\n\" \$0" | sort | uniq -c | wc -l'
	assert_output --partial 400
	assert_rw_stat write.ring -ge 100
}

@test "perl: a handler without SA_RESTART makes a blocked sysread fail with EINTR" {
	# perl installs %SIG handlers without SA_RESTART: sysread sees EINTR.
	both 'perl -e "
\$SIG{ALRM} = sub { print qq(alarm\n) };
pipe(R, W) or die;
alarm 1;
my \$n = sysread(R, my \$buf, 10);
print defined(\$n) ? qq(read \$n\n) : qq(error \$!\n);
"'
	assert_output --partial "Interrupted system call"
	assert_rw_stat fallback.wouldblock -ge 1
}
