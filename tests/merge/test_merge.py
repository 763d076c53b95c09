"""County merge: a folder of town workbooks → 汇总 + 问题清单 (+ the county report), checked cell by cell.

The county folder holds what a county really receives: valid workbooks, one with planted errors,
one with only a warning, the same town twice, a town that sent last year's file (2019 edition),
a damaged workbook, a text file and an Excel lock file. Expected values come from the values
the workbooks were generated with, never from the merge itself.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import date
from pathlib import Path

import lo
import pytest
from openpyxl import load_workbook

from gxsheet.check.validate import validate_records
from gxsheet.cli.app import main
from gxsheet.core.record import Record
from gxsheet.core.spec import load_spec
from gxsheet.merge import county as M
from gxsheet.merge import workbook as W
from gxsheet.merge.style import safe
from gxsheet.read.workbook import read_report
from gxsheet.render.samples import valid_values, write_sample

S21 = load_spec("2021")
S19 = load_spec("2019")
FEE = "六、其他需要报告的事项：本年度未收取信息处理费。"
PARENT = "某县"
T3_COLUMNS = [c.key for c in S21.grid("t3").leaf_columns()]
T3_PARTS = [c for c in T3_COLUMNS if c != "total"]


def meta21(name: str, level: str = "镇", **extra: object) -> dict[str, object]:
    return {"unit_name": name, "level": level, "parent": PARENT, **extra}


def meta19(name: str, year: int = 2020, **extra: object) -> dict[str, object]:
    return {"unit_name": name, "level": "镇", "parent": PARENT, "year": year,
            "period_start": date(year, 1, 1), "period_end": date(year, 12, 31), **extra}


def with_carried(values: dict[str, object], carried: dict[str, int]) -> dict[str, object]:
    """Set 表三 row 二、上年结转 to ``carried`` and rebalance 一/四 so every relation still holds."""
    v = dict(values)
    for c in T3_PARTS:
        delta = carried[c] - v[f"t3.carried.{c}"]
        v[f"t3.carried.{c}"] = carried[c]
        if delta >= 0:
            v[f"t3.carry_forward.{c}"] += delta
        else:
            v[f"t3.received.{c}"] -= delta
    for row in ("received", "carried", "carry_forward"):
        v[f"t3.{row}.total"] = sum(v[f"t3.{row}.{c}"] for c in T3_PARTS)
    return v


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """The submitted folder, last year's folder, and the values every workbook was written with."""
    root = tmp_path_factory.mktemp("county")
    d, prev = root / "submitted", root / "previous"
    d.mkdir()
    prev.mkdir()
    vals: dict[str, dict] = {}

    # last year (2020, 2019 edition): 甲镇 and 乙镇
    p_jia = valid_values(S19, 11)
    p_yi = valid_values(S19, 12)
    write_sample(prev / "甲镇2020.xlsx", "2019", values=p_jia, meta=meta19("甲镇", amount_unit="元"))
    write_sample(prev / "乙镇2020.xlsx", "2019", values=p_yi, meta=meta19("乙镇", amount_unit="元"))

    def cf(v: dict) -> dict[str, int]:
        return {c: v[f"t3.carry_forward.{c}"] for c in T3_PARTS}

    # an older duplicate of 甲镇 first (its mtime is pushed back below)
    vals["甲镇-old.xlsx"] = valid_values(S21, 20)
    write_sample(d / "甲镇-old.xlsx", "2021", values=vals["甲镇-old.xlsx"], meta=meta21("甲镇"), prose={"s6": FEE})
    old = time.time() - 3600
    os.utime(d / "甲镇-old.xlsx", (old, old))

    vals["甲镇.xlsx"] = with_carried(valid_values(S21, 1), cf(p_jia))  # matches last year
    yi_carried = cf(p_yi)
    yi_carried["natural"] += 1  # X-CARRY on 自然人 (and so on 总计)
    vals["乙镇.xlsx"] = with_carried(valid_values(S21, 2), yi_carried)
    vals["丙街道.xlsx"] = valid_values(S21, 3)
    broken = dict(valid_values(S21, 4))
    broken["t3.received.natural"] += 1  # T3-IDENTITY and T3-ROW-TOTAL
    broken["t4.cases.review_upheld"] = "无"  # V-NUMBER (and T4 not computable)
    vals["丁乡.xlsx"] = broken
    vals["戊镇.xlsx"] = valid_values(S21, 5)
    vals["己镇2020.xlsx"] = valid_values(S19, 6)

    write_sample(d / "甲镇.xlsx", "2021", values=vals["甲镇.xlsx"], meta=meta21("甲镇"), prose={"s6": FEE})
    write_sample(d / "乙镇.xlsx", "2021", values=vals["乙镇.xlsx"], meta=meta21("乙镇"), prose={"s6": FEE})
    write_sample(d / "丙街道.xlsx", "2021", values=vals["丙街道.xlsx"], meta=meta21("丙街道", "街道"), prose={"s6": FEE})
    write_sample(d / "丁乡.xlsx", "2021", values=broken, meta=meta21("丁乡", "乡"), prose={"s6": FEE})
    write_sample(d / "戊镇.xlsx", "2021", values=vals["戊镇.xlsx"],
                 meta=meta21("戊镇", period_end=date(2021, 12, 21)), prose={"s6": FEE})  # N-PERIOD only
    write_sample(d / "己镇2020.xlsx", "2019", values=vals["己镇2020.xlsx"], meta=meta19("己镇", amount_unit="元"))
    good = (d / "甲镇.xlsx").read_bytes()
    (d / "damaged.xlsx").write_bytes(good[: len(good) // 2])
    (d / "说明.txt").write_text("各镇报表请于1月31日前报送。", encoding="utf-8")
    (d / "~$甲镇.xlsx").write_bytes(b"lock")  # Excel's lock file: not a submission
    return {"dir": d, "prev": prev, "root": root, "vals": vals}


@pytest.fixture(scope="module")
def merged(county):
    result = M.merge_paths([county["dir"]], previous=[county["prev"]], jobs=1)
    out = county["root"] / "county.xlsx"
    W.write_merge(result, out)
    return result, out


def entry(result: M.MergeResult, name: str) -> M.Entry:
    return next(e for e in result.entries if e.path.name == name)


def rules_of(e: M.Entry) -> set[str]:
    return {f.rule for f in e.findings}


# ---------------------------------------------------------------------------------------- merge


def test_inputs_and_unreadable(merged):
    result, _ = merged
    assert sorted(e.path.name for e in result.entries) == sorted(
        ["甲镇-old.xlsx", "甲镇.xlsx", "乙镇.xlsx", "丙街道.xlsx", "丁乡.xlsx", "戊镇.xlsx", "己镇2020.xlsx"])
    bad = {Path(u.path).name: u for u in result.unreadable}
    assert set(bad) == {"damaged.xlsx"}  # the lock file is skipped silently
    assert bad["damaged.xlsx"].kind == "corrupt-zip" and "损坏" in bad["damaged.xlsx"].message_zh
    # a text file is tried as a published report; not being one (nor a workbook), it is listed as skipped
    skipped = {Path(u.path).name: u for u in result.skipped}
    assert set(skipped) == {"说明.txt"} and "说明.txt" in skipped["说明.txt"].message_zh
    assert result.year == 2021 and result.edition == "2021" and result.name == PARENT


def test_order_is_by_unit_name_then_file(merged):
    """Pinyin order of 单位名称 (丙 bing < 丁 ding < 甲 jia < 戊 wu < 乙 yi), as a county office lists towns."""
    result, _ = merged
    keys = [(M.pinyin_key(M.norm_name(e.unit_name)), e.path.name) for e in result.entries]
    assert keys == sorted(keys)
    assert [M.norm_name(n) for n in sorted(["东湖街道", "古城街道", "大河乡"], key=M.pinyin_key)] == \
        ["大河乡", "东湖街道", "古城街道"]


def test_statuses_and_rules(merged):
    result, _ = merged
    assert entry(result, "丙街道.xlsx").status == "通过"
    assert entry(result, "甲镇.xlsx").findings and rules_of(entry(result, "甲镇.xlsx")) == {"X-DUPLICATE"}
    ding = entry(result, "丁乡.xlsx")
    assert {"T3-IDENTITY", "T3-ROW-TOTAL", "V-NUMBER"} <= rules_of(ding)
    assert ding.status == f"{ding.errors}个错误" and ding.errors >= 3
    wu = entry(result, "戊镇.xlsx")
    assert rules_of(wu) == {"N-PERIOD"} and wu.status == "1个疑问"
    ji = entry(result, "己镇2020.xlsx")
    assert "X-MIXED" in rules_of(ji) and not ji.included and ji.reason == "year"
    assert "2020年度" in next(f for f in ji.findings if f.rule == "X-MIXED").message_zh
    assert ji.values == {}  # another edition: no values under this year's columns


def test_duplicate_newest_counts(merged):
    result, _ = merged
    new, old = entry(result, "甲镇.xlsx"), entry(result, "甲镇-old.xlsx")
    assert new.included and not old.included and old.reason == "duplicate"
    for e in (new, old):
        f = next(f for f in e.findings if f.rule == "X-DUPLICATE")
        assert f.severity == "error" and "甲镇-old.xlsx" in f.message_zh and "甲镇.xlsx" in f.message_zh
    assert "本文件未计入" in next(f for f in old.findings if f.rule == "X-DUPLICATE").message_zh


def test_carry_over_against_last_year(merged):
    result, _ = merged
    assert result.previous_matched == 2
    assert not any(f.rule == "X-CARRY" for f in entry(result, "甲镇.xlsx").findings)
    carry = [f for f in entry(result, "乙镇.xlsx").findings if f.rule == "X-CARRY"]
    assert sorted(f.keys[0] for f in carry) == ["t3.carried.natural", "t3.carried.total"]
    nat = next(f for f in carry if f.keys[0] == "t3.carried.natural")
    assert nat.numbers["diff"] == 1 and nat.numbers["lhs"] == nat.numbers["rhs"] + 1
    assert nat.cells[0].startswith("表三!") and "乙镇2020.xlsx" in nat.cells[1]
    assert "自然人" in nat.message_zh


def test_totals_are_sums_of_counted_workbooks(merged, county):
    result, _ = merged
    counted = ["甲镇.xlsx", "乙镇.xlsx", "丙街道.xlsx", "丁乡.xlsx", "戊镇.xlsx"]
    assert sorted(e.path.name for e in result.included()) == sorted(counted)
    totals = result.totals()
    for k in S21.cells:
        want = sum(county["vals"][n][k] for n in counted if isinstance(county["vals"][n][k], (int, float)))
        assert totals[k] == pytest.approx(want), k
    assert isinstance(totals["t3.received.total"], int)


def test_exit_code(merged):
    result, _ = merged
    assert result.exit_code() == 1  # 丁乡 has errors


# ---------------------------------------------------------------------------------------- 汇总 sheet


@pytest.fixture(scope="module")
def sheets(merged):
    result, out = merged
    wb = load_workbook(out)
    return result, wb[M.SUMMARY_SHEET], wb[M.PROBLEM_SHEET]


def _merged_value(ws, r: int, c: int):
    for rng in ws.merged_cells.ranges:
        if rng.min_row <= r <= rng.max_row and rng.min_col <= c <= rng.max_col:
            return ws.cell(rng.min_row, rng.min_col).value
    return ws.cell(r, c).value


def check_header(ws, result: M.MergeResult) -> None:
    """Every value column's header, read back through the merged cells, is its official label path."""
    spec = result.spec
    lay = W.summary_layout(result)
    top, key_row, first_col = lay["header_top"], lay["key_row"], lay["first_value_col"]
    assert [ws.cell(key_row, c).value for c in range(1, first_col)] == [k for k, _, _ in W.META_COLUMNS]
    assert [ws.cell(top, c).value for c in range(1, first_col)] == [h for _, h, _ in W.META_COLUMNS]
    for j, key in enumerate(spec.cells):
        c = first_col + j
        assert ws.cell(key_row, c).value == key
        labels: list[str] = []
        for r in range(top, lay["first_row"]):
            v = _merged_value(ws, r, c)
            if v is not None and (not labels or labels[-1] != v):
                labels.append(v)
        want = list(spec.label_path(key))
        if spec.cells[key].type == "amount" and "万元" not in want[-1]:
            want[-1] += "（万元）"
        assert labels == want, key


def test_header_spells_out_official_labels(sheets):
    result, ws, _ = sheets
    check_header(ws, result)


def test_header_2019_edition(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    write_sample(d / "a.xlsx", "2019", seed=1, meta=meta19("甲镇", amount_unit="元"))
    result = M.merge_paths([d], jobs=1)
    assert result.edition == "2019"
    out = tmp_path / "o.xlsx"
    W.write_merge(result, out)
    check_header(load_workbook(out)[M.SUMMARY_SHEET], result)


def test_header_merges_and_view(sheets):
    result, ws, _ = sheets
    lay = W.summary_layout(result)
    merges = {str(r) for r in ws.merged_cells.ranges}
    assert f"A{lay['header_top']}:A{lay['first_row'] - 1}" in merges  # 单位名称 spans the header
    assert ws.row_dimensions[lay["key_row"]].hidden  # machine keys: for scripts, not for screen or paper
    # 表三's title spans its 26×7 columns, cut where the printed pages break and repeated on each
    # page; its row "一、本年新收…" spans the seven applicant columns
    from openpyxl.utils import get_column_letter as L
    from openpyxl.utils.cell import range_boundaries

    t3 = [lay["first_value_col"] + j for j, k in enumerate(S21.cells) if k.startswith("t3.")]
    breaks = {b.id + 1 for b in ws.col_breaks.brk}  # 1-based: the first column of a new page
    top = lay["header_top"]
    pieces = sorted(range_boundaries(r)[0:3:2] for r in merges if range_boundaries(r)[1] == top
                    and t3[0] <= range_boundaries(r)[0] <= t3[-1])
    assert pieces[0][0] == t3[0] and pieces[-1][1] == t3[-1] and len(pieces) > 1
    for (_, c1), (n0, _) in zip(pieces, pieces[1:], strict=False):
        assert n0 == c1 + 1 and n0 in breaks  # contiguous, cut only at a page break
    for c0, _ in pieces:
        assert ws.cell(top, c0).value == "三、收到和处理政府信息公开申请情况"
    assert any(m.startswith(f"{L(t3[0])}{top + 1}:{L(t3[6])}") for m in merges)
    assert ws.freeze_panes == f"B{lay['first_row']}"
    assert ws.auto_filter.ref.startswith(f"A{lay['first_row'] - 1}:") and ws.auto_filter.ref.endswith(str(lay["last_row"]))


def test_rows_cell_by_cell(sheets, county):
    result, ws, _ = sheets
    lay = W.summary_layout(result)
    fc = lay["first_value_col"]
    keys = list(S21.cells)
    for i, e in enumerate(result.entries):
        r = lay["first_row"] + i
        row = [ws.cell(r, c).value for c in range(1, fc + len(keys))]
        assert row[0] == e.unit_name and row[1] == e.record.meta["level"] and row[2] == e.record.year
        assert row[3] == e.record.edition and row[4] == e.path.name and row[5] == e.status
        assert row[6] == ("是" if e.included else "否")
        written = county["vals"][e.path.name]
        for j, k in enumerate(keys):
            got = row[fc - 1 + j]
            if e.reason in ("year", "edition"):
                assert got is None
            elif S21.cells[k].type == "amount":
                assert got == pytest.approx(written[k])  # 2021 fees are already in 万元
                assert ws.cell(r, fc + j).number_format == W.AMOUNT_FORMAT
            else:
                assert got == written[k], (e.path.name, k)


def test_total_row_formulas(sheets):
    result, ws, _ = sheets
    lay = W.summary_layout(result)
    t, f, last = lay["total_row"], lay["first_row"], lay["last_row"]
    assert ws.cell(t, 1).value == "合计"
    assert ws.cell(t, 7).value == f'=COUNTIF($G${f}:$G${last},"是")'
    from openpyxl.utils import get_column_letter as L

    for j in range(len(S21.cells)):
        c = L(lay["first_value_col"] + j)
        assert ws[f"{c}{t}"].value == f'=SUMIF($G${f}:$G${last},"是",{c}{f}:{c}{last})'
    assert ws.max_row == t


def test_status_links_and_problem_sheet(sheets):
    result, ws, ps = sheets
    lay = W.summary_layout(result)
    rows = list(ps.iter_rows(min_row=3, values_only=True))
    groups = [(e, rule) for e in result.entries for rule in dict.fromkeys(f.rule for f in e.findings)]
    assert len(rows) == len(groups) + len(result.unreadable)  # one row per workbook × rule
    assert [h for h, _ in W.PROBLEM_COLUMNS] == [c.value for c in ps[2]]
    # unreadable files first, with their one-line reason and no link
    unread = rows[: len(result.unreadable)]
    assert {r[1] for r in unread} == {"damaged.xlsx"}
    assert all(r[3] == "X-UNREADABLE" and r[5] == "错误" and r[9] is None for r in unread)
    # every workbook × rule: its file, unit, rule, severity, count, cells, first message, a link to its 汇总 row
    file_row = {ws.cell(r, 5).value: r for r in range(lay["first_row"], lay["last_row"] + 1)}
    i = len(unread)
    for e, rule in groups:
        fs = [f for f in e.findings if f.rule == rule]
        r = rows[i]
        excel_row = 3 + i
        assert r[1] == e.path.name and r[2] == e.unit_name and r[3] == rule
        assert r[5] == ("错误" if any(f.severity == "error" for f in fs) else "疑问")
        assert r[6] == len(fs) and r[7].split(" 等")[0].split(" ")[0] == fs[0].cells[0]
        assert r[8].startswith(fs[0].message_zh)
        link = ps.cell(excel_row, 10).hyperlink
        assert link is not None and link.location == f"'汇总'!A{file_row[e.path.name]}"
        assert ps.row_dimensions[excel_row].height >= 19  # as tall as its wrapped text
        i += 1
    # each status with findings links to its first problem row
    for e in result.entries:
        c = ws.cell(file_row[e.path.name], 6)
        if e.findings:
            target = int(c.hyperlink.location.rsplit("A", 1)[1])
            assert ps.cell(target, 2).value == e.path.name
        else:
            assert c.hyperlink is None


def test_problem_cells_are_highlighted(sheets):
    result, ws, _ = sheets
    lay = W.summary_layout(result)
    keys = list(S21.cells)
    i = result.entries.index(entry(result, "丁乡.xlsx"))
    cell = ws.cell(lay["first_row"] + i, lay["first_value_col"] + keys.index("t4.cases.review_upheld"))
    assert cell.value == "无" and cell.fill.start_color.rgb.endswith("FFC7CE")


def test_summary_styles(sheets):
    """Status colours and links, the key row, the 合计 row: what the county sees at a glance."""
    result, ws, ps = sheets
    lay = W.summary_layout(result)
    for i, e in enumerate(result.entries):
        c = ws.cell(lay["first_row"] + i, 6)
        want = "FFC7CE" if e.errors else "FFEB9C" if e.warnings else "C6EFCE"
        assert c.fill.fill_type == "solid" and c.fill.start_color.rgb.endswith(want), e.path.name
        assert (c.font.u == "single") == bool(e.findings)
        inc = ws.cell(lay["first_row"] + i, 7).font.color
        assert (inc is not None and inc.rgb == "FF808080") == (not e.included), e.path.name  # 否 in grey
    title = ws.cell(1, 1)
    assert title.font.name == "黑体" and title.font.b and title.font.sz == 14
    head = ws.cell(lay["header_top"], 1)
    assert head.font.b and head.border.left.style == "thin" and head.alignment.wrap_text
    key = ws.cell(lay["key_row"], 1)
    assert key.font.sz == 8 and key.font.color.rgb == "FF808080"
    t = lay["total_row"]
    assert ws.cell(t, 1).font.b and ws.cell(t, 1).fill.start_color.rgb.endswith("DDEBF7")
    assert ws.cell(t, 7).number_format == W.COUNT_FORMAT
    amount_col = lay["first_value_col"] + list(S21.cells).index("t2_8.fees.amount")
    assert ws.cell(t, amount_col).number_format == W.AMOUNT_FORMAT
    assert ws.row_dimensions[1].height == 28 and ws.column_dimensions["A"].width == W.META_COLUMNS[0][2]
    assert ps.freeze_panes == "A3" and ps.auto_filter.ref == f"A2:J{ps.max_row}"


def test_county_workbook_is_reproducible(merged, tmp_path):
    result, out = merged
    again = tmp_path / "again.xlsx"
    W.write_merge(result, again)
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.libreoffice
@lo.requires_lo
def test_libreoffice_recalculates_totals(merged, tmp_path):
    result, out = merged
    recalced = lo.recalc(out, tmp_path)
    ws = load_workbook(recalced, data_only=True)[M.SUMMARY_SHEET]
    lay = W.summary_layout(result)
    totals = result.totals()
    for j, k in enumerate(S21.cells):
        got = ws.cell(lay["total_row"], lay["first_value_col"] + j).value
        assert got == pytest.approx(totals[k]), k
    assert ws.cell(lay["total_row"], 7).value == len(result.included())


# ---------------------------------------------------------------------------------------- amounts


def test_amounts_converted_to_wanyuan(tmp_path):
    cell = S19.cells["t2_9.purchase.amount"]
    assert M.convert_amount(cell, 41521.5, "元") == (pytest.approx(4.15215), True)
    assert M.convert_amount(cell, "288.79万元", None) == (288.79, True)
    assert M.convert_amount(cell, "251000元", "万元") == (25.1, True)  # the cell's own unit wins
    assert M.convert_amount(cell, 12.5, "万元") == (12.5, True)
    assert M.convert_amount(cell, 41521.5, None) == (41521.5, False)
    assert M.convert_amount(cell, 0, None) == (0, True)  # nothing to doubt
    assert M.convert_amount(cell, "约一万", None) == ("约一万", True)  # V-NUMBER's business
    fee = S21.cells["t2_8.fees.amount"]
    assert M.convert_amount(fee, 3.5, None) == (3.5, True)
    assert M.convert_amount(fee, "50000元", None) == (5, True)

    d = tmp_path / "in"
    d.mkdir()
    base = {k: v for k, v in valid_values(S19, 1).items()}
    write_sample(d / "a.xlsx", "2019", values={**base, "t2_9.purchase.amount": 41521.5}, meta=meta19("甲", amount_unit="元"))
    write_sample(d / "b.xlsx", "2019", values={**base, "t2_9.purchase.amount": "288.79万元"}, meta=meta19("乙", amount_unit=None))
    write_sample(d / "c.xlsx", "2019", values={**base, "t2_9.purchase.amount": 7}, meta=meta19("丙", amount_unit=None))
    result = M.merge_paths([d], jobs=1)
    assert result.year == 2020 and result.edition == "2019"
    got = {e.path.name: e.values["t2_9.purchase.amount"] for e in result.entries}
    assert got == {"a.xlsx": pytest.approx(4.15215), "b.xlsx": 288.79, "c.xlsx": 7}
    c = entry(result, "c.xlsx")
    assert "X-UNIT" in rules_of(c) and c.unit_unknown == {"t2_9.purchase.amount"}
    assert "X-UNIT" not in rules_of(entry(result, "a.xlsx"))
    assert result.totals()["t2_9.purchase.amount"] == pytest.approx(4.15215 + 288.79 + 7)
    out = tmp_path / "out.xlsx"
    W.write_merge(result, out)
    ws = load_workbook(out)[M.SUMMARY_SHEET]
    lay = W.summary_layout(result)
    col = lay["first_value_col"] + list(S19.cells).index("t2_9.purchase.amount")
    assert any(str(_merged_value(ws, r, col)) == "采购总金额（万元）" for r in range(lay["header_top"], lay["first_row"]))
    i = result.entries.index(c)
    assert ws.cell(lay["first_row"] + i, col).fill.start_color.rgb.endswith("FFEB9C")  # kept as written: flagged


# ---------------------------------------------------------------------------------------- robustness


def test_town_text_never_becomes_a_formula(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    write_sample(d / "x.xlsx", "2021", seed=1, meta=meta21('=HYPERLINK("http://evil","x")'), prose={"s6": FEE})
    result = M.merge_paths([d], jobs=1)
    out = tmp_path / "o.xlsx"
    W.write_merge(result, out)
    ws = load_workbook(out)[M.SUMMARY_SHEET]
    c = ws.cell(W.summary_layout(result)["first_row"], 1)
    assert c.data_type == "s" and c.value == '=HYPERLINK("http://evil","x")'
    # control characters would make the workbook unreadable: shown escaped instead (the one output rule)
    assert safe("a\x07b\x00c") == "a\\x07b\\x00c"


def test_parallel_read_equals_serial(county, tmp_path):
    d = tmp_path / "many"
    d.mkdir()
    srcs = sorted(county["dir"].iterdir())
    for i in range(max(M.SERIAL_BELOW, 2 * len(srcs))):
        s = srcs[i % len(srcs)]
        shutil.copy(s, d / f"{i:02d}-{s.name.lstrip('~$')}")
    paths = M.collect_inputs([d])
    seen: list[int] = []
    par = M.read_all(paths, jobs=2, progress=lambda phase, done, total: seen.append(done))
    ser = M.read_all(paths, jobs=1)
    assert len(par) == len(ser) == len(paths)
    for a, b in zip(par, ser, strict=True):
        assert type(a) is type(b)
        if isinstance(a, Record):
            assert a.to_row() == b.to_row() and a.where == b.where
            assert [f.message_zh for f in a.structure] == [f.message_zh for f in b.structure]
        else:
            assert a == b
    assert seen[-1] == len(paths) and seen == sorted(seen)


def test_collect_inputs(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for name in ("b.xlsx", "a.pdf", ".hidden.xlsx", "~$b.xlsx", "Thumbs.db"):
        (d / name).write_bytes(b"x")
    (d / "sub").mkdir()
    out = d / "county.xlsx"
    out.write_bytes(b"x")
    got = M.collect_inputs([d, d / "b.xlsx"], exclude=[out])
    assert [p.name for p in got] == ["a.pdf", "b.xlsx"]  # any suffix, no junk, no repeats, no own output
    with pytest.raises(M.LoadError):
        M.collect_inputs([d / "missing.xlsx"])


def test_header_blocks_generic():
    slots = [["T", "r1", None, "a"], ["T", "r1", None, "b"], ["T", "r2", "x", "a"], ["U", None, None, "a"]]
    blocks = {(b.top, b.bottom, b.first, b.last, b.text) for b in W.header_blocks(slots)}
    assert (0, 0, 0, 2, "T") in blocks and (1, 2, 0, 1, "r1") in blocks and (1, 1, 2, 2, "r2") in blocks
    assert (0, 2, 3, 3, "U") in blocks  # nothing below: the label extends down
    assert (3, 3, 0, 0, "a") in blocks and (2, 2, 2, 2, "x") in blocks


# ---------------------------------------------------------------------------------------- county report


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    d = tmp_path_factory.mktemp("clean")
    for i, (name, level) in enumerate([("甲镇", "镇"), ("乙街道", "街道"), ("县教育局", "县级部门")]):
        write_sample(d / f"{name}.xlsx", "2021", seed=30 + i, meta=meta21(name, level), prose={"s6": FEE})
    return d


def test_county_report_validates_clean(clean, tmp_path):
    result = M.merge_paths([clean], jobs=1)
    assert result.errors == 0 and result.exit_code() == 0
    out = tmp_path / "report.xlsx"
    W.write_county_report(result, out, name="某县人民政府")
    rec = read_report(out)
    assert rec.meta["unit_name"] == "某县人民政府" and rec.meta["level"] == "县级政府" and rec.meta["year"] == 2021
    assert rec.meta["period_start"] == "2021-01-01" and rec.meta["period_end"] == "2021-12-31"
    for k, v in result.totals().items():
        assert rec.values[k] == pytest.approx(v), k
    errors = [f for f in validate_records([rec])[0] if f.severity == "error"]
    assert errors == [], [f.message_zh for f in errors]


def test_county_report_2019_amount_unit(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for i in range(2):
        write_sample(d / f"{i}.xlsx", "2019", seed=40 + i, meta=meta19(f"镇{i}", amount_unit="元"))
    result = M.merge_paths([d], jobs=1)
    out = tmp_path / "r.xlsx"
    W.write_county_report(result, out)
    rec = read_report(out)
    assert rec.meta["amount_unit"] == "万元" and rec.meta["unit_name"] == PARENT
    assert not [f for f in validate_records([rec])[0] if f.rule in ("V-UNIT",) or f.severity == "error"]


# ---------------------------------------------------------------------------------------- command


def test_command_exit_codes_and_outputs(county, clean, tmp_path, capsys):
    out = tmp_path / "c.xlsx"
    rep = tmp_path / "r.xlsx"
    assert main(["merge", str(clean), "-o", str(out), "--report", str(rep), "--name", "某县"]) == 0
    cap = capsys.readouterr()
    assert cap.err == ""  # not a terminal: no progress bar
    assert "汇总完成" in cap.out and "3 个工作簿" in cap.out and out.exists() and rep.exists()
    # an existing output needs --force; the output may not be an input
    assert main(["merge", str(clean), "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["merge", str(clean), "--force", "-o", str(out), "--lang", "en"]) == 0
    assert "merged 3 workbooks" in capsys.readouterr().out
    one = next(clean.iterdir())
    assert main(["merge", str(one), "-o", str(one), "--force"]) == 2
    assert main(["merge", str(clean), "-o", str(out), "--report", str(out), "--force"]) == 2
    assert main(["merge", str(tmp_path / "nope"), "-o", str(tmp_path / "x.xlsx")]) == 2
    # the county folder: errors → 1; unreadable files are named on stderr
    o2 = tmp_path / "c2.xlsx"
    assert main(["merge", str(county["dir"]), "-o", str(o2), "--previous", str(county["prev"]), "--jobs", "2"]) == 1
    cap = capsys.readouterr()
    assert "damaged.xlsx" in cap.err and "说明.txt" in cap.err and "与上年报告核对了2个单位" in cap.out


def test_command_strict_and_rerun_in_same_folder(clean, tmp_path, capsys):
    d = tmp_path / "in"
    shutil.copytree(clean, d)
    (d / "notes.txt").write_text("x", encoding="utf-8")
    out = d / "county.xlsx"  # written into the input folder: a rerun must not read it
    (d / "broken.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    assert main(["merge", str(d), "-o", str(out)]) == 0
    assert main(["merge", str(d), "-o", str(out), "--force", "--strict"]) == 1  # broken.xlsx; notes.txt is skipped
    text = capsys.readouterr()
    assert "county.xlsx：" not in text.err  # its own output was not treated as a submission
    assert main(["merge", str(d / "notes.txt"), "-o", str(tmp_path / "z.xlsx")]) == 2  # nothing to merge


def test_examples_merge_if_present(tmp_path):
    examples = Path(__file__).resolve().parents[2] / "examples"
    files = sorted(examples.glob("*.xlsx")) if examples.is_dir() else []
    if not files:
        pytest.skip("no examples/*.xlsx in this checkout")
    result = M.merge_paths(files, jobs=1)
    assert len(result.entries) + len(result.unreadable) == len(files)
    out = tmp_path / "examples.xlsx"
    W.write_merge(result, out)
    ws = load_workbook(out)[M.SUMMARY_SHEET]
    assert ws.cell(W.summary_layout(result)["total_row"], 1).value == "合计"


def test_every_rule_the_code_emits_is_in_the_catalogue_and_the_readme():
    """One source of truth for rule ids, severities and texts: schemas/rules.json (merge rules too)."""
    import re

    from gxsheet.core import findings as F
    from gxsheet.core.spec import all_specs

    root = Path(M.__file__).parent.parent  # the whole package
    emitted = set()
    for py in root.rglob("*.py"):
        emitted |= set(re.findall(r'(?:make|_finding)\(\s*"([A-Z][A-Z0-9]*-[A-Z0-9-]+)"', py.read_text(encoding="utf-8")))
    emitted |= {e.rule for s in all_specs() for e in s.equations}
    assert {"X-DUPLICATE", "X-MIXED", "X-UNIT", "X-CARRY", "V-UNIT", "S-LABEL", "M-META"} <= emitted
    emitted.add("X-UNREADABLE")  # a problem-list line, not a Finding
    catalogue = F.rules()
    assert emitted <= set(catalogue), emitted - set(catalogue)
    assert not hasattr(M, "MERGE_RULES")
    readme = (root.parent / "README.md").read_text(encoding="utf-8")
    assert all(rule in readme for rule in catalogue), [r for r in catalogue if r not in readme]


def test_carry_over_relation_comes_from_the_spec(tmp_path):
    """X-CARRY compares the rows the spec's carry_over names, and a spec naming a row without value
    cells is refused when it loads."""
    import json

    from gxsheet.core.spec import SpecError, parse_spec, schemas_dir

    for e in ("2019", "2021"):
        c = load_spec(e).carry_over
        assert (c.grid, c.this_year_row, c.last_year_row) == ("t3", "carried", "carry_forward")
    data = json.loads((schemas_dir() / "format-2021.json").read_text(encoding="utf-8"))
    data["carry_over"]["last_year_row"] = "no_such_row"
    with pytest.raises(SpecError, match="carry_over: 'no_such_row'"):
        parse_spec(data)


def _sheet_values(path: Path) -> dict[str, list[tuple]]:
    wb = load_workbook(path)
    return {ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()] for ws in wb.worksheets}


def test_batches_and_workers_do_not_change_the_merge(county, merged, tmp_path):
    """Validating batch by batch as files arrive (spilled to disk), read by one process or two,
    writes the same county workbook, cell for cell, as one batch of everything."""
    _, whole = merged
    for batch in (2, 3):
        result = M.merge_paths([county["dir"]], previous=[county["prev"]], jobs=1, batch=batch)
        W.write_merge(result, tmp_path / f"county-{batch}.xlsx")
        assert _sheet_values(tmp_path / f"county-{batch}.xlsx") == _sheet_values(whole), batch
        result.close()
    d = tmp_path / "many"  # enough files for a pool: every town many times (X-DUPLICATE galore)
    d.mkdir()
    srcs = [s for s in sorted(county["dir"].iterdir()) if not s.name.startswith("~$")]
    for i in range(M.SERIAL_BELOW + 5):
        shutil.copy2(srcs[i % len(srcs)], d / f"{i:02d}-{srcs[i % len(srcs)].name}")
    outs = []
    for batch, jobs in ((10_000, 1), (7, 2)):
        result = M.merge_paths([d], previous=[county["prev"]], jobs=jobs, batch=batch)
        outs.append(tmp_path / f"many-{batch}-{jobs}.xlsx")
        W.write_merge(result, outs[-1])
        result.close()
    assert _sheet_values(outs[0]) == _sheet_values(outs[1])


def test_what_stays_in_memory_per_file_is_slim(merged):
    """A merge keeps per file only what its rules and the 汇总 row need; findings and values are read back."""
    result, _ = merged
    for e in result.entries:
        rec = e.record
        assert not rec.prose and not rec.structure
        carry = result.spec.carry_over
        assert all(k.startswith(f"{carry.grid}.{carry.this_year_row}.") or
                   k.startswith(f"{carry.grid}.{carry.last_year_row}.") for k in rec.values)
    ding = entry(result, "丁乡.xlsx")
    assert ding.values["t4.cases.review_upheld"] == "无" and {"T3-IDENTITY", "V-NUMBER"} <= rules_of(ding)
    assert result.store is not None and result.store.size > 0


def test_an_output_onto_a_submission_is_refused_without_opening_the_inbox(clean, tmp_path, monkeypatch, capsys):
    """The guard looks at the output paths, not at every file of the input folder (a second pass
    over a province's inbox): a submission is still never overwritten, even with --force."""
    from gxsheet.merge import county as M

    d = tmp_path / "in"
    shutil.copytree(clean, d)
    submission = sorted(d.glob("*.xlsx"))[0]
    before = submission.read_bytes()
    looked: list[Path] = []
    real = M.is_merge_output  # the signature the merge writes (docProps/custom.xml), not sheet names
    monkeypatch.setattr(M, "is_merge_output", lambda p: looked.append(p) or real(p))
    assert main(["merge", str(d), "-o", str(submission), "--force"]) == 2
    assert submission.read_bytes() == before and looked == [submission]
    assert submission.name in capsys.readouterr().err


@pytest.mark.parametrize("copies", [1, 50])  # one worker; and enough files for several (they inherit the claims)
def test_prose_rules_run_in_the_reading_workers_with_the_same_findings(tmp_path, copies):
    """The merge's workers run the prose rules where they read (M.read_and_check_submission): each
    file's findings are what validating it in this process gives, prose findings included, once."""
    src = Path(__file__).resolve().parents[2] / "examples" / "004_69f7d43df349e7f8.xlsx"
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(copies):
        shutil.copy(src, folder / f"{k:03d}.xlsx")
    result = M.merge_paths([folder], jobs=2)
    try:
        here = validate_records([read_report(str(src))])[0]
        assert {"N-TEXT-TABLE", "S-SECTIONS"} <= {f.rule for f in here}
        for e in result.entries:
            got = [f for f in e.findings if not f.rule.startswith("X-")]  # the merge's own rules (X-DUPLICATE …) aside
            assert [(f.rule, f.keys, f.message_zh) for f in got] == [(f.rule, f.keys, f.message_zh) for f in here]
    finally:
        result.close()
