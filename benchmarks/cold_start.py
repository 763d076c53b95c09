"""Cold start: ``gxsheet validate ONE.xlsx`` in a new process, against ``frictionless validate`` on the same file.

A clerk's button and a county script run gxsheet once per file, so what a new process costs
before and after the work matters as much as the work. Measured in one run, the commands taking
turns round by round (so a busy machine slows them alike):

* ``python -c pass`` — the interpreter alone;
* ``python -c "import pandas, pandera.pandas"`` — the validator's libraries alone, leaving as
  gxsheet does without tearing the interpreter down (the floor of any pandera validator);
* ``gxsheet validate ONE.xlsx`` — the console script, as installed;
* ``frictionless validate ONE.xlsx`` — the frictionless framework's command on the same file.

Reported: median and best wall time per command, and the median over rounds of the ratio
gxsheet ÷ frictionless (target ≤ 0.8). Bytecode: an installed wheel has its ``.pyc`` files, so
the children run with bytecode writing allowed (``PYTHONDONTWRITEBYTECODE`` removed) after one
warm-up round; an editable checkout otherwise recompiles gxsheet on every run (~0.2 s).
``hyperfine -N 'gxsheet validate ONE.xlsx' 'frictionless validate ONE.xlsx'`` gives the same
comparison by hand.

Run:  python benchmarks/cold_start.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gxsheet.render.samples import write_sample  # noqa: E402

BIN = Path(sys.executable).parent


def commands(name: str) -> dict[str, list[str]]:
    """What is timed, by label; frictionless only where it is installed (the ``bench`` extra)."""
    out = {
        "python -c pass": [sys.executable, "-c", "pass"],
        # exits like gxsheet does (no interpreter teardown): the floor of any pandera validator
        "import pandas, pandera": [sys.executable, "-c", "import os, pandas, pandera.pandas; os._exit(0)"],
        "gxsheet validate": [str(BIN / "gxsheet") if (BIN / "gxsheet").exists() else "gxsheet", "validate", name],
    }
    fl = BIN / "frictionless"
    if fl.exists() or shutil.which("frictionless"):
        # relative path: frictionless refuses absolute paths as "not safe"
        out["frictionless validate"] = [str(fl) if fl.exists() else "frictionless", "validate", name]
    return out


def run_once(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t


def measure(rounds: int, folder: Path) -> dict[str, list[float]]:
    name = "one.xlsx"
    write_sample(folder / name, "2021", seed=1, meta={"unit_name": "某镇"})
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cmds = commands(name)
    for cmd in cmds.values():  # warm-up: bytecode written, disk caches warm
        run_once(cmd, folder, env)
    times: dict[str, list[float]] = {label: [] for label in cmds}
    for _ in range(rounds):
        for label, cmd in cmds.items():
            times[label].append(run_once(cmd, folder, env))
    return times


def report(times: dict[str, list[float]]) -> str:
    lines = ["| command | median | best | spread (max ÷ min) |", "|---|---:|---:|---:|"]
    for label, ts in times.items():
        lines.append(f"| `{label}` | {statistics.median(ts):.3f} s | {min(ts):.3f} s | {max(ts) / min(ts):.2f} |")
    if "frictionless validate" in times:
        ratios = [g / f for g, f in zip(times["gxsheet validate"], times["frictionless validate"], strict=True)]
        lines.append("")
        lines.append(f"gxsheet ÷ frictionless, round by round: median {statistics.median(ratios):.2f} "
                     f"(range {min(ratios):.2f}–{max(ratios):.2f}; target ≤ 0.8)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cold start: {os.cpu_count()} CPUs, load {load:.1f}, {args.rounds} rounds", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="gxsheet-cold-") as tmp:
        print(report(measure(args.rounds, Path(tmp))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
