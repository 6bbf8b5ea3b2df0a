"""bench/run: paths, the modes, and the environment every run starts from."""

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # bench/
BUILD = os.path.join(HERE, "build")
RESULTS = os.path.join(HERE, "results")
LIB = os.path.abspath(os.environ.get("SHIM_LIB",
                                     os.path.join(HERE, "..", "build", "libshim.so")))
MODES = ("plain", "exact", "sqpoll", "batch")
SHIM_VARS = ("LD_PRELOAD", "SHIM_PROFILE", "SHIM_STATS")
DEVNULL = subprocess.DEVNULL
# Debian's interpreter, not whatever python3 is first on PATH (pyenv shims
# are shell scripts, which would put bash under the shim too).
SYS_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"
T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def bin_path(name):
    return os.path.join(BUILD, name)


def clean_env():
    env = dict(os.environ)
    for var in SHIM_VARS:
        env.pop(var, None)
    return env
