"""打印-表二 / 打印-表三 / 打印-表四: what a county prints of its towns' tables.

汇总 holds every value cell of every report (~200 columns): the sheet to filter and sort, not to
read on paper, where one town's row runs across a dozen pages. A county reads its towns table by
table, so each official table gets a sheet of its own: one row per unit, the unit's name and
check result, and the table's cells as columns under the table's own merged labels — on one set
of landscape pages, fitted to the page width, the labels repeated on every page.

A table with more cells than fit a page (:data:`MAX_COLUMNS`; 表三's 7 applicant columns × 26
rows) shows each row's total — the cells the spec defines as the sum of the rest of their row —
and says so in its title; the breakdown stays on 汇总. Everything is derived from the spec, so a
new edition gets its print sheets for free.

Values are formulas reading 汇总 (with their results cached), so a number corrected there is
corrected here too; a cell a finding names keeps 汇总's red or yellow; the 合计 row reads 汇总's.
One pass over the workbooks writes a row on every print sheet (one read of each file's spilled
row), in XlsxWriter's ``constant_memory`` mode like the rest of the workbook.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xlsxwriter.utility import xl_col_to_name

from gxsheet.core.display import LINE_PT, ROW_PAD_PT, cell_lines, cell_units
from gxsheet.core.spec import Spec, Table
from gxsheet.merge.columns import (
    AMOUNT_WIDTH,
    STATUS_LABEL,
    column_slots,
    header_blocks,
    header_heights,
    number_width,
    summary_layout,
    unit_label,
    value_col,
    write_header_band,
)
from gxsheet.merge.county import PROBLEM_SHEET, SUMMARY_SHEET, MergeResult
from gxsheet.merge.style import (
    ONE_LINE_PT,
    PAGE_CHARS,
    PAGE_FILL,
    flag_fills,
    is_number,
    print_setup,
    put,
    safe,
    set_height,
    set_widths,
    status_fill,
)

if TYPE_CHECKING:
    import xlsxwriter

    from gxsheet.merge.style import Formats

PREFIX = "打印-"
#: a table with more value cells than this prints the total of each row
MAX_COLUMNS = 24
#: 单位名称 (eight Chinese characters a line) and 校验结果 (characters)
NAME_WIDTH, STATUS_WIDTH = 18.0, 11.0
#: a value column: wide enough for its label in a few lines, narrow enough for the table to fit a page
MIN_WIDTH, MAX_WIDTH = 6.0, 9.0
#: lines a value column's own label may take at MIN_WIDTH before the column widens
LABEL_LINES = 5


@dataclass(frozen=True)
class PrintTable:
    """One print sheet: the table, its cells (columns, in spec order), their labels by header level,
    and the labels every column shares (said once, in the title)."""

    table: Table
    keys: tuple[str, ...]
    slots: tuple[tuple[str | None, ...], ...]
    common: tuple[str, ...]
    totals_only: bool

    @property
    def sheet(self) -> str:
        return sheet_name(self.table)


def sheet_name(table: Table) -> str:
    """The print sheet of an official table: 打印-表三."""
    return PREFIX + table.sheet


def row_totals(spec: Spec, table: str) -> list[str]:
    """The cells of ``table`` that the spec defines as the sum of the rest of their row (表三's 总计
    column), in spec order."""
    found = set()
    for e in spec.equations:
        if len(e.lhs) != 1 or e.op != "==" or spec.cells[e.lhs[0]].table != table:
            continue
        total = spec.cells[e.lhs[0]]
        if e.rhs and all(spec.cells[k].grid == total.grid and spec.cells[k].row.key == total.row.key for k in e.rhs):
            found.add(e.lhs[0])
    return [k for k in spec.cells if k in found]


def plan(spec: Spec) -> list[PrintTable]:
    """A print sheet per official table of ``spec``."""
    slots = dict(column_slots(spec))
    out = []
    for t in spec.tables:
        keys = [k for k, c in spec.cells.items() if c.table == t.key]
        totals_only = len(keys) > MAX_COLUMNS and bool(row_totals(spec, t.key))
        if totals_only:
            keys = row_totals(spec, t.key)
        labels = [slots[k][1:] for k in keys]  # the 表 level is the sheet's title
        levels = range(len(labels[0]))
        varied = [lv for lv in levels if len({lab[lv] for lab in labels}) > 1]
        common = tuple(lab for lv in levels if lv not in varied and (lab := labels[0][lv]))
        out.append(PrintTable(t, tuple(keys), tuple(tuple(lab[lv] for lv in varied) for lab in labels), common,
                              totals_only))
    return out


def _widths(pt: PrintTable, spec: Spec, totals: Mapping[str, float]) -> list[float]:
    """Value columns as narrow as their labels allow (never narrower than the county's total); a
    table narrower than the page widened to fill it (up to twice as wide): fewer lines of header,
    more units a page."""
    out = []
    for k, labels in zip(pt.keys, pt.slots, strict=True):
        leaf = next((lab for lab in reversed(labels) if lab), "")
        kind = spec.cells[k].type
        w = min(MAX_WIDTH, max(MIN_WIDTH, math.ceil(cell_units(leaf) / LABEL_LINES) + 1.5))
        out.append(max(w, AMOUNT_WIDTH if kind == "amount" else 0, number_width(totals.get(k, 0), kind)))
    room = PAGE_CHARS * PAGE_FILL - NAME_WIDTH - STATUS_WIDTH
    grow = min(2.0, room / sum(out)) if out else 1.0
    return [round(w * grow, 1) for w in out] if grow > 1 else out


def write_sheets(wb: xlsxwriter.Workbook, fm: Formats, result: MergeResult) -> None:
    """The print sheets of ``result``'s edition, after the workbook's other sheets."""
    spec = result.spec
    lay = summary_layout(result)
    tables = plan(spec)
    totals = result.totals()
    year = f"{result.year}年度" if result.year else ""
    sheets = []
    for pt in tables:
        ws = wb.add_worksheet(pt.sheet)
        ws.set_default_row(ONE_LINE_PT)
        widths = _widths(pt, spec, totals)
        set_widths(ws, 0, [NAME_WIDTH, STATUS_WIDTH, *widths])
        last_col = 1 + len(pt.keys)
        set_height(ws, 0, 24)
        ws.merge_range(0, 0, 0, last_col, safe(f"{result.name or ''}{year} {pt.table.sheet}：各单位汇总"), fm.title)
        what = pt.table.title + (f"（每项只列“{'·'.join(pt.common)}”，各列的明细见“{SUMMARY_SHEET}”表）" if pt.totals_only
                                 else f"（{'·'.join(pt.common)}）" if pt.common else "")
        set_height(ws, 1, LINE_PT + ROW_PAD_PT)
        ws.merge_range(1, 0, 1, last_col, safe(what), fm.subtitle)
        blocks = header_blocks(pt.slots)
        levels = len(pt.slots[0]) if pt.slots else 0
        write_header_band(ws, fm, 2, 2, blocks, levels, header_heights(blocks, levels, widths, cap=None),
                          [unit_label(spec), STATUS_LABEL])
        first = 2 + levels
        ws.freeze_panes(first, 1)
        print_setup(ws, result, last_row=first + len(result.entries), last_col=last_col, title_rows=(2, first - 1),
                    title=pt.sheet)
        amounts = [spec.cells[k].type == "amount" for k in pt.keys]
        sheets.append((ws, pt, first, amounts, [xl_col_to_name(value_col(result, k)) for k in pt.keys]))

    aside = f"其他年度或版本的工作簿，不计入合计（见“{PROBLEM_SHEET}”）"
    for i, e in enumerate(result.entries):
        values = e.values
        flagged = flag_fills(e, values) if e.errors or e.warnings or e.unit_unknown else {}
        status = e.status if e.included else f"{e.status}（不计入合计）"
        name = e.unit_name or e.path.name
        lines = max(cell_lines(name, NAME_WIDTH), cell_lines(status, STATUS_WIDTH))
        src = lay["first_row"] + i  # the row on 汇总 (1-based)
        for ws, pt, first, amounts, cols in sheets:
            r = first + i
            if lines > 1:
                set_height(ws, r, lines * LINE_PT + ROW_PAD_PT)
            put(ws, r, 0, name, fm.cell if e.included else fm.boxed_grey)
            put(ws, r, 1, status, fm.boxed_status[status_fill(e.errors, e.warnings)])
            if not e.counted_edition:  # another year's or edition's workbook: no values here
                ws.merge_range(r, 2, r, 1 + len(pt.keys), aside, fm.boxed_grey)
                continue
            for j, k in enumerate(pt.keys):
                v = values.get(k)
                fmt = fm.boxed[(flagged.get(k), amounts[j])]
                if is_number(v):  # live: a number corrected on 汇总 is corrected here
                    ws.write_formula(r, 2 + j, f"='{SUMMARY_SHEET}'!{cols[j]}{src}", fmt, v)
                else:  # text a town typed, or nothing: as on 汇总
                    put(ws, r, 2 + j, "" if v is None else v, fmt)

    t = lay["total_row"]
    for ws, pt, first, amounts, cols in sheets:
        r = first + len(result.entries)
        ws.write_string(r, 0, "合计", fm.total_label)
        ws.write_blank(r, 1, None, fm.total_blank)
        for j, k in enumerate(pt.keys):
            fmt = fm.total_amount if amounts[j] else fm.total_count
            if result.entries:
                ws.write_formula(r, 2 + j, f"='{SUMMARY_SHEET}'!{cols[j]}{t}", fmt, totals[k])
            else:
                ws.write_number(r, 2 + j, 0, fmt)
