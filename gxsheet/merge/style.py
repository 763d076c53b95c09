"""How the county workbook's sheets look on screen and on paper: cell styles, writing a town's
value as what it is, widths and heights in the units stored in the file, merged header bands, and
the page setup every printed sheet shares.

Shared by the sheets of :mod:`gxsheet.merge.workbook` (汇总, 问题清单, 问题一览),
:mod:`gxsheet.merge.overview` (概况) and :mod:`gxsheet.merge.print_tables` (打印-表二/三/四), all
written with XlsxWriter in ``constant_memory`` mode: row by row, a row written out for good when
the next one starts.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from gxsheet.core.display import cell_lines
from gxsheet.core.sanitise import cell as cell_text
from gxsheet.core.sanitise import page_header as header_text
from gxsheet.render.template import PAGE_FOOTER, SONG

if TYPE_CHECKING:
    from gxsheet.merge.county import Entry, MergeResult

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
BIG = 2**1023
AMOUNT_FORMAT = "#,##0.00####"
COUNT_FORMAT = "0"
DATE_FORMAT = "yyyy-mm-dd"
#: a header label's wrapped line (10 pt bold), points
HEAD_LINE_PT = 14.0


def safe(text: object) -> str:
    """A town's text for a cell (:func:`gxsheet.core.sanitise.cell`): controls and invisible marks
    escaped (a town's text must never break the file or hide in it), cut at what a cell holds."""
    return cell_text(str(text))


# The county workbook's cell styles, as XlsxWriter format properties (made into formats per workbook).
OK_FILL, WARN_FILL, BAD_FILL = "#C6EFCE", "#FFEB9C", "#FFC7CE"
HEAD_FILL, TOTAL_FILL = "#E7E6E6", "#DDEBF7"
_BORDER = {"border": 1, "border_color": "#9E9E9E"}
_CENTER = {"align": "center", "valign": "vcenter", "text_wrap": True}
_LEFT = {"align": "left", "valign": "vcenter", "text_wrap": True}
_LINK_FONT = {"font_color": "#0563C1", "underline": 1}
_GREY = {"font_color": "#808080"}


def fill(colour: str | None) -> dict[str, object]:
    return {"pattern": 1, "bg_color": colour} if colour else {}


STYLES: dict[str, dict[str, object]] = {
    "title": {"font_name": "黑体", "font_size": 14, "bold": True, **_LEFT},
    "subtitle": {"font_size": 9, **_GREY, **_LEFT},
    "head": {"font_size": 10, "bold": True, **fill(HEAD_FILL), **_BORDER, **_CENTER},
    "key": {"font_size": 8, **_GREY, **fill(HEAD_FILL), **_BORDER, **_CENTER},
    "not_counted": _GREY,
    "link": {**_LINK_FONT, **_BORDER, "valign": "top"},
    "note": {"bold": True, "font_color": "#9C0006", **fill("#FFC7CE"), "text_wrap": True, "valign": "vcenter"},
    "message": _LEFT,
    "wrap": {"text_wrap": True},
    "date": {"num_format": DATE_FORMAT},
    "total_label": {"bold": True, **fill(TOTAL_FILL), **_BORDER},
    "total_blank": {**fill(TOTAL_FILL), **_BORDER},
    "total_count": {"bold": True, **fill(TOTAL_FILL), **_BORDER, "num_format": COUNT_FORMAT},
    "total_amount": {"bold": True, **fill(TOTAL_FILL), **_BORDER, "num_format": AMOUNT_FORMAT},
    #: a bordered cell of a small table (概况, the 打印 sheets): text wraps, numbers right
    "cell": {**_BORDER, "text_wrap": True, "valign": "top"},
    "number": {**_BORDER, "valign": "top", "num_format": COUNT_FORMAT},
}


class Formats:
    """The styles above as one workbook's XlsxWriter formats (a format belongs to its workbook)."""

    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        for name, props in STYLES.items():
            setattr(self, name, wb.add_format(props))
        #: by fill: a flagged cell; an amount (None: not flagged); a status, linked to 问题清单 or not
        self.flagged = {f: wb.add_format(fill(f)) for f in (BAD_FILL, WARN_FILL)}
        self.amount = {f: wb.add_format({**fill(f), "num_format": AMOUNT_FORMAT}) for f in (None, BAD_FILL, WARN_FILL)}
        self.status = {(f, linked): wb.add_format({**(_LINK_FONT if linked else {}), **fill(f)})
                       for f in (OK_FILL, WARN_FILL, BAD_FILL) for linked in (False, True)}
        #: the same, bordered and wrapped: the status column of a printed list (问题一览, 打印 sheets)
        self.boxed_status = {f: wb.add_format({**_BORDER, **fill(f), "text_wrap": True, "valign": "top"})
                             for f in (OK_FILL, WARN_FILL, BAD_FILL)}
        #: 问题清单 and 问题一览: wrapped, top-aligned, bordered; severity and counts coloured
        self.sev = {f: wb.add_format({**_BORDER, **fill(f), "valign": "top"}) for f in (BAD_FILL, WARN_FILL)}
        self.grid = {f: wb.add_format({**_BORDER, **fill(f), "align": "center", "valign": "top"})
                     for f in (None, OK_FILL, BAD_FILL, WARN_FILL)}
        #: a value of a printed table: bordered, coloured when flagged, amounts with their decimals
        self.boxed = {(f, amount): wb.add_format({**_BORDER, **fill(f), "valign": "top",
                                                  "num_format": AMOUNT_FORMAT if amount else COUNT_FORMAT})
                      for f in (None, BAD_FILL, WARN_FILL) for amount in (False, True)}
        self.boxed_grey = wb.add_format({**_BORDER, **_GREY, "text_wrap": True, "valign": "top"})


def status_fill(errors: int, warnings: int) -> str:
    return BAD_FILL if errors else WARN_FILL if warnings else OK_FILL


def flag_fills(entry: Entry, shown: Collection[str]) -> dict[str, str]:
    """The fill of each of ``shown``'s value cells a finding of ``entry`` names: red where an error
    names it, else yellow (a warning, or an amount whose unit nobody stated)."""
    findings = entry.findings
    flagged = {k: BAD_FILL for f in findings if f.severity == "error" for k in f.keys}
    for k in {k for f in findings if f.severity != "error" for k in f.keys} | entry.unit_unknown:
        flagged.setdefault(k, WARN_FILL)
    return {k: fill for k, fill in flagged.items() if k in shown}


def put(ws: Worksheet, r: int, c: int, v: object, fmt: Format | None = None, date_fmt: Format | None = None) -> None:
    """One cell (0-based) of data from a town's file, written as what it is and nothing more.

    Text is text (the workbook's options already keep XlsxWriter from turning it into a formula,
    link or number) with controls and invisible marks escaped; a number no spreadsheet can hold (beyond a
    double, NaN, infinite) keeps its digits as text rather than breaking the file; None writes
    nothing, or an empty styled cell when it has a style.
    """
    t = type(v)
    if (t is int and -BIG < v < BIG) or (t is float and math.isfinite(v)):  # type: ignore[operator,arg-type]
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
        ws.write_string(r, c, safe(v), fmt)


def is_number(v: object) -> bool:
    """A value a spreadsheet holds as a number (what a SUM counts)."""
    return (type(v) is int and -BIG < v < BIG) or (type(v) is float and math.isfinite(v))  # type: ignore[operator,arg-type]


def put_link(ws: Worksheet, r: int, c: int, target: str | None, text: str, fmt: Format) -> None:
    """``text`` linked to a place in this workbook (``'汇总'!A5``); past Excel's 65,530 links a sheet, plain text."""
    text = cell_text(text)
    if target is None or ws.write_url(r, c, f"internal:{target}", fmt, text) < 0:
        ws.write_string(r, c, text, fmt)


def link(sheet: str, ref: str) -> str:
    return f"'{sheet}'!{ref}"


def set_widths(ws: Worksheet, first: int, widths: Sequence[float]) -> None:
    """Column widths as stored in the file, in characters (``set_column`` would add Excel's cell padding)."""
    for j, w in enumerate(widths):
        ws.set_column_pixels(first + j, first + j, w * DIGIT_PX)


def declare_merged(ws: Worksheet, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
    """Declare a merged range whose cells are already written.

    In ``constant_memory`` mode ``merge_range`` refuses a range starting on a row already written
    out, and a header band spanning rows flushes its first row as it pads the rows below — so two
    bands side by side cannot both be merged through it (its author keeps that limit on purpose).
    The header is written row by row instead, each cell as ``merge_range`` would write it, and
    the ranges are declared here: the list XlsxWriter turns into ``<mergeCells>``.
    """
    ws.merge.append([first_row, first_col, last_row, last_col])


def head_height(columns: Sequence[tuple[str, float]]) -> float:
    """The height (pt) of a header row of (label, width) columns: its longest label, wrapped."""
    return max(cell_lines(label, width) for label, width in columns) * HEAD_LINE_PT + 6


def set_height(ws: Worksheet, row: int, points: float) -> None:
    """A row's height as stored in the file, in points (``set_row`` would round it to whole pixels)."""
    ws.set_row_pixels(row, points / PT_PER_PX)


# ============================================================================ printing

#: the printable width of an A4 landscape page within print_setup's margins, in points
PAGE_WIDTH_PT = (297 / 25.4 - 0.8) * 72
#: points a character of column width takes on paper at 100%, the widest way it is drawn: LibreOffice
#: without Calibri (or its metric twin Carlito) measures widths with DejaVu Sans, 7 pt a character
#: (measured in its PDF); Excel draws 5.6 pt (7 px and 5 px padding a column), so its pages come out
#: a little emptier rather than with a group's columns pushed onto a page of their own
PRINTED_PT_PER_CHAR = 7.0
#: characters of column width a landscape page holds at 100%, drawn the widest way
PAGE_CHARS = PAGE_WIDTH_PT / PRINTED_PT_PER_CHAR
#: how full a printed page is planned at most
PAGE_FILL = 0.95
#: a row of one line (points): Excel's default row and a border's room. A printed sheet states it as
#: its default row height: LibreOffice paginates by the heights in the file, and a row it sizes
#: itself (with its own fonts) can leave a last page that it then prints empty
ONE_LINE_PT = 16.0


def print_setup(ws: Worksheet, result: MergeResult, *, last_row: int, last_col: int, first_row: int = 0,
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
    ws.set_header(page_header(result, title))
    ws.set_footer(f'&C&"{SONG}"&9 {PAGE_FOOTER}')


def county_title(result: MergeResult, name: str | None = None) -> str:
    """``某县2021年度政府信息公开工作年度报告汇总``: what the county workbook's sheets, pages and
    properties call the merge. ``name``: the county's name made safe for where the title goes
    (default: as given; it may be the towns' 上级单位, so the caller escapes the whole)."""
    year = f"{result.year}年度" if result.year else ""
    return f"{(result.name or '') if name is None else name}{year}政府信息公开工作年度报告汇总"


def page_header(result: MergeResult, title: str = "") -> str:
    """The page header of the county's sheets: who and which year (left), the sheet (centre), the edition."""
    who = county_title(result, header_text(result.name or ""))
    # a font size code takes the digits after it: a space keeps "&9" apart from "2021版"
    font = f'&"{SONG}"&9 '
    return f'&L{font}{who}&C{font}{title or "&A"}&R{font}{result.edition}版'


class InRowOrder:
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
