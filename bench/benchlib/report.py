"""bench/run: the report: markdown tables, the plot, the saved JSON re-rendered."""

import json
import math
import os
import platform
import shutil
import subprocess
import tempfile

from .common import HERE, MODES, log
from .stats import enter_per_routed, ops_per_chain, staged_per_flush, top_fallback, writer_cpu


# ------------------------------------------------------------------ report

def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 100000:
        return f"{v:.3g}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_spread(t):
    return f"{fmt(t[0])} ({fmt(t[1])}–{fmt(t[2])})" if t else "-"


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_rev():
    try:
        return subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cell(text):
    """Table cell text: a `|` in a name (`logwriter|cat`) would end the cell."""
    return str(text).replace("|", "\\|")


def ratio_cell(row, mode):
    r = row.get("ratio_" + mode)
    sp = row.get("rspread_" + mode)
    if r is None:
        return "-"
    return f"**{fmt(r)}** ({fmt(sp[0])}–{fmt(sp[1])})" if sp else fmt(r)


def yes_no(v):
    return "-" if v is None else ("yes" if v else "**no**")


def goal_section(recs):
    """The batch profile's goal benches: batch ratio against its goal."""
    goals = [r for r in recs if r.get("goal_bench")]
    if not goals:
        return []
    L = ["## Batch goals", "",
         "Batch ratio = plain time / batch time (throughput against plain, "
         "> 1 = batch better); `met` compares the median with the goal. "
         "`identical`: the output of one extra untimed run per mode, written "
         "to a file, has the same sha256 as the plain run's. `staged/flush`: "
         "writes staged (`*.batch`) per buffer flushed (`batch.flushes`), "
         "median over the rounds.", "",
         "| benchmark | plain | batch | batch ratio (rounds) | goal | met "
         "| batch output identical | exact / sqpoll identical | staged/flush "
         "| syscalls/op plain / batch |",
         "|---|---:|---:|---:|---:|---|---|---|---:|---:|"]
    for rec in goals:
        goal = rec.get("goal")
        gtxt = f"≥ {fmt(goal)}x" if goal else "report only"
        if rec["error"]:
            L.append(f"| {cell(rec['name'])} | FAILED: {cell(rec['error'][:120])} | - | - | {gtxt} "
                     "| - | - | - | - | - |")
            continue
        row = rec["rows"][0] if rec["rows"] else {}
        r = row.get("ratio_batch")
        met = "-" if not goal else ("-" if r is None else ("yes" if r >= goal else "**no**"))
        ident = rec.get("identical", {})
        others = " / ".join(yes_no(ident.get(m)) for m in MODES[1:] if m != "batch")
        spf = staged_per_flush(rec["stats"].get("batch", []))
        spo = rec.get("syscalls_per_op") or {}
        sysc = f"{fmt(spo.get('plain'))} / {fmt(spo.get('batch'))}" if spo else "-"
        L.append(f"| {cell(rec['name'])} | {fmt_spread(row.get('plain'))} {row.get('unit', '')} | "
                 f"{fmt_spread(row.get('batch'))} | {ratio_cell(row, 'batch')} | {gtxt} | "
                 f"{met} | {yes_no(ident.get('batch'))} | {others} | {fmt(spf)} | {sysc} |")
    L.append("")
    L.extend(cpu_bound_section(goals))
    return L


def cpu_bound_section(goals):
    """What the writer's own CPU allows. Batch removes system calls, not the
    program's work: plain time over the writer's user time in plain is about
    the most batch can reach, and a writer busy for all of batch's time is
    held by its own CPU, not by the flush."""
    rows = []
    for rec in goals:
        plain, batch = writer_cpu(rec, "plain"), writer_cpu(rec, "batch")
        row = rec["rows"][0] if rec["rows"] and not rec["error"] else {}
        ops = rec["samples"]["plain"][0].get("_ops") if rec["samples"]["plain"] else None
        if not plain or not batch or not row.get("plain") or not row.get("batch") or not ops:
            continue
        bound = row["plain"][0] / plain[0] if plain[0] > 0 else None
        busy = (batch[0] + batch[1]) / row["batch"][0]
        added = (batch[0] - plain[0]) * 1e6 / ops
        rows.append(f"| {cell(rec['name'])} | {fmt(row['plain'][0])} | {fmt(plain[0])} / "
                    f"{fmt(plain[1])} | {fmt(row['batch'][0])} | {fmt(batch[0])} / "
                    f"{fmt(batch[1])} | {busy:.0%} | {fmt(bound)} | "
                    f"{fmt(row.get('ratio_batch'))} | {fmt(added)} |")
    if not rows:
        return []
    return ["### What the writer's CPU allows", "",
            "The writer is the pipeline's first process; its CPU is user / system ms "
            "(median over the rounds; under batch its flusher thread included). "
            "`busy`: the writer's CPU over batch's time (near 100 %: the writer's own "
            "CPU is what holds batch back). `bound` = plain time / the writer's user "
            "time in plain: batch removes system calls, not the program's work, so "
            "this is about the most it can reach (approximately: in plain the "
            "syscalls also slow the program's own code, which batch can pass "
            "slightly). `shim user/op`: the user time batch adds per op (negative "
            "when the program's own code runs faster without syscalls between).", "",
            "| benchmark | plain (ms) | writer CPU plain | batch (ms) | writer CPU batch "
            "| busy | bound | batch ratio | shim user/op (ns) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"] + rows + [""]


def best_profile(row, modes):
    """The profile with the best ratio if it beats plain by more than 3%,
    else plain (no profile pays)."""
    r = {m: row.get("ratio_" + m) for m in modes if row.get("ratio_" + m)}
    if not r:
        return "-"
    m = max(r, key=r.get)
    return m if r[m] > 1.03 else "plain"


def report(recs, floor, meta):
    kind, pairs, elapsed, strace_ok = meta["kind"], meta["pairs"], meta["elapsed"], meta["strace"]
    shim_modes = MODES[1:]
    L = []
    L.append(f"# libshim benchmark ({kind})")
    L.append("")
    L.append(f"- date: {meta['date']}")
    L.append(f"- kernel: {meta['kernel']}")
    L.append(f"- CPU: {meta['cpu']}, {meta['cores']} cores")
    L.append(f"- libshim: {meta['lib']} (git {meta['git']})")
    modes = meta.get("modes", ["plain", "exact", "sqpoll"])
    L.append(f"- method: {' / '.join(modes)} interleaved, {pairs} rounds each "
             f"(+1 plain warm-up), mode order rotated per round; run time {elapsed:.0f} s")
    L.append(f"- syscalls: {'strace -c -f, one extra untimed run per mode' if strace_ok else 'strace unavailable, skipped'}")
    L.append("")
    L.append("**Ratio: > 1 means the shim is better.** Throughput: shim/plain; "
             "times and latencies: plain/shim. Values are medians, "
             "(min–max) over the rounds; `rounds` is the min–max of the "
             "per-round ratios. `enter/call` = io_uring_enter syscalls per "
             "call routed through the ring or staged by the batch profile "
             "(SHIM_STATS); `routed` = share of intercepted calls that went to "
             "the ring (or were staged); `staged/flush` = writes staged per "
             "buffer the batch profile flushed.")
    L.append("")
    L.append("## Headline ratios (> 1 = shim better)")
    L.append("")
    L.append("| subject | benchmark | metric | plain | "
             + " | ".join(f"{m} ratio" for m in shim_modes) + " | best |")
    L.append("|---|---|---|---:|" + "---:|" * len(shim_modes) + "---|")
    table = []
    for rec in recs:
        if rec["error"]:
            L.append(f"| {cell(rec['group'])} | {cell(rec['name'])} | FAILED | - |"
                     + " - |" * len(shim_modes) + " - |")
            continue
        for row in rec["rows"]:
            L.append(f"| {cell(rec['group'])} | {cell(rec['name'])} | {cell(row['metric'])} "
                     f"({row['unit']}) | {fmt(row['plain'][0])} | "
                     + " | ".join(fmt(row.get("ratio_" + m)) for m in shim_modes)
                     + f" | {best_profile(row, shim_modes)} |")
            # A benchmark run with settings of its own (shim_env) is
            # not the profile as it ships: in neither mean.
            kind = ("variant" if rec.get("shim_env")
                    else "micro" if rec["group"] == "micro" else "real")
            table.append((f"{rec['group']} {rec['name']} {row['metric']}",
                          {m: row.get("ratio_" + m) for m in shim_modes},
                          kind))
    L.append("")
    for title, sel in (("real programs and subjects (all but micro and "
                        "the settings variants)", "real"),
                       ("micro benchmarks", "micro"),
                       ("settings variants (SHIM_BATCH_FLUSH=write, "
                        "SHIM_ADAPT=0, SHIM_FIXED_FILES=32)", "variant")):
        L.append(f"Geometric means, {title}:")
        L.append("")
        for mode in shim_modes:
            rs = [r[mode] for _, r, kind in table if kind == sel and r.get(mode)]
            if rs:
                gm = math.exp(sum(math.log(r) for r in rs) / len(rs))
                wins = sum(r > 1.05 for r in rs)
                losses = sum(r < 0.95 for r in rs)
                L.append(f"- {mode}: {fmt(gm)}; better by >5% in {wins}, "
                         f"worse by >5% in {losses} of {len(rs)} metrics; "
                         f"lowest {fmt(min(rs))}")
        L.append("")
    # The chart: every shim mode that has ratios (a JSON from before the
    # batch profile has none for it), rows where all of them do.
    pmodes = [m for m in shim_modes if any(r.get(m) for _, r, _ in table)]
    plot = {"modes": pmodes,
            "rows": [(label, [r[m] for m in pmodes]) for label, r, _ in table
                     if pmodes and all(r.get(m) for m in pmodes)]}
    L.extend(goal_section(recs))
    if floor:
        L.append("## io_uring floor (ringfloor, no shim; median of runs)")
        L.append("")
        L.append("| op | ns/op |")
        L.append("|---|---:|")
        for k, v in floor.items():
            L.append(f"| {k} | {fmt(v)} |")
        L.append("")
    L.append("## Per subject")
    groups = []
    for rec in recs:
        if rec["group"] not in groups:
            groups.append(rec["group"])
    ncols = 18
    for g in groups:
        L.append("")
        L.append(f"### {g}")
        notes = [f"- {r['name']}: {r['note']}" for r in recs if r["group"] == g and r["note"]]
        if notes:
            L.append("")
            L.extend(notes)
        L.append("")
        L.append("| benchmark | metric | plain | exact | sqpoll | batch | exact ratio (rounds) "
                 "| sqpoll ratio (rounds) | batch ratio (rounds) | enter/call exact "
                 "| enter/call sqpoll | enter/call batch | routed exact | routed batch "
                 "| staged/flush batch | ops/enter batch chains | top fallback "
                 "| syscalls/op plain / exact / sqpoll / batch |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
        for rec in recs:
            if rec["group"] != g:
                continue
            if rec["error"]:
                L.append(f"| {cell(rec['name'])} | FAILED: {cell(rec['error'][:120])} |"
                         + " - |" * (ncols - 2))
                continue
            st = {m: rec["stats"].get(m, []) for m in shim_modes}
            epc_e, share_e = enter_per_routed(st["exact"])
            epc_s, _ = enter_per_routed(st["sqpoll"])
            epc_b, share_b = enter_per_routed(st["batch"])
            spf = staged_per_flush(st["batch"])
            opc = ops_per_chain(st["batch"])
            spo = rec["syscalls_per_op"]
            sys_s = " / ".join(fmt(spo.get(m)) for m in MODES) if spo else "-"

            def pct(v):
                return f"{v * 100:.0f}%" if v is not None else "-"
            for row in rec["rows"]:
                L.append(f"| {cell(rec['name'])} | {cell(row['metric'])} ({row['unit']}) | "
                         + " | ".join(fmt_spread(row.get(m)) for m in MODES) + " | "
                         + " | ".join(ratio_cell(row, m) for m in shim_modes) + " | "
                         f"{fmt(epc_e)} | {fmt(epc_s)} | {fmt(epc_b)} | {pct(share_e)} | "
                         f"{pct(share_b)} | {fmt(spf)} | {fmt(opc)} | {top_fallback(st['exact'])} "
                         f"| {sys_s} |")
    L.append("")
    return "\n".join(L), plot


MODE_COLORS = {"exact": "#3366cc", "sqpoll": "#ee8833", "batch": "#33aa55"}


def gnuplot(plot, png, title, tmp):
    rows, modes = plot["rows"], plot["modes"]
    if not shutil.which("gnuplot") or not rows:
        log("gnuplot missing or no data: no chart")
        return
    data = os.path.join(tmp, "ratios.dat")
    with open(data, "w", encoding="utf-8") as f:
        for label, rs in rows:
            label = label.replace('"', "'")
            f.write(f'"{label}" ' + " ".join(f"{r:.4f}" for r in rs) + "\n")
    width = max(1200, (12 * len(modes) + 10) * len(rows) + 200)
    vals = [v for _, rs in rows for v in rs if v > 0]
    lo = min(-1, math.floor(math.log2(min(vals))))
    hi = max(1, math.ceil(math.log2(max(vals))))
    tics = ", ".join(f'"{2.0 ** k:g}" {2.0 ** k}' if k >= 0 else f'"1/{2 ** -k}" {2.0 ** k}'
                     for k in range(lo, hi + 1))
    series = []
    for i, m in enumerate(modes):
        src = f'"{data}" using {i + 2}:xtic(1)' if i == 0 else f'"" using {i + 2}'
        series.append(f'{src} title "{m}" lc rgb "{MODE_COLORS.get(m, "#888888")}"')
    plot_cmd = ", \\\n     ".join(series)
    script = f"""
set terminal pngcairo size {width},900 font ",9" noenhanced
set output "{png}"
set title "{title}: ratio > 1 means libshim is better (throughput shim/plain, time plain/shim)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set logscale y 2
set yrange [{2.0 ** lo}:{2.0 ** hi}]
set ytics ({tics})
set grid ytics
set xtics rotate by 60 right
set key top left
set bmargin 22
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb "black"
plot {plot_cmd}
"""
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True, check=False)
    if r.returncode != 0:
        # Older gnuplot without cairo: fall back to the gd terminal.
        script = script.replace("set terminal pngcairo", "set terminal png")
        r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True,
                           check=False)
    if r.returncode != 0:
        log(f"gnuplot failed: {r.stderr[-300:]}")


def write_report(base, meta, floor, recs, tmp):
    md, plot = report(recs, floor, meta)
    with open(base + ".md", "w", encoding="utf-8") as f:
        f.write(md)
    gnuplot(plot, base + ".png", f"libshim {meta['kind']} bench, {meta['kernel']}", tmp)
    print(md)
    log(f"wrote {base}.{{md,png,json}}; bench run time {meta['elapsed']:.0f} s")


def render(path):
    """Rebuild the .md and .png from a saved .json without measuring."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    tmp = tempfile.mkdtemp(prefix="shimbench-render-")
    try:
        write_report(os.path.splitext(path)[0], data["meta"], data["floor"],
                     data["benches"], tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
