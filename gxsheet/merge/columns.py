"""The 汇总 sheet's columns and header bands: where each value of a town's report is, and the merged
表/行/列 labels above it — shared by 汇总 itself and the sheets that refer to it (概况's figures, the
打印 sheets' formulas).

The labels come from the spec's Node trees (:func:`column_slots`); neighbouring columns that share
a label share one merged header cell (:func:`header_blocks`), as tall as its wrapped text needs
(:func:`header_heights`), written row by row for XlsxWriter's ``constant_memory`` mode
(:func:`write_header_band`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xlsxwriter.worksheet import Worksheet

from gxsheet.core.display import cell_lines, cell_units
from gxsheet.core.layout import EDITION_LABEL
from gxsheet.core.spec import Spec, editions, load_spec
from gxsheet.merge.style import (
    HEAD_LINE_PT,
    declare_merged,
    safe,
    set_height,
)

if TYPE_CHECKING:
    from gxsheet.merge.county import MergeResult
    from gxsheet.merge.style import Formats

#: the merge's own column headers (not fields of the report): the file, the validator's verdict, whether
#: it counts in the totals
FILE_LABEL, STATUS_LABEL, INCLUDED_LABEL = "文件名", "校验结果", "计入合计"


def unit_label(spec: Spec) -> str:
    """The 单位名称 header of every merged sheet: the spec's own label of the unit-name field."""
    return spec.meta_field("unit_name").label


def meta_columns(spec: Spec) -> tuple[tuple[str, str, float], ...]:
    """(key, header, width) of 汇总's first columns: the report's fields under the spec's labels
    (单位名称, 单位层级, 报告年度), then the merge's own."""
    def label(role: str) -> str:
        return spec.meta_field(role).label

    return (("unit_name", label("unit_name"), 26.0), ("level", label("level"), 9.0), ("year", label("year"), 7.0),
            ("edition", EDITION_LABEL, 7.0), ("file", FILE_LABEL, 24.0), ("status", STATUS_LABEL, 15.0),
            ("included", INCLUDED_LABEL, 7.0))


#: the first columns as the newest edition names them; keys and widths are the same in every edition
META_COLUMNS: tuple[tuple[str, str, float], ...] = meta_columns(load_spec(editions()[-1]))
#: a value column (characters): four digits and a two-line label such as 社会公益组织
VALUE_WIDTH = 8.0
#: an amount column: a county's sum in 万元 with its decimals (12,345,678.90)
AMOUNT_WIDTH = 13.0


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


def value_col(result: MergeResult, key: str) -> int:
    """The 0-based column of ``key`` on 汇总."""
    return len(META_COLUMNS) + list(result.spec.cells).index(key)


def value_widths(blocks: Sequence[HeaderBlock], spec: Spec, totals: Mapping[str, float]) -> list[float]:
    """Column widths of the spec's value cells: VALUE_WIDTH, wider (up to 16) where a one-column label
    would wrap past two lines, AMOUNT_WIDTH at least for an amount, and never too narrow for the
    county's total (a spreadsheet shows ### for a number wider than its column)."""
    widths = [max(AMOUNT_WIDTH if c.type == "amount" else VALUE_WIDTH, number_width(totals.get(k, 0), c.type))
              for k, c in spec.cells.items()]
    for b in blocks:
        if b.first == b.last:
            widths[b.first] = max(widths[b.first], min(cell_units(b.text) / 2 + 1.5, 16.0))
    return widths


def number_width(value: float, kind: str) -> float:
    """The width (characters) a bold number needs as the county workbook formats it."""
    text = f"{value:,.2f}" if kind == "amount" else f"{value:.0f}"
    return len(text) * 1.15 + 2


@dataclass(frozen=True)
class HeaderBlock:
    """One (possibly merged) header cell: levels top..bottom, value columns first..last (0-based)."""

    top: int
    bottom: int
    first: int
    last: int
    text: str


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


def split_at(blocks: Sequence[HeaderBlock], breaks: Sequence[int]) -> list[HeaderBlock]:
    """``blocks`` cut where printed pages break (value-column indexes): a label wider than a page is
    repeated on every page it spans, instead of printing once, centred on one of them."""
    out = []
    for b in blocks:
        edges = [b.first, *(k for k in breaks if b.first < k <= b.last), b.last + 1]
        out += [HeaderBlock(b.top, b.bottom, lo, hi - 1, b.text) for lo, hi in zip(edges, edges[1:], strict=False)]
    return out


def header_heights(blocks: Sequence[HeaderBlock], levels: int, widths: Sequence[float],
                   cap: float | None = 120.0) -> list[float]:
    """Row heights (pt) so wrapped labels show: lines needed over the block's width, shared by its rows
    (each row at most ``cap``; None: as tall as the text needs)."""
    need = [18.0] * levels
    for b in blocks:
        width = sum(widths[b.first:b.last + 1])
        lines = cell_lines(b.text, width + 0.5)
        per_row = lines * HEAD_LINE_PT / (b.bottom - b.top + 1) + 4
        for lv in range(b.top, b.bottom + 1):
            need[lv] = max(need[lv], per_row if cap is None else min(per_row, cap))
    return need


def write_header_band(ws: Worksheet, fm: Formats, top: int, first_col: int, blocks: Sequence[HeaderBlock],
                      levels: int, heights: Sequence[float], row_heads: Sequence[str]) -> None:
    """A merged header written row by row (constant_memory): ``row_heads`` are columns left of the
    value columns whose label spans every level (单位名称 …); ``blocks`` the value columns' labels
    from ``first_col`` on. Rows ``top`` .. ``top + levels - 1`` (0-based)."""
    ncols = first_col + (max(b.last for b in blocks) + 1 if blocks else 0)
    areas = [(top, i, top + levels - 1, i, label) for i, label in enumerate(row_heads)]
    areas += [(top + b.top, first_col + b.first, top + b.bottom, first_col + b.last, b.text) for b in blocks]
    texts = {(r0, c0): text for r0, c0, _, _, text in areas}
    for lv in range(levels):
        r = top + lv
        set_height(ws, r, heights[lv])
        for c in range(ncols):
            text = texts.get((r, c))
            if text is not None:
                ws.write_string(r, c, safe(text), fm.head)
            else:
                ws.write_blank(r, c, None, fm.head)
    for r0, c0, r1, c1, _ in areas:
        if (r0, c0) != (r1, c1):
            declare_merged(ws, r0, c0, r1, c1)


