"""How fast, and in how much memory, does ``gxsheet merge`` take a realistic county inbox?

For each N (``--sizes``; default 30 300) a realistic inbox is generated (:mod:`inbox`: distinct
towns, one in five with a planted error, shared strings as Excel saves) and timed, in one run:

* **floor** — unzip each file and parse its sheet XML and shared strings with expat and no
  handlers, one process: no Python reader can be faster per core;
* **calamine** — python-calamine reading every sheet into Python lists (Rust), one process;
* **openpyxl read-only** and **openpyxl** (full load), touching every cell, one process;
* **frictionless** — ``frictionless.validate`` per file (its first sheet as a table), one process;
* **pandas + pandera** — a data team's script: calamine → one row per file → pandera (non-negative
  numbers, row sums) → ``to_excel``;
* **gxsheet** — reading alone, and the whole merge in one process (reading, validation in
  batches, the merge rules, writing the county workbook), for a per-core comparison with the
  floor; the merge's own phase timings beside it;
* **gxsheet merge (CLI)** — the command in a new process (reading in parallel when cores are
  idle, ``--jobs`` to force), wall time and **peak memory** (its maximum resident set, ``wait4``).

One-process figures are CPU time (user + system) unless ``--wall``: on a shared machine other
jobs then slow every measurement alike less.

Baselines slower than ~5 ms a file are timed on ``--sample`` files and scaled (marked ~). Every
run checks the merge found each planted error and nothing in the valid files.

``--marginal 100 600`` adds the marginal cost per file between two sizes (gxsheet end to end and
the floor), the figure the targets are stated in.

Run:  python benchmarks/merge.py [--sizes 30 300 3000 20000] [--marginal 100 600] [--jobs N]
Prints markdown tables (paste them into the README) and how time and memory grow with N.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from baselines import (  # noqa: E402
    PandasPipeline,
    available,
    calamine_read,
    floor_read,
    frictionless_validate,
    openpyxl_read,
    openpyxl_read_only,
)
from inbox import make_inbox  # noqa: E402

from gxsheet.merge import county as M  # noqa: E402
from gxsheet.merge import workbook as W  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def cpu_time() -> float:
    """CPU seconds (user + system) of this process and of its children that have ended.

    The merge reads in a bounded worker process even with ``jobs=1``, so this process's own time
    (``time.process_time``) would leave the reading out; the pool reaps its workers when the
    merge ends, and their time is counted here from then on. Microseconds, not clock ticks.
    """
    import resource  # POSIX; os.times() would do, but counts in clock ticks (10 ms): a small N reads 0

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


#: the clock of every one-process measurement: CPU time (user + system, the reading workers'
#: included) by default, so that other jobs on a shared machine do not skew the ratios; ``--wall``
#: for elapsed time
CLOCK: Callable[[], float] = cpu_time


def timed(fn: Callable[[], object]) -> float:
    t = CLOCK()
    fn()
    return CLOCK() - t


def per_file(fn: Callable[[Path], object], paths: Sequence[Path], sample: int) -> tuple[float, bool]:
    """Seconds for all paths, measured on at most ``sample`` of them (then scaled: True)."""
    use = list(paths[:sample]) if sample and len(paths) > sample else list(paths)
    t = timed(lambda: [fn(p) for p in use])
    return t * len(paths) / len(use), len(use) < len(paths)


@dataclass
class Row:
    n: int
    times: dict[str, tuple[float, bool]] = field(default_factory=dict)  # name → (seconds, scaled)
    phases: dict[str, float] = field(default_factory=dict)
    cli_wall: float = 0.0
    peak_mb: float = 0.0
    #: the whole merge (read, validate, merge rules, write) in this one process, on CLOCK
    total: float = 0.0


#: runs a command and prints its peak resident set (KB; bytes on macOS) and exit code. A small process
#: of its own starts the command: a child forked straight from this benchmark would count the
#: benchmark's own pages in its peak (ru_maxrss includes the moment before exec)
_LAUNCHER = ("import os, subprocess, sys\n"
             "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
             "_, status, usage = os.wait4(p.pid, 0)\n"
             "print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))\n")


def cli_merge(folder: Path, out: Path, jobs: int | None) -> tuple[float, float, int]:
    """(wall seconds, peak resident MB, exit code) of ``gxsheet merge`` in a new process."""
    cmd = [sys.executable, "-m", "gxsheet", "merge", str(folder), "-o", str(out), "--force"]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], capture_output=True, text=True, cwd=ROOT, check=True)
    wall = time.perf_counter() - t
    peak, code = (int(x) for x in r.stdout.split())
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KB elsewhere
    return wall, peak * scale / 2**20, code


def gxsheet_merge(folder: Path, out: Path, jobs: int | None) -> M.MergeResult:
    result = M.merge_paths([folder], jobs=jobs)
    W.write_merge(result, out)
    return result


def check_findings(result: M.MergeResult, planted: dict[str, str]) -> None:
    """Every planted error found (its rule among the file's errors), nothing in a valid file."""
    for e in result.entries:
        rule = planted.get(e.path.name)
        rules = {f.rule for f in e.findings}
        if rule is None:
            assert not rules, (e.path.name, rules)
        else:
            assert rule in rules, (e.path.name, rule, rules)


def run_size(n: int, args: argparse.Namespace, pipeline: PandasPipeline | None) -> Row:
    """One size: generate, then time the baselines and each phase (best of ``repeat`` passes up to 300 files)."""
    repeat = args.repeat if n <= 300 else 1
    row = Row(n)
    with tempfile.TemporaryDirectory(prefix=f"gxsheet-bench-{n}-") as tmp:
        folder = Path(tmp) / "towns"
        folder.mkdir()
        t = time.perf_counter()
        paths, planted = make_inbox(folder, n, jobs=os.cpu_count() or 1, varied=not args.identical)
        print(f"  N={n}: generated in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        big = args.sample * 10  # fast readers are timed on every file up to this many
        row.times["floor"] = min(per_file(floor_read, paths, big) for _ in range(repeat))
        if available("python_calamine"):
            row.times["calamine"] = min(per_file(calamine_read, paths, big) for _ in range(repeat))
        row.times["openpyxl_ro"] = per_file(openpyxl_read_only, paths, args.sample)
        row.times["openpyxl"] = per_file(openpyxl_read, paths, args.sample // 3)
        if available("frictionless"):
            frictionless_validate(paths[0])  # its imports are not a per-file cost
            row.times["frictionless"] = per_file(frictionless_validate, paths, args.sample)
        if pipeline is not None:
            use = paths if n <= big else paths[:big]
            sec = min(timed(lambda u=use: pipeline.run(u, Path(tmp) / "pandas.xlsx")) for _ in range(repeat))
            row.times["pandas"] = (sec * n / len(use), len(use) < n)
        row.times["read_1"] = min(per_file(M.read_one, paths, big) for _ in range(repeat))
        for k in range(repeat):
            t0 = CLOCK()
            result = gxsheet_merge(folder, Path(tmp) / f"county{k}.xlsx", 1)  # one process: comparable to the floor
            total = CLOCK() - t0
            row.total = min(row.total, total) if row.total else total
            check_findings(result, planted)
            for phase, sec in result.timings.items():
                row.phases[phase] = min(row.phases.get(phase, sec), sec)
            result.close()
            del result
        if not args.no_cli:
            wall, peak, code = cli_merge(folder, Path(tmp) / "cli.xlsx", args.jobs)
            assert code == (1 if planted else 0), f"gxsheet merge exited {code}"
            row.cli_wall, row.peak_mb = wall, peak
    return row


def _ratio(a: float, b: float, digits: int) -> str:
    """``a ÷ b`` as "3.2×", or "–" when ``b`` is too small to divide by (a tiny N measured as no time)."""
    return f"{a / b:.{digits}f}×" if b > 1e-6 else "–"


def _s(x: float, scaled: bool = False) -> str:
    return ("~" if scaled else "") + (f"{x:.2f}" if x < 100 else f"{x:.0f}")


BASELINES = (("floor", "floor: unzip+expat"), ("calamine", "python-calamine"), ("openpyxl_ro", "openpyxl read-only"),
             ("openpyxl", "openpyxl full"), ("frictionless", "frictionless validate"), ("pandas", "calamine+pandas+pandera+to_excel"))


def table(rows: Sequence[Row]) -> str:
    """Seconds per N for every baseline and gxsheet's phases; ratios to the floor."""
    names = [(k, label) for k, label in BASELINES if any(k in r.times for r in rows)]
    head = (["N"] + [label for _, label in names] + ["gxsheet read", "read*", "validate*", "merge rules*", "write*",
            "**gxsheet merge**", "merge ÷ floor", "merge CLI (new process, wall)", "peak memory"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [str(r.n)] + [f"{_s(*r.times[k])} s" if k in r.times else "–" for k, _ in names]
        cells += [f"{_s(*r.times['read_1'])} s"] + [f"{_s(r.phases.get(p, 0.0))} s" for p in ("read", "validate", "merge", "write")]
        cells += [f"**{_s(r.total)} s**", _ratio(r.total, r.times["floor"][0], 1),
                  f"{_s(r.cli_wall)} s" if r.cli_wall else "–", f"{r.peak_mb:.0f} MB" if r.peak_mb else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def growth(rows: Sequence[Row]) -> str:
    out = ["", "Per workbook as N grows (ms per file; memory: peak of the command):", "",
           "| N | floor | gxsheet read | gxsheet merge | merge ÷ floor | peak MB | KB/file over the previous N |",
           "|---|---|---|---|---|---|---|"]
    prev: Row | None = None
    for r in rows:
        grow = (f"{(r.peak_mb - prev.peak_mb) * 1024 / (r.n - prev.n):.1f}" if prev and r.peak_mb and prev.peak_mb
                else "–")
        out.append(f"| {r.n} | {1000 * r.times['floor'][0] / r.n:.2f} | {1000 * r.times['read_1'][0] / r.n:.2f} | "
                   f"{1000 * r.total / r.n:.2f} | {_ratio(r.total, r.times['floor'][0], 2)} | "
                   f"{r.peak_mb:.0f} | {grow} |")
        prev = r
    return "\n".join(out)


def marginal(a: Row, b: Row) -> str:
    """Marginal cost per file between two sizes: the difference cancels start-up and fixed costs."""
    floor = (b.times["floor"][0] - a.times["floor"][0]) / (b.n - a.n)
    gx = (b.total - a.total) / (b.n - a.n)
    cli = (b.cli_wall - a.cli_wall) / (b.n - a.n) if a.cli_wall and b.cli_wall else float("nan")
    mem = (b.peak_mb - a.peak_mb) * 1024 / (b.n - a.n) if a.peak_mb and b.peak_mb else float("nan")
    return (f"\nMarginal cost per file, N={a.n}→{b.n}: floor {1000 * floor:.2f} ms, gxsheet merge (in process) "
            f"{1000 * gx:.2f} ms = {_ratio(gx, floor, 2)} the floor (target ≤ 1.5×); the command {1000 * cli:.2f} ms; "
            f"peak memory {mem:.1f} KB per file (target ≤ 8).")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[30, 300])
    ap.add_argument("--marginal", type=int, nargs=2, metavar=("N1", "N2"),
                    help="also the marginal cost per file between these sizes (e.g. 100 600)")
    ap.add_argument("--jobs", type=int, default=None,
                    help="reader processes of the CLI run (default: the idle CPUs); the in-process merge uses one")
    ap.add_argument("--sample", type=int, default=300,
                    help="time slow baselines (>5 ms a file) on at most this many files and scale (0: all)")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many passes (sizes up to 300)")
    ap.add_argument("--no-cli", action="store_true", help="skip the command-line run (wall time, peak memory)")
    ap.add_argument("--no-pandas", action="store_true", help="skip the calamine+pandas+pandera baseline")
    ap.add_argument("--wall", action="store_true", help="time one-process runs by the wall clock, not CPU time")
    ap.add_argument("--identical", action="store_true",
                    help="byte-identical layout in every file (best case for the reader's memo; default: varied)")
    args = ap.parse_args(argv)
    global CLOCK
    CLOCK = time.perf_counter if args.wall else cpu_time
    print(f"gxsheet merge benchmark: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, --jobs "
          f"{args.jobs or f'idle CPUs (now {M.default_jobs()})'}, Python {sys.version.split()[0]}", file=sys.stderr)
    pipeline = PandasPipeline() if not args.no_pandas and available("python_calamine") else None
    t = time.perf_counter()
    M._import_ahead()  # a one-time cost per run (imports, schemas, dictionaries), not a per-file one: paid before timing
    start = time.perf_counter() - t
    rows = [run_size(n, args, pipeline) for n in args.sizes]
    print(table(rows))
    print(growth(rows))
    if args.marginal:
        a, b = (run_size(n, args, None) for n in args.marginal)
        print(marginal(a, b))
    print(f"\n~ = measured on a sample and scaled to N. One-process figures are {'wall' if args.wall else 'CPU'} time, best "
          f"of --repeat passes (imports already done: {start:.2f} s once per run); * = the merge's own phase timings "
          "(wall clock). The CLI column is one run of `gxsheet merge` in a new process (reading in parallel when "
          "cores are idle), start-up included.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
