"""The standard workbook (模板) of one edition, built from the spec's layout.

Every label, merge, input address and check formula comes from :func:`gxsheet.core.layout.workbook_layout`,
so the template, the reader and the validator can never disagree about where a number lives; this
module only adds what a person filling the form in Excel, WPS or LibreOffice needs: official-looking
borders and fonts, unlocked and highlighted input cells, data validation with Chinese messages,
conditional formatting that turns a broken relation red while typing, sheet protection (without a
password: it guards against accidents, not people) and a print setup that reproduces the printed
form on A4.

The output is byte-for-byte reproducible (fixed document dates and zip timestamps), so the
committed templates in ``workbook_templates/`` can be checked against a fresh build in CI.
"""

from __future__ import annotations

import atexit
import datetime as dt
import io
import math
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from gxsheet.core import atomic
from gxsheet.core.layout import (
    EDITION_KEY,
    SUMMARY_KEY,
    Box,
    SheetLayout,
    WorkbookLayout,
    a1,
    rect_ref,
    rects,
    summary_formula,
    workbook_layout,
)
from gxsheet.core.sanitise import page_header
from gxsheet.core.spec import Cell, Field, Spec, load_spec
from gxsheet.core.wording import years_words

# ---------------------------------------------------------------------------------------------
# styling constants (the only literals here: no label or address is hard-coded)

SONG = "宋体"  # the official tables are set in 宋体; LibreOffice substitutes Noto CJK
HEI = "黑体"
BODY_SIZE = 10.5  # 五号
FIXED_TIME = dt.datetime(2019, 1, 1)  # docProps dates: constant so builds are reproducible
ZIP_TIME = (2019, 1, 1, 0, 0, 0)

HEADER_FILL = PatternFill("solid", start_color="FFE7E6E6", end_color="FFE7E6E6")
INPUT_FILL = PatternFill("solid", start_color="FFFFF2CC", end_color="FFFFF2CC")
CHECK_FILL = PatternFill("solid", start_color="FFE2EFDA", end_color="FFE2EFDA")
CHECK_LABEL_FILL = PatternFill("solid", start_color="FFF2F2F2", end_color="FFF2F2F2")
FIXED_FILL = PatternFill("solid", start_color="FFF2F2F2", end_color="FFF2F2F2")
# conditional-format fills: fg and bg set alike, since Excel reads bgColor of a dxf and older
# LibreOffice builds read fgColor
BAD_FILL = PatternFill("solid", start_color="FFFF8080", end_color="FFFF8080")
BAD_FONT = Font(color="FF9C0006", bold=True)
BLANK_FILL = PatternFill("solid", start_color="FFFFE699", end_color="FFFFE699")
GOOD_FILL = PatternFill("solid", start_color="FFC6EFCE", end_color="FFC6EFCE")

THIN = Side(style="thin", color="FF000000")
HAIR = Side(style="thin", color="FF9E9E9E")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
SOFT_BOX = Border(left=HAIR, right=HAIR, top=HAIR, bottom=HAIR)

LOCKED = Protection(locked=True)
UNLOCKED = Protection(locked=False)

NUMBER_FORMATS = {"count": "0", "signed_count": "0", "amount": "0.00##"}
DATE_FORMAT = "yyyy-mm-dd"

LINE_PT = 15.0  # height of one wrapped line of 10.5 pt CJK text (Noto CJK is tall)
ROW_PAD_PT = 5.0
INPUT_ROW_PT = 20.0
TITLE_ROW_PT = 30.0
PROSE_ROW_PT = 150.0
LABEL_CAP = 40.0  # widest a single label column grows (in column units) before wrapping
MULTI_CAP = 50.0
VALUE_MIN, VALUE_MAX = 10.0, 16.0
FORM_TARGET_W = 92.0  # a narrow form (表二) is widened to about a portrait page
CHECK_COL_W = 11.0
GAP_COL_W = 2.0

# A4 printable area in points for the margins below (portrait width, height)
MARGIN_IN = 0.5
A4_IN = (8.27, 11.69)
PT_PER_UNIT = 5.25  # one column-width unit ≈ 7 px ≈ 5.25 pt


def _units(text: str) -> float:
    """Approximate width of ``text`` in Excel column units (a CJK glyph is two digits wide)."""
    return sum(2.0 if ord(ch) > 0x2E7F else 1.1 for ch in text)


def _font(size: float = BODY_SIZE, *, bold: bool = False, italic: bool = False, color: str = "FF000000",
          name: str = SONG) -> Font:
    return Font(name=name, size=size, bold=bold, italic=italic, color=color)


@dataclass(frozen=True)
class _Style:
    font: Font
    alignment: Alignment
    fill: PatternFill | None = None
    border: Border | None = BOX
    protection: Protection = LOCKED
    number_format: str | None = None


CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True, indent=1)
TOP_LEFT = Alignment(horizontal="left", vertical="top", wrap_text=True)
RIGHT = Alignment(horizontal="right", vertical="center", wrap_text=False)

STYLES = {
    "title": _Style(_font(16, bold=True, name=HEI), CENTER, None, None),
    "caption": _Style(_font(bold=True), CENTER, HEADER_FILL),
    "corner": _Style(_font(), CENTER, HEADER_FILL),
    "header": _Style(_font(), CENTER, HEADER_FILL),
    "label": _Style(_font(), LEFT),
    "group_label": _Style(_font(), CENTER),
    "check_label": _Style(_font(9, italic=True, color="FF595959"), CENTER, CHECK_LABEL_FILL, SOFT_BOX),
    "meta_label": _Style(_font(bold=True), CENTER, HEADER_FILL),
    "heading": _Style(_font(bold=True), CENTER, HEADER_FILL),
    "hint": _Style(_font(9, color="FF595959"), LEFT),
    "check": _Style(_font(9), CENTER, CHECK_FILL, SOFT_BOX),
    "fixed": _Style(_font(bold=True), CENTER, FIXED_FILL),
    "summary": _Style(_font(bold=True), LEFT, FIXED_FILL),
}


def _apply(cell, style: _Style) -> None:
    cell.font = style.font
    cell.alignment = style.alignment
    if style.fill is not None:
        cell.fill = style.fill
    if style.border is not None:
        cell.border = style.border
    cell.protection = style.protection
    if style.number_format:
        cell.number_format = style.number_format


def _box_role(box: Box) -> str:
    """A row label spanning several rows is a group label: centred, like the printed form."""
    if box.role == "label" and box.row2 > box.row:
        return "group_label"
    return box.role


def _write_box(ws: Worksheet, box: Box) -> None:
    """Write a label box: style the whole range first so a merge keeps its outer border."""
    style = STYLES[_box_role(box)]
    for r in range(box.row, box.row2 + 1):
        for c in range(box.col, box.col2 + 1):
            _apply(ws.cell(r, c), style)
    ws.cell(box.row, box.col).value = box.text
    if box.merged:
        ws.merge_cells(box.ref)


# ---------------------------------------------------------------------------------------------
# geometry: column widths and row heights derived from the texts in the layout


def _label_widths(s: SheetLayout) -> dict[int, float]:
    """Widths of the row-label columns so the longest label fits (wrapping past LABEL_CAP)."""
    widths: dict[int, float] = {c: 4.0 for c in range(1, s.label_cols + 1)}
    boxes = [b for b in s.boxes if b.role in ("label", "corner") and b.col2 <= s.label_cols]
    for b in boxes:
        if b.col != b.col2:
            continue
        rows = b.row2 - b.row + 1
        if rows > 1:  # a group label: a narrow column, text wrapping down the span
            need = max(10.0, math.ceil(_units(b.text) / rows / 2) * 2)
        else:
            need = min(_units(b.text), LABEL_CAP)
        widths[b.col] = max(widths[b.col], need + 1.5)
    for b in boxes:
        if b.col == b.col2 or b.role == "corner":
            continue
        have = sum(widths[c] for c in range(b.col, b.col2 + 1))
        need = min(_units(b.text), MULTI_CAP) + 1.5
        if have < need:
            widths[b.col2] += need - have
    return widths


def _value_width(s: SheetLayout) -> float:
    """One width for all value columns: wide grids wrap their headers onto two lines."""
    leaves = [b for b in s.boxes if b.role == "header" and b.key in
              {k for cols in s.value_cols.values() for k in cols}]
    longest = max((_units(b.text) for b in leaves), default=8.0)
    n = s.width - s.label_cols
    lines = 1 if n <= 5 else 2
    return max(VALUE_MIN, min(VALUE_MAX, math.ceil(longest / lines) + 2))


def _row_heights(ws: Worksheet, s: SheetLayout, widths: dict[int, float], base: dict[int, float]) -> None:
    """Row heights from the number of wrapped lines each label needs."""
    heights = dict(base)
    for b in s.boxes:
        if b.role == "title":
            heights[b.row] = max(heights.get(b.row, 0), TITLE_ROW_PT)
            continue
        have = sum(widths.get(c, 9.0) for c in range(b.col, b.col2 + 1)) - 1.0
        lines = max(1, math.ceil(_units(b.text) / max(have, 2.0)))
        rows = b.row2 - b.row + 1
        per_row = math.ceil(lines / rows)
        need = per_row * LINE_PT + ROW_PAD_PT
        for r in range(b.row, b.row2 + 1):
            heights[r] = max(heights.get(r, 0), need)
    for r, h in sorted(heights.items()):
        ws.row_dimensions[r].height = round(h, 1)


def _set_widths(ws: Worksheet, widths: dict[int, float]) -> None:
    for c, w in sorted(widths.items()):
        ws.column_dimensions[get_column_letter(c)].width = round(w, 2)


# ---------------------------------------------------------------------------------------------
# validation and conditional formatting


def _dv(type_: str, *, operator: str | None = None, formula1: str | None = None,
        formula2: str | None = None, title: str, prompt: str, error: str) -> DataValidation:
    dv = DataValidation(type=type_, operator=operator, formula1=formula1, formula2=formula2,
                        allow_blank=True, showErrorMessage=True, showInputMessage=True,
                        errorStyle="stop", errorTitle="输入有误", error=error,
                        promptTitle=title, prompt=prompt)
    return dv


def _cell_dv(spec: Spec, cell: Cell) -> tuple[str, DataValidation]:
    """Validation for a value cell, keyed so cells of one kind share one rule."""
    unit = ""
    if cell.unit:
        unit = f"单位：{cell.unit}。"
    elif cell.unit_field:
        unit = f"单位请在“基本信息”的“{spec.field(cell.unit_field).label}”中选择，此处只填数字。"
    if cell.type == "count":
        return "count", _dv("whole", operator="greaterThanOrEqual", formula1="0",
                            title="填写件数", prompt="请填写非负整数；没有请填 0。",
                            error="件数只能填写非负整数（没有请填 0），不能填写文字、小数或负数。")
    if cell.type == "signed_count":
        return "signed_count", _dv("whole", operator="between", formula1="-999999999", formula2="999999999",
                                   title="填写增减数", prompt="请填写整数，减少时填负数；没有变化请填 0。",
                                   error="这里只能填写整数（减少时填负数，没有变化填 0），不能填写文字或小数。")
    return "amount:" + unit, _dv("decimal", operator="greaterThanOrEqual", formula1="0",
                                 title="填写金额", prompt=f"请填写非负数字，可带小数，不要写单位；没有请填 0。{unit}"[:255],
                                 error="金额只能填写非负数字（可带小数，不要写单位；没有请填 0）。")


def example_year(spec: Spec) -> int:
    """A report year this edition is used for, to show in hints (2019 版: 2020; 2021 版: 2021)."""
    return spec.last_year or spec.first_year


def _field_dv(spec: Spec, f: Field) -> DataValidation:
    y = example_year(spec)
    if f.type == "choice":
        return _dv("list", formula1='"' + ",".join(f.choices) + '"', title=f.label,
                   prompt="请从下拉列表中选择。", error=f"请从下拉列表中选择：{'、'.join(f.choices)}。")
    if f.type == "year":
        last = spec.last_year or 2100
        return _dv("whole", operator="between", formula1=str(spec.first_year), formula2=str(last), title=f.label,
                   prompt=f"请填写四位数年份，如 {y}。",
                   error=f"本模板是 {spec.edition} 版，用于 {years_words(spec)}的年报；请填写 {spec.first_year}—{last} "
                         "之间的年份，其他年度请使用对应版本的模板。")
    if f.type == "date":
        lo = (dt.date(2000, 1, 1) - dt.date(1899, 12, 30)).days
        hi = (dt.date(2100, 12, 31) - dt.date(1899, 12, 30)).days
        return _dv("date", operator="between", formula1=str(lo), formula2=str(hi), title=f.label,
                   prompt=f"请填写日期，格式 yyyy-mm-dd，如 {y}-12-31。",
                   error=f"请填写有效日期，格式 yyyy-mm-dd，如 {y}-12-31。")
    return _dv("textLength", operator="lessThanOrEqual", formula1="200", title=f.label,
               prompt="请填写文字。" + ("（必填）" if f.required else ""), error="内容过长（不超过 200 字）。")


def _field_hint(spec: Spec, f: Field) -> str:
    parts = [f.hint] if f.hint else []
    if f.type == "choice":
        parts.append("从下拉列表选择")
    elif f.type == "year":
        parts.append(f"四位数年份，如 {example_year(spec)}（本模板用于 {years_words(spec)}）")
    elif f.type == "date":
        parts.append("日期，格式 yyyy-mm-dd")
    parts.append("必填" if f.required else "选填")
    return "；".join(parts)


_REF = re.compile(r"(?<![$A-Za-z0-9_!'])([A-Z]{1,3})([0-9]+)(?![0-9A-Za-z_(])")


def absolute(expr: str) -> str:
    """Make the same-sheet A1 references of a check expression absolute ($D$5).

    A conditional format applied to several cells reads relative references from its first cell;
    the check's references must point at the same cells wherever the rule is applied.
    """
    return _REF.sub(lambda m: f"${m.group(1)}${m.group(2)}", expr)


def _input_rules(ws: Worksheet, groups: dict[str, list[tuple[int, int]]]) -> None:
    """Flag bad input while typing: text, negatives, fractions in red; blanks in yellow.

    Formula rules only (no 'containsText'/'cellIs' types), since those are the ones Excel, WPS and
    LibreOffice all evaluate the same way. Relative references are anchored at each rectangle's
    top-left cell.
    """
    blanks: list[str] = []
    for kind in sorted(groups):
        for rect in rects(groups[kind]):
            ref, top = rect_ref(rect), a1(rect[0], rect[1])
            conds = [f"ISTEXT({top})"]
            if kind in ("count", "amount"):
                conds.append(f"AND(ISNUMBER({top}),{top}<0)")
            if kind == "count":
                conds.append(f"AND(ISNUMBER({top}),{top}<>INT({top}))")
            for cond in conds:
                ws.conditional_formatting.add(ref, FormulaRule(formula=[cond], fill=BAD_FILL, font=BAD_FONT,
                                                               stopIfTrue=True))
            blanks.append(ref)
    for ref in blanks:
        top = ref.split(":")[0]
        ws.conditional_formatting.add(ref, FormulaRule(formula=[f"ISBLANK({top})"], fill=BLANK_FILL,
                                                       stopIfTrue=True))


# ---------------------------------------------------------------------------------------------
# sheets


#: the page header's line for the unit, on a blank template
BLANK_UNIT = "单位：________________"


def name_pages(wb: Workbook, unit: object, year: object) -> None:
    """Name the unit and year in the page header of every sheet that leaves a line for them (a filled
    workbook: an import, the county report, an annotated copy), so every printed page says whose it is."""
    if unit in (None, ""):
        return
    for ws in wb.worksheets:
        if ws.oddHeader.left.text == BLANK_UNIT:
            page_furniture(ws, ws.oddHeader.right.text and _edition_of(ws.oddHeader.right.text), unit, year)


def _edition_of(right: str) -> str | None:
    m = re.search(r"（(\d{4})版）", right)
    return m.group(1) if m else None


def page_furniture(ws: Worksheet, edition: str | None, unit: object = None, year: object = None) -> None:
    """Page header and footer of a printed sheet: who and which year on the left, the sheet in the
    middle, the edition on the right; 第 N 页，共 M 页 below.

    A blank template knows no unit (a header cannot refer to a cell in Excel, WPS or LibreOffice),
    so it leaves a line to write it on; a filled workbook (the county report, an import) names it.
    """
    who = f"{unit}{f' {year}年度' if year else ''}" if unit else BLANK_UNIT
    header_footer(ws, page_header(who), "&A",
                  f"政府信息公开工作年度报告（{edition}版）" if edition else "政府信息公开工作年度报告")


#: the footer of every printed page gxsheet writes (openpyxl and XlsxWriter alike)
PAGE_FOOTER = "第 &P 页，共 &N 页"


def header_footer(ws: Worksheet, left: str, centre: str, right: str, footer: str = PAGE_FOOTER,
                  font: str = SONG) -> None:
    """The page header (left, centre, right) and the centred footer of an openpyxl sheet, in 9 pt
    ``font``. Texts may use the header codes (``&P``, ``&N``, ``&A``); a literal ``&`` must already
    be doubled (:func:`gxsheet.core.sanitise.page_header`)."""
    for where, text in (("left", left), ("center", centre), ("right", right)):
        h = getattr(ws.oddHeader, where)
        h.text, h.font, h.size = text or None, font, 9
    f = ws.oddFooter.center
    f.text, f.font, f.size = footer, font, 9


def fit_to_width(ws: Worksheet, area: str, orientation: str, title_rows: tuple[int, int] | None = None, *,
                 margins: PageMargins | None = None, centred: bool = True) -> None:
    """How every sheet gxsheet writes with openpyxl prints (the templates, 校验结果, the county
    report's 概况): ``area`` on A4 in ``orientation``, one page wide and as many down as it takes,
    ``title_rows`` (1-based, first and last) repeated on every page."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = orientation
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if centred:
        ws.print_options.horizontalCentered = True
    if margins is not None:
        ws.page_margins = margins
    ws.print_area = area
    if title_rows:
        ws.print_title_rows = f"{title_rows[0]}:{title_rows[1]}"


def _print_setup(ws: Worksheet, edition: str, widths: dict[int, float], last_col: int,
                 last_row: int, title_rows: tuple[int, int] | None, orientation: str | None = None) -> None:
    """A4, fit to the page width, the orientation that prints the form on fewest pages."""
    w_pt = sum(widths.get(c, 9.0) for c in range(1, last_col + 1)) * PT_PER_UNIT
    h_pt = sum((ws.row_dimensions[r].height or 15.0) for r in range(1, last_row + 1))
    if orientation is None:
        best: tuple[int, float, bool, str] | None = None
        for orient, (pw, ph) in (("portrait", A4_IN), ("landscape", A4_IN[::-1])):
            avail_w, avail_h = (pw - 2 * MARGIN_IN) * 72, (ph - 2 * MARGIN_IN - 0.6) * 72
            scale = min(1.0, avail_w / w_pt)
            pages = math.ceil(h_pt * scale / avail_h)
            cand = (pages, -scale, orient != "portrait", orient)  # ties: portrait
            if best is None or cand < best:
                best = cand
        assert best is not None
        orientation = best[3]
    fit_to_width(ws, f"A1:{a1(last_row, last_col)}", orientation, title_rows,
                 margins=PageMargins(left=MARGIN_IN, right=MARGIN_IN, top=0.6, bottom=0.6, header=0.3, footer=0.3))
    page_furniture(ws, edition)


def _protect(ws: Worksheet) -> None:
    """Protect labels and formulas from slips, with no password; let people resize and select."""
    p = ws.protection
    p.sheet = True
    p.formatColumns = False
    p.formatRows = False
    p.selectLockedCells = False
    p.selectUnlockedCells = False


def _meta_sheet(ws: Worksheet, spec: Spec, layout: WorkbookLayout, s: SheetLayout) -> None:
    for b in s.boxes:
        _write_box(ws, b)
    widths = {1: max(_units(b.text) for b in s.boxes if b.role == "meta_label") + 4, 2: 44.0, 3: 40.0}
    _set_widths(ws, widths)
    base: dict[int, float] = {}
    note_col = s.width
    for key, (r, c) in s.inputs.items():
        cell = ws.cell(r, c)
        hint = ""
        if key == EDITION_KEY:
            cell.value = spec.edition
            _apply(cell, STYLES["fixed"])
            hint = f"{spec.name}（{spec.issued_with}）"
        elif key == SUMMARY_KEY:
            cell.value = summary_formula(layout)
            _apply(cell, STYLES["summary"])
            hint = "自动计算：各表校验单元格中“✗”的个数"
            ws.conditional_formatting.add(a1(r, c), FormulaRule(
                formula=[f'LEFT({a1(r, c)},1)="✗"'], fill=BAD_FILL, font=BAD_FONT, stopIfTrue=True))
            ws.conditional_formatting.add(a1(r, c), FormulaRule(
                formula=[f'LEFT({a1(r, c)},1)="√"'], fill=GOOD_FILL, stopIfTrue=True))
        else:
            f = spec.field(key.split(".", 1)[1])
            _apply(cell, _Style(_font(), LEFT, INPUT_FILL, BOX, UNLOCKED,
                                DATE_FORMAT if f.type == "date" else "0" if f.type == "year" else "@"))
            dv = _field_dv(spec, f)
            ws.add_data_validation(dv)
            dv.add(a1(r, c))
            hint = _field_hint(spec, f)
            if f.required:
                ws.conditional_formatting.add(a1(r, c), FormulaRule(
                    formula=[f"ISBLANK({a1(r, c)})"], fill=BLANK_FILL, stopIfTrue=True))
        hc = ws.cell(r, note_col)
        hc.value = hint
        _apply(hc, STYLES["hint"])
        lines = math.ceil(_units(hint) / (widths[3] - 1))
        if key == SUMMARY_KEY:  # "✗ 有N处…" may wrap once in Excel's wider 宋体 glyphs
            lines = max(lines, 2)
        base[r] = max(INPUT_ROW_PT, lines * LINE_PT + ROW_PAD_PT)
    # the rows between the fields and the summary stay outside the form: no border
    _row_heights(ws, s, widths, base)
    ws.freeze_panes = "A3"
    _print_setup(ws, spec.edition, widths, s.width, s.last_row, (1, 2), "portrait")


def _prose_sheet(ws: Worksheet, spec: Spec, s: SheetLayout) -> None:
    for b in s.boxes:
        _write_box(ws, b)
    heading_w = 22.0
    widths = {1: heading_w, 2: 90.0}
    _set_widths(ws, widths)
    base = {}
    for r, c in s.inputs.values():
        _apply(ws.cell(r, c), _Style(_font(), TOP_LEFT, INPUT_FILL, BOX, UNLOCKED, "@"))
        base[r] = PROSE_ROW_PT
        dv = _dv("textLength", operator="lessThanOrEqual", formula1="32767", title="填写正文",
                 prompt="请填写本部分正文；没有内容请写明“无”并说明原因。", error="内容过长。")
        ws.add_data_validation(dv)
        dv.add(a1(r, c))
    _row_heights(ws, s, widths, base)
    ws.freeze_panes = "A3"
    _print_setup(ws, spec.edition, widths, s.width, s.last_row, (1, 2), "portrait")


def _table_sheet(ws: Worksheet, spec: Spec, s: SheetLayout) -> None:
    ws.sheet_view.showGridLines = False
    form_last = max(r for rows in s.data_rows.values() for r in rows)
    # borders on the whole form rectangle first, so merges and blank corners keep the grid
    for r in range(2, form_last + 1):
        for c in range(1, s.width + 1):
            ws.cell(r, c).border = BOX
    for b in s.boxes:
        _write_box(ws, b)

    widths = _label_widths(s)
    vw = _value_width(s)
    n_values = s.width - s.label_cols
    label_w = sum(widths.values())
    if label_w + n_values * vw < FORM_TARGET_W:  # few columns: spread them like the printed form
        vw = round((FORM_TARGET_W - label_w) / n_values, 1)
    for c in range(s.label_cols + 1, s.width + 1):
        widths[c] = vw
    check_cols = sorted({c.col for c in s.checks if c.col > s.width})
    if check_cols:
        widths[s.width + 1] = GAP_COL_W
        for c in check_cols:  # wide enough for its label in two lines per header row
            label = next((b for b in s.boxes if b.role == "check_label" and b.col == c), None)
            need = math.ceil(_units(label.text) / (2 * (label.row2 - label.row + 1))) + 2 if label else 0
            widths[c] = max(CHECK_COL_W, min(24.0, need))
    _set_widths(ws, widths)

    # value cells
    groups: dict[str, list[tuple[int, int]]] = {}
    dvs: dict[str, DataValidation] = {}
    for key, (r, c) in s.inputs.items():
        cell = spec.cells[key]
        style = _Style(_font(), RIGHT, INPUT_FILL, BOX, UNLOCKED, NUMBER_FORMATS.get(cell.type, "General"))
        last = s.input_span.get(key, c)
        for cc in range(c, last + 1):
            _apply(ws.cell(r, cc), style)
        if last > c:
            ws.merge_cells(f"{a1(r, c)}:{a1(r, last)}")
            for cc in range(c + 1, last + 1):  # a merged cell keeps its own lock flag
                ws.cell(r, cc).protection = UNLOCKED
        kind, dv = _cell_dv(spec, cell)
        if kind not in dvs:
            dvs[kind] = dv
            ws.add_data_validation(dv)
        dvs[kind].add(a1(r, c))
        groups.setdefault(cell.type, []).append((r, c))

    # live checks: the cell and, when broken, the totals it compares turn red
    for chk in s.checks:
        cell = ws.cell(chk.row, chk.col)
        cell.value = chk.formula
        _apply(cell, STYLES["check"])
        targets = [a1(chk.row, chk.col)] + [a1(*s.inputs[k]) for k in chk.equation.lhs]
        ws.conditional_formatting.add(" ".join(targets), FormulaRule(
            formula=[f"NOT({absolute(chk.ok)})"], fill=BAD_FILL, font=BAD_FONT, stopIfTrue=True))
    _input_rules(ws, groups)

    base = {r: INPUT_ROW_PT for rows in s.data_rows.values() for r in rows}
    for chk in s.checks:
        base.setdefault(chk.row, INPUT_ROW_PT)
    _row_heights(ws, s, widths, base)

    first_grid = next(iter(s.header_rows))
    header_end = s.header_rows[first_grid][-1]
    ws.freeze_panes = a1(header_end + 1, 1) if len(s.header_rows) == 1 else "A2"
    title_rows = (1, header_end) if len(s.header_rows) == 1 else (1, 1)
    _print_setup(ws, spec.edition, widths, s.width, form_last, title_rows)


def build_template(spec: Spec) -> Workbook:
    """The empty standard workbook of ``spec``'s edition, every position taken from the layout."""
    layout = workbook_layout(spec)
    wb = Workbook()
    wb.remove(wb.active)
    for s in layout.sheets:
        ws = wb.create_sheet(s.name)
        if s.kind == "meta":
            _meta_sheet(ws, spec, layout, s)
        elif s.kind == "prose":
            _prose_sheet(ws, spec, s)
        else:
            _table_sheet(ws, spec, s)
        _protect(ws)
    wb.active = 0
    p = wb.properties
    p.title = spec.name
    p.subject = f"{spec.edition} 版（{spec.issued_with}）"
    p.creator = "gxsheet"
    p.lastModifiedBy = "gxsheet"
    p.created = FIXED_TIME
    p.modified = FIXED_TIME
    return wb


_CORE_DATES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def normalize_xlsx(data: bytes) -> bytes:
    """Make a saved workbook reproducible: constant docProps dates and zip entry timestamps.

    openpyxl stamps ``modified`` with the current time on save and zip entries with the clock.
    """
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _CORE_DATES.sub(lambda m: m.group(1) + stamp + m.group(3), body)
            zi = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            zi.create_system = 0
            dst.writestr(zi, body, compresslevel=9)
    return out.getvalue()


def template_bytes(spec: Spec) -> bytes:
    """The template as reproducible .xlsx bytes."""
    buf = io.BytesIO()
    build_template(spec).save(buf)
    return normalize_xlsx(buf.getvalue())


def write_template(edition: str, path: str | Path, *, force: bool = False) -> Path:
    """Write the template of ``edition`` to ``path`` atomically; refuse to overwrite without force."""
    spec = load_spec(edition)
    out = atomic.check_output(path, force=force)
    return atomic.write_bytes(out, template_bytes(spec))


def templates_dir() -> Path:
    """The committed templates: ``gxsheet/workbook_templates`` (source tree, editable or wheel install)."""
    from gxsheet.core.data import data_dir

    return data_dir("workbook_templates")


def template_name(edition: str) -> str:
    return f"gxsheet-{edition}.xlsx"


@cache
def template_file(edition: str) -> Path:
    """The standard template of ``edition`` as a file: the committed one, or — for an edition that has
    a spec but no committed template (one added through ``$GXSHEET_SPECS``) — one built from its spec
    into a private temporary folder, once per process."""
    committed = templates_dir() / template_name(edition)
    if committed.is_file():
        return committed
    folder = Path(tempfile.mkdtemp(prefix="gxsheet-template-"))
    atexit.register(shutil.rmtree, folder, True)
    return atomic.write_bytes(folder / template_name(edition), template_bytes(load_spec(edition)))


def build_all(out_dir: str | Path | None = None) -> list[Path]:
    """Regenerate the template of every edition (overwriting): what ``workbook_templates/build.py`` runs."""
    from gxsheet.core.spec import editions

    folder = Path(out_dir) if out_dir is not None else templates_dir()
    return [write_template(e, folder / template_name(e), force=True) for e in editions()]
