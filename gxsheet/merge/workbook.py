"""Writing a merge: the county workbook and the county's own report.

* :func:`write_merge` writes the county workbook atomically: 概况 (the county at a glance, live
  native charts: :mod:`gxsheet.merge.overview`), 汇总 (one row per workbook, every value cell a
  column under a 表/行/列 header built from the spec, a live 合计 row), 问题清单 (the findings, one
  row per workbook × rule, hyperlinked to its row in 汇总), 问题一览 (workbook × rule family,
  coloured) and 打印-表二/三/四 (each table per unit on one set of landscape pages:
  :mod:`gxsheet.merge.print_tables`); every sheet set up to print.
* :func:`write_county_report` fills the standard template with the county-wide sums, so the county
  files its own 本行政区域 report in the same format it asked the towns to use (through the one
  Record writer, :mod:`gxsheet.render.workbook`), with the same 概况 sheet added.

The county workbook is a new file, so it is written with XlsxWriter rather than openpyxl (which
builds an object per cell): strings are never turned into formulas, links or numbers, the
document dates are fixed so a rerun gives the same bytes, and the 合计 formulas carry their
results. Every sheet is written in row order, in XlsxWriter's ``constant_memory`` mode: a row is
written out to a temporary file when the next one starts, so a province's 20,000 rows never sit in
memory (held until closed, the sheet took ~40 KB a workbook). What that asks of each sheet:

* 汇总: the 表/行/列 header bands cannot be merged through ``merge_range`` (see
  :func:`gxsheet.merge.style.declare_merged`), so the header is written row by row and its ranges
  declared; the hidden key row above it first.
* 问题清单: its size (title, filter, the cap before Excel's last row) and each workbook's first
  row there (the 汇总 status links, written before it) are counted from the entries' rule tallies
  (:attr:`~gxsheet.merge.county.Entry.rule_counts`); the rows themselves come from the findings,
  read back from the merge's spill store one workbook at a time (:mod:`gxsheet.merge.spill`).
* 问题一览: one row per workbook, from the same tallies.
* 概况: laid out block beside block; its few dozen cells are held and replayed by row
  (:class:`~gxsheet.merge.style.InRowOrder`).
* 打印-表二/三/四: one pass over the workbooks, a row on each sheet per workbook.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from gxsheet.core import findings as F
from gxsheet.core.display import LINE_PT, ROW_PAD_PT, cell_lines
from gxsheet.core.layout import workbook_layout
from gxsheet.core.record import Record
from gxsheet.core.spec import Spec, editions, load_spec
from gxsheet.merge import overview, print_tables
from gxsheet.merge.columns import (
    FILE_LABEL,
    META_COLUMNS,
    STATUS_LABEL,
    HeaderBlock,
    header_blocks,
    header_heights,
    meta_columns,
    split_at,
    summary_layout,
    unit_label,
    value_col,
    value_widths,
    write_header_band,
)
from gxsheet.merge.county import (
    INCLUDED_NO,
    INCLUDED_YES,
    MERGE_SIGNATURE,
    PROBLEM_SHEET,
    SUMMARY_SHEET,
    MergeResult,
    rule_title,
)
from gxsheet.merge.overview import OVERVIEW_SHEET
from gxsheet.merge.style import (
    AMOUNT_FORMAT,
    BAD_FILL,
    BIG,
    COUNT_FORMAT,
    DATE_FORMAT,
    OK_FILL,
    ONE_LINE_PT,
    PAGE_CHARS,
    PAGE_FILL,
    WARN_FILL,
    WORKBOOK_OPTIONS,
    Formats,
    county_title,
    flag_fills,
    head_height,
    link,
    print_setup,
    put,
    put_link,
    safe,
    set_height,
    set_widths,
    status_fill,
)
from gxsheet.render.template import FIXED_TIME

__all__ = ["AMOUNT_FORMAT", "BAD_FILL", "COUNT_FORMAT", "DATE_FORMAT", "EXCEL_ROWS", "GRID_SHEET", "META_COLUMNS",
           "OK_FILL", "OVERVIEW_SHEET", "WARN_FILL", "WORKBOOK_OPTIONS", "county_meta", "county_values", "header_blocks",
           "summary_layout", "write_county_report", "write_county_workbook", "write_merge"]

def problem_columns(spec: Spec) -> tuple[tuple[str, float], ...]:
    """(header, width) of 问题清单; the unit column under the spec's label of the unit-name field."""
    return (("序号", 6.0), (FILE_LABEL, 20.0), (unit_label(spec), 18.0), ("规则", 14.0), ("规则名称", 16.0),
            ("严重程度", 6.0), ("处数", 5.0), ("单元格", 24.0), ("问题说明", 70.0), ("汇总表位置", 11.0))


#: 问题清单's columns as the newest edition names them (the same in every edition today)
PROBLEM_COLUMNS = problem_columns(load_spec(editions()[-1]))
SEVERITY_ZH = F.SEVERITY_ZH


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
        yield (name, "", "X-UNREADABLE", rule_title("X-UNREADABLE"), SEVERITY_ZH["warning" if u.previous else "error"], 1, "",
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


#: 汇总 prints at this scale (percent), pages across then down, the unit column on every page
SUMMARY_PRINT_SCALE = 70


def column_breaks(blocks: Sequence[HeaderBlock], widths: Sequence[float], *, first_width: float,
                  repeated_width: float, scale: float = SUMMARY_PRINT_SCALE) -> list[int]:
    """Where 汇总's printed pages start, as value-column indexes: each page as full as it gets, and
    broken before a header block of the highest level possible (a 表, then a row group …) so a
    group's merged label is never cut between two pages.

    ``first_width``: the columns printed on the first page only (层级 … 计入合计); ``repeated_width``:
    the unit column, printed on every page (characters).
    """
    avail = PAGE_CHARS * 100 / scale - repeated_width
    level_at: dict[int, int] = {}
    for b in blocks:
        level_at[b.first] = min(level_at.get(b.first, b.top), b.top)
    breaks: list[int] = []
    start, used, n = 0, first_width, len(widths)
    while True:
        end, width = start, used
        while end < n and width + widths[end] <= avail * PAGE_FILL:
            width += widths[end]
            end += 1
        if end >= n:
            return breaks
        end = max(end, start + 1)  # a column wider than a page prints on a page of its own
        full = [k for k in range(start + 1, end + 1) if k in level_at
                and used + sum(widths[start:k]) >= avail * PAGE_FILL / 2]
        cut = min(full, key=lambda k: (level_at[k], -k)) if full else end
        breaks.append(cut)
        start, used = cut, 0.0


def summary_columns(result: MergeResult) -> tuple[list[HeaderBlock], list[float], list[int]]:
    """汇总's value columns: their header blocks (cut where the printed pages break), widths and the
    value-column indexes where a printed page starts."""
    blocks = header_blocks([s for _, s in summary_layout(result)["slots"]])
    widths = value_widths(blocks, result.spec, result.totals())
    meta = [w for _, _, w in META_COLUMNS]
    breaks = column_breaks(blocks, widths, first_width=sum(meta[1:]), repeated_width=meta[0])
    return split_at(blocks, breaks), widths, breaks


def _write_header(ws: Worksheet, fm: Formats, result: MergeResult, lay: dict[str, Any], ncols: int) -> None:
    """Title, the merged 表/行/列 header bands and the key row of 汇总 (0-based rows from here on);
    the printed pages broken between its header groups."""
    keys = [k for k, _ in lay["slots"]]
    nmeta = len(META_COLUMNS)
    levels, top, key_row = lay["levels"], lay["header_top"] - 1, lay["key_row"] - 1
    set_widths(ws, 0, [w for _, _, w in META_COLUMNS])
    blocks, widths, breaks = summary_columns(result)
    set_widths(ws, nmeta, widths)
    ws.set_v_pagebreaks([nmeta + b for b in breaks])

    set_height(ws, 0, 28)
    ws.merge_range(0, 0, 0, max(ncols - 1, 1), safe(county_title(result) + "表"), fm.title)
    # the hidden key row sits above the labels: written (and hidden) before them, as constant_memory
    # writes a row out for good once a later one starts
    ws.set_row(key_row, None, None, {"hidden": True})
    for c, k in enumerate([m for m, _, _ in META_COLUMNS] + keys):
        ws.write_string(key_row, c, k, fm.key)
    write_header_band(ws, fm, top, nmeta, blocks, levels, header_heights(blocks, levels, widths),
                      [label for _, label, _ in meta_columns(result.spec)])


def _write_summary(wb: xlsxwriter.Workbook, fm: Formats, result: MergeResult, first_problem: dict[int, int]) -> None:
    """Sheet 汇总: the header, one row per workbook (written in order, row by row), the live 合计 row."""
    spec = result.spec
    lay = summary_layout(result)
    keys = [k for k, _ in lay["slots"]]
    nmeta = len(META_COLUMNS)
    ncols = nmeta + len(keys)
    first, last = lay["first_row"], lay["last_row"]
    ws = wb.add_worksheet(SUMMARY_SHEET)
    ws.set_default_row(ONE_LINE_PT)
    ws.freeze_panes(first - 1, 1)
    if result.entries:
        ws.autofilter(first - 2, 0, last - 1, ncols - 1)
    # printed: labels on every page, the unit column on every page, pages across before down (a
    # town's row stays on one band of pages), broken between header groups; the full sheet is for
    # filtering, the 概况 and 打印 sheets are what a county prints
    print_setup(ws, result, first_row=lay["header_top"] - 1, last_row=last, last_col=ncols - 1,
                title_rows=(lay["header_top"] - 1, first - 2), repeat_cols=1, fit_width=False)
    ws.set_print_scale(SUMMARY_PRINT_SCALE)
    _write_header(ws, fm, result, lay, ncols)

    amounts = {k for k in keys if spec.cells[k].type == "amount"}
    columns = list(enumerate(keys, start=nmeta))
    #: per value column: the format of a number (amounts have one), and of anything else (none)
    number_fmts: list[Format | None] = [fm.amount[None] if k in amounts else None for k in keys]
    other_fmts: list[Format | None] = [None] * len(keys)
    index = {k: j for j, k in enumerate(keys)}
    write_number, isfinite = ws.write_number, math.isfinite
    name_w, file_w = META_COLUMNS[0][2], META_COLUMNS[4][2]
    for i, e in enumerate(result.entries):
        r = first - 1 + i
        rec = e.record
        status = status_fill(e.errors, e.warnings)
        target = link(PROBLEM_SHEET, f"A{first_problem[i]}") if i in first_problem else None
        name = e.unit_name or ""
        lines = max(cell_lines(name, name_w), cell_lines(e.path.name, file_w))
        # a long name wraps (to its last line, beside the numbers) in a row tall enough
        if lines > 1:
            set_height(ws, r, lines * LINE_PT + ROW_PAD_PT)
        put(ws, r, 0, name, fm.wrap)
        put(ws, r, 1, rec.role("level"), date_fmt=fm.date)
        put(ws, r, 2, rec.role("year"), date_fmt=fm.date)
        put(ws, r, 3, rec.edition)
        put(ws, r, 4, e.path.name, fm.wrap)
        put_link(ws, r, 5, target, e.status, fm.status[(status, target is not None)])
        if e.included:
            ws.write_string(r, 6, INCLUDED_YES)
        else:
            ws.write_string(r, 6, INCLUDED_NO, fm.not_counted)
        nf, of = number_fmts, other_fmts
        flagged = flag_fills(e, index)
        if flagged:  # this row's flagged cells get the error/warning fill
            nf, of = list(nf), list(of)
            for k, fill in flagged.items():
                j = index[k]
                nf[j] = fm.amount[fill] if k in amounts else fm.flagged[fill]
                of[j] = fm.flagged[fill]
        values = e.values  # int/float/str/None (another edition's workbook: none)
        for j, (c, k) in enumerate(columns):
            v = values.get(k)
            if type(v) is int and -BIG < v < BIG or type(v) is float and isfinite(v):
                write_number(r, c, v, nf[j])  # the common case, kept short: it runs once per cell
            elif v is not None or of[j] is not None:
                put(ws, r, c, v, of[j])

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



def _write_problems(wb: xlsxwriter.Workbook, fm: Formats, result: MergeResult, lang: str, plan: ProblemPlan) -> int:
    """Sheet 问题清单: every unreadable file and each workbook's findings by rule, linked to its 汇总 row.

    Rows come from the entries one by one (:func:`_problem_rows`); the counts the title and the
    filter need first come from ``plan``. Rows are as tall as their wrapped text. Past ``plan.cap``
    rows the list stops with a note saying how many rows were left out and where the whole list
    is — the merge completes instead of failing at the end. Returns the rows left out.
    """
    cap = plan.cap
    columns = problem_columns(result.spec)
    ps = wb.add_worksheet(PROBLEM_SHEET)
    widths = [w for _, w in columns]
    set_widths(ps, 0, widths)
    ps.freeze_panes(2, 0)
    n_shown = min(plan.rows, cap)
    if n_shown:
        ps.autofilter(1, 0, 1 + n_shown, len(columns) - 1)
    set_height(ps, 0, 24)
    last_col = len(columns) - 1
    ps.merge_range(0, 0, 0, last_col,
                   f"问题清单：{plan.rows}行（{plan.findings}处问题，同一单位同一规则合为一行），其中错误{plan.error_rows}行、"
                   f"疑问{plan.rows - plan.error_rows}行（无法读取的文件{len(result.unreadable)}个）", fm.title)
    set_height(ps, 1, head_height(columns))
    for c, (h, _) in enumerate(columns):
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
        put(ps, r, 1, fname, fm.cell)
        put(ps, r, 2, unit, fm.cell)
        put(ps, r, 3, rule, fm.cell)
        put(ps, r, 4, title_zh, fm.cell)
        put(ps, r, 5, sev, fm.sev[BAD_FILL if sev == SEVERITY_ZH["error"] else WARN_FILL])
        ps.write_number(r, 6, count, fm.cell)
        put(ps, r, 7, cells_text, fm.cell)
        put(ps, r, 8, msg, fm.cell)
        if srow:
            put_link(ps, r, 9, link(SUMMARY_SHEET, f"A{srow}"), f"{SUMMARY_SHEET}!A{srow}", fm.link)
        lines = max(cell_lines(safe(msg), widths[8]), cell_lines(cells_text, widths[7]), cell_lines(fname, widths[1]),
                    cell_lines(unit, widths[2]), cell_lines(title_zh, widths[4]))
        set_height(ps, r, lines * LINE_PT + ROW_PAD_PT)
    last = n_shown + 1
    if left_rows:
        last += 1
        ps.merge_range(last, 0, last, last_col,
                       f"问题清单已到 Excel 工作表的行数上限：另有 {left_rows} 行（{left_findings} 处问题，涉及 {len(left_files)} 个文件）"
                       "未列出。完整的逐条问题请用 gxsheet validate 文件夹 --json 导出。", fm.note)
        set_height(ps, last, 2 * LINE_PT + ROW_PAD_PT)
    print_setup(ps, result, last_row=last, last_col=last_col, title_rows=(1, 1), title=PROBLEM_SHEET)
    return left_rows


GRID_SHEET = "问题一览"
#: rule families (the id's prefix) as a clerk names them; T2/T3/T4 are named by their table's sheet
FAMILY_TITLES = {"M": "基本信息", "V": "数值填写", "S": "格式版本", "N": "正文", "X": "汇总核对"}


#: 问题一览's columns in the form's order: 基本信息, the values, each table's sums (T2, T3 …: in the
#: spec's order of its tables), then structure, text and the merge's own rules
GRID_ORDER = ("M", "V", "T", "S", "N", "X")


def _family(rule: str) -> str:
    return rule.split("-", 1)[0]


def _family_order(spec: Spec, family: str) -> tuple[int, int, str]:
    tables = [t.key.upper() for t in spec.tables]
    return (GRID_ORDER.index(family[0]) if family[:1] in GRID_ORDER else -1,
            tables.index(family) if family in tables else -1, family)


def _family_title(spec: Spec, family: str) -> str:
    if family in FAMILY_TITLES:
        return FAMILY_TITLES[family]
    table = next((t for t in spec.tables if t.key.upper() == family), None)
    return f"{table.sheet}勾稽" if table is not None else family


def _write_grid(wb: xlsxwriter.Workbook, fm: Formats, result: MergeResult) -> None:
    """Sheet 问题一览: one row per workbook, one column per rule family, the number of findings in
    each — red where there are errors, yellow where only warnings, green where none."""
    spec = result.spec
    fams = sorted({_family(rule) for e in result.entries for rule in e.rule_counts} | {"M", "V", "S", "N"},
                  key=lambda f: _family_order(spec, f))
    ws = wb.add_worksheet(GRID_SHEET)
    ws.set_default_row(ONE_LINE_PT)
    heads = [unit_label(spec), FILE_LABEL, STATUS_LABEL] + [_family_title(spec, f) for f in fams]
    widths = [22.0, 22.0, 14.0] + [9.0] * len(fams)
    set_widths(ws, 0, widths)
    ws.merge_range(0, 0, 0, len(heads) - 1, "问题一览：各单位各类问题的处数（红：有错误；黄：只有疑问；绿：没有问题）", fm.title)
    set_height(ws, 0, 24)
    for c, h in enumerate(heads):
        ws.write_string(1, c, h, fm.head)
    set_height(ws, 1, head_height(list(zip(heads, widths, strict=True))))
    ws.freeze_panes(2, 1)
    for i, e in enumerate(result.entries):
        r = 2 + i
        put(ws, r, 0, e.unit_name or "", fm.cell)
        put(ws, r, 1, e.path.name, fm.cell)
        put(ws, r, 2, e.status, fm.boxed_status[status_fill(e.errors, e.warnings)])
        counts: dict[str, list[int]] = {}
        for rule, (n_err, n_warn) in e.rule_counts.items():  # the tallies: no finding is read back
            c = counts.setdefault(_family(rule), [0, 0])
            c[0] += n_err
            c[1] += n_warn
        for j, fam in enumerate(fams):
            errs, warns = counts.get(fam, [0, 0])
            ws.write_number(r, 3 + j, errs + warns, fm.grid[status_fill(errs, warns)])
        lines = max(cell_lines(e.unit_name or "", 22.0), cell_lines(e.path.name, 22.0))
        if lines > 1:
            set_height(ws, r, lines * LINE_PT + ROW_PAD_PT)
    if result.entries:
        ws.autofilter(1, 0, 1 + len(result.entries), len(heads) - 1)
    print_setup(ws, result, last_row=1 + len(result.entries), last_col=len(heads) - 1, title_rows=(1, 1),
                 repeat_cols=1, title=GRID_SHEET)


def write_county_workbook(result: MergeResult, target: str | Path, *, lang: str = "zh",
                          max_problem_rows: int | None = None) -> None:
    """The county workbook (概况, 汇总, 问题清单, 问题一览, 打印-表二/三/四) written to ``target`` with
    XlsxWriter (not atomic: see write_merge). ``max_problem_rows`` caps 问题清单 (default: what fits
    in Excel's sheet); the rows left out are counted in ``result.problem_rows_left``.

    XlsxWriter assembles the zip in memory (its size, a few MB for thousands of towns: the rows
    themselves go through its temporary files) and this function writes it: a full disk is then a
    plain OSError, which the callers turn into one line naming the output (XlsxWriter would wrap it
    in FileCreateError and leave a broken ZipFile to complain on stderr when collected).
    """
    plan = _problem_plan(result, max_problem_rows)
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, WORKBOOK_OPTIONS)
    try:
        wb.set_properties({"title": safe(county_title(result) + "表"),
                           "author": "gxsheet", "created": FIXED_TIME})
        wb.set_custom_property(*MERGE_SIGNATURE)  # how a rerun knows its own earlier output
        fm = Formats(wb)
        lay = summary_layout(result)
        ranges = overview.SummaryRanges(first=lay["first_row"] - 1, last=lay["last_row"] - 1, status_col=5,
                                        counted_col=len(META_COLUMNS) - 1, name_col=0,
                                        col_of=lambda k: value_col(result, k))
        overview.write_xlsxwriter(wb, fm, result, overview.build(result, lambda keys: _total_ref(result, keys), ranges))
        _write_summary(wb, fm, result, plan.first_of)
        result.problem_rows_left = _write_problems(wb, fm, result, lang, plan)
        _write_grid(wb, fm, result)
        print_tables.write_sheets(wb, fm, result)
    finally:
        try:
            wb.close()
        except xlsxwriter.exceptions.FileCreateError as e:  # its temporary files' disk is full
            raise e.args[0] if e.args and isinstance(e.args[0], OSError) else OSError(str(e)) from None
    with open(target, "wb") as f:
        f.write(buffer.getbuffer())


def _total_ref(result: MergeResult, keys: Sequence[str]) -> str:
    """The county value of ``keys`` on 汇总: the sum of their cells in its 合计 row."""
    t = summary_layout(result)["total_row"]
    return "+".join(f"'{SUMMARY_SHEET}'!${xl_col_to_name(value_col(result, k))}${t}" for k in keys)


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
    """Fill the standard template of the merge's edition with the county sums, atomically, and add
    the 概况 sheet of the county workbook (its figures read this report's own tables).

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
    spec = result.spec
    prose = {spec.sections[0].key:
             f"本报告表格数据由{meta['unit_name']}汇总各乡镇（街道）和部门报送的政府信息公开工作年度报告工作簿生成。"}
    record = Record(edition=result.edition, meta=meta, prose=prose, values=dict(county_values(result)),
                    source=source, kind="county")
    layout = workbook_layout(spec)

    def cells(keys: Sequence[str]) -> str:
        out = []
        for k in keys:
            sheet, r, c = layout.position(k)
            out.append(f"'{sheet}'!${xl_col_to_name(c - 1)}${r}")
        return "+".join(out)

    view = overview.build(result, cells, None)
    return record_workbook(record, layout, template_path(result.edition), finish=lambda wb: overview.write_openpyxl(
        wb, result, view, unit=meta[spec.meta_key("unit_name")], year=meta[spec.meta_key("year")]))
