"""The county workbook's sheets written in row order (XlsxWriter's constant_memory) lose nothing.

constant_memory writes a row out for good when a later row starts; a cell or a row height given to
an earlier row afterwards is silently dropped. These tests write the same merge both ways — held in
memory and row by row — and compare every sheet (values, merged ranges, row heights, hidden rows,
links, print setup, charts); then check 概况, 问题一览 and the capped 问题清单 against the findings
read back from the merge, which the writer itself only counts from the entries' rule tallies.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

from openpyxl import load_workbook
from test_merge import county, merged  # noqa: F401 - the county folder and its merge, shared fixtures

from gxsheet.merge import county as M
from gxsheet.merge import overview as O
from gxsheet.merge import print_tables as P
from gxsheet.merge import workbook as W


def _sheet_facts(path: Path) -> dict[str, dict[str, object]]:
    """Everything a clerk sees or prints of each sheet, as plain data."""
    out: dict[str, dict[str, object]] = {}
    for ws in load_workbook(path).worksheets:
        out[ws.title] = {
            "cells": {(c.row, c.column): (c.value, c.fill.start_color.rgb if c.fill.fill_type else None,
                                          c.hyperlink.location if c.hyperlink else None)
                      for row in ws.iter_rows() for c in row if c.value is not None or c.hyperlink},
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "heights": {r: (d.height, bool(d.hidden)) for r, d in ws.row_dimensions.items() if d.height or d.hidden},
            "print": (ws.print_area, ws.print_title_rows, ws.print_title_cols, ws.page_setup.orientation,
                      ws.page_setup.paperSize, ws.oddHeader.center.text, ws.oddFooter.center.text),
            "view": (ws.freeze_panes, ws.auto_filter.ref),
        }
    return out


def _charts(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return sorted(n for n in zf.namelist() if n.startswith("xl/charts/chart"))


def test_row_order_writing_loses_nothing(merged, tmp_path, monkeypatch):  # noqa: F811
    result, streamed = merged
    assert W.WORKBOOK_OPTIONS["constant_memory"]
    monkeypatch.setitem(W.WORKBOOK_OPTIONS, "constant_memory", False)
    held = tmp_path / "held.xlsx"
    W.write_merge(result, held)
    a, b = _sheet_facts(held), _sheet_facts(streamed)
    prints = [pt.sheet for pt in P.plan(result.spec)]
    assert prints == ["打印-表二", "打印-表三", "打印-表四"]
    assert list(a) == list(b) == [W.OVERVIEW_SHEET, M.SUMMARY_SHEET, M.PROBLEM_SHEET, W.GRID_SHEET, *prints]
    for sheet in a:
        for what in a[sheet]:
            assert a[sheet][what] == b[sheet][what], (sheet, what)
    assert _charts(held) == _charts(streamed) and len(_charts(streamed)) == 4


def test_tallies_are_the_findings(merged):  # noqa: F811
    """What the writer counts without reading findings back agrees with the findings read back."""
    result, _ = merged
    for e in result.entries:
        found: dict[str, list[int]] = {}
        for f in e.findings:
            found.setdefault(f.rule, [0, 0])[0 if f.severity == "error" else 1] += 1
        assert e.rule_counts == {k: tuple(v) for k, v in found.items()}, e.path.name
        assert (e.errors, e.warnings) == (sum(v[0] for v in found.values()), sum(v[1] for v in found.values()))


def test_overview_figures(merged):  # noqa: F811
    result, out = merged
    ws = load_workbook(out, data_only=True)[W.OVERVIEW_SHEET]  # the cached results of its live formulas
    facts = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(4, 11)}
    assert facts == {"报送的工作簿": len(result.entries), "计入合计": len(result.included()), "通过": result.passed,
                     "有错误": result.errors, "仅有疑问": result.warnings_only,
                     "无法读取的文件": sum(1 for u in result.unreadable if not u.previous),
                     "跳过的文件（不是工作簿）": len(result.skipped)}
    totals = result.totals()
    topics = {t.zh: t.alternatives[0] for t in result.spec.narrative_topics}
    figures = {ws.cell(r, 4).value: ws.cell(r, 5).value for r in range(4, 11) if ws.cell(r, 4).value}
    assert figures and all(v == sum(totals[k] for k in topics[label]) for label, v in figures.items())
    assert ws.cell(3, 4).value.startswith("全县合计") and ws.cell(3, 9).value == "办理结果"
    spec = result.spec
    handled = next(t for t in spec.narrative_topics if t.name == "handled").alternatives[0]
    parts = next(e.rhs for e in spec.equations if e.lhs == handled)
    groups = O.outcome_groups(spec)  # （一）予以公开 … （六）其他处理: every part in one group
    assert [label for label, _ in groups][:3] == ["（一）予以公开", "（二）部分公开", "（三）不予公开"]
    assert sorted(k for _, keys in groups for k in keys) == sorted(parts)
    assert [(ws.cell(r, 9).value, ws.cell(r, 10).value) for r in range(4, 4 + len(groups))] == \
        [(label, sum(totals[k] for k in keys)) for label, keys in groups]


def test_grid_counts_each_rule_family(merged):  # noqa: F811
    result, out = merged
    ws = load_workbook(out)[W.GRID_SHEET]
    heads = [c.value for c in ws[2]]
    assert heads[:3] == ["单位名称", "文件名", "校验结果"]
    for i, e in enumerate(result.entries):
        r = 3 + i
        assert (ws.cell(r, 1).value or "", ws.cell(r, 2).value, ws.cell(r, 3).value) == (e.unit_name or "", e.path.name,
                                                                                          e.status)
        by_family = Counter(W._family(f.rule) for f in e.findings)
        errors = {W._family(f.rule) for f in e.findings if f.severity == "error"}
        for fam in by_family:
            c = ws.cell(r, 1 + heads.index(W._family_title(result.spec, fam)))
            assert c.value == by_family[fam], (e.path.name, fam)
            assert c.fill.start_color.rgb.endswith((W.BAD_FILL if fam in errors else W.WARN_FILL).lstrip("#")), fam
        assert sum(ws.cell(r, c).value for c in range(4, len(heads) + 1)) == len(e.findings)
    assert ws.max_row == 2 + len(result.entries)


def test_grid_orders_table_families_as_the_spec_orders_its_tables():
    """问题一览's columns: 基本信息, values, then each table's sums in the spec's order — a fifth table
    of a new edition included — then structure, text and the merge's own rules."""
    spec = SimpleNamespace(tables=[SimpleNamespace(key=k) for k in ("t2", "t3", "t4", "t5")])
    families = ["X", "T5", "N", "T3", "M", "S", "T2", "V", "T4"]
    assert sorted(families, key=lambda f: W._family_order(spec, f)) == ["M", "V", "T2", "T3", "T4", "T5", "S", "N", "X"]


def test_problem_list_stops_at_its_cap_with_a_note(merged, tmp_path):  # noqa: F811
    """Past the cap (Excel's last row in a real county; 3 rows here) the list ends with a note that
    counts what was left out, and no 汇总 status links to a row that is not there."""
    result, _ = merged
    rows = list(W._problem_rows(result, "zh"))
    cap = 3
    assert len(rows) > cap + 2
    out = tmp_path / "capped.xlsx"
    W.write_county_workbook(result, out, max_problem_rows=cap)
    wb = load_workbook(out)
    ps, ws = wb[M.PROBLEM_SHEET], wb[M.SUMMARY_SHEET]
    listed = [tuple(c.value for c in row) for row in ps.iter_rows(min_row=3, max_row=2 + cap)]
    assert [tuple(v or "" for v in r[1:9]) for r in listed] == [r[:8] for r in rows[:cap]]  # "" is written as nothing
    left = rows[cap:]
    note = ps.cell(3 + cap, 1).value
    assert note.startswith("问题清单已到 Excel 工作表的行数上限")
    assert f"另有 {len(left)} 行（{sum(r[5] for r in left)} 处问题，涉及 {len({(r[0], r[1]) for r in left})} 个文件）" in note
    assert ps.max_row == 3 + cap and f"A{3 + cap}:J{3 + cap}" in {str(r) for r in ps.merged_cells.ranges}
    title = ps.cell(1, 1).value
    n_err = sum(1 for r in rows if r[4] == "错误")
    assert title.startswith(f"问题清单：{len(rows)}行（{sum(r[5] for r in rows)}处问题") and f"其中错误{n_err}行" in title
    lay = W.summary_layout(result)
    for i in range(len(result.entries)):
        link = ws.cell(lay["first_row"] + i, 6).hyperlink
        if link is not None:
            assert int(link.location.rsplit("A", 1)[1]) <= 2 + cap


def test_an_empty_merge_still_writes_every_sheet(tmp_path):
    result = M.merge_records([])
    out = tmp_path / "empty.xlsx"
    W.write_merge(result, out)
    assert load_workbook(out).sheetnames == [W.OVERVIEW_SHEET, M.SUMMARY_SHEET, M.PROBLEM_SHEET, W.GRID_SHEET,
                                             "打印-表二", "打印-表三", "打印-表四"]
