"""The county's outputs as a clerk prints them: rendered by LibreOffice to PDF and read back with pdftotext.

What is checked on every page (budgets: README, 汇总 → 打印):

* page counts within the budget: 概况 on 2 pages; each 打印 sheet and 问题一览 at least 18 units a
  page (10 towns: one page each); 汇总 one page per band of columns for every 18 units at most
  (10 towns: 16 pages); 问题清单 at least 12 rows a page;
* every page carries the unit names of its rows: each row of numbers has a unit's name (or 合计)
  beside it on the same page — 汇总 repeats its unit column on every page across;
* no clipped columns: every column's header text is on the page its column prints on (汇总: the
  page of its band; the others: every page, fitted to the width);
* wrapped rows tall enough: no text line runs into another (LibreOffice draws overflowing text
  over the next row); no ### for a number too wide for its column; no blank page.

The towns are records in memory (realistic names: 镇, 乡, 街道 and long county departments, some
with errors), merged through the real merge and written by the real writers.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import lo
import pytest

from gxsheet.core.record import Record
from gxsheet.core.spec import load_spec
from gxsheet.merge import columns as C
from gxsheet.merge import county as M
from gxsheet.merge import overview as O
from gxsheet.merge import print_tables as P
from gxsheet.merge import workbook as W
from gxsheet.render.samples import default_meta, default_prose, valid_values

pytestmark = [pytest.mark.libreoffice, pytest.mark.slow, lo.requires_lo]

S21 = load_spec("2021")
PLACES = ("城关 东湖 西湖 南山 北山 古城 大河 小河 新河 青山 白石 长安 重庆 石桥 金沙 龙泉 凤凰 马鞍 黄土 红旗 "
          "高桥 平安 太平 永安 兴隆 和平 清水 柳林 桃园 杨庄").split()
KINDS = (("镇", "镇"), ("乡", "乡"), ("街道", "街道"), ("镇人民政府", "镇"), ("乡人民政府", "乡"), ("街道办事处", "街道"))
DEPARTMENTS = ("县人力资源和社会保障局", "县自然资源和规划局", "县住房和城乡建设局", "县市场监督管理局", "县卫生健康委员会",
               "县农业农村局", "县交通运输局", "县生态环境分局", "县应急管理局", "县退役军人事务局", "县医疗保障局", "县教育体育局")
#: the body of a landscape A4 page in points (page header and footer outside)
BODY = (45.0, 550.0)
NUMBER = re.compile(r"-?[\d,]+(\.\d+)?")
#: units a page at least, on each sheet that lists them one a row (a long name takes two lines)
UNITS_A_PAGE = 18


def units(n: int) -> list[tuple[str, str]]:
    """(单位名称, 层级) of ``n`` distinct units, one in eight a county department with a long name."""
    out, depts = [], iter(DEPARTMENTS * 40)
    for i in range(n):
        if i % 8 == 5:
            d = next(depts)
            out.append((d if i < 8 * len(DEPARTMENTS) else f"{d}（{i}）", "县级部门"))
            continue
        k = i // len(PLACES)
        name, level = KINDS[k % len(KINDS)]
        extra = "" if k < len(KINDS) else "一二三四五六七八九"[k // len(KINDS) - 1]
        out.append((PLACES[i % len(PLACES)] + extra + name, level))
    return out


def county_merge(n: int, edition: str = "2021") -> M.MergeResult:
    """``n`` towns' reports, one in four with a broken relation or a word in a number cell."""
    spec = load_spec(edition)
    items = []
    for i, (name, level) in enumerate(units(n)):
        v: dict[str, object] = dict(valid_values(spec, 1000 + i))
        if i % 4 == 1:
            v["t3.received.natural"] += 1  # type: ignore[operator]
        if i % 6 == 2:
            v["t4.cases.review_upheld"] = "无"
        extra = {"amount_unit": "元"} if any(f.key == "amount_unit" for f in spec.metadata) else {}
        meta = {k: (x.isoformat() if hasattr(x, "isoformat") else x) for k, x in
                default_meta(spec, unit_name=name, level=level, parent="某县", **extra).items()}
        rec = Record(edition=edition, meta=meta, prose=default_prose(spec), values=v, source=f"{name}.xlsx",
                     kind="sample")
        items.append((Path(f"{name}.xlsx"), rec))
    return M.merge_records(items)


@dataclass
class Printed:
    result: M.MergeResult
    pdf: Path
    sheets: dict[str, list[int]]  # sheet → its pages (1-based), in order
    layout: list[str]  # per page: pdftotext -layout
    raw: list[str]  # per page: pdftotext -raw, whitespace removed
    words: list[lo.TextLine]


def printed(xlsx: Path, result: M.MergeResult, sheets: list[str]) -> Printed:
    pdf = lo.to_pdf(xlsx, xlsx.parent / "pdf")
    layout = lo.pdf_pages(pdf)
    by_sheet: dict[str, list[int]] = {s: [] for s in sheets}
    for n, text in enumerate(layout, start=1):
        assert text.strip(), f"page {n} is blank"
        head = text.strip().splitlines()[0]
        fields = re.split(r"\s{2,}", head.strip())
        sheet = next(f for f in fields if f in by_sheet)  # the page header's centre names the sheet
        by_sheet[sheet].append(n)
        assert f"第 {n} 页，共 {len(layout)} 页" in text
    raw = [re.sub(r"\s+", "", t) for t in lo.pdf_pages_raw(pdf)]
    return Printed(result, pdf, by_sheet, layout, raw, lo.pdf_words(pdf))


def check_every_page(p: Printed, *, who: str) -> None:
    """Who the page is about in its header, nothing drawn over anything else, no ### for a number."""
    # word by word: pdftotext joins the lines of neighbouring header cells into one "line" box
    assert lo.overlapping_lines(p.words) == [], "wrapped text runs into the next row, or a column is cut"
    for n, text in enumerate(p.layout, start=1):
        assert who in text.strip().splitlines()[0], n
        assert "###" not in text, n


def check_rows_named(p: Printed, sheet: str) -> None:
    """Every row of numbers on the sheet's pages has a unit's name (or 合计) beside it."""
    pieces = {"合计"} | {u[i:j] for e in p.result.entries if (u := e.unit_name or "")
                         for i in range(len(u)) for j in range(i + 2, len(u) + 1)}  # a wrapped name's lines
    pages = set(p.sheets[sheet])
    on_page: dict[int, list[lo.TextLine]] = {}
    for w in p.words:
        if w.page in pages and BODY[0] < w.y0 < BODY[1]:
            on_page.setdefault(w.page, []).append(w)
    for n in p.sheets[sheet]:
        words = on_page.get(n, [])
        named = [w.y0 for w in words if w.text in pieces]
        rows = {round(w.y0) for w in words if NUMBER.fullmatch(w.text)}
        assert rows, (sheet, n)
        lonely = sorted(y for y in rows if not any(abs(y - y2) <= 4 for y2 in named))
        assert not lonely, f"{sheet} page {n}: numbers without a unit name at y={lonely}"


def check_labels(p: Printed, page: int, labels: list[str]) -> None:
    missing = [lab for lab in labels if re.sub(r"\s+", "", lab) not in p.raw[page - 1]]
    assert not missing, f"page {page}: header labels not printed: {missing}"


def check_county_workbook(p: Printed) -> None:
    result = p.result
    n = len(result.entries)
    check_every_page(p, who=f"{result.name}{result.year}年度政府信息公开工作年度报告汇总")
    assert len(p.sheets[O.OVERVIEW_SHEET]) == 2  # the tables and three charts; cases, problems (and units)
    # the 打印 sheets: one set of pages fitted to the width, every label on every page
    for pt in P.plan(result.spec):
        pages = p.sheets[pt.sheet]
        assert len(pages) <= math.ceil(n / UNITS_A_PAGE), (pt.sheet, len(pages))
        labels = ["单位名称", "校验结果", *(b.text for b in C.header_blocks(pt.slots))]
        for page in pages:
            check_labels(p, page, labels)
        check_rows_named(p, pt.sheet)
    # 问题一览 and 问题清单: fitted to the width, the header row on every page
    assert len(p.sheets[W.GRID_SHEET]) <= math.ceil(n / UNITS_A_PAGE)
    for page in p.sheets[W.GRID_SHEET]:
        check_labels(p, page, ["单位名称", "文件名", "校验结果", "基本信息", "数值填写", "表三勾稽"])
    check_rows_named(p, W.GRID_SHEET)
    plan = W._problem_plan(result)
    assert len(p.sheets[M.PROBLEM_SHEET]) <= math.ceil(plan.rows / 12)
    for page in p.sheets[M.PROBLEM_SHEET]:
        check_labels(p, page, [h for h, _ in W.PROBLEM_COLUMNS])
    check_rows_named(p, M.PROBLEM_SHEET)
    # 汇总: pages across then down, one page per band of columns, its labels on the band's pages
    blocks, widths, breaks = W.summary_columns(result)
    bands = list(zip([0, *breaks], [*breaks, len(widths)], strict=True))
    pages = p.sheets[M.SUMMARY_SHEET]
    assert len(pages) % len(bands) == 0, "LibreOffice broke a band of columns again: it did not fit its page"
    assert len(pages) <= len(bands) * math.ceil(n / UNITS_A_PAGE)
    for i, page in enumerate(pages):
        lo_, hi = bands[i % len(bands)]
        labels = [b.text for b in blocks if lo_ <= b.first < hi]
        check_labels(p, page, ["单位名称", *labels, *([h for _, h, _ in C.META_COLUMNS] if i % len(bands) == 0 else [])])
    check_rows_named(p, M.SUMMARY_SHEET)


SHEETS = [O.OVERVIEW_SHEET, M.SUMMARY_SHEET, M.PROBLEM_SHEET, W.GRID_SHEET, "打印-表二", "打印-表三", "打印-表四"]


@pytest.fixture(scope="module")
def ten(tmp_path_factory):
    root = tmp_path_factory.mktemp("ten")
    result = county_merge(10)
    W.write_merge(result, root / "county.xlsx")
    W.write_county_report(result, root / "report.xlsx")
    return result, root


def test_ten_towns(ten):
    result, root = ten
    p = printed(root / "county.xlsx", result, SHEETS)
    check_county_workbook(p)
    shots = os.environ.get("GXSHEET_SCREENSHOTS")  # the README's pictures: GXSHEET_SCREENSHOTS=docs/print
    if shots:
        for name, sheet in (("county-overview", O.OVERVIEW_SHEET), ("county-print-table3", "打印-表三"),
                            ("county-problems", M.PROBLEM_SHEET)):
            page = p.sheets[sheet][0]
            subprocess.run(["pdftoppm", "-r", "80", "-png", "-singlefile", "-f", str(page), "-l", str(page), str(p.pdf),
                            str(Path(shots) / name)], check=True, timeout=120)
    assert len(p.sheets[M.SUMMARY_SHEET]) <= 16
    assert sum(len(v) for v in p.sheets.values()) <= 2 + 16 + 1 + 1 + 3


def test_ten_towns_2019_edition(tmp_path):
    """The 2019 edition: 表二 has 22 cells (all printed), amounts in 万元 converted from 元."""
    result = county_merge(10, "2019")
    W.write_merge(result, tmp_path / "county.xlsx")
    check_county_workbook(printed(tmp_path / "county.xlsx", result, SHEETS))


def test_county_report(ten):
    """The county's own report: one page per table, its 概况 on two, the county named on every page."""
    result, root = ten
    layout_sheets = ["基本信息", "正文", "表二", "表三", "表四"]
    p = printed(root / "report.xlsx", result, [*layout_sheets, O.OVERVIEW_SHEET])
    check_every_page(p, who=f"某县 {result.year}年度")
    assert [len(p.sheets[s]) for s in layout_sheets] == [1] * 5 and len(p.sheets[O.OVERVIEW_SHEET]) == 2
    from gxsheet.core.layout import workbook_layout

    for sheet in workbook_layout(S21).sheets:
        if sheet.kind == "table":  # every label of the form on its page
            check_labels(p, p.sheets[sheet.name][0], [b.text for b in sheet.boxes if b.role in ("label", "header") and b.text])
    first, second = (p.raw[n - 1] for n in p.sheets[O.OVERVIEW_SHEET])
    assert "报送情况" in first and "全县合计" in first and "办理结果" in first and "各单位校验结果" in first
    assert "最常见的问题" in second and "行政复议和行政诉讼" in second
    assert all(e.unit_name in second for e in result.entries)  # the applications per unit, on paper


def test_three_hundred_towns(tmp_path):
    result = county_merge(300)
    out = tmp_path / "county.xlsx"
    W.write_merge(result, out)
    p = printed(out, result, SHEETS)
    check_county_workbook(p)
    # the per-unit chart of 300 bars is for the screen: 概况 stays two pages, and says where the numbers are
    assert "共300个单位" in p.raw[p.sheets[O.OVERVIEW_SHEET][1] - 1]
