"""A merge whose problem list does not fit an Excel sheet completes: 问题清单 stops at Excel's last row
with a note counting what was left out, the command says so in its summary line and exits as it
always does (1: some workbook has errors) — never an internal error after all the work is done.

The command is run end to end with the sheet's row limit lowered (the same code path, a county
folder instead of a province); at Excel's real limit (1,048,576 rows: ~75,000 workbooks of 14
rules each) the workbook takes minutes to write, so that run is opt-in: ``GXSHEET_FULL_SCALE=1
pytest tests/merge/test_scale.py``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from test_merge import county  # noqa: F401 - the county folder, a shared fixture

from gxsheet.cli.app import main
from gxsheet.core.record import Record
from gxsheet.core.spec import load_spec
from gxsheet.merge import county as M
from gxsheet.merge import workbook as W
from gxsheet.read.workbook import read_report
from gxsheet.render.samples import valid_values, write_sample

NOTE = "问题清单已到 Excel 工作表的行数上限"


def test_command_caps_the_problem_list_at_the_sheets_last_row(county, tmp_path, monkeypatch, capsys):  # noqa: F811
    out = tmp_path / "c.xlsx"
    assert main(["merge", str(county["dir"]), "-o", str(out)]) == 1
    capsys.readouterr()
    ps = load_workbook(out)[M.PROBLEM_SHEET]
    rows = int(re.match(r"问题清单：(\d+)行", ps.cell(1, 1).value).group(1))
    assert ps.max_row == 2 + rows and NOTE not in str(ps.cell(ps.max_row, 1).value)
    sheet_rows = 9  # a sheet of 9 rows: title, header, 6 problem rows, the note on the last row
    assert rows > sheet_rows - 3
    monkeypatch.setattr(W, "EXCEL_ROWS", sheet_rows)
    assert main(["merge", str(county["dir"]), "-o", str(out), "--force"]) == 1  # exit as without the cap
    said = capsys.readouterr()
    left = rows - (sheet_rows - 3)
    assert said.err.count("\n") == 2  # the damaged workbook and the skipped 说明.txt, no traceback
    assert f"问题清单已到 Excel 的行数上限，另有 {left} 行未列出" in said.out
    ps = load_workbook(out)[M.PROBLEM_SHEET]
    assert ps.max_row == sheet_rows and ps.cell(sheet_rows, 1).value.startswith(NOTE)
    assert f"另有 {left} 行" in ps.cell(sheet_rows, 1).value
    assert main(["merge", str(county["dir"]), "-o", str(out), "--force", "--lang", "en"]) == 1
    assert f"the problem list reached Excel's last row: {left} rows left out" in capsys.readouterr().out


def _many_rules(path: Path) -> Path:
    """A town workbook that breaks 13 rules (with X-MIXED in a merge of another year, 14 rows)."""
    v = dict(valid_values(load_spec("2021"), 1))
    v["t3.received.natural"] += 1  # T3-IDENTITY, T3-ROW-TOTAL
    v["t3.total.total"] += 1  # T3-RESULT-TOTAL
    v["t4.cases.review_total"] += 1  # T4-GROUP-TOTAL
    v.update({"t3.carried.business": "无", "t3.carried.research": None, "t3.carried.charity": 1.5,
              "t3.carried.legal_services": -1, "t2_1.rules.made": 3, "t2_8.fees.amount": "300元"})
    return write_sample(path, "2021", values=v, meta={"unit_name": "甲镇", "level": "镇",
                                                      "period_end": date(2021, 12, 20)}, prose={"s5": "", "s6": "无"})


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("GXSHEET_FULL_SCALE") != "1", reason="minutes at Excel's real row limit: "
                    "GXSHEET_FULL_SCALE=1 runs it")
def test_past_excels_real_row_limit(tmp_path):
    """~75,000 workbooks × 14 rules: more rows than a sheet has. One workbook is read and checked for
    real; the merge's entries are that one, renamed (reading 75,000 files is not what is tested)."""
    src = _many_rules(tmp_path / "甲镇.xlsx")
    merger = M.Merger()
    merger.add([(src, read_report(src))])
    first = merger.entries[0]
    per_file = len(first.rule_counts) + 1  # X-MIXED: a 2021 report in a 2022 merge
    n = (W.EXCEL_ROWS - 3) // per_file + 1_000
    for i in range(1, n):
        rec = first.record
        renamed = Record(edition=rec.edition, meta={**rec.meta, "unit_name": f"单位{i:05d}"}, values=rec.values,
                         source=f"{i:05d}.xlsx", kind=rec.kind, where=rec.where, missing=rec.missing)
        merger.entries.append(dataclasses.replace(first, path=Path(f"{i:05d}.xlsx"), record=renamed, merge_findings=[]))
    result = merger.finish(year=2022)
    rows = sum(len(e.rule_counts) for e in result.entries)
    assert rows == n * per_file > W.EXCEL_ROWS
    out = tmp_path / "province.xlsx"
    W.write_merge(result, out)
    assert result.problem_rows_left == rows - (W.EXCEL_ROWS - 3) and result.exit_code() == 1
    last = f'<row r="{W.EXCEL_ROWS}"'.encode()
    found = b""
    with zipfile.ZipFile(out) as zf:  # the sheet's last row, streamed (its XML is hundreds of MB)
        names = [ws.title for ws in load_workbook(out, read_only=True).worksheets]
        with zf.open(f"xl/worksheets/sheet{names.index(M.PROBLEM_SHEET) + 1}.xml") as f:
            window = b""
            while chunk := f.read(1 << 20):
                window = window[-len(last):] + chunk
                if found:
                    found += chunk[:4096]
                elif last in window:
                    found = window[window.index(last):]
                assert f'<row r="{W.EXCEL_ROWS + 1}"'.encode() not in window
    text = found[:8192].decode("utf-8", "replace").split("</row>")[0]
    assert NOTE in text and f"另有 {result.problem_rows_left} 行" in text
