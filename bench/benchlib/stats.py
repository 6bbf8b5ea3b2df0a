"""bench/run: the figures: medians, spreads and ratios per metric, and the
shim's own counters (summed by scripts/shim-stat, the one reader of them)."""

import importlib.machinery
import importlib.util
import os
import statistics

from .common import HERE, MODES


def _shim_stat():
    path = os.path.join(HERE, "..", "scripts", "shim-stat")
    loader = importlib.machinery.SourceFileLoader("shim_stat", path)
    spec = importlib.util.spec_from_loader("shim_stat", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


SHIM_STAT = _shim_stat()


# ------------------------------------------------------------- measurement

def read_stats(prefix):
    """The shim's per-process statistics files PREFIX.<pid>, summed: the
    counters only (the strings and the file count are not figures)."""
    total = SHIM_STAT.total(SHIM_STAT.read_all([prefix]))
    return {k: v for k, v in total.items()
            if isinstance(v, int) and k != "processes"}


def writer_cpu(rec, mode):
    """Median (user, system) ms of the pipeline's first process (the
    writer, its flusher thread included) over the timed rounds, or None."""
    cpu = [s["_writer_cpu"] for s in rec["samples"].get(mode, []) if s.get("_writer_cpu")]
    if not cpu:
        return None
    return (statistics.median(c[0] for c in cpu) * 1e3,
            statistics.median(c[1] for c in cpu) * 1e3)


def summarize(rec):
    """Per metric: medians, spreads, ratios (>1 = shim better)."""
    rows = []
    plain = rec["samples"]["plain"]
    if not plain:
        return rows
    for metric, val in plain[0].items():
        if metric.startswith("_"):
            continue
        unit, hib = val[1], val[2]
        row = {"metric": metric, "unit": unit, "hib": hib}
        for mode in MODES:
            vals = [s[metric][0] for s in rec["samples"][mode] if metric in s]
            if not vals:
                continue
            row[mode] = (statistics.median(vals), min(vals), max(vals))
        for mode in MODES[1:]:
            if mode in row and "plain" in row and row[mode][0] > 0 and row["plain"][0] > 0:
                b, s = row["plain"][0], row[mode][0]
                row["ratio_" + mode] = s / b if hib else b / s
                # Per-round ratios show how stable the comparison is.
                per = [(x[metric][0] / y[metric][0]) if hib else (y[metric][0] / x[metric][0])
                       for x, y in zip(rec["samples"][mode], plain)
                       if x[metric][0] > 0 and y[metric][0] > 0]
                row["rspread_" + mode] = (min(per), max(per)) if per else None
        rows.append(row)
    return rows


def enter_per_routed(stats):
    """Staged writes (`X.batch`, batch profile) count as routed calls."""
    vals, share = [], []
    for st in stats:
        routed = sum(v for k, v in st.items() if k.endswith((".ring", ".batch")))
        real = sum(v for k, v in st.items() if k.endswith(".real"))
        if routed:
            vals.append(st.get("enter", 0) / routed)
        if routed + real:
            share.append(routed / (routed + real))
    med = statistics.median(vals) if vals else None
    return med, (statistics.median(share) if share else None)


def ops_per_chain(stats):
    """Median over the rounds of the writes per linked submission of
    staged buffers (batch.chain_ops / batch.chains: ops per io_uring_enter
    of SHIM_BATCH_FLUSH=ring); None without chains."""
    vals = [st["batch.chain_ops"] / st["batch.chains"] for st in stats
            if st.get("batch.chains")]
    return statistics.median(vals) if vals else None


def staged_per_flush(stats):
    """Median over the rounds of staged writes (sum of `*.batch`) per
    flushed buffer (`batch.flushes`)."""
    vals = []
    for st in stats:
        flushes = st.get("batch.flushes", 0)
        if flushes:
            vals.append(sum(v for k, v in st.items() if k.endswith(".batch")) / flushes)
    return statistics.median(vals) if vals else None


def top_fallback(stats):
    tot = {}
    for st in stats:
        for k, v in st.items():
            if k.startswith("fallback."):
                tot[k[9:]] = tot.get(k[9:], 0) + v
    if not tot:
        return ""
    k = max(tot, key=tot.get)
    return f"{k}"
