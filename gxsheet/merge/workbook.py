"""Writing a merge: the county workbook (概况, 汇总, 问题清单, 问题一览) and the county's own report.

* :func:`write_merge` writes the county workbook atomically: sheet 概况 (who reported and how they
  fared, the county's key figures, live native charts), sheet 汇总 (one row per workbook, every
  value cell a column under a 表/行/列 header built from the spec, a live 合计 row), sheet 问题清单
  (the findings, one row per workbook × rule, hyperlinked to its row in 汇总) and sheet 问题一览
  (workbook × rule family, coloured); every sheet set up to print.
* :func:`write_county_report` fills the standard template with the county-wide sums, so the county
  files its own 本行政区域 report in the same format it asked the towns to use (through the one
  Record writer, :mod:`gxsheet.render.workbook`).

The county workbook is a new file, so it is written with XlsxWriter rather than openpyxl (which
builds an object per cell): strings are never turned into formulas, links or numbers, the
document dates are fixed so a rerun gives the same bytes, and the 合计 formulas carry their
results. Every sheet is written in row order, in XlsxWriter's ``constant_memory`` mode: a row is
written out to a temporary file when the next one starts, so a province's 20,000 rows never sit in
memory (held until closed, the sheet took ~40 KB a workbook). What that asks of each sheet:

* 汇总: the 表/行/列 header bands cannot be merged through ``merge_range`` (see :func:`_merged`),
  so the header is written row by row and its ranges declared; the hidden key row above it first.
* 问题清单: its size (title, filter, the cap before Excel's last row) and each workbook's first
  row there (the 汇总 status links, written before it) are counted from the entries' rule tallies
  (:attr:`~gxsheet.merge.county.Entry.rule_counts`); the rows themselves come from the findings,
  read back from the merge's spill store one workbook at a time (:mod:`gxsheet.merge.spill`).
* 问题一览: one row per workbook, from the same tallies.
* 概况: laid out block beside block; its few dozen cells are held and replayed by row
  (:class:`_InRowOrder`).
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Iterator, Sequence
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
from gxsheet.core.sanitise import page_header
from gxsheet.core.spec import Spec
from gxsheet.merge.county import (
    INCLUDED_NO,
    INCLUDED_YES,
    MERGE_SIGNATURE,
    PROBLEM_SHEET,
    STATUS_OK,
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
    ("序号", 6.0), ("文件名", 20.0), ("单位名称", 18.0), ("规则", 14.0), ("规则名称", 16.0),
    ("严重程度", 6.0), ("处数", 5.0), ("单元格", 24.0), ("问题说明", 70.0), ("汇总表位置", 11.0),
)
SEVERITY_ZH = F.SEVERITY_ZH
#: how XlsxWriter is told to write: a str is always text (never a formula, link or number), the
#: document properties are fixed, so the same merge gives the same bytes, and each row goes to a
#: temporary file as soon as the next one starts (constant_memory: 20,000 rows do not sit in memory)
WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
                    "constant_memory": True}
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
    "link": {**_LINK_FONT, **_BORDER, "valign": "top"},
    "note": {"bold": True, "font_color": "#9C0006", **_fill("#FFC7CE"), "text_wrap": True, "valign": "vcenter"},
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
        #: 问题清单 and 问题一览: wrapped, top-aligned, bordered; severity and counts coloured
        self.cell = wb.add_format({**_BORDER, "text_wrap": True, "valign": "top"})
        self.sev = {f: wb.add_format({**_BORDER, **_fill(f), "valign": "top"}) for f in (BAD_FILL, WARN_FILL)}
        self.grid = {f: wb.add_format({**_BORDER, **_fill(f), "align": "center", "valign": "vcenter"})
                     for f in (None, OK_FILL, BAD_FILL, WARN_FILL)}


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
    text = cell_text(text)
    if target is None or ws.write_url(r, c, f"internal:{target}", fmt, text) < 0:
        ws.write_string(r, c, text, fmt)


def _link(sheet: str, ref: str) -> str:
    return f"'{sheet}'!{ref}"


def _set_widths(ws: Worksheet, first: int, widths: Sequence[float]) -> None:
    """Column widths as stored in the file, in characters (``set_column`` would add Excel's cell padding)."""
    for j, w in enumerate(widths):
        ws.set_column_pixels(first + j, first + j, w * DIGIT_PX)


def _merged(ws: Worksheet, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
    """Declare a merged range whose cells are already written.

    In ``constant_memory`` mode ``merge_range`` refuses a range starting on a row already written
    out, and a header band spanning rows flushes its first row as it pads the rows below — so two
    bands side by side cannot both be merged through it (its author keeps that limit on purpose).
    The header is written row by row instead, each cell as ``merge_range`` would write it, and
    the ranges are declared here: the list XlsxWriter turns into ``<mergeCells>``.
    """
    ws.merge.append([first_row, first_col, last_row, last_col])


def _set_height(ws: Worksheet, row: int, points: float) -> None:
    """A row's height as stored in the file, in points (``set_row`` would round it to whole pixels)."""
    ws.set_row_pixels(row, points / PT_PER_PX)


def summary_layout(result: MergeResult) -> dict[str, Any]:
    """Row numbers of the 汇总 sheet (1-based), shared by the writer, the links and the tests."""
    slots = column_slots(result.spec)
    levels = len(slots[0][1]) if slots else 0
    # the machine keys (t3.received.natural …) sit in a hidden row above the labels: there for scripts
    # that read the merge back, never on screen or paper; the filter buttons sit on the lowest label row
    key_row = 2
    header_top = 3
    first = header_top + levels
    last = first + len(result.entries) - 1
    return {"title_row": 1, "header_top": header_top, "levels": levels, "key_row": key_row, "first_row": first,
            "last_row": last, "total_row": last + 1, "first_value_col": len(META_COLUMNS) + 1, "slots": slots}


#: rows Excel has on a sheet; the problem list stops one row short of it, for its closing note
EXCEL_ROWS = 1_048_576
#: cells named in one 问题清单 row before "等N处": a row stays readable on paper
CELLS_SHOWN = 12


def _problem_rows(result: MergeResult, lang: str) -> Iterator[tuple]:
    """问题清单 rows (after its header), in sheet order: one per unreadable file and one per workbook ×
    rule, with the cells of every finding of that rule. Each entry's findings are read back from
    the spill store as it comes (nothing of the whole list is held).

    A row: (file, unit, rule, rule title, severity, count, cells, message, 汇总 row). Grouping keeps a
    blank form's 200 empty cells on one line and a county's list short enough to print.
    """
    for u in result.unreadable:
        name = ("上年：" if u.previous else "") + Path(u.path).name
        yield (name, "", "X-UNREADABLE", rule_title("X-UNREADABLE"), "疑问" if u.previous else "错误", 1, "",
               u.message(lang), None)
    first = summary_layout(result)["first_row"]
    for i, e in enumerate(result.entries):
        if not (e.errors or e.warnings):
            continue
        groups: dict[str, list[F.Finding]] = {}
        for f in e.findings:
            groups.setdefault(f.rule, []).append(f)
        for rule, fs in groups.items():
            cells = [c for f in fs for c in f.cells]
            shown = " ".join(cells[:CELLS_SHOWN]) + (f" 等{len(cells)}处" if len(cells) > CELLS_SHOWN else "")
            message = fs[0].message(lang)
            if len(fs) > 1:
                message += (f" (and {len(fs) - 1} more like it)" if lang == "en" else f"（另有{len(fs) - 1}处同类问题）")
            severity = "error" if any(f.severity == "error" for f in fs) else fs[0].severity
            yield (e.path.name, e.unit_name or "", rule, rule_title(rule), SEVERITY_ZH.get(severity, severity),
                   len(fs), shown, message, first + i)


@dataclass(frozen=True)
class ProblemPlan:
    """问题清单's size, known before its rows are written (the 汇总 links and its title come first),
    counted from the entries' rule tallies — the findings themselves are read back only once, as
    the rows are written."""

    rows: int  # one per unreadable file and per workbook × rule
    error_rows: int
    findings: int
    #: entry index → its first row there (1-based), for the rows within the sheet's cap
    first_of: dict[int, int]
    cap: int  # rows listed at most (Excel's sheet minus the title, header and closing note)


def _problem_plan(result: MergeResult, cap: int | None = None) -> ProblemPlan:
    cap = (EXCEL_ROWS - 3) if cap is None else cap
    start = 3  # title row, header row
    rows = findings = len(result.unreadable)
    errors = sum(1 for u in result.unreadable if not u.previous)
    first_of: dict[int, int] = {}
    for i, e in enumerate(result.entries):
        counts = e.rule_counts
        if counts and rows < cap:
            first_of[i] = start + rows
        rows += len(counts)
        errors += sum(1 for n_err, _ in counts.values() if n_err)
        findings += sum(n_err + n_warn for n_err, n_warn in counts.values())
    return ProblemPlan(rows, errors, findings, first_of, cap)


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
    # the hidden key row sits above the labels: written (and hidden) before them, as constant_memory
    # writes a row out for good once a later one starts
    ws.set_row(key_row, None, None, {"hidden": True})
    for c, k in enumerate([m for m, _, _ in META_COLUMNS] + keys):
        ws.write_string(key_row, c, k, fm.key)
    areas = [(top, i, top + levels - 1, i, label) for i, (_, label, _) in enumerate(META_COLUMNS)]
    areas += [(top + b.top, nmeta + b.first, top + b.bottom, nmeta + b.last, b.text) for b in blocks]
    texts = {(r0, c0): text for r0, c0, _, _, text in areas}
    for lv in range(levels):  # row by row, as constant_memory needs: what merge_range would write
        r = top + lv
        _set_height(ws, r, heights[lv])
        for c in range(ncols):
            text = texts.get((r, c))
            if text is not None:
                ws.write_string(r, c, _safe(text), fm.head)
            else:
                ws.write_blank(r, c, None, fm.head)
    for r0, c0, r1, c1, _ in areas:
        if (r0, c0) != (r1, c1):
            _merged(ws, r0, c0, r1, c1)


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
        ws.autofilter(first - 2, 0, last - 1, ncols - 1)
    # printed: labels on every page, the unit column on every page, pages across before down (a
    # town's row stays on one band of pages); the full sheet is for filtering, the 概况 and 表 sheets
    # are what a county prints
    _print_setup(ws, result, first_row=lay["header_top"] - 1, last_row=last, last_col=ncols - 1,
                 title_rows=(lay["header_top"] - 1, first - 2), repeat_cols=1, fit_width=False)
    ws.set_print_scale(70)
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


def _lines(text: str, width: float) -> int:
    """Lines ``text`` takes wrapped in a column ``width`` characters wide."""
    usable = max(width - 1.5, 1.0)
    return sum(max(1, math.ceil(_units(part) / usable)) for part in text.split("\n"))


def _write_problems(wb: xlsxwriter.Workbook, fm: _Formats, result: MergeResult, lang: str, plan: ProblemPlan) -> None:
    """Sheet 问题清单: every unreadable file and each workbook's findings by rule, linked to its 汇总 row.

    Rows come from the entries one by one (:func:`_problem_rows`); the counts the title and the
    filter need first come from ``plan``. Rows are as tall as their wrapped text. Past ``plan.cap``
    rows the list stops with a note saying how many rows were left out and where the whole list
    is — the merge completes instead of failing at the end.
    """
    cap = plan.cap
    ps = wb.add_worksheet(PROBLEM_SHEET)
    widths = [w for _, w in PROBLEM_COLUMNS]
    _set_widths(ps, 0, widths)
    ps.freeze_panes(2, 0)
    n_shown = min(plan.rows, cap)
    if n_shown:
        ps.autofilter(1, 0, 1 + n_shown, len(PROBLEM_COLUMNS) - 1)
    _set_height(ps, 0, 24)
    last_col = len(PROBLEM_COLUMNS) - 1
    ps.merge_range(0, 0, 0, last_col,
                   f"问题清单：{plan.rows}行（{plan.findings}处问题，同一单位同一规则合为一行），其中错误{plan.error_rows}行、"
                   f"疑问{plan.rows - plan.error_rows}行（无法读取的文件{len(result.unreadable)}个）", fm.title)
    for c, (h, _) in enumerate(PROBLEM_COLUMNS):
        ps.write_string(1, c, h, fm.head)
    left_rows = left_findings = 0
    left_files: set[tuple[str, str]] = set()
    for n, (fname, unit, rule, title_zh, sev, count, cells_text, msg, srow) in enumerate(_problem_rows(result, lang),
                                                                                            start=1):
        if n > cap:  # past the cap: only counted, for the closing note
            left_rows += 1
            left_findings += count
            left_files.add((fname, unit))
            continue
        r = n + 1
        ps.write_number(r, 0, n, fm.cell)
        _put(ps, r, 1, fname, fm.cell)
        _put(ps, r, 2, unit, fm.cell)
        _put(ps, r, 3, rule, fm.cell)
        _put(ps, r, 4, title_zh, fm.cell)
        _put(ps, r, 5, sev, fm.sev[BAD_FILL if sev == "错误" else WARN_FILL])
        ps.write_number(r, 6, count, fm.cell)
        _put(ps, r, 7, cells_text, fm.cell)
        _put(ps, r, 8, msg, fm.cell)
        if srow:
            _put_link(ps, r, 9, _link(SUMMARY_SHEET, f"A{srow}"), f"{SUMMARY_SHEET}!A{srow}", fm.link)
        lines = max(_lines(_safe(msg), widths[8]), _lines(cells_text, widths[7]), _lines(fname, widths[1]),
                    _lines(unit, widths[2]), _lines(title_zh, widths[4]))
        _set_height(ps, r, lines * LINE_PT + ROW_PAD_PT)
    last = n_shown + 1
    if left_rows:
        last += 1
        ps.merge_range(last, 0, last, last_col,
                       f"问题清单已到 Excel 工作表的行数上限：另有 {left_rows} 行（{left_findings} 处问题，涉及 {len(left_files)} 个文件）"
                       "未列出。完整的逐条问题请用 gxsheet validate 文件夹 --json 导出。", fm.note)
        _set_height(ps, last, 2 * LINE_PT + ROW_PAD_PT)
    _print_setup(ps, result, last_row=last, last_col=last_col, title_rows=(1, 1), title=PROBLEM_SHEET)


#: a wrapped line of 11 pt text (points), the tallest of Excel, WPS and LibreOffice (Noto CJK); row padding
LINE_PT = 15.5
ROW_PAD_PT = 4.0


def _print_setup(ws: Worksheet, result: MergeResult, *, last_row: int, last_col: int, first_row: int = 0,
                 title_rows: tuple[int, int] | None = None, repeat_cols: int = 0, title: str = "",
                 fit_width: bool = True, landscape: bool = True) -> None:
    """A4, landscape, fitted to the page width (or not), title rows and the unit column repeated, the
    county and year in the page header, 第N页，共M页 below (0-based rows and columns)."""
    ws.set_paper(9)
    if landscape:
        ws.set_landscape()
    ws.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.6)
    ws.print_area(first_row, 0, last_row, last_col)
    if title_rows:
        ws.repeat_rows(*title_rows)
    if repeat_cols:
        ws.repeat_columns(0, repeat_cols - 1)
    if fit_width:
        ws.fit_to_pages(1, 0)
    else:
        ws.print_across()
    year = f"{result.year}年度" if result.year else ""
    who = f"{page_header(result.name or '')}{year}政府信息公开工作年度报告汇总"  # the name may be the towns' 上级单位
    # a font size code takes the digits after it: a space keeps "&9" apart from "2021版"
    ws.set_header(f'&L&"宋体"&9 {who}&C&"宋体"&9 {title or "&A"}&R&"宋体"&9 {result.edition}版')
    ws.set_footer('&C&"宋体"&9 第 &P 页，共 &N 页')


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


class _InRowOrder:
    """A small sheet laid out block beside block, handed to XlsxWriter row by row.

    In ``constant_memory`` mode a row goes to disk as soon as a later row is written, and what is
    written to it afterwards is silently dropped. 概况 puts its blocks side by side (the facts, the
    county's figures, the outcomes, each down its own columns), so its cell writes and row heights
    — a few dozen — are held here and :meth:`flush` replays them sorted by row, then column. Widths,
    charts and print setup go straight to the sheet. Merged ranges must stay within one row.
    """

    _HELD = frozenset({"write_string", "write_number", "write_formula", "write_blank", "merge_range",
                       "set_row_pixels"})

    def __init__(self, ws: Worksheet) -> None:
        self._ws = ws
        self._calls: list[tuple[int, int, int, str, tuple, dict]] = []

    def __getattr__(self, name: str) -> Any:
        if name not in self._HELD:
            return getattr(self._ws, name)

        def hold(row: int, *args: Any, **kwargs: Any) -> int:
            if name == "merge_range" and args[1] != row:
                raise ValueError("a held merged range must stay within one row")
            col = -1 if name == "set_row_pixels" else args[0]  # a row's height before its cells
            self._calls.append((row, col, len(self._calls), name, (row, *args), kwargs))
            return 0

        return hold

    def flush(self) -> None:
        for _, _, _, name, args, kwargs in sorted(self._calls, key=lambda c: c[:3]):
            getattr(self._ws, name)(*args, **kwargs)
        self._calls.clear()


OVERVIEW_SHEET = "概况"
GRID_SHEET = "问题一览"
#: rule families (the id's prefix) as a clerk names them; T2/T3/T4 are named by their table's sheet
FAMILY_TITLES = {"M": "基本信息", "V": "数值填写", "S": "格式版本", "N": "正文", "X": "汇总核对"}


def _family(rule: str) -> str:
    return rule.split("-", 1)[0]


def _family_title(spec: Spec, family: str) -> str:
    if family in FAMILY_TITLES:
        return FAMILY_TITLES[family]
    table = next((t for t in spec.tables if t.key.upper() == family), None)
    return f"{table.sheet}勾稽" if table is not None else family


def _topic_keys(spec: Spec, name: str) -> tuple[str, ...]:
    """The cells of a narrative topic (spec.narrative_topics): what 'applications received' means in this edition."""
    topic = next((t for t in spec.narrative_topics if t.name == name), None)
    return topic.alternatives[0] if topic is not None else ()


def _col_of(result: MergeResult, key: str) -> str:
    lay = summary_layout(result)
    return xl_col_to_name(lay["first_value_col"] - 1 + list(result.spec.cells).index(key))


def _total_ref(result: MergeResult, keys: Sequence[str]) -> str:
    t = summary_layout(result)["total_row"]
    return "+".join(f"'{SUMMARY_SHEET}'!${_col_of(result, k)}${t}" for k in keys)


def _write_overview(wb: xlsxwriter.Workbook, fm: _Formats, result: MergeResult) -> None:
    """Sheet 概况: the county at a glance — who reported and how they fared, the county's key figures,
    and native charts (live: they read the 汇总 sheet and its 合计 row, so flipping 计入合计 or fixing a
    number in Excel moves them). Laid out to print on one or two landscape pages."""
    from gxsheet.core.wording import column_words, row_words

    spec = result.spec
    lay = summary_layout(result)
    first, last = lay["first_row"], lay["last_row"]
    n = len(result.entries)
    totals = result.totals()
    ws: Any = _InRowOrder(wb.add_worksheet(OVERVIEW_SHEET))  # laid out block by block, written row by row
    # A-B 报送情况 · D-G 全县合计 and 行政复议/诉讼 · I-J 办理结果
    _set_widths(ws, 0, [22.0, 8.0, 2.0, 34.0, 10.0, 10.0, 10.0, 2.0, 44.0, 8.0])
    year = f"{result.year}年度" if result.year else ""
    ws.merge_range(0, 0, 0, 9, _safe(f"{result.name or ''}{year}政府信息公开工作年度报告汇总 · 概况"), fm.title)
    _set_height(ws, 0, 28)
    status = f"'{SUMMARY_SHEET}'!$F${first}:$F${last}"
    counted = f"'{SUMMARY_SHEET}'!$G${first}:$G${last}"
    passed, with_errors = result.passed, result.errors
    facts: list[tuple[str, str | None, int]] = [
        ("报送的工作簿", f"=ROWS({status})" if n else None, n),
        ("计入合计", f'=COUNTIF({counted},"{INCLUDED_YES}")' if n else None, len(result.included())),
        ("通过", f'=COUNTIF({status},"{STATUS_OK}")' if n else None, passed),
        ("有错误", f'=COUNTIF({status},"*错误*")' if n else None, with_errors),
        ("仅有疑问", "=B4-B6-B7" if n else None, result.warnings_only),
        ("无法读取的文件", None, sum(1 for u in result.unreadable if not u.previous)),
        ("跳过的文件（不是工作簿）", None, len(result.skipped)),
    ]
    ws.write_string(2, 0, "报送情况", fm.head)
    ws.write_string(2, 1, "个数", fm.head)
    for i, (label, formula, value) in enumerate(facts):
        ws.write_string(3 + i, 0, label, fm.cell)
        if formula:
            ws.write_formula(3 + i, 1, formula, fm.cell, value)
        else:
            ws.write_number(3 + i, 1, value, fm.cell)
    # the county's key figures, from the 合计 row
    figures = [name for name in ("received", "carried", "handled", "disclosed_partial", "carry_forward", "review",
                                 "litigation") if _topic_keys(spec, name)]
    ws.write_string(2, 3, "全县合计（计入合计的单位）", fm.head)
    ws.write_string(2, 4, "件", fm.head)
    topics = {tp.name: tp for tp in spec.narrative_topics}
    for i, name in enumerate(figures):
        keys = _topic_keys(spec, name)
        ws.write_string(3 + i, 3, topics[name].zh, fm.cell)
        if n:
            ws.write_formula(3 + i, 4, "=" + _total_ref(result, keys), fm.cell, sum(totals[k] for k in keys))
        else:
            ws.write_number(3 + i, 4, 0, fm.cell)
    # outcome and case tables: the charts' data, and a printed summary of their own
    handled = _topic_keys(spec, "handled")
    parts = next((e.rhs for e in spec.equations if handled and e.lhs == handled), ())
    ws.write_string(2, 8, "办理结果", fm.head)
    ws.write_string(2, 9, "件", fm.head)
    for i, k in enumerate(parts):
        ws.write_string(3 + i, 8, _safe(row_words(spec.cells[k].row)), fm.cell)
        if n:
            ws.write_formula(3 + i, 9, "=" + _total_ref(result, [k]), fm.cell, totals[k])
        else:
            ws.write_number(3 + i, 9, 0, fm.cell)
    review = [k for name in ("review", "litigation") for k in _topic_keys(spec, name)]
    groups = [e for e in spec.equations if len(e.lhs) == 1 and e.lhs[0] in review]
    case_row = 3 + max(len(facts), len(figures)) + 1
    if groups:
        cats = [column_words(spec.grid(spec.cells[k].grid), spec.cells[k].column).split("·")[-1] for k in groups[0].rhs]
        ws.write_string(case_row, 3, "行政复议和行政诉讼", fm.head)
        for j, cat in enumerate(cats):
            ws.write_string(case_row + 1 + j, 3, _safe(cat), fm.cell)
        for g, eq in enumerate(groups):
            c = spec.cells[eq.lhs[0]]
            label = column_words(spec.grid(c.grid), c.column).split("·")[0]
            ws.write_string(case_row, 4 + g, _safe(label), fm.head)
            for j, k in enumerate(eq.rhs):
                if n:
                    ws.write_formula(case_row + 1 + j, 4 + g, "=" + _total_ref(result, [k]), fm.cell, totals[k])
                else:
                    ws.write_number(case_row + 1 + j, 4 + g, 0, fm.cell)
    charts_row = max(case_row + len(groups[0].rhs) + 3 if groups else case_row, 3 + len(parts) + 2)
    ov = f"'{OVERVIEW_SHEET}'"
    # 1. how the workbooks fared
    pie = wb.add_chart({"type": "pie"})
    pie.add_series({"name": "校验结果", "categories": f"={ov}!$A$6:$A$8", "values": f"={ov}!$B$6:$B$8",
                    "points": [{"fill": {"color": "#63BE7B"}}, {"fill": {"color": "#F8696B"}},
                               {"fill": {"color": "#FFD966"}}],
                    "data_labels": {"value": True, "category": True}})
    pie.set_title({"name": "各单位校验结果", "name_font": {"size": 11}})
    pie.set_legend({"position": "bottom"})
    ws.insert_chart(charts_row, 0, pie, {"x_scale": 0.75, "y_scale": 0.9})
    # 2. outcomes of the county's applications
    if parts:
        bar = wb.add_chart({"type": "bar"})
        bar.add_series({"name": "办理结果", "categories": f"={ov}!$I$4:$I${3 + len(parts)}",
                        "values": f"={ov}!$J$4:$J${3 + len(parts)}", "data_labels": {"value": True},
                        "fill": {"color": "#5B9BD5"}})
        bar.set_title({"name": "全县办理结果（件）", "name_font": {"size": 11}})
        bar.set_legend({"none": True})
        bar.set_y_axis({"reverse": True, "num_font": {"size": 8}})
        bar.set_size({"width": 620, "height": 60 + 18 * len(parts)})
        ws.insert_chart(charts_row, 3, bar)
    # 3. review and litigation
    if groups:
        col = wb.add_chart({"type": "column"})
        for g in range(len(groups)):
            cname = xl_col_to_name(4 + g)
            col.add_series({"name": f"={ov}!${cname}${case_row + 1}",
                            "categories": f"={ov}!$D${case_row + 2}:$D${case_row + 1 + len(groups[0].rhs)}",
                            "values": f"={ov}!${cname}${case_row + 2}:${cname}${case_row + 1 + len(groups[0].rhs)}"})
        col.set_title({"name": "行政复议和行政诉讼（件）", "name_font": {"size": 11}})
        col.set_legend({"position": "bottom"})
        ws.insert_chart(charts_row + 16, 0, col, {"x_scale": 0.75, "y_scale": 0.9})
    # 4. applications per unit, read from 汇总 (one bar per row, so it grows with the county)
    received = _topic_keys(spec, "received")
    if n and len(received) == 1:
        x = _col_of(result, received[0])
        per = wb.add_chart({"type": "bar"})
        per.add_series({"name": "本年新收申请", "categories": f"='{SUMMARY_SHEET}'!$A${first}:$A${last}",
                        "values": f"='{SUMMARY_SHEET}'!${x}${first}:${x}${last}", "fill": {"color": "#ED7D31"},
                        "data_labels": {"value": True} if n <= 60 else {}})
        per.set_title({"name": "各单位本年新收政府信息公开申请（件）", "name_font": {"size": 11}})
        per.set_legend({"none": True})
        per.set_y_axis({"reverse": True, "num_font": {"size": 8}})
        per.set_size({"width": 620, "height": min(80 + 16 * n, 4000)})
        ws.insert_chart(charts_row + (16 if parts else 0) + max(0, len(parts) - 12), 3, per)
    ws.hide_gridlines(2)
    _print_setup(ws, result, last_row=charts_row + 40 + (n * 16) // 20, last_col=9, title=OVERVIEW_SHEET)
    ws.flush()


def _write_grid(wb: xlsxwriter.Workbook, fm: _Formats, result: MergeResult) -> None:
    """Sheet 问题一览: one row per workbook, one column per rule family, the number of findings in
    each — red where there are errors, yellow where only warnings, green where none."""
    spec = result.spec
    fams = sorted({_family(rule) for e in result.entries for rule in e.rule_counts} | {"M", "V", "S", "N"},
                  key=lambda f: ("MVT2T3T4SNX".find(f[:2] if f.startswith("T") else f[0]), f))
    ws = wb.add_worksheet(GRID_SHEET)
    heads = ["单位名称", "文件名", "校验结果"] + [_family_title(spec, f) for f in fams]
    _set_widths(ws, 0, [22.0, 22.0, 14.0] + [9.0] * len(fams))
    ws.merge_range(0, 0, 0, len(heads) - 1, "问题一览：各单位各类问题的处数（红：有错误；黄：只有疑问；绿：没有问题）", fm.title)
    _set_height(ws, 0, 24)
    for c, h in enumerate(heads):
        ws.write_string(1, c, h, fm.head)
    _set_height(ws, 1, 2 * LINE_PT + ROW_PAD_PT)
    ws.freeze_panes(2, 1)
    for i, e in enumerate(result.entries):
        r = 2 + i
        _put(ws, r, 0, e.unit_name or "", fm.cell)
        _put(ws, r, 1, e.path.name, fm.cell)
        _put(ws, r, 2, e.status, fm.status[(BAD_FILL if e.errors else WARN_FILL if e.warnings else OK_FILL, False)])
        counts: dict[str, list[int]] = {}
        for rule, (n_err, n_warn) in e.rule_counts.items():  # the tallies: no finding is read back
            c = counts.setdefault(_family(rule), [0, 0])
            c[0] += n_err
            c[1] += n_warn
        for j, fam in enumerate(fams):
            errs, warns = counts.get(fam, [0, 0])
            fill = BAD_FILL if errs else WARN_FILL if warns else OK_FILL
            ws.write_number(r, 3 + j, errs + warns, fm.grid[fill])
        lines = max(_lines(e.unit_name or "", 22.0), _lines(e.path.name, 22.0))
        if lines > 1:
            _set_height(ws, r, lines * LINE_PT + ROW_PAD_PT)
    if result.entries:
        ws.autofilter(1, 0, 1 + len(result.entries), len(heads) - 1)
    _print_setup(ws, result, last_row=1 + len(result.entries), last_col=len(heads) - 1, title_rows=(1, 1),
                 repeat_cols=1, title=GRID_SHEET)


def write_county_workbook(result: MergeResult, target: str | Path, *, lang: str = "zh",
                          max_problem_rows: int | None = None) -> None:
    """The county workbook (概况, 汇总, 问题清单, 问题一览) written to ``target`` with XlsxWriter (not
    atomic: see write_merge). ``max_problem_rows`` caps 问题清单 (default: what fits in Excel's sheet).

    XlsxWriter assembles the zip in memory (its size, a few MB for thousands of towns: the rows
    themselves go through its temporary files) and this function writes it: a full disk is then a
    plain OSError, which the callers turn into one line naming the output (XlsxWriter would wrap it
    in FileCreateError and leave a broken ZipFile to complain on stderr when collected).
    """
    plan = _problem_plan(result, max_problem_rows)
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, WORKBOOK_OPTIONS)
    try:
        year = f"{result.year}年度" if result.year else ""
        wb.set_properties({"title": _safe(f"{result.name or ''}{year}政府信息公开工作年度报告汇总表"),
                           "author": "gxsheet", "created": FIXED_TIME})
        wb.set_custom_property(*MERGE_SIGNATURE)  # how a rerun knows its own earlier output
        fm = _Formats(wb)
        _write_overview(wb, fm, result)
        _write_summary(wb, fm, result, plan.first_of)
        _write_problems(wb, fm, result, lang, plan)
        _write_grid(wb, fm, result)
    finally:
        try:
            wb.close()
        except xlsxwriter.exceptions.FileCreateError as e:  # its temporary files' disk is full
            raise e.args[0] if e.args and isinstance(e.args[0], OSError) else OSError(str(e)) from None
    with open(target, "wb") as f:
        f.write(buffer.getbuffer())


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
