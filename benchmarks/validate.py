"""Benchmark: validate N generated workbooks in one process, and the CLI's cold start.

Reports workbooks/second for reading (guarded loader + label-anchored reader), for validation
(one pandera pass over the frame of N records) and for both, beside a baseline measured in the
same run: openpyxl loading each file in full (what a simple script does). Cold start is the wall
time of ``gxsheet validate ONE.xlsx`` in a new process (median of 5). No assertion on times: the
figures go into the README.

    python benchmarks/validate.py [--n 1000] [--distinct 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from baselines import openpyxl_read

from gxsheet.check.tables import schema_for
from gxsheet.check.validate import validate_records
from gxsheet.read.workbook import read_report
from gxsheet.render.samples import write_sample


def make_inputs(folder: Path, n: int, distinct: int) -> list[Path]:
    """``distinct`` different filled workbooks (both editions, some with errors), copied up to n."""
    seeds = []
    for i in range(distinct):
        ed = "2021" if i % 2 else "2019"
        values = {"t3.received.natural": "无"} if i % 5 == 0 else None
        seeds.append(write_sample(folder / f"seed{i}.xlsx", ed, seed=i, values=values, meta={"unit_name": f"第{i}镇"}))
    out = []
    for j in range(n):
        p = folder / f"wb{j:05d}.xlsx"
        shutil.copyfile(seeds[j % distinct], p)
        out.append(p)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--distinct", type=int, default=20)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = make_inputs(Path(tmp), a.n, a.distinct)
        schema_for("2019"), schema_for("2021")  # built once per process, like the CLI does

        t0 = time.perf_counter()
        for p in files:
            openpyxl_read(p)
        t_openpyxl = time.perf_counter() - t0

        t0 = time.perf_counter()
        records = [read_report(p) for p in files]
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        findings = validate_records(records)
        t_val = time.perf_counter() - t0

        cold = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "gxsheet", "validate", str(files[1])], capture_output=True)
            cold.append(time.perf_counter() - t0)

    n = len(files)
    print(f"N = {n} workbooks ({sum(1 for f in findings if f)} with findings)")
    print("| step | seconds | workbooks/s |")
    print("|---|---:|---:|")
    print(f"| baseline: openpyxl full load, every cell | {t_openpyxl:.2f} | {n / t_openpyxl:.0f} |")
    print(f"| gxsheet read (guarded loader + reader) | {t_read:.2f} | {n / t_read:.0f} |")
    print(f"| gxsheet validate (pandera, one frame) | {t_val:.2f} | {n / t_val:.0f} |")
    print(f"| gxsheet read + validate | {t_read + t_val:.2f} | {n / (t_read + t_val):.0f} |")
    print(f"\nread+validate vs openpyxl-only baseline: {t_openpyxl / (t_read + t_val):.1f}x faster")
    print(f"cold start `gxsheet validate ONE.xlsx`: median {statistics.median(cold):.2f} s (min {min(cold):.2f} s)")


if __name__ == "__main__":
    main()
