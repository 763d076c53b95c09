"""Writing a merge: the county workbook (汇总, 问题清单) and the county's own report.

* :func:`write_merge` writes the county workbook: sheet 汇总 (one row per workbook, every value
  cell a column under a 表/行/列 header built from the spec, a live 合计 row) and sheet 问题清单
  (every finding, hyperlinked to its row in 汇总), atomically.
* :func:`write_county_report` fills the standard template with the county-wide sums, so the county
  files its own 本行政区域 report in the same format it asked the towns to use (through the one
  Record writer, :mod:`gxsheet.render.workbook`).

The county workbook is a new file, so it is written with XlsxWriter rather than openpyxl (which
builds an object per cell): strings are never turned into formulas, links or numbers, the
document dates are fixed so a rerun gives the same bytes, and the 合计 formulas carry their
results. Rows are written in order, one at a time, but XlsxWriter's ``constant_memory`` mode is
not used: it cannot write merged cells that span rows it has already flushed, which the 表/行/列
header bands are (a limitation its author keeps on purpose), so the sheet is held until it is
closed (about 120 MB for 3,000 workbooks).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from gxsheet.core import findings as F
from gxsheet.core.layout import EDITION_LABEL, workbook_layout
from gxsheet.core.record import Record
from gxsheet.core.sanitise import cell as cell_text
from gxsheet.core.spec import Spec
from gxsheet.merge.county import (
    INCLUDED_NO,
    INCLUDED_YES,
    MERGE_SIGNATURE,
    PROBLEM_SHEET,
    SUMMARY_SHEET,
    MergeResult,
    rule_title,
)
from gxsheet.render.template import FIXED_TIME

# ============================================================================ the 汇总 header


@dataclass(frozen=True)
class HeaderBlock:
    """One (possibly merged) header cell: levels top..bottom, value columns first..last (0-based)."""

    top: int
    bottom: int
    first: int
    last: int
    text: str


def column_slots(spec: Spec) -> list[tuple[str, list[str | None]]]:
    """Per value key, its header labels in three bands: 表 (1 level) · 行 (caption + row path) · 列.

    Labels come from the spec's Node trees, top-aligned in each band and padded with None (the
    label above then extends down). Joined, a key's labels are exactly ``spec.label_path(key)``
    (amount columns get the merge unit appended when their label has none).
    """
    parts: list[tuple[str, str, list[str], list[str]]] = []
    for key, cell in spec.cells.items():
        g = spec.grid(cell.grid)
        rows = ([g.caption] if g.caption else []) + [p for p in cell.row.path if p]
        cols = list(cell.column.path)
        if cell.type == "amount" and cols and spec.merge.unit not in cols[-1]:
            cols[-1] = f"{cols[-1]}（{spec.merge.unit}）"
        parts.append((key, spec.table(cell.table).title, rows, cols))
    depth_r = max(len(r) for _, _, r, _ in parts)
    depth_c = max(len(c) for _, _, _, c in parts)
    return [(key, [title, *rows, *[None] * (depth_r - len(rows)), *cols, *[None] * (depth_c - len(cols))])
            for key, title, rows, cols in parts]


def header_blocks(slots: Sequence[Sequence[str | None]]) -> list[HeaderBlock]:
    """Merged header cells from per-column label slots.

    At each level, neighbouring columns whose labels agree from the top down to that level share
    one cell; a label extends downwards over levels that are empty for all its columns.
    """
    n = len(slots)
    levels = len(slots[0]) if slots else 0
    out: list[HeaderBlock] = []
    for lv in range(levels):
        i = 0
        while i < n:
            text = slots[i][lv]
            if text is None:
                i += 1
                continue
            prefix = tuple(slots[i][:lv + 1])
            j = i
            while j + 1 < n and tuple(slots[j + 1][:lv + 1]) == prefix:
                j += 1
            bottom = lv
            while bottom + 1 < levels and all(slots[k][bottom + 1] is None for k in range(i, j + 1)):
                bottom += 1
            out.append(HeaderBlock(lv, bottom, i, j, text))
            i = j + 1
    return out


# ============================================================================ writing the workbook

META_COLUMNS: tuple[tuple[str, str, float], ...] = (
    # (key, header, width)
    ("unit_name", "单位名称", 26.0),
    ("level", "单位层级", 9.0),
    ("year", "报告年度", 7.0),
    ("edition", EDITION_LABEL, 7.0),
    ("file", "文件名", 24.0),
    ("status", "校验结果", 15.0),
    ("included", "计入合计", 7.0),
)
VALUE_WIDTH = 10.0
AMOUNT_FORMAT = "#,##0.00####"
COUNT_FORMAT = "0"
DATE_FORMAT = "yyyy-mm-dd"
PROBLEM_COLUMNS: tuple[tuple[str, float], ...] = (
    ("序号", 6.0), ("文件名", 24.0), ("单位名称", 22.0), ("规则", 14.0), ("规则名称", 22.0),
    ("严重程度", 8.0), ("单元格", 22.0), ("问题说明", 80.0), ("汇总表位置", 12.0),
)
SEVERITY_ZH = F.SEVERITY_ZH
#: how XlsxWriter is told to write: a str is always text (never a formula, link or number), and
#: the document properties are fixed, so the same merge gives the same bytes
WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
                    "in_memory": True}
#: pixels per character of width in the default font (Calibri 11), XlsxWriter's unit for widths
DIGIT_PX = 7
#: points per pixel, XlsxWriter's unit for heights
PT_PER_PX = 0.75
#: integers a double holds without overflow; a larger one is written as its digits (text)
_BIG = 2**1023


def _units(text: str) -> float:
    """Display width in column units: CJK characters are two, others one."""
    return sum(2.0 if ord(ch) > 0x2E80 else 1.1 for ch in text)


def _safe(text: object) -> str:
    """A town's text for a cell (:func:`gxsheet.core.sanitise.cell`): controls and invisible marks
    escaped (a town's text must never break the file or hide in it), cut at what a cell holds."""
    return cell_text(str(text))


# The county workbook's cell styles, as XlsxWriter format properties (made into formats per workbook).
OK_FILL, WARN_FILL, BAD_FILL = "#C6EFCE", "#FFEB9C", "#FFC7CE"
_HEAD_FILL, _TOTAL_FILL = "#E7E6E6", "#DDEBF7"
_BORDER = {"border": 1, "border_color": "#9E9E9E"}
_CENTER = {"align": "center", "valign": "vcenter", "text_wrap": True}
_LEFT = {"align": "left", "valign": "vcenter", "text_wrap": True}
_LINK_FONT = {"font_color": "#0563C1", "underline": 1}
_GREY = {"font_color": "#808080"}


def _fill(colour: str | None) -> dict[str, object]:
    return {"pattern": 1, "bg_color": colour} if colour else {}


STYLES: dict[str, dict[str, object]] = {
    "title": {"font_name": "黑体", "font_size": 14, "bold": True, **_LEFT},
    "head": {"font_size": 10, "bold": True, **_fill(_HEAD_FILL), **_BORDER, **_CENTER},
    "key": {"font_size": 8, **_GREY, **_fill(_HEAD_FILL), **_BORDER, **_CENTER},
    "not_counted": _GREY,
    "link": _LINK_FONT,
    "message": _LEFT,
    "date": {"num_format": DATE_FORMAT},
    "total_label": {"bold": True, **_fill(_TOTAL_FILL), **_BORDER},
    "total_blank": {**_fill(_TOTAL_FILL), **_BORDER},
    "total_count": {"bold": True, **_fill(_TOTAL_FILL), **_BORDER, "num_format": COUNT_FORMAT},
    "total_amount": {"bold": True, **_fill(_TOTAL_FILL), **_BORDER, "num_format": AMOUNT_FORMAT},
}


class _Formats:
    """The styles above as one workbook's XlsxWriter formats (a format belongs to its workbook)."""

    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        for name, props in STYLES.items():
            setattr(self, name, wb.add_format(props))
        #: by fill: a flagged cell; an amount (None: not flagged); a status, linked to 问题清单 or not
        self.flagged = {f: wb.add_format(_fill(f)) for f in (BAD_FILL, WARN_FILL)}
        self.amount = {f: wb.add_format({**_fill(f), "num_format": AMOUNT_FORMAT}) for f in (None, BAD_FILL, WARN_FILL)}
        self.status = {(f, linked): wb.add_format({**(_LINK_FONT if linked else {}), **_fill(f)})
                       for f in (OK_FILL, WARN_FILL, BAD_FILL) for linked in (False, True)}


def _put(ws: Worksheet, r: int, c: int, v: object, fmt: Format | None = None, date_fmt: Format | None = None) -> None:
    """One cell (0-based) of data from a town's file, written as what it is and nothing more.

    Text is text (the workbook's options already keep XlsxWriter from turning it into a formula,
    link or number) with controls and invisible marks escaped; a number no spreadsheet can hold (beyond a
    double, NaN, infinite) keeps its digits as text rather than breaking the file; None writes
    nothing, or an empty styled cell when it has a style.
    """
    t = type(v)
    if (t is int and -_BIG < v < _BIG) or (t is float and math.isfinite(v)):  # type: ignore[operator,arg-type]
        ws.write_number(r, c, v, fmt)
    elif t is str:
        if v:
            ws.write_string(r, c, cell_text(v), fmt)  # type: ignore[arg-type]
        elif fmt is not None:
            ws.write_blank(r, c, None, fmt)
    elif v is None:
        if fmt is not None:
            ws.write_blank(r, c, None, fmt)
    elif t is bool:
        ws.write_boolean(r, c, v, fmt)
    elif isinstance(v, (date, datetime)):
        ws.write_datetime(r, c, v, date_fmt)
    else:
        ws.write_string(r, c, _safe(v), fmt)


def _put_link(ws: Worksheet, r: int, c: int, target: str | None, text: str, fmt: Format) -> None:
    """``text`` linked to a place in this workbook (``'汇总'!A5``); past Excel's 65,530 links a sheet, plain text."""
    if target is None or ws.write_url(r, c, f"internal:{target}", fmt, text) < 0:
        ws.write_string(r, c, text, fmt)


def _link(sheet: str, ref: str) -> str:
    return f"'{sheet}'!{ref}"


def _set_widths(ws: Worksheet, first: int, widths: Sequence[float]) -> None:
    """Column widths as stored in the file, in characters (``set_column`` would add Excel's cell padding)."""
    for j, w in enumerate(widths):
        ws.set_column_pixels(first + j, first + j, w * DIGIT_PX)


def _set_height(ws: Worksheet, row: int, points: float) -> None:
    """A row's height as stored in the file, in points (``set_row`` would round it to whole pixels)."""
    ws.set_row_pixels(row, points / PT_PER_PX)


def summary_layout(result: MergeResult) -> dict[str, Any]:
    """Row numbers of the 汇总 sheet (1-based), shared by the writer, the links and the tests."""
    slots = column_slots(result.spec)
    levels = len(slots[0][1]) if slots else 0
    header_top = 2
    key_row = header_top + levels
    first = key_row + 1
    last = first + len(result.entries) - 1
    return {"title_row": 1, "header_top": header_top, "levels": levels, "key_row": key_row, "first_row": first,
            "last_row": last, "total_row": last + 1, "first_value_col": len(META_COLUMNS) + 1, "slots": slots}


def _problem_rows(result: MergeResult, lang: str) -> tuple[list[tuple], dict[int, int]]:
    """问题清单 rows (after its header), and entry index → its first row there."""
    rows: list[tuple] = []
    first_of: dict[int, int] = {}
    start = 3  # title row, header row
    for u in result.unreadable:
        name = ("上年：" if u.previous else "") + Path(u.path).name
        rows.append((name, "", "X-UNREADABLE", rule_title("X-UNREADABLE"),
                     "疑问" if u.previous else "错误", "", u.message(lang), None))
    lay = summary_layout(result)
    for i, e in enumerate(result.entries):
        row = lay["first_row"] + i
        for f in e.findings:
            if i not in first_of:
                first_of[i] = start + len(rows)
            rows.append((e.path.name, e.unit_name or "", f.rule, rule_title(f.rule), SEVERITY_ZH.get(f.severity, f.severity),
                         "、".join(f.cells), f.message(lang), row))
    return rows, first_of


def _write_header(ws: Worksheet, fm: _Formats, result: MergeResult, lay: dict[str, Any], ncols: int) -> None:
    """Title, the merged 表/行/列 header bands and the key row of 汇总 (0-based rows from here on)."""
    slots = lay["slots"]
    keys = [k for k, _ in slots]
    nmeta = len(META_COLUMNS)
    levels, top, key_row = lay["levels"], lay["header_top"] - 1, lay["key_row"] - 1
    _set_widths(ws, 0, [w for _, _, w in META_COLUMNS])
    blocks = header_blocks([s for _, s in slots])
    widths = value_widths(blocks, len(keys))
    _set_widths(ws, nmeta, widths)
    heights = _header_heights(blocks, levels, widths)

    year = f"{result.year}年度" if result.year else ""
    _set_height(ws, 0, 28)
    ws.merge_range(0, 0, 0, max(ncols - 1, 1), _safe(f"{result.name or ''}{year}政府信息公开工作年度报告汇总表"), fm.title)
    covered: set[tuple[int, int]] = set()
    areas = [(top, i, top + levels - 1, i, label) for i, (_, label, _) in enumerate(META_COLUMNS)]
    areas += [(top + b.top, nmeta + b.first, top + b.bottom, nmeta + b.last, b.text) for b in blocks]
    for r0, c0, r1, c1, text in areas:
        if (r0, c0) == (r1, c1):
            ws.write_string(r0, c0, _safe(text), fm.head)
        else:
            ws.merge_range(r0, c0, r1, c1, _safe(text), fm.head)
        covered.update((r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1))
    for lv in range(levels):
        _set_height(ws, top + lv, heights[lv])
        for c in range(ncols):
            if (top + lv, c) not in covered:
                ws.write_blank(top + lv, c, None, fm.head)
    for c, k in enumerate([m for m, _, _ in META_COLUMNS] + keys):
        ws.write_string(key_row, c, k, fm.key)


def _write_summary(wb: xlsxwriter.Workbook, fm: _Formats, result: MergeResult, first_problem: dict[int, int]) -> None:
    """Sheet 汇总: the header, one row per workbook (written in order, row by row), the live 合计 row."""
    spec = result.spec
    lay = summary_layout(result)
    keys = [k for k, _ in lay["slots"]]
    nmeta = len(META_COLUMNS)
    ncols = nmeta + len(keys)
    first, last = lay["first_row"], lay["last_row"]
    ws = wb.add_worksheet(SUMMARY_SHEET)
    ws.freeze_panes(first - 1, 1)
    if result.entries:
        ws.autofilter(lay["key_row"] - 1, 0, last - 1, ncols - 1)
    ws.repeat_rows(lay["header_top"] - 1, lay["key_row"] - 1)
    _write_header(ws, fm, result, lay, ncols)

    amounts = {k for k in keys if spec.cells[k].type == "amount"}
    columns = list(enumerate(keys, start=nmeta))
    #: per value column: the format of a number (amounts have one), and of anything else (none)
    number_fmts: list[Format | None] = [fm.amount[None] if k in amounts else None for k in keys]
    other_fmts: list[Format | None] = [None] * len(keys)
    index = {k: j for j, k in enumerate(keys)}
    write_number, isfinite = ws.write_number, math.isfinite
    for i, e in enumerate(result.entries):
        r = first - 1 + i
        rec = e.record
        status_fill = BAD_FILL if e.errors else WARN_FILL if e.warnings else OK_FILL
        link = _link(PROBLEM_SHEET, f"A{first_problem[i]}") if i in first_problem else None
        _put(ws, r, 0, e.unit_name or "")
        _put(ws, r, 1, rec.role("level"), date_fmt=fm.date)
        _put(ws, r, 2, rec.role("year"), date_fmt=fm.date)
        _put(ws, r, 3, rec.edition)
        _put(ws, r, 4, e.path.name)
        _put_link(ws, r, 5, link, e.status, fm.status[(status_fill, link is not None)])
        if e.included:
            ws.write_string(r, 6, INCLUDED_YES)
        else:
            ws.write_string(r, 6, INCLUDED_NO, fm.not_counted)
        nf, of = number_fmts, other_fmts
        flagged = {k: BAD_FILL for f in e.findings if f.severity == "error" for k in f.keys}
        for k in {k for f in e.findings if f.severity != "error" for k in f.keys} | e.unit_unknown:
            flagged.setdefault(k, WARN_FILL)
        flagged = {k: fill for k, fill in flagged.items() if k in index}
        if flagged:  # this row's flagged cells get the error/warning fill
            nf, of = list(nf), list(of)
            for k, fill in flagged.items():
                j = index[k]
                nf[j] = fm.amount[fill] if k in amounts else fm.flagged[fill]
                of[j] = fm.flagged[fill]
        values = e.values  # int/float/str/None (another edition's workbook: none)
        for j, (c, k) in enumerate(columns):
            v = values.get(k)
            if type(v) is int and -_BIG < v < _BIG or type(v) is float and isfinite(v):
                write_number(r, c, v, nf[j])  # the common case, kept short: it runs once per cell
            elif v is not None or of[j] is not None:
                _put(ws, r, c, v, of[j])

    t = last  # the 合计 row, 0-based
    g = xl_col_to_name(nmeta - 1)  # 计入合计
    inc = f"${g}${first}:${g}${last}"
    ws.write_string(t, 0, "合计", fm.total_label)
    for c in range(1, nmeta - 1):
        ws.write_blank(t, c, None, fm.total_blank)
    totals = result.totals()  # the cached results: what the formulas give (a viewer that does not recalculate shows them)
    if result.entries:
        ws.write_formula(t, nmeta - 1, f'=COUNTIF({inc},"{INCLUDED_YES}")', fm.total_count, len(result.included()))
    else:
        ws.write_number(t, nmeta - 1, 0, fm.total_count)
    for c, k in columns:
        fmt = fm.total_amount if k in amounts else fm.total_count
        if result.entries:
            x = xl_col_to_name(c)
            ws.write_formula(t, c, f'=SUMIF({inc},"{INCLUDED_YES}",{x}{first}:{x}{last})', fmt, totals[k])
        else:
            ws.write_number(t, c, 0, fmt)


def _write_problems(wb: xlsxwriter.Workbook, fm: _Formats, result: MergeResult, rows: list[tuple]) -> None:
    """Sheet 问题清单: every unreadable file and finding, each linked to its workbook's row in 汇总."""
    ps = wb.add_worksheet(PROBLEM_SHEET)
    _set_widths(ps, 0, [w for _, w in PROBLEM_COLUMNS])
    ps.freeze_panes(2, 0)
    if rows:
        ps.autofilter(1, 0, 1 + len(rows), len(PROBLEM_COLUMNS) - 1)
    n_err = sum(1 for r in rows if r[4] == "错误")
    _set_height(ps, 0, 24)
    ps.merge_range(0, 0, 0, len(PROBLEM_COLUMNS) - 1,
                   f"问题清单：共{len(rows)}条，其中错误{n_err}条、疑问{len(rows) - n_err}条"
                   f"（无法读取的文件{len(result.unreadable)}个）", fm.title)
    for c, (h, _) in enumerate(PROBLEM_COLUMNS):
        ps.write_string(1, c, h, fm.head)
    for n, (fname, unit, rule, title_zh, sev, cells_text, msg, srow) in enumerate(rows, start=1):
        r = n + 1
        ps.write_number(r, 0, n)
        _put(ps, r, 1, fname)
        _put(ps, r, 2, unit)
        _put(ps, r, 3, rule)
        _put(ps, r, 4, title_zh)
        _put(ps, r, 5, sev, fm.flagged[BAD_FILL if sev == "错误" else WARN_FILL])
        _put(ps, r, 6, cells_text)
        _put(ps, r, 7, msg, fm.message)
        if srow:
            _put_link(ps, r, 8, _link(SUMMARY_SHEET, f"A{srow}"), f"{SUMMARY_SHEET}!A{srow}", fm.link)


def value_widths(blocks: Sequence[HeaderBlock], n: int) -> list[float]:
    """Column widths: VALUE_WIDTH, wider (up to 16) where a one-column label would wrap past two lines."""
    widths = [VALUE_WIDTH] * n
    for b in blocks:
        if b.first == b.last:
            widths[b.first] = max(widths[b.first], min(_units(b.text) / 2 + 1.5, 16.0))
    return widths


def _header_heights(blocks: Sequence[HeaderBlock], levels: int, widths: Sequence[float]) -> list[float]:
    """Row heights (pt) so wrapped labels show: lines needed over the block's width, shared by its rows."""
    need = [18.0] * levels
    for b in blocks:
        width = sum(widths[b.first:b.last + 1])
        lines = max(1, math.ceil(_units(b.text) / max(width - 1, 1)))
        per_row = lines * 14.0 / (b.bottom - b.top + 1) + 4
        for lv in range(b.top, b.bottom + 1):
            need[lv] = max(need[lv], min(per_row, 120.0))
    return need


def write_county_workbook(result: MergeResult, target: str | Path, *, lang: str = "zh") -> None:
    """The county workbook (汇总, 问题清单) written to ``target`` with XlsxWriter (not atomic: see write_merge)."""
    problem_rows, first_problem = _problem_rows(result, lang)
    wb = xlsxwriter.Workbook(str(target), WORKBOOK_OPTIONS)
    try:
        year = f"{result.year}年度" if result.year else ""
        wb.set_properties({"title": _safe(f"{result.name or ''}{year}政府信息公开工作年度报告汇总表"),
                           "author": "gxsheet", "created": FIXED_TIME})
        wb.set_custom_property(*MERGE_SIGNATURE)  # how a rerun knows its own earlier output
        fm = _Formats(wb)
        _write_summary(wb, fm, result, first_problem)
        _write_problems(wb, fm, result, problem_rows)
    finally:
        wb.close()


def write_merge(result: MergeResult, path: str | Path, *, lang: str = "zh") -> Path:
    """Write the county workbook to ``path`` atomically (check_output first: this does not)."""
    from gxsheet.core.atomic import write_with

    t0 = time.perf_counter()
    out = write_with(path, lambda tmp: write_county_workbook(result, tmp, lang=lang))
    result.timings["write"] = time.perf_counter() - t0
    return out


# ============================================================================ the county report


def county_values(result: MergeResult) -> dict[str, int | float]:
    """The county-wide value of every cell: sums over the counted workbooks (amounts in 万元)."""
    return result.totals()


def county_meta(result: MergeResult, name: str | None = None) -> dict[str, object]:
    """Metadata of the county's own report: 本行政区域, level 县级政府, the merge year's full period."""
    spec = result.spec
    y = result.year if result.year is not None else spec.first_year
    by_role = {"unit_name": name or result.name or "本行政区域", "level": spec.merge.county_level, "year": y,
               "period_start": date(y, 1, 1), "period_end": date(y, 12, 31)}
    meta: dict[str, object] = {spec.meta_key(role): v for role, v in by_role.items()}
    fields = {f.key for f in spec.metadata}
    for c in spec.cells.values():
        if c.type == "amount" and c.unit_field and c.unit_field in fields:
            meta[c.unit_field] = spec.merge.unit
    return {k: v for k, v in meta.items() if k in fields}


def write_county_report(result: MergeResult, path: str | Path, *, name: str | None = None) -> Path:
    """Fill the standard template of the merge's edition with the county sums, atomically.

    The template's live checks recompute in Excel; since every relation is linear, the sums of
    valid reports satisfy them, so the county report validates whenever its inputs do.
    """
    from gxsheet.core.atomic import write_bytes

    return write_bytes(path, county_report_bytes(result, name=name, source=str(path)))


def county_report_bytes(result: MergeResult, *, name: str | None = None, source: str = "") -> bytes:
    """The county report's .xlsx bytes. Its 单位名称 may come from the towns' 上级单位, so the Record
    writer puts every text in as text (never a formula)."""
    from gxsheet.render.workbook import record_workbook, template_path

    meta = county_meta(result, name)
    prose = {result.spec.sections[0].key:
             f"本报告表格数据由{meta['unit_name']}汇总各乡镇（街道）和部门报送的政府信息公开工作年度报告工作簿生成。"}
    record = Record(edition=result.edition, meta=meta, prose=prose, values=dict(county_values(result)),
                    source=source, kind="county")
    return record_workbook(record, workbook_layout(result.spec), template_path(result.edition))
