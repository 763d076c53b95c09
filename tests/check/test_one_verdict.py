"""One verdict: the template's own live checks (recalculated by LibreOffice) and gxsheet agree.

A clerk looks at the workbook in LibreOffice (or Excel, or WPS): red and yellow input cells and
the ✗ of the check formulas. The county office runs ``gxsheet validate`` on the same file. They
must not contradict each other. ``CASES`` is the shared table: each case is typed into the
template in a real LibreOffice (through Python-UNO), recalculated and saved; the saved file is
then (1) what LibreOffice shows — its check cells' ✗, and the fills its conditional formats give
the input cells (read from its HTML export, the one way to see an evaluated conditional format
from outside) — and (2) what gxsheet finds. Agreement, case by case:

* the same verdict: LibreOffice shows a problem (✗ anywhere, or a red/yellow input) exactly when
  gxsheet has a finding on the tables;
* the same cells: every input gxsheet names with a value rule (V-BLANK / V-NUMBER / V-INTEGER /
  V-NEGATIVE) is coloured in LibreOffice, and any other coloured input belongs to a relation whose
  check shows ✗ (the template also colours the cells of a broken relation);
* every ✗ is explained by gxsheet, and every relation gxsheet reports shows ✗: a ✗ check's relation
  is either reported by gxsheet or reads a cell gxsheet named (gxsheet names the cause, not the
  cascade: a text or blank cell makes a relation "not computable" instead of a second error).
"""

from __future__ import annotations

import json
import subprocess
import sys

import lo
import pytest
import uno_ops as U

from gxsheet.core.layout import a1, workbook_layout
from gxsheet.core.spec import load_spec
from gxsheet.render.samples import default_meta, default_prose, template_path, valid_values

pytestmark = [pytest.mark.libreoffice, lo.requires_uno]

EDITION = "2021"
SPEC = load_spec(EDITION)
LAYOUT = workbook_layout(SPEC)
VALUES = valid_values(SPEC, seed=3)
META = default_meta(SPEC, level="镇")
PROSE = default_prose(SPEC)
TABLES = {t.sheet for t in SPEC.tables}
VALUE_RULES = {"V-BLANK", "V-NUMBER", "V-INTEGER", "V-NEGATIVE"}
#: the fills of the template's input rules (gxsheet/render/template.py): bad input, blank
RED, YELLOW = "#FF8080", "#FFE699"

NONZERO = "t3.received.natural"
ZERO = next(k for k, v in VALUES.items() if v == 0 and k.startswith("t3."))
TOTAL = "t3.received.total"
TOWN_RULES = next(e.lhs[0] for e in SPEC.equations if e.when)
ADDRESS_KEY = {LAYOUT.address(k): k for k in SPEC.cells}

#: name → {key: (what is entered, "type" through the input line | "text" stored as text | "clear")}
#: and whether the case is a problem at all (so agreement can never be vacuous)
CASES: dict[str, tuple[dict[str, tuple[str, str]], bool]] = {
    "clean": ({}, False),
    "number-as-text": ({NONZERO: (str(VALUES[NONZERO]), "text")}, True),
    "zero-as-text": ({ZERO: ("0", "text")}, True),
    "full-width-digit-typed": ({ZERO: ("０", "type")}, True),
    "full-width-digit-pasted": ({NONZERO: ("８７", "text")}, True),
    "word-for-none": ({ZERO: ("无", "type")}, True),
    "blank-zero": ({ZERO: ("", "clear")}, True),
    "blank-nonzero": ({NONZERO: ("", "clear")}, True),
    "negative": ({NONZERO: ("-3", "type")}, True),
    "fraction": ({NONZERO: ("2.5", "type")}, True),
    "total-off-by-one": ({TOTAL: (str(VALUES[TOTAL] + 1), "type")}, True),
    "town-fills-rules": ({TOWN_RULES: ("2", "type")}, True),
}


def _ops(edits: dict[str, tuple[str, str]]) -> list[dict]:
    ops = []
    for key, (text, how) in edits.items():
        if how == "clear":
            sheet, row, col = U.key_place(LAYOUT, key)
            ops.append({"op": "text", "sheet": sheet, "row": row, "col": col, "text": ""})
        else:
            ops.append(U.type_op(LAYOUT, key, text, as_text=how == "text"))
    return ops


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, dict]:
    work = tmp_path_factory.mktemp("verdict")
    template = work / "template.xlsx"
    template.write_bytes(template_path(EDITION).read_bytes())
    fill = U.fill_ops(LAYOUT, VALUES, META, PROSE)
    jobs = [{"open": str(template), "ops": fill + _ops(edits), "save": [str(work / f"{name}.xlsx"), str(work / f"{name}.html")]}
            for name, (edits, _) in CASES.items()]
    out = {}
    for name, res in zip(CASES, lo.run_uno(jobs, work), strict=True):
        assert "error" not in res, f"{name}: {res['error']}"
        out[name] = {"xlsx": work / f"{name}.xlsx", "html": work / f"{name}.html", "shown": res["shown"]}
    return out


def _live(res: dict) -> tuple[set[str], set[str]]:
    """(input cells LibreOffice colours red or yellow, check cells showing ✗), as Sheet!A1."""
    html = lo.html_cells(res["html"])
    coloured = set()
    for s in LAYOUT.sheets:
        if s.name not in TABLES:
            continue
        for r, c in s.inputs.values():
            cell = html[s.name].get((r, c))
            if cell is not None and cell.bgcolor in (RED, YELLOW):
                coloured.add(f"{s.name}!{a1(r, c)}")
    crosses = {f"{s.name}!{a1(chk.row, chk.col)}" for s in LAYOUT.sheets for chk in s.checks
               if res["shown"][s.name].get(a1(chk.row, chk.col), "").startswith("✗")}
    return coloured, crosses


def _gxsheet(res: dict) -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "gxsheet", "validate", str(res["xlsx"]), "--json"],
                          capture_output=True, text=True, timeout=180, check=False)
    assert proc.stdout and "Traceback" not in proc.stderr, proc.stderr
    return [f for x in json.loads(proc.stdout)["files"] for f in x["findings"]
            if f["cells"] and f["cells"][0].split("!")[0] in TABLES]


def _check_keys() -> dict[str, set[str]]:
    return {f"{s.name}!{a1(chk.row, chk.col)}": set(chk.equation.lhs) | set(chk.equation.rhs)
            for s in LAYOUT.sheets for chk in s.checks}


@pytest.mark.parametrize("name", list(CASES))
def test_live_checks_and_gxsheet_agree(results, name):
    res = results[name]
    coloured, crosses = _live(res)
    findings = _gxsheet(res)
    problem = CASES[name][1]
    # the case is what it says: a problem or not, on both sides
    assert bool(coloured or crosses) is problem, (coloured, crosses)
    assert bool(findings) is problem, findings
    # the same input cells: each one gxsheet names is coloured; any other coloured cell is one the
    # template colours because a relation it belongs to shows ✗
    named = {f["cells"][0] for f in findings if f["rule"] in VALUE_RULES}
    keys_of = _check_keys()
    assert named <= coloured, (named, coloured)
    in_crossed = set().union(*(keys_of[c] for c in crosses)) if crosses else set()
    assert {ADDRESS_KEY[c] for c in coloured - named} <= in_crossed, (coloured - named, crosses)
    # every ✗ explained, every reported relation shown
    named_keys = {k for f in findings if f["rule"] in VALUE_RULES for k in f["keys"]}
    relations = [set(f["keys"]) for f in findings if f["rule"] not in VALUE_RULES]
    for cross in crosses:
        keys = keys_of[cross]
        assert keys & named_keys or any(keys >= rel for rel in relations), (cross, findings)
    for rel in relations:
        assert any(keys_of[c] >= rel for c in crosses), (rel, crosses)
