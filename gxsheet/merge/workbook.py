"""Writing a merge: the county workbook (汇总, 问题清单) and the county's own report.

* :func:`write_merge` writes the county workbook: sheet 汇总 (one row per workbook, every value
  cell a column under a 表/行/列 header built from the spec, a live 合计 row) and sheet 问题清单
  (every finding, hyperlinked to its row in 汇总), atomically.
* :func:`write_county_report` fills the standard template with the county-wide sums, so the county
  files its own 本行政区域 report in the same format it asked the towns to use.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from gxsheet.core import findings as F
from gxsheet.core.layout import EDITION_LABEL
from gxsheet.core.record import Record
from gxsheet.core.spec import Spec
from gxsheet.merge.county import (
    INCLUDED_NO,
    INCLUDED_YES,
    PROBLEM_SHEET,
    SUMMARY_SHEET,
    MergeResult,
    rule_title,
)
from gxsheet.render import xlsx_writer as XW

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
PROBLEM_COLUMNS: tuple[tuple[str, float], ...] = (
    ("序号", 6.0), ("文件名", 24.0), ("单位名称", 22.0), ("规则", 14.0), ("规则名称", 22.0),
    ("严重程度", 8.0), ("单元格", 22.0), ("问题说明", 80.0), ("汇总表位置", 12.0),
)
SEVERITY_ZH = F.SEVERITY_ZH


def _units(text: str) -> float:
    """Display width in column units: CJK characters are two, others one."""
    return sum(2.0 if ord(ch) > 0x2E80 else 1.1 for ch in text)


def _safe(text: object) -> str:
    """A string Excel accepts: no XML-illegal characters (a town's text must never break the file)."""
    return XW.clean_text(str(text))


_BORDER = XW.Border("thin", "FF9E9E9E")
_CENTER = XW.Alignment("center", "center", wrap=True)
_LEFT = XW.Alignment("left", "center", wrap=True)
_LINK_FONT = XW.Font(color="FF0563C1", underline="single")
_BOLD = XW.Font(bold=True)
_HEAD_FILL, _TOTAL_FILL = "FFE7E6E6", "FFDDEBF7"


class _Styles:
    """The county workbook's cell styles: plain values, registered to xf ids by the writer on first use."""

    ok_fill, warn_fill, bad_fill = "FFC6EFCE", "FFFFEB9C", "FFFFC7CE"
    title = XW.Style(font=XW.Font(name="黑体", size=14, bold=True), alignment=_LEFT)
    head = XW.Style(font=XW.Font(size=10, bold=True), fill=_HEAD_FILL, border=_BORDER, alignment=_CENTER)
    key = XW.Style(font=XW.Font(size=8, color="FF808080"), fill=_HEAD_FILL, border=_BORDER, alignment=_CENTER)
    not_counted = XW.Style(font=XW.Font(color="FF808080"))
    link = XW.Style(font=_LINK_FONT)
    message = XW.Style(alignment=_LEFT)
    total_label = XW.Style(font=_BOLD, fill=_TOTAL_FILL, border=_BORDER)
    total_blank = XW.Style(fill=_TOTAL_FILL, border=_BORDER)
    total_count = XW.Style(font=_BOLD, fill=_TOTAL_FILL, border=_BORDER, num_fmt=COUNT_FORMAT)
    total_amount = XW.Style(font=_BOLD, fill=_TOTAL_FILL, border=_BORDER, num_fmt=AMOUNT_FORMAT)
    #: by fill: a flagged cell; an amount (None: not flagged); a status, linked to 问题清单 or not
    flagged = {f: XW.Style(fill=f) for f in (bad_fill, warn_fill)}
    amount = {f: XW.Style(fill=f, num_fmt=AMOUNT_FORMAT) for f in (None, bad_fill, warn_fill)}
    status = {(f, linked): XW.Style(font=_LINK_FONT if linked else None, fill=f)
              for f in (ok_fill, warn_fill, bad_fill) for linked in (False, True)}


def _plain(v: object) -> object:
    """A town's metadata for a cell: numbers and dates as they are, anything else as safe text.

    Text needs no guard against formulas: the writer only writes a ``Formula`` as one.
    """
    return v if v is None or isinstance(v, (int, float, date)) else _safe(v)


def _link(sheet: str, ref: str) -> str:
    return f"'{sheet}'!{ref}"


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


def build_workbook(result: MergeResult, *, lang: str = "zh") -> XW.Workbook:
    """The county workbook, built with the streaming writer (rows become XML as they are added)."""
    st = _Styles
    col = XW.col_letter
    wb = XW.Workbook(creator="gxsheet")
    spec = result.spec
    lay = summary_layout(result)
    slots = lay["slots"]
    keys = [k for k, _ in slots]
    nmeta = len(META_COLUMNS)
    ncols = nmeta + len(keys)
    last_col = col(ncols)
    problem_rows, first_problem = _problem_rows(result, lang)

    # ---------------------------------------------------------------- 汇总
    ws = wb.add_sheet(SUMMARY_SHEET)
    for i, (_, _, width) in enumerate(META_COLUMNS, start=1):
        ws.set_width(i, width)
    blocks = header_blocks([s for _, s in slots])
    widths = value_widths(blocks, len(keys))
    for j, w in enumerate(widths):
        ws.set_width(nmeta + 1 + j, w)
    levels, top, key_row = lay["levels"], lay["header_top"], lay["key_row"]
    first, last = lay["first_row"], lay["last_row"]
    ws.freeze(f"B{first}")
    if result.entries:
        ws.autofilter(f"A{key_row}:{last_col}{last}")
    ws.print_titles(top, key_row)

    grid: dict[tuple[int, int], str] = {}
    for b in blocks:
        grid[(top + b.top, nmeta + 1 + b.first)] = b.text
        ws.merge(top + b.top, nmeta + 1 + b.first, top + b.bottom, nmeta + 1 + b.last)
    for i, (_, label, _) in enumerate(META_COLUMNS, start=1):
        grid[(top, i)] = label
        if levels > 1:
            ws.merge(top, i, top + levels - 1, i)
    heights = _header_heights(blocks, levels, widths)

    year = f"{result.year}年度" if result.year else ""
    title = f"{result.name or ''}{year}政府信息公开工作年度报告汇总表"
    ws.merge(1, 1, 1, max(ncols, 1))
    ws.append([XW.Cell(_safe(title), st.title)], height=28)
    for lv in range(levels):
        r = top + lv
        ws.append([XW.Cell(_safe(grid[(r, c)]) if (r, c) in grid else None, st.head) for c in range(1, ncols + 1)],
                  height=heights[lv])
    meta_keys = [m for m, _, _ in META_COLUMNS]
    ws.append([XW.Cell(k, st.key) for k in meta_keys + keys])

    column = {k: j for j, k in enumerate(keys)}
    amount_keys = [k for k in keys if spec.cells[k].type == "amount"]
    for i, e in enumerate(result.entries):
        rec = e.record
        bad_keys = {k for f in e.findings if f.severity == "error" for k in f.keys}
        warn_keys = {k for f in e.findings if f.severity != "error" for k in f.keys} | e.unit_unknown
        status_fill = st.bad_fill if e.errors else st.warn_fill if e.warnings else st.ok_fill
        link = _link(PROBLEM_SHEET, f"A{first_problem[i]}") if i in first_problem else None
        year_v = rec.role("year")
        row: list[object] = [
            _plain(e.unit_name or ""), _plain(rec.role("level")), year_v if isinstance(year_v, int) else _plain(year_v),
            rec.edition, _plain(e.path.name),
            XW.Cell(e.status, st.status[(status_fill, link is not None)], link),
            INCLUDED_YES if e.included else XW.Cell(INCLUDED_NO, st.not_counted),
        ]
        values = e.values  # int/float/str/None; the writer drops XML-illegal characters from text itself
        cells: list[object] = [values.get(k) for k in keys]
        for k in amount_keys:
            v = values.get(k)
            if isinstance(v, (int, float)):
                cells[column[k]] = XW.Cell(v, st.amount[None])
        for k in (bad_keys | warn_keys) & column.keys():
            v = values.get(k)
            fill = st.bad_fill if k in bad_keys else st.warn_fill
            is_amount = spec.cells[k].type == "amount" and isinstance(v, (int, float))
            cells[column[k]] = XW.Cell(v if is_amount else _plain(v), st.amount[fill] if is_amount else st.flagged[fill])
        row += cells
        ws.append(row)

    inc = f"${col(nmeta)}${first}:${col(nmeta)}${last}"
    total: list[object] = [XW.Cell("合计", st.total_label)]
    total += [XW.Cell(None, st.total_blank) for _ in range(nmeta - 2)]
    total.append(XW.Cell(XW.Formula(f'COUNTIF({inc},"{INCLUDED_YES}")') if result.entries else 0, st.total_count))
    amounts = set(amount_keys)
    for j, k in enumerate(keys):
        c = col(nmeta + 1 + j)
        formula = XW.Formula(f'SUMIF({inc},"{INCLUDED_YES}",{c}{first}:{c}{last})') if result.entries else 0
        total.append(XW.Cell(formula, st.total_amount if k in amounts else st.total_count))
    ws.append(total)

    # ---------------------------------------------------------------- 问题清单
    ps = wb.add_sheet(PROBLEM_SHEET)
    for i, (_, width) in enumerate(PROBLEM_COLUMNS, start=1):
        ps.set_width(i, width)
    ps.freeze("A3")
    if problem_rows:
        ps.autofilter(f"A2:{col(len(PROBLEM_COLUMNS))}{2 + len(problem_rows)}")
    n_err = sum(1 for r in problem_rows if r[4] == "错误")
    ps.merge(1, 1, 1, len(PROBLEM_COLUMNS))
    ps.append([XW.Cell(f"问题清单：共{len(problem_rows)}条，其中错误{n_err}条、疑问{len(problem_rows) - n_err}条"
                       f"（无法读取的文件{len(result.unreadable)}个）", st.title)], height=24)
    ps.append([XW.Cell(h, st.head) for h, _ in PROBLEM_COLUMNS])
    for n, (fname, unit, rule, title_zh, sev, cells_text, msg, srow) in enumerate(problem_rows, start=1):
        fill = st.bad_fill if sev == "错误" else st.warn_fill
        target = _link(SUMMARY_SHEET, f"A{srow}") if srow else None
        ps.append([n, _plain(fname), _plain(unit), rule, title_zh, XW.Cell(sev, st.flagged[fill]),
                   _plain(cells_text), XW.Cell(_safe(msg), st.message),
                   XW.Cell(f"{SUMMARY_SHEET}!A{srow}", st.link, target) if target else None])
    return wb


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


def write_merge(result: MergeResult, path: str | Path, *, lang: str = "zh") -> Path:
    """Write the county workbook to ``path`` atomically (check_output first: this does not)."""
    from gxsheet.core.atomic import write_with

    t0 = time.perf_counter()
    wb = build_workbook(result, lang=lang)
    out = write_with(path, wb.save)
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
    from gxsheet.render.workbook import write_record

    meta = county_meta(result, name)
    prose = {result.spec.sections[0].key:
             f"本报告表格数据由{meta['unit_name']}汇总各乡镇（街道）和部门报送的政府信息公开工作年度报告工作簿生成。"}
    record = Record(edition=result.edition, meta=meta, prose=prose, values=dict(county_values(result)),
                    source=str(path), kind="county")
    return write_record(record, path)
