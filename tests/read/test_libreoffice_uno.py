"""What a clerk does in LibreOffice Calc, done in a real LibreOffice through Python-UNO.

The template is filled by typing into cells found by their labels, then each scenario edits it the
way people do (resave, save as .ods, delete, insert or move rows and columns, type a number as
text, rename a sheet) and saves; gxsheet then validates the saved file in a fresh process, and the test
asserts the exit code, each finding's rule and cell, and — where the workbook has a live check for
the case — that what LibreOffice itself shows in the sheet agrees.

All scenarios run in one LibreOffice session (module fixture): starting soffice costs seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import lo
import pytest
import uno_ops as U

from gxsheet.core.layout import SUMMARY_KEY, workbook_layout
from gxsheet.core.spec import load_spec
from gxsheet.render.samples import default_meta, default_prose, template_path, valid_values

pytestmark = [pytest.mark.libreoffice, lo.requires_uno]

EDITION = "2021"
SPEC = load_spec(EDITION)
LAYOUT = workbook_layout(SPEC)
VALUES = valid_values(SPEC, seed=3)
META = default_meta(SPEC, level="镇")
PROSE = default_prose(SPEC)


def _key(sheet: str, label: str, col_label: str | None = None) -> str:
    """The value key on the row labelled ``label`` of ``sheet`` (first column, or ``col_label``'s)."""
    s = LAYOUT.sheet(sheet) if sheet in {x.name for x in LAYOUT.sheets} else None
    assert s is not None
    rows = {b.row for b in s.boxes if b.role == "label" and b.text == label}
    assert len(rows) == 1, label
    keys = [k for k, (r, _) in s.inputs.items() if r in rows]
    if col_label is not None:
        cols = {b.col for b in s.boxes if b.role == "header" and b.text == col_label}
        keys = [k for k in keys if s.inputs[k][1] in cols]
    return sorted(keys, key=lambda k: s.inputs[k][1])[0]


T2, T3, T4 = (t.sheet for t in SPEC.tables)
K_RECEIVED = _key(T3, "一、本年新收政府信息公开申请数量", "自然人")
K_REPEAT = _key(T3, "2.重复申请", "自然人")
K_T2_ROW = _key(T2, "行政规范性文件")


@dataclass
class Scenario:
    name: str
    ops: list[dict]
    exit: int
    findings: set[tuple[str, str]] = field(default_factory=set)  # (rule, cell); exactly these
    fmt: str = "xlsx"
    live_ok: bool | None = None  # what the workbook's own 表内校验 shows, where it has a say


def _t3_row(label: str) -> dict:
    return U.row_anchor(LAYOUT.sheet(T3), next(b.row for b in LAYOUT.sheet(T3).boxes if b.text == label))


def _t3_col(header: str) -> int:
    return next(b.col for b in LAYOUT.sheet(T3).boxes if b.role == "header" and b.text == header)


def _addr(key: str) -> str:
    return LAYOUT.address(key)


SCENARIOS = [
    Scenario("resave-xlsx", [], 0, live_ok=True),
    Scenario("save-as-ods", [], 0, fmt="ods", live_ok=True),
    Scenario("delete-row-table2", [U.row_op(LAYOUT, "delete_row", K_T2_ROW)], 1,
             {("S-LAYOUT", f"{T2}!A5")}),
    Scenario("delete-row-table3", [U.row_op(LAYOUT, "delete_row", K_REPEAT)], 1,
             {("S-LAYOUT", f"{T3}!C21")}),
    Scenario("delete-first-row-of-a-group", [U.row_op(LAYOUT, "delete_row", _key(T3, "（一）予以公开"))], 1,
             {("S-LAYOUT", f"{T3}!B7")}),
    Scenario("insert-empty-row", [{"op": "insert_row", "sheet": T3, "row": _t3_row("2.重复申请")}], 1,
             {("S-LAYOUT", f"{T3}!A21")}, live_ok=True),
    Scenario("insert-row-with-data", [{"op": "insert_row", "sheet": T3, "row": _t3_row("2.重复申请"),
                                       "values": {"3": "补充说明", "4": "0"}}], 1,
             {("S-LAYOUT", f"{T3}!A21")}, live_ok=True),
    Scenario("insert-empty-column", [{"op": "insert_col", "sheet": T3, "col": LAYOUT.sheet(T3).inputs[K_RECEIVED][1] + 2}],
             1, {("S-LAYOUT", f"{T3}!F4")}, live_ok=True),
    Scenario("delete-spacer-column", [{"op": "delete_col", "sheet": T3, "col": LAYOUT.sheet(T3).width + 1}], 0,
             live_ok=True),
    Scenario("delete-data-column", [{"op": "delete_col", "sheet": T3, "col": LAYOUT.sheet(T3).inputs[K_RECEIVED][1] + 2}],
             1, {("S-LAYOUT", f"{T3}!F4")}),
    Scenario("move-row-table3", [{"op": "move_row", "sheet": T3, "row": _t3_row("3.要求提供公开出版物"),
                                  "before": _t3_row("2.重复申请")}], 1,
             {("S-LAYOUT", f"{T3}!C21")}, live_ok=True),
    Scenario("move-column-table3", [{"op": "move_col", "sheet": T3, "col": _t3_col("科研机构"),
                                     "before": _t3_col("商业企业")}], 1,
             {("S-LAYOUT", f"{T3}!E4")}, live_ok=True),
    Scenario("number-as-text", [U.type_op(LAYOUT, K_RECEIVED, str(VALUES[K_RECEIVED]), as_text=True)], 1,
             {("V-NUMBER", _addr(K_RECEIVED))}, live_ok=False),
    Scenario("rename-sheet", [{"op": "rename", "sheet": T3, "name": "Sheet3"}], 0,
             {("S-LABEL", "Sheet3")}, live_ok=True),
]


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """Every scenario typed into the template in one LibreOffice session and saved."""
    work = tmp_path_factory.mktemp("uno")
    fill = U.fill_ops(LAYOUT, VALUES, META, PROSE)
    template = work / "template.xlsx"  # a copy: LibreOffice leaves lock files beside what it opens
    template.write_bytes(template_path(EDITION).read_bytes())
    jobs, outs = [], []
    for sc in SCENARIOS:
        out = work / f"{sc.name}.{sc.fmt}"
        jobs.append({"open": str(template), "ops": fill + sc.ops, "save": [str(out)]})
        outs.append(out)
    results = lo.run_uno(jobs, work)
    got = {}
    for sc, out, res in zip(SCENARIOS, outs, results, strict=True):
        assert "error" not in res, f"{sc.name}: {res.get('error')}"
        got[sc.name] = (out, res["shown"])
    return got


def _validate(path: Path) -> tuple[int, list[dict]]:
    """gxsheet as a user runs it: a new process, exit code and the JSON findings."""
    proc = subprocess.run([sys.executable, "-m", "gxsheet", "validate", str(path), "--json"],
                          capture_output=True, text=True, timeout=180, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout, proc.stderr
    files = json.loads(proc.stdout)["files"]
    return proc.returncode, [f for x in files for f in x.get("findings", [])]


def _summary(shown: dict) -> str:
    sheet, r, c = LAYOUT.position(SUMMARY_KEY)
    from gxsheet.core.layout import a1
    return shown[sheet][a1(r, c)]


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_clerk_edits_in_libreoffice(saved, sc: Scenario) -> None:
    path, shown = saved[sc.name]
    code, findings = _validate(path)
    pairs = {(f["rule"], cell) for f in findings for cell in f["cells"][:1]}
    assert (code, pairs) == (sc.exit, sc.findings), json.dumps(findings, ensure_ascii=False, indent=1)
    if sc.live_ok is not None:
        assert _summary(shown).startswith("√" if sc.live_ok else "✗"), _summary(shown)


@pytest.mark.parametrize("name", ["move-row-table3", "move-column-table3", "insert-row-with-data"])
def test_values_still_there_are_read_by_their_labels(saved, name: str) -> None:
    """A moved (or inserted) row or column loses nothing: every value reads as typed."""
    from gxsheet.read.workbook import read_report

    rec = read_report(saved[name][0])
    assert rec.missing == set()
    assert {k: v for k, v in rec.values.items() if v != VALUES.get(k)} == {}


def test_every_saved_file_is_merged_not_dropped(saved) -> None:
    """A county merge reads each of these towns (a deleted row once made a file X-UNREADABLE)."""
    from gxsheet.merge.county import Unreadable, read_one

    dropped = {name: r for name, (path, _) in saved.items() if isinstance(r := read_one(str(path)), Unreadable)}
    assert dropped == {}
