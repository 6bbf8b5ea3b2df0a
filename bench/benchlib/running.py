"""bench/run: running the subjects: processes, pipelines, servers and clients,
one benchmark interleaved over the modes, identity runs, syscall counts."""

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time

from .common import DEVNULL, LIB, MODES, bin_path, clean_env, log
from .stats import read_stats


class Run:
    """One execution of one benchmark in one mode.

    Subject commands go through cmd()/env so they get the shim (and strace
    when counting syscalls); load generators use plain_env and run bare.
    """

    def __init__(self, mode, tmp, stats_prefix=None, strace_dir=None, shim_env=None):
        self.mode = mode
        self.tmp = tmp
        # (user, system) CPU seconds of each process of the last pipeline()
        self.cpu = []
        self.strace_dir = strace_dir
        self.strace_files = []
        self.plain_env = clean_env()
        self.shim_vars = {}
        if mode != "plain":
            self.shim_vars = {"LD_PRELOAD": LIB, "SHIM_PROFILE": mode, **(shim_env or {})}
            if stats_prefix:
                self.shim_vars["SHIM_STATS"] = stats_prefix
        self.env = dict(self.plain_env)
        if not strace_dir:
            self.env.update(self.shim_vars)

    def cmd(self, argv):
        if not self.strace_dir:
            return argv
        out = os.path.join(self.strace_dir, f"{len(self.strace_files)}.txt")
        self.strace_files.append(out)
        # -E hands the shim to the tracee only; strace itself stays plain.
        pre = ["strace", "-f", "-c", "-o", out]
        for key, val in self.shim_vars.items():
            pre += ["-E", f"{key}={val}"]
        return pre + argv

    def spawn(self, argv, **kw):
        """Start a subject process."""
        return subprocess.Popen(self.cmd(argv), env=self.env, **kw)


# ---------------------------------------------------------------- processes

def wait_all(procs, timeout=600):
    """Blocking waits: Popen.wait(timeout=) polls with sleeps of up to
    50 ms, which would quantize every timing.  A timer kills stragglers."""
    def kill_all():
        for q in procs:
            if q.poll() is None:
                q.kill()
    timer = threading.Timer(timeout, kill_all)
    timer.start()
    cpu = []
    try:
        for p in procs:
            cpu.append(reap(p))
    finally:
        timer.cancel()
    for p in procs:
        if p.returncode != 0:
            raise RuntimeError(f"exit {p.returncode}: {' '.join(p.args)}")
    return cpu


def reap(p):
    """Wait for p and return its (user, system) CPU seconds, or None when
    the timer's poll() reaped it first."""
    try:
        _, status, ru = os.wait4(p.pid, 0)
    except ChildProcessError:
        p.wait()
        return None
    p.returncode = os.waitstatus_to_exitcode(status)
    return (ru.ru_utime, ru.ru_stime)


def pipeline(run, cmds, stdout=None, timeout=600):
    """Run subject commands connected by pipes; return wall seconds."""
    out = stdout or DEVNULL
    procs = []
    start = time.perf_counter()
    prev = None
    for i, argv in enumerate(cmds):
        last = i == len(cmds) - 1
        p = run.spawn(argv, stdin=prev or DEVNULL,
                      stdout=out if last else subprocess.PIPE)
        if prev:
            prev.close()
        prev = None if last else p.stdout
        procs.append(p)
    run.cpu = wait_all(procs, timeout)
    return time.perf_counter() - start


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    want = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[1].endswith(want) and fields[3] == "0A":
                        return True
        except OSError:
            pass
    return False


def wait_listen(proc, port, timeout=20):
    """Wait until something listens on port, without connecting to it
    (a probe connection would count in the server's statistics)."""
    deadline = time.monotonic() + timeout
    while not listening(port):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}: {proc.args}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listening on {port}: {proc.args}")
        time.sleep(0.01)


def read_port(proc):
    """Our servers print 'listening PORT' once bound."""
    line = proc.stdout.readline().decode()
    m = re.match(r"listening (\d+)", line)
    if not m:
        raise RuntimeError(f"no port from {proc.args}: {line!r}")
    return int(m.group(1))


def traced_child(proc):
    """The real server pid when proc is strace wrapping it."""
    path = f"/proc/{proc.pid}/task/{proc.pid}/children"
    for _ in range(500):
        try:
            with open(path, encoding="ascii") as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
        except OSError:
            pass
        time.sleep(0.01)
    return proc.pid


def stop(run, proc, sig=signal.SIGTERM, pid=None):
    """Stop a server with the signal it treats as a clean shutdown, so its
    exit handlers (and the shim's statistics) run."""
    if proc.poll() is not None:
        return
    if pid is None:
        pid = traced_child(proc) if run.strace_dir else proc.pid
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        # Killing strace alone would leave its tracee serving on.
        if pid != proc.pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.kill()
        proc.wait()


def client(argv, run, shimmed=False, timeout=600):
    """Run a load generator (plain unless shimmed) and return its stdout."""
    if shimmed:
        p = run.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    else:
        p = subprocess.Popen(argv, env=run.plain_env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"exit {p.returncode}: {' '.join(argv)}: {err.decode()[-300:]}")
    return out.decode(errors="replace")


def keyvals(text):
    vals = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            try:
                vals[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return vals


# Metric tuples: (value, unit, higher_is_better).
def ms(seconds):
    return (seconds * 1e3, "ms", False)


def strace_total(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                if fields and fields[-1] == "total":
                    return int(fields[3])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def have_strace(tmp):
    if not shutil.which("strace"):
        return False
    out = os.path.join(tmp, "strace-probe")
    ok = subprocess.run(["strace", "-f", "-c", "-o", out, "true"],
                        stdout=DEVNULL, stderr=DEVNULL, check=False).returncode == 0
    return ok and strace_total(out) > 0


def run_bench(b, idx, pairs, p, sp, tmp, use_strace):
    rec = {"group": b.group, "name": b.name, "note": b.note, "samples": {m: [] for m in MODES},
           "stats": {m: [] for m in MODES[1:]}, "syscalls_per_op": {}, "error": None,
           "goal_bench": b.goal is not None or b.verify is not None, "goal": b.goal,
           "digests": {}, "identical": {}, "shim_env": dict(b.shim_env)}
    try:
        b.fn(Run("plain", tmp), p)          # warm caches; not recorded
        for i in range(pairs):
            k = i % len(MODES)
            order = MODES[k:] + MODES[:k]
            for mode in order:
                prefix = os.path.join(tmp, "stats", f"{idx}-{mode}-{i}")
                res = b.fn(Run(mode, tmp, stats_prefix=prefix
                               if b.timed_stats else None, shim_env=b.shim_env), p)
                rec["samples"][mode].append(res)
                if mode != "plain" and b.timed_stats:
                    rec["stats"][mode].append(read_stats(prefix))
        if not b.timed_stats:
            for mode in MODES[1:]:
                prefix = os.path.join(tmp, "stats", f"{idx}-{mode}-untimed")
                b.fn(Run(mode, tmp, stats_prefix=prefix, shim_env=b.shim_env), p)
                rec["stats"][mode].append(read_stats(prefix))
        if b.verify:
            verify_output(b, rec, p, tmp)
        if use_strace:
            for mode in MODES:
                sdir = tempfile.mkdtemp(prefix=f"strace-{idx}-{mode}-", dir=tmp)
                run = Run(mode, tmp, strace_dir=sdir, shim_env=b.shim_env)
                res = b.fn(run, sp)
                calls = sum(strace_total(f) for f in run.strace_files)
                if calls and res.get("_ops"):
                    rec["syscalls_per_op"][mode] = calls / res["_ops"]
    except (RuntimeError, OSError, subprocess.SubprocessError, KeyError,
            ValueError) as e:
        rec["error"] = str(e)[:300]
        log(f"  FAILED: {rec['error']}")
    return rec


def verify_output(b, rec, p, tmp):
    """One untimed run per mode; identical[mode] is True/False, or None
    when that run (or the plain one) failed."""
    for mode in MODES:
        try:
            rec["digests"][mode] = b.verify(Run(mode, tmp, shim_env=b.shim_env), p)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            rec["digests"][mode] = None
            log(f"  identity run {mode} FAILED: {str(e)[:200]}")
    base = rec["digests"].get("plain")
    for mode in MODES[1:]:
        d = rec["digests"].get(mode)
        rec["identical"][mode] = None if not base or not d else d == base
        if rec["identical"][mode] is False:
            log(f"  OUTPUT DIFFERS: {mode} sha256 {d} != plain {base}")


def ring_floor(quick, rounds):
    exe = bin_path("ringfloor")
    runs = {}
    for _ in range(rounds):
        out = subprocess.run([exe, "-t", "50" if quick else "200"], env=clean_env(),
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            log(f"ringfloor failed: {out.stderr.strip()[-200:]}")
            return {}
        for line in out.stdout.splitlines():
            name, val = line.split()[:2]
            runs.setdefault(name, []).append(float(val))
    return {k: statistics.median(v) for k, v in runs.items()}
