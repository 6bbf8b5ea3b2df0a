"""bench/run: the subjects, each benchmark a Bench, their parameters and inputs."""

import hashlib
import os
import re
import signal
import subprocess
import time

from .common import DEVNULL, SYS_PYTHON, bin_path
from .running import client, free_port, keyvals, ms, pipeline, read_port, stop, wait_all, wait_listen


# --------------------------------------------------------------- benchmarks

class Bench:
    """fn(run, p) -> metrics.  goal: the batch ratio asked for (None: report
    only).  verify(run, p) -> sha256 of the output, run once per mode
    untimed and compared with the plain run's.  timed_stats False: the
    timed runs go without SHIM_STATS (writing a statistics file is most of
    what a short process would pay: 40 us on tmpfs, 500 us on this ext4)
    and one untimed run per mode gives the counters.  shim_env: more of the
    shim's variables for every shimmed mode (SHIM_BATCH_FLUSH=ring)."""

    def __init__(self, group, name, fn, note="", goal=None, verify=None,
                 timed_stats=True, shim_env=None):
        self.group, self.name, self.fn, self.note = group, name, fn, note
        self.goal, self.verify = goal, verify
        self.timed_stats = timed_stats
        self.shim_env = shim_env or {}


def repeated(fn, times):
    """A subject whose one run is short (tens of ms): one sample is TIMES
    runs, each a new process, timed and counted together. A process's
    placement (its buffers, its core) makes a run fast or slow as a whole,
    and five samples of one run each are too few to see past that."""
    def rep(run, p):
        total, ops = 0.0, 0
        for _ in range(times):
            res = fn(run, p)
            total += res["time"][0]
            ops += res["_ops"]
        return {"time": (total, "ms", False), "_ops": ops}
    return rep


def micro_bench(case):
    def fn(run, p):
        out = client([bin_path("micro"), "-c", case, "-t", str(p["micro_ms"])],
                     run, shimmed=True)
        res, ops = {}, 0
        for line in out.splitlines():
            name, val, unit, iters = line.split()
            res[name.split(".", 1)[1]] = (float(val), unit, unit != "ns")
            ops += int(iters)
        res["_ops"] = ops
        return res
    return fn


def spawn_fn(run, p):
    """A shell that runs a short program many times: each process, the
    shell's children too, loads and starts the shim."""
    n = p["spawn_count"]
    loop = f"i=0; while [ $i -lt {n} ]; do /bin/true; i=$((i+1)); done"
    secs = pipeline(run, [["/bin/sh", "-c", loop]])
    return {"time": ms(secs), "_ops": n}


def dd_bench(target, bs):
    def fn(run, p):
        n = max(1, p["dd_bytes"][bs] // bs)
        src = ["dd", "if=/dev/zero", f"bs={bs}", f"count={n}", "status=none"]
        if target == "null":
            cmds = [src + ["of=/dev/null"]]
        elif target == "pipe":
            cmds = [src, ["dd", "of=/dev/null", f"bs={bs}", "status=none"]]
        else:
            out = os.path.join(run.tmp, "dd.out")
            cmds = [src + [f"of={out}"]]
        secs = pipeline(run, cmds)
        if target == "file":
            os.unlink(out)
        return {"time": ms(secs), "_ops": n}
    return fn


def bcat_bench(variant):
    def fn(run, p):
        big = p["bigfile"]
        size = os.path.getsize(big)
        bcat = bin_path("bcat")
        if variant == "4k-null":
            cmds, ops = [[bcat, "-b", "4k", big]], size // 4096
        elif variant == "64k-null":
            cmds, ops = [[bcat, "-b", "64k", big]], size // 65536
        else:
            cmds, ops = [[bcat, "-b", "64k", big], [bcat, "-b", "64k"]], size // 65536
        return {"time": ms(pipeline(run, cmds)), "_ops": ops}
    return fn


def bcp_fn(run, p):
    big = p["bigfile"]
    dst = os.path.join(run.tmp, "bcp.out")
    secs = pipeline(run, [[bin_path("bcp"), "-b", "64k", big, dst]])
    os.unlink(dst)
    return {"time": ms(secs), "_ops": os.path.getsize(big) // 65536}


def logwriter_bench(target):
    def fn(run, p):
        n = p["log_records"]
        cmd = [bin_path("logwriter"), "-n", str(n)]
        if target == "null":
            secs = pipeline(run, [cmd])
        elif target == "pipe":
            secs = pipeline(run, [cmd, [bin_path("bcat"), "-b", "64k"]])
        else:
            path = os.path.join(run.tmp, "log.out")
            with open(path, "wb") as f:
                secs = pipeline(run, [cmd], stdout=f)
            os.unlink(path)
        return {"time": ms(secs), "_ops": n}
    return fn


def fanout_fn(run, p):
    """Records to four files in the temp dir and notices to a pipe; the
    reader's verdict is its output, compared across modes."""
    n = p["fan_records"]
    secs = pipeline(run, [[bin_path("fanout"), "-n", str(n), "-d", run.tmp]])
    return {"time": ms(secs), "_ops": n}


def fanout_verify(run, p):
    return output_digest(run, [[bin_path("fanout"), "-n", str(p["fan_records"]),
                                "-d", run.tmp]], "fanout")


def fanserver_fn(run, p):
    n = p["fan_events"]
    secs = pipeline(run, [[bin_path("fanserver"), "-n", str(n)]])
    return {"time": ms(secs), "_ops": n}


def fanserver_verify(run, p):
    return output_digest(run, [[bin_path("fanserver"), "-n", str(p["fan_events"])]],
                         "fanserver")


def echo_metrics(out, mode):
    kv = keyvals(out)
    if mode == "conn":
        res = {"conn/s": (kv["conn_per_s"], "conn/s", True)}
    else:
        res = {"req/s": (kv["req_per_s"], "req/s", True),
               "p50": (kv["p50_us"], "us", False),
               "p99": (kv["p99_us"], "us", False)}
    res["_ops"] = kv["requests"]
    return res


def echo_bench(mode, conns, size, client_shimmed=False):
    def fn(run, p):
        srv = run.spawn([bin_path("echo-server"), "-p", "0"], stdout=subprocess.PIPE)
        try:
            port = read_port(srv)
            out = client([bin_path("echo-client"), "-p", str(port), "-m", mode,
                          "-c", str(conns), "-s", str(size),
                          "-t", str(p["net_secs"])], run, shimmed=client_shimmed)
        finally:
            stop(run, srv)
        return echo_metrics(out, mode)
    return fn


def proxy_bench(conns, size):
    def fn(run, p):
        # Only the proxy is the subject; the echo upstream runs plain.
        up = subprocess.Popen([bin_path("echo-server"), "-p", "0"],
                              env=run.plain_env, stdout=subprocess.PIPE)
        prx = None
        try:
            up_port = read_port(up)
            prx = run.spawn([bin_path("proxy"), "-u", f"127.0.0.1:{up_port}"],
                            stdout=subprocess.PIPE)
            port = read_port(prx)
            out = client([bin_path("echo-client"), "-p", str(port), "-m", "rr",
                          "-c", str(conns), "-s", str(size),
                          "-t", str(p["net_secs"])], run)
        finally:
            if prx:
                stop(run, prx)
            up.terminate()
            up.wait()
        return echo_metrics(out, "rr")
    return fn


def socat_fn(run, p):
    nbytes = p["socat_bytes"]
    port = free_port()
    lst = run.spawn(["socat", "-u", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr",
                     "STDOUT"], stdout=DEVNULL)
    try:
        wait_listen(lst, port)
        start = time.perf_counter()
        snd = run.spawn(["socat", "-u", f"OPEN:/dev/zero,readbytes={nbytes}",
                         f"TCP:127.0.0.1:{port}"])
        wait_all([snd, lst])
        secs = time.perf_counter() - start
    finally:
        if lst.poll() is None:
            lst.kill()
            lst.wait()
    # socat moves 8 KiB per read/write by default.
    return {"time": ms(secs), "_ops": nbytes // 8192}


def redis_fn(run, p):
    port = free_port()
    srv = run.spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--daemonize", "no",
                     "--dir", run.tmp, "--logfile", ""], stdout=DEVNULL)
    try:
        wait_listen(srv, port)
        out = client(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q",
                      "-t", "set,get", "-n", str(p["redis_n"])], run)
    finally:
        stop(run, srv)
    res = {}
    for test, rps in re.findall(r"(SET|GET): ([\d.]+) requests per second", out):
        res[test.lower() + " req/s"] = (float(rps), "req/s", True)
    if len(res) != 2:
        raise RuntimeError(f"redis-benchmark output: {out[-300:]!r}")
    res["_ops"] = 2 * p["redis_n"]
    return res


def wrk(run, port, path, threads, conns, secs):
    # wrk only takes whole seconds.
    out = client(["wrk", f"-t{threads}", f"-c{conns}", f"-d{max(1, round(secs))}s",
                  f"http://127.0.0.1:{port}{path}"], run)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not rps or not total:
        raise RuntimeError(f"wrk output: {out[-300:]!r}")
    return float(rps.group(1)), int(total.group(1))


NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 2;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    keepalive_requests 100000;
    client_body_temp_path {tmp}/ng-body;
    proxy_temp_path {tmp}/ng-proxy;
    fastcgi_temp_path {tmp}/ng-fcgi;
    uwsgi_temp_path {tmp}/ng-uwsgi;
    scgi_temp_path {tmp}/ng-scgi;
    server {{
        listen 127.0.0.1:{port};
        root {www};
    }}
}}
"""


def nginx_fn(run, p):
    port = free_port()
    conf = os.path.join(run.tmp, "nginx.conf")
    user = "user root;" if os.geteuid() == 0 else ""
    with open(conf, "w", encoding="ascii") as f:
        f.write(NGINX_CONF.format(tmp=run.tmp, port=port, www=p["www"], user=user))
    pidfile = os.path.join(run.tmp, "nginx.pid")
    srv = run.spawn(["nginx", "-p", run.tmp, "-c", conf], stdout=DEVNULL)
    try:
        wait_listen(srv, port)
        small, n1 = wrk(run, port, "/small.html", 2, 16, p["net_secs"])
        big, n2 = wrk(run, port, "/big.bin", 2, 16, p["net_secs"])
    finally:
        master = None
        try:
            with open(pidfile, encoding="ascii") as f:
                master = int(f.read())
        except (OSError, ValueError):
            pass
        stop(run, srv, signal.SIGQUIT, pid=master)
    return {"small req/s": (small, "req/s", True),
            "1MiB req/s": (big, "req/s", True), "_ops": n1 + n2}


def httpserver_fn(run, p):
    port = free_port()
    srv = run.spawn([SYS_PYTHON, "-m", "http.server", "--bind", "127.0.0.1",
                     "--directory", p["www"], str(port)],
                    stdout=DEVNULL, stderr=DEVNULL)
    try:
        wait_listen(srv, port)
        rps, n = wrk(run, port, "/small.html", 1, 4, p["net_secs"])
    finally:
        # KeyboardInterrupt is http.server's clean way out.
        stop(run, srv, signal.SIGINT)
    return {"small req/s": (rps, "req/s", True), "_ops": n}


# ----------------------------------------------------- batch profile goals
# Many small writes into a pipe or file: what the batch profile is for.
# Each has a goal for the batch ratio (what staging must buy to be worth
# its relaxed semantics), and an untimed run per mode whose output is
# hashed and compared with the plain run's: a faster wrong answer is none.

VERIFY_TIMEOUT = 120
PY_PRINT = 'for i in range({n}):\n    print("line", i, "of the python batch bench")\n'


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def output_digest(run, cmds, name):
    """Run cmds (all shimmed) with the last one's stdout to a file in the
    temp dir; return the file's sha256."""
    path = os.path.join(run.tmp, f"{name}-{run.mode}.check")
    try:
        with open(path, "wb") as f:
            pipeline(run, cmds, stdout=f, timeout=VERIFY_TIMEOUT)
        return sha256_file(path)
    finally:
        if os.path.exists(path):
            os.unlink(path)


def goal_logwriter(target):
    """logwriter into `cat > /dev/null` (both shimmed), or into a file."""
    def cmd(p):
        return [bin_path("logwriter"), "-n", str(p["goal_records"])]

    def fn(run, p):
        if target == "pipe":
            secs = pipeline(run, [cmd(p), ["cat"]])
        else:
            path = os.path.join(run.tmp, "goal-log.out")
            with open(path, "wb") as f:
                secs = pipeline(run, [cmd(p)], stdout=f)
            os.unlink(path)
        return {"time": ms(secs), "_ops": p["goal_records"], "_writer_cpu": run.cpu[0]}

    def verify(run, p):
        cmds = [cmd(p), ["cat"]] if target == "pipe" else [cmd(p)]
        return output_digest(run, cmds, "goal-log")
    return fn, verify


def goal_dd_fn(run, p):
    n = p["goal_dd_count"]
    secs = pipeline(run, [["dd", "if=/dev/zero", "bs=64", f"count={n}", "status=none"],
                          ["cat"]])
    return {"time": ms(secs), "_ops": n, "_writer_cpu": run.cpu[0]}


def goal_dd_verify(run, p):
    # Zeros would hide reordering: copy a random file, in blocks that do
    # not divide its size, through the pipe into a file.
    return output_digest(run, [["dd", f"if={p['randfile']}", "bs=77", "status=none"],
                               ["cat"]], "goal-dd")


def goal_py_cmd(p):
    return [SYS_PYTHON, "-u", "-c", PY_PRINT.format(n=p["goal_py_lines"])]


def goal_py_fn(run, p):
    secs = pipeline(run, [goal_py_cmd(p), ["cat"]])
    return {"time": ms(secs), "_ops": p["goal_py_lines"], "_writer_cpu": run.cpu[0]}


def goal_py_verify(run, p):
    return output_digest(run, [goal_py_cmd(p), ["cat"]], "goal-py")


def goal_benches():
    g = "batch goals"
    lw_pipe, lw_pipe_v = goal_logwriter("pipe")
    lw_file, lw_file_v = goal_logwriter("file")
    return [
        Bench(g, "logwriter|cat", lw_pipe,
              "64 B records, one write() each, into a pipe read by `cat > /dev/null`; "
              "both shimmed. Ops = records", goal=3.0, verify=lw_pipe_v),
        Bench(g, "logwriter>file", lw_file,
              "64 B records into a regular file in the temp dir. Ops = records",
              goal=3.0, verify=lw_file_v),
        Bench(g, "dd bs=64|cat", goal_dd_fn,
              "`dd if=/dev/zero bs=64 | cat > /dev/null`, both shimmed. Ops = blocks; "
              "identity: `dd bs=77` of a random file", goal=1.8, verify=goal_dd_verify),
        Bench(g, "python3 -u print|cat", goal_py_fn,
              "`python3 -u` printing short lines into `cat > /dev/null`, both shimmed; "
              "report only. Ops = lines", verify=goal_py_verify),
    ]


def benches():
    b = []
    for case in ("pipe", "unix", "tcp", "file", "zero", "accept"):
        b.append(Bench("micro", case, micro_bench(case),
                       "one thread; write then read back, per pair"))
    for target in ("null", "pipe", "file"):
        for bs in (64, 4096, 65536, 1 << 20):
            label = {64: "64", 4096: "4k", 65536: "64k", 1 << 20: "1M"}[bs]
            if target == "null" and bs >= 65536:   # 30 ms or less a run
                b.append(Bench("dd", f"{target} bs={label}",
                               repeated(dd_bench(target, bs), 4), "4 runs per sample"))
            else:
                b.append(Bench("dd", f"{target} bs={label}", dd_bench(target, bs)))
    b.append(Bench("bcat", "file->null 4k", bcat_bench("4k-null")))
    b.append(Bench("bcat", "file->null 64k", repeated(bcat_bench("64k-null"), 4),
                   "4 runs per sample"))
    b.append(Bench("bcat", "bcat|bcat 64k", bcat_bench("pipe")))
    b.append(Bench("bcp", "file->file 64k", bcp_fn))
    b.append(Bench("start-up", "sh: /bin/true x N", spawn_fn,
                   "a shell loop that runs /bin/true; every process loads the "
                   "shim. Ops = processes. Timed without SHIM_STATS",
                   timed_stats=False))
    for target in ("null", "file", "pipe"):
        b.append(Bench("logwriter", f"64B records->{target}", logwriter_bench(target)))
    b.extend(goal_benches())
    b.append(Bench("fan-out", "4 files + pipe", fanout_fn,
                   "64 B records round-robin to four files, a notice on a pipe every 16; "
                   "a forked reader checks each notice's records are in their files "
                   "(output: early 0). Ops = records", verify=fanout_verify))
    b.append(Bench("fan-out", "8 sockets/event", fanserver_fn,
                   "a 64 B message to each of eight unix sockets per event; the driver "
                   "(unshimmed) checks each and sends the next event. Ops = events",
                   verify=fanserver_verify))
    # The same two with batch's plain-write flush: their batch column
    # against the one above is the linked submission against write(2)s.
    plainflush = {"SHIM_BATCH_FLUSH": "write"}
    b.append(Bench("fan-out", "4 files + pipe, flush=write", fanout_fn,
                   "as above, SHIM_BATCH_FLUSH=write (a flush is write(2)s; "
                   "files are written so under ring too)", verify=fanout_verify,
                   shim_env=plainflush))
    b.append(Bench("fan-out", "8 sockets/event, flush=write", fanserver_fn,
                   "as above, SHIM_BATCH_FLUSH=write: a thread holds staged data "
                   "on one socket at a time", verify=fanserver_verify,
                   shim_env=plainflush))
    # Registered files (SHIM_FIXED_FILES=32, off by default): the ring
    # forced on every call (SHIM_ADAPT=0), without and with them, for what
    # a slot saves each ring op; and two programs with the judge on. The
    # batch column registers nothing: the control.
    ring = {"SHIM_ADAPT": "0"}
    fixed = {"SHIM_FIXED_FILES": "32"}
    for case in ("pipe", "unix"):
        b.append(Bench("fixed files", f"micro {case}, ring", micro_bench(case),
                       "micro with SHIM_ADAPT=0: every call on the ring",
                       shim_env=ring))
        b.append(Bench("fixed files", f"micro {case}, ring, fixed",
                       micro_bench(case),
                       "as above, SHIM_FIXED_FILES=32: each end in a slot",
                       shim_env={**ring, **fixed}))
    b.append(Bench("fixed files", "bcat|bcat 64k, fixed", bcat_bench("pipe"),
                   "bcat | bcat with SHIM_FIXED_FILES=32", shim_env=fixed))
    b.append(Bench("fixed files", "socat TCP, fixed", socat_fn,
                   "socat with SHIM_FIXED_FILES=32", shim_env=fixed))
    b.append(Bench("echo", "rr c=1 64B", echo_bench("rr", 1, 64),
                   "server shimmed, client plain"))
    b.append(Bench("echo", "rr c=4 64B", echo_bench("rr", 4, 64)))
    b.append(Bench("echo", "rr c=4 16KiB", echo_bench("rr", 4, 16384)))
    b.append(Bench("echo", "conn c=4", echo_bench("conn", 4, 64)))
    b.append(Bench("echo", "rr c=1 64B both", echo_bench("rr", 1, 64, True),
                   "server and client shimmed"))
    b.append(Bench("proxy", "rr c=4 64B", proxy_bench(4, 64),
                   "proxy shimmed; echo upstream and client plain"))
    b.append(Bench("proxy", "rr c=1 64KiB", proxy_bench(1, 65536)))
    b.append(Bench("socat", "TCP stream", socat_fn, "listener and sender shimmed"))
    b.append(Bench("redis", "redis-benchmark", redis_fn,
                   "server shimmed, redis-benchmark plain (50 clients)"))
    b.append(Bench("nginx", "wrk -t2 -c16", nginx_fn, "nginx shimmed, wrk plain"))
    b.append(Bench("http.server", "wrk -t1 -c4", httpserver_fn,
                   "python3 -m http.server shimmed, wrk plain"))
    return b


def params(quick, tmp):
    mib = 1 << 20
    if quick:
        p = {"micro_ms": 40, "net_secs": 0.3, "socat_bytes": 64 * mib,
             "redis_n": 10000, "log_records": 50000, "bigfile_mib": 64,
             "goal_records": 200000, "goal_dd_count": 200000, "goal_py_lines": 50000,
             "fan_records": 100000, "fan_events": 10000, "spawn_count": 100,
             "dd_bytes": {64: 1 * mib, 4096: 32 * mib, 65536: 128 * mib,
                          mib: 128 * mib}}
    else:
        p = {"micro_ms": 200, "net_secs": 2, "socat_bytes": 256 * mib,
             "redis_n": 100000, "log_records": 1000000, "bigfile_mib": 256,
             "goal_records": 1000000, "goal_dd_count": 1000000, "goal_py_lines": 200000,
             "fan_records": 400000, "fan_events": 50000, "spawn_count": 300,
             "dd_bytes": {64: 12 * mib, 4096: 256 * mib, 65536: 512 * mib,
                          mib: 1024 * mib}}
    p["bigfile"] = os.path.join(tmp, "big.bin")
    p["www"] = os.path.join(tmp, "www")
    p["randfile"] = os.path.join(tmp, "rand.bin")
    return p


def strace_params(quick, tmp):
    """Syscall counting is per op, so a small size is enough; strace makes
    every syscall ~10x slower."""
    p = params(True, tmp)
    p.update({"micro_ms": 20, "net_secs": 0.3, "socat_bytes": 16 << 20,
              "redis_n": 5000, "log_records": 20000, "goal_records": 20000,
              "goal_dd_count": 20000, "goal_py_lines": 5000,
              "fan_records": 20000, "fan_events": 2000})
    p["dd_bytes"] = {k: v // 4 for k, v in p["dd_bytes"].items()}
    return p


def make_inputs(p):
    chunk = os.urandom(1 << 20)
    with open(p["bigfile"], "wb") as f:
        for _ in range(p["bigfile_mib"]):
            f.write(chunk)
    os.makedirs(p["www"], exist_ok=True)
    with open(os.path.join(p["www"], "small.html"), "w", encoding="ascii") as f:
        f.write("<html><body>" + "hello, bench " * 40 + "</body></html>\n")
    with open(os.path.join(p["www"], "big.bin"), "wb") as f:
        f.write(chunk)
    # The batch goals' identity input: 1 MiB + 1234 bytes, not a multiple of 77.
    with open(p["randfile"], "wb") as f:
        f.write(chunk + chunk[:1234])
    # nginx workers may run as an unprivileged user.
    os.chmod(os.path.dirname(p["www"]), 0o755)
