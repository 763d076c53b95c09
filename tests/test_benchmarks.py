"""The benchmark scripts run, and measure what they say (tiny N; never a timed assertion).

Timings are the scripts' business (they print ratios to baselines measured in the same run);
here they only have to run to the end on a few files, and the generated inbox has to be what the
benchmark claims: distinct towns, planted errors that the validator finds, shared strings.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _script(name: str, *args: str) -> str:
    r = subprocess.run([sys.executable, str(BENCH / name), *args], capture_output=True, text=True, timeout=600,
                       cwd=BENCH)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    sys.path.insert(0, str(BENCH))
    try:
        from inbox import make_inbox
    finally:
        sys.path.remove(str(BENCH))
    folder = tmp_path_factory.mktemp("inbox")
    return make_inbox(folder, 12)


def test_the_inbox_is_distinct_towns_with_planted_errors_the_validator_finds(inbox):
    from gxsheet.check.validate import validate_records
    from gxsheet.read.workbook import read_report

    paths, planted = inbox
    assert len(paths) == 12 and set(planted.values()) == {"T3-IDENTITY", "V-BLANK", "V-NUMBER"}
    records = [read_report(p) for p in paths]
    assert len({r.role("unit_name") for r in records}) == 12
    for p, fs in zip(paths, validate_records(records), strict=True):
        rules = {f.rule for f in fs}
        assert (planted[p.name] in rules) if p.name in planted else not rules, (p.name, rules)


def test_the_inbox_stores_strings_as_excel_does(inbox):
    paths, _ = inbox
    with zipfile.ZipFile(paths[1]) as zf:
        sheets = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets/")]
        sst = zf.read("xl/sharedStrings.xml").decode()
    assert not any('t="inlineStr"' in s for s in sheets)
    assert sum(s.count('t="s"') for s in sheets) > 100 and "第00001镇" in sst


def test_merge_benchmark_runs_and_checks_the_findings():
    out = _script("merge.py", "--sizes", "6", "10", "--repeat", "1", "--sample", "3", "--marginal", "5", "8")
    assert re.search(r"^\| 6 \|", out, re.M) and re.search(r"^\| 10 \|", out, re.M)
    assert "Marginal cost per file, N=5→8" in out and " MB |" in out


def test_cold_start_benchmark_runs():
    out = _script("cold_start.py", "--rounds", "1")
    assert "`gxsheet validate`" in out and "`import pandas, pandera`" in out
