"""A small streaming .xlsx writer: rows become SpreadsheetML text as they are appended.

Why not openpyxl: its write-only mode still builds a cell object and an lxml element per cell,
which makes a county merge (~64,000 cells) spend ~0.4 s just writing. Here a row is turned into
XML text at once (numbers with ``repr``, text escaped, styles already resolved to an xf index) and
only that text is kept, so writing costs a string join and a deflate.

What it writes, and nothing more: values (numbers, text, booleans, dates, formulas), cell styles
(font, solid fill, four-sided border, alignment, number format), merged ranges, column widths, row
heights, frozen panes, an autofilter (with the hidden ``_xlnm._FilterDatabase`` name Excel
expects), print titles, and hyperlinks to places inside the workbook. Excel, LibreOffice and
openpyxl open the result.

Safety decisions, because cell text usually comes from other people's files:

* a ``str`` is always text, never a formula: only a :class:`Formula` becomes one, so ``=cmd|…``
  typed by someone else cannot turn into a live formula;
* characters XML 1.0 forbids (most C0 controls, lone surrogates, U+FFFE/U+FFFF) are removed
  rather than producing a file no program opens; a carriage return is kept as ``&#13;``;
* text longer than a cell holds (32,767 characters) is cut there, as Excel would otherwise call
  the file damaged;
* a number a spreadsheet cannot hold (NaN, infinities, integers beyond the double range) becomes
  the error value ``#NUM!`` instead of text Excel would reject as corrupt.

Output is deterministic (fixed zip timestamps, no creation time unless given): the same content
gives the same bytes, so two runs can be compared with ``cmp``.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from gxsheet.xlsx.workbook import MAX_COL, MAX_ROW, a1, col_letter, parse_a1

__all__ = [
    "Alignment", "Border", "Cell", "Font", "Formula", "ILLEGAL_XML", "Sheet", "Style", "Workbook",
    "clean_text", "col_letter",
]

#: Characters XML 1.0 does not allow in a document (a single one makes the file unreadable)
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NEEDS_ESCAPE = re.compile("[&<>\"\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")

#: deflate level: on sheet XML 1 is ~3× faster than the default 6, for a file about a third larger
COMPRESS_LEVEL = 1
#: zip member timestamp (the earliest a zip can hold): fixed, so output is reproducible
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
#: characters a cell holds: Excel calls a file with longer text damaged, so longer text is cut
MAX_TEXT = 32_767
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_EPOCH = datetime(1899, 12, 30)

#: number formats every spreadsheet program knows by id (ECMA-376 §18.8.30), locale-independent ones only
BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10,
                   "0.00E+00": 11, "@": 49}

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def clean_text(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids."""
    return ILLEGAL_XML.sub("", text)


def _esc(text: str) -> str:
    """Escaped for element text or a double-quoted attribute (forbidden characters dropped)."""
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    text = ILLEGAL_XML.sub("", text)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\r", "&#13;"))


def _num(v: float) -> str:
    """A size (width, height, font size) as short text: 15.0 → "15"."""
    s = repr(v)
    return s[:-2] if s.endswith(".0") else s


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


# ============================================================================ values and styles


@dataclass(frozen=True, slots=True)
class Formula:
    """A formula, with or without its leading '=' (``Formula("SUM(A1:A3)")``); the file has no cached result."""

    text: str


@dataclass(frozen=True, slots=True)
class Font:
    """A font; None/False fields are left to the program's default."""

    name: str | None = None
    size: float | None = None
    bold: bool = False
    italic: bool = False
    underline: str | None = None  # "single", "double"
    color: str | None = None  # ARGB, "FF0563C1"


@dataclass(frozen=True, slots=True)
class Border:
    """The same line on all four sides of a cell."""

    style: str = "thin"  # thin, medium, thick, dashed, dotted, double, hair
    color: str | None = None  # ARGB


@dataclass(frozen=True, slots=True)
class Alignment:
    """Where text sits in its cell, and whether it wraps onto more lines."""

    horizontal: str | None = None  # left, center, right, …
    vertical: str | None = None  # top, center, bottom
    wrap: bool = False


@dataclass(frozen=True, slots=True)
class Style:
    """How a cell looks. A value: equal styles share one xf entry in styles.xml."""

    font: Font | None = None
    fill: str | None = None  # solid fill colour, ARGB
    border: Border | None = None
    alignment: Alignment | None = None
    num_fmt: str | None = None  # "0", "#,##0.00", …; None is General


@dataclass(frozen=True, slots=True)
class Cell:
    """A value with a style and/or an internal hyperlink (``link="'Sheet 2'!A4"``)."""

    value: Any = None
    style: Style | None = None
    link: str | None = None


# ============================================================================ the sheet


class Sheet:
    """One worksheet. Rows are turned into XML as they are appended; the rest is recorded.

    Settings (widths, freeze, merges, filter, print titles) may be made before or after the rows:
    they are written around the row text when the workbook is saved.
    """

    def __init__(self, book: Workbook, name: str) -> None:
        self.book = book
        self.name = name
        self._rows: list[str] = []
        self._next_row = 1
        self._max_col = 0
        self._widths: dict[int, float] = {}
        self._merges: list[str] = []
        self._links: list[tuple[str, str]] = []
        self._freeze: str | None = None
        self._filter: str | None = None
        self.print_title_rows: tuple[int, int] | None = None
        self._letters: list[str] = []  # column letters, A at index 0

    # ---------------------------------------------------------------- layout

    @property
    def rows_written(self) -> int:
        return self._next_row - 1

    def set_width(self, col: int, width: float) -> None:
        """Width of column ``col`` (1-based) in characters of the default font."""
        col_letter(col)
        self._widths[col] = float(width)

    def freeze(self, ref: str) -> None:
        """Freeze the rows above and the columns left of ``ref`` ("B10": row 1..9 and column A)."""
        self._freeze = a1(*parse_a1(ref))

    def autofilter(self, ref: str) -> None:
        """Filter buttons on the first row of ``ref`` ("A9:GY300")."""
        self._filter = ":".join(a1(*parse_a1(end)) for end in ref.split(":", 1))

    def print_titles(self, first_row: int, last_row: int) -> None:
        """Rows repeated at the top of every printed page."""
        if not 1 <= first_row <= last_row:
            raise ValueError(f"bad print title rows {first_row}:{last_row}")
        self.print_title_rows = (first_row, last_row)

    def merge(self, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
        """Merge a rectangle (1-based, inclusive); its value is the top-left cell's.

        Merges must not overlap (Excel "repairs" such a file by dropping them); this is not checked.
        """
        if last_row < first_row or last_col < first_col or first_row < 1:
            raise ValueError(f"bad merge {first_row},{first_col}:{last_row},{last_col}")
        if (first_row, first_col) != (last_row, last_col):
            self._merges.append(f"{col_letter(first_col)}{first_row}:{col_letter(last_col)}{last_row}")

    # ---------------------------------------------------------------- rows

    def append(self, values: Sequence[Any], *, height: float | None = None) -> int:
        """Write the next row; returns its number. None is an empty cell (no XML at all).

        A value is an int, float, bool, str, date/datetime, :class:`Formula`, or a :class:`Cell`
        wrapping one of those with a style or a link. The common cases (plain numbers and text)
        are formatted inline here: this loop runs once per cell and is most of the writing time.
        """
        r = self._next_row
        n = len(values)
        if r > MAX_ROW or n > MAX_COL:
            raise ValueError(f"row {r} with {n} cells: a sheet holds {MAX_ROW} rows of {MAX_COL} columns")
        self._next_row = r + 1
        rs = str(r)
        letters = self._letters
        while len(letters) < n:
            letters.append(col_letter(len(letters) + 1))
        out = [f'<row r="{rs}" ht="{_num(float(height))}" customHeight="1">' if height is not None else f'<row r="{rs}">']
        add = out.append
        cell, isfinite, big = self._cell, math.isfinite, _BIG
        for col, v in zip(letters, values, strict=False):  # letters may run past this row
            t = type(v)
            if t is int and -big < v < big:
                add(f'<c r="{col}{rs}"><v>{v}</v></c>')
            elif t is str:
                if v:
                    add(f'<c r="{col}{rs}" t="inlineStr"><is>{_t(v)}</is></c>')
            elif t is float and isfinite(v):
                add(f'<c r="{col}{rs}"><v>{v!r}</v></c>')
            elif v is not None:
                x = cell(col + rs, v)
                if x:
                    add(x)
        add("</row>")
        self._rows.append("".join(out))
        while n > self._max_col and values[n - 1] is None:
            n -= 1
        self._max_col = max(self._max_col, n)
        return r

    def _cell(self, ref: str, v: Any) -> str:
        """The XML of one cell in the general case (styled, linked, formula, bool, date, odd numbers)."""
        s = ""
        if type(v) is Cell:
            if v.link:
                self._links.append((ref, v.link))
            style, v = v.style, v.value
            if isinstance(v, (datetime, date)) and (style is None or style.num_fmt is None):
                style = _with_format(style, DATETIME_FORMAT if isinstance(v, datetime) else DATE_FORMAT)
            if style is not None:
                s = f' s="{self.book.xf(style)}"'
        elif isinstance(v, (datetime, date)):
            s = f' s="{self.book.xf(Style(num_fmt=DATETIME_FORMAT if isinstance(v, datetime) else DATE_FORMAT))}"'
        if v is None or v == "":
            return f'<c r="{ref}"{s}/>' if s else ""
        if isinstance(v, bool):
            return f'<c r="{ref}"{s} t="b"><v>{int(v)}</v></c>'
        if isinstance(v, int):
            if -_BIG < v < _BIG:
                return f'<c r="{ref}"{s}><v>{int(v)}</v></c>'
            return f'<c r="{ref}"{s} t="e"><v>#NUM!</v></c>'
        if isinstance(v, float):
            if math.isfinite(v):
                return f'<c r="{ref}"{s}><v>{float(v)!r}</v></c>'
            return f'<c r="{ref}"{s} t="e"><v>#NUM!</v></c>'
        if isinstance(v, str):
            return f'<c r="{ref}"{s} t="inlineStr"><is>{_t(str(v))}</is></c>'
        if isinstance(v, Formula):
            text = v.text[1:] if v.text.startswith("=") else v.text
            return f'<c r="{ref}"{s}><f>{_esc(text)}</f></c>'
        if isinstance(v, datetime):
            return f'<c r="{ref}"{s}><v>{(v.replace(tzinfo=None) - _EPOCH).total_seconds() / 86400!r}</v></c>'
        if isinstance(v, date):
            return f'<c r="{ref}"{s}><v>{(v - _EPOCH.date()).days}</v></c>'
        raise TypeError(f"{ref}: cannot write a {type(v).__name__} to a cell")

    # ---------------------------------------------------------------- the part

    def _xml(self, out: list[str]) -> None:
        """The worksheet part, as pieces appended to ``out``."""
        out.append(XML_DECL)
        out.append(f'<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">')
        if self._max_col and self._rows:
            out.append(f'<dimension ref="A1:{col_letter(self._max_col)}{self.rows_written}"/>')
        out.append('<sheetViews><sheetView workbookViewId="0"')
        out.append(' tabSelected="1">' if self.book.sheets[0] is self else ">")
        if self._freeze:
            out.append(_pane(self._freeze))
        out.append('</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>')
        if self._widths:
            out.append("<cols>")
            out.extend(f'<col min="{c}" max="{c}" width="{_num(w)}" customWidth="1"/>'
                       for c, w in sorted(self._widths.items()))
            out.append("</cols>")
        out.append("<sheetData>")
        out.extend(self._rows)
        out.append("</sheetData>")
        if self._filter:
            out.append(f'<autoFilter ref="{self._filter}"/>')
        if self._merges:
            out.append(f'<mergeCells count="{len(self._merges)}">')
            out.extend(f'<mergeCell ref="{m}"/>' for m in self._merges)
            out.append("</mergeCells>")
        if self._links:
            out.append("<hyperlinks>")
            out.extend(f'<hyperlink ref="{ref}" location="{_esc(loc)}"/>' for ref, loc in self._links)
            out.append("</hyperlinks>")
        out.append('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>')
        out.append("</worksheet>")

    def defined_names(self, index: int) -> list[str]:
        """This sheet's built-in names for workbook.xml (filter range, print titles)."""
        q = _quote_sheet(self.name)
        names = []
        if self._filter:
            a, _, b = self._filter.partition(":")
            rng = _absolute(a) + (":" + _absolute(b) if b else "")
            names.append(f'<definedName name="_xlnm._FilterDatabase" localSheetId="{index}" hidden="1">'
                         f"{_esc(q)}!{rng}</definedName>")
        if self.print_title_rows:
            first, last = self.print_title_rows
            names.append(f'<definedName name="_xlnm.Print_Titles" localSheetId="{index}">'
                         f"{_esc(q)}!${first}:${last}</definedName>")
        return names


#: integers a double holds without overflow; beyond it a cell gets #NUM!
_BIG = 2**1023
#: style objects remembered by identity (a workbook uses a few dozen; a caller making one per cell gets no cache)
_ID_CACHE = 1024


def _t(text: str) -> str:
    """An inline string's <t> element, keeping leading/trailing whitespace, cut to what a cell holds."""
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
    e = _esc(text)
    return f'<t xml:space="preserve">{e}</t>' if text != text.strip() else f"<t>{e}</t>"


def _with_format(style: Style | None, fmt: str) -> Style:
    if style is None:
        return Style(num_fmt=fmt)
    return Style(style.font, style.fill, style.border, style.alignment, fmt)


def _absolute(ref: str) -> str:
    """"B10" → "$B$10"."""
    row, col = parse_a1(ref)
    return f"${col_letter(col)}${row}"


def _pane(ref: str) -> str:
    """A frozen pane whose top-left scrolling cell is ``ref``."""
    row, col = parse_a1(ref)
    xs, ys = col - 1, row - 1
    if not xs and not ys:
        return ""
    pane = "bottomRight" if xs and ys else "topRight" if xs else "bottomLeft"
    split = (f' xSplit="{xs}"' if xs else "") + (f' ySplit="{ys}"' if ys else "")
    sel = "".join(f'<selection pane="{p}"/>' for p in ("topRight", "bottomLeft") if xs and ys)
    return (f'<pane{split} topLeftCell="{ref}" activePane="{pane}" state="frozen"/>{sel}'
            f'<selection pane="{pane}" activeCell="{ref}" sqref="{ref}"/>')


# ============================================================================ the workbook


class Workbook:
    """Sheets plus the style table; :meth:`save` writes the package."""

    def __init__(self, *, default_font: Font = Font(name="Calibri", size=11), creator: str | None = None,
                 created: datetime | None = None, application: str = "gxsheet") -> None:
        self.sheets: list[Sheet] = []
        self.default_font = default_font
        self.creator = creator
        self.created = created  # None: no timestamp, so the bytes do not depend on when
        self.application = application
        self._fonts: dict[Font, int] = {default_font: 0}
        self._fills: dict[str, int] = {}
        self._borders: dict[Border, int] = {}
        self._formats: dict[str, int] = {}
        self._xfs: dict[Style, int] = {Style(): 0}
        self._xf_by_id: dict[int, tuple[Style, int]] = {}

    def add_sheet(self, name: str) -> Sheet:
        """A new, empty sheet after the existing ones (names as Excel allows them: ≤ 31 characters, unique)."""
        name = clean_text(name)
        if not name or len(name) > 31 or _SHEET_NAME_BAD.search(name) or name.startswith("'") or name.endswith("'"):
            raise ValueError(f"not a valid sheet name: {name!r}")
        if any(s.name.lower() == name.lower() for s in self.sheets):
            raise ValueError(f"duplicate sheet name: {name!r}")
        sheet = Sheet(self, name)
        self.sheets.append(sheet)
        return sheet

    # ---------------------------------------------------------------- styles

    def xf(self, style: Style) -> int:
        """The cellXfs index of ``style``, registering it (and its font, fill, …) the first time."""
        hit = self._xf_by_id.get(id(style))
        if hit is not None and hit[0] is style:
            return hit[1]
        n = self._xfs.get(style)
        if n is None:
            if style.font is not None:
                self._fonts.setdefault(style.font, len(self._fonts))
            if style.fill is not None:
                self._fills.setdefault(style.fill, len(self._fills) + 2)  # 0 none, 1 gray125 are reserved
            if style.border is not None:
                self._borders.setdefault(style.border, len(self._borders) + 1)  # 0 is no border
            if style.num_fmt is not None and style.num_fmt not in BUILTIN_FORMATS:
                self._formats.setdefault(style.num_fmt, len(self._formats) + 164)  # custom ids start at 164
            n = self._xfs[style] = len(self._xfs)
        if len(self._xf_by_id) < _ID_CACHE:  # callers reuse a few style objects: skip hashing them again
            self._xf_by_id[id(style)] = (style, n)  # holds ``style``, so its id cannot be reused
        return n

    def _styles_xml(self) -> str:
        out = [XML_DECL, f'<styleSheet xmlns="{NS_MAIN}">']
        if self._formats:
            out.append(f'<numFmts count="{len(self._formats)}">')
            out.extend(f'<numFmt numFmtId="{i}" formatCode="{_esc(f)}"/>' for f, i in self._formats.items())
            out.append("</numFmts>")
        out.append(f'<fonts count="{len(self._fonts)}">')
        out.extend(_font_xml(f) for f in self._fonts)
        out.append(f'</fonts><fills count="{len(self._fills) + 2}">'
                   '<fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>')
        out.extend(f'<fill><patternFill patternType="solid"><fgColor rgb="{_esc(c)}"/><bgColor indexed="64"/>'
                   f"</patternFill></fill>" for c in self._fills)
        out.append(f'</fills><borders count="{len(self._borders) + 1}">'
                   "<border><left/><right/><top/><bottom/><diagonal/></border>")
        out.extend(_border_xml(b) for b in self._borders)
        out.append('</borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
                   f'</cellStyleXfs><cellXfs count="{len(self._xfs)}">')
        out.extend(self._xf_xml(s) for s in self._xfs)
        out.append('</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
                   '<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" '
                   'defaultPivotStyle="PivotStyleLight16"/></styleSheet>')
        return "".join(out)

    def _xf_xml(self, s: Style) -> str:
        fmt = 0 if s.num_fmt is None else BUILTIN_FORMATS.get(s.num_fmt, self._formats.get(s.num_fmt, 0))
        font = 0 if s.font is None else self._fonts[s.font]
        fill = 0 if s.fill is None else self._fills[s.fill]
        border = 0 if s.border is None else self._borders[s.border]
        attrs = f'numFmtId="{fmt}" fontId="{font}" fillId="{fill}" borderId="{border}" xfId="0"'
        for flag, on in (("applyNumberFormat", s.num_fmt is not None), ("applyFont", s.font is not None),
                         ("applyFill", s.fill is not None), ("applyBorder", s.border is not None),
                         ("applyAlignment", s.alignment is not None)):
            if on:
                attrs += f' {flag}="1"'
        a = s.alignment
        if a is None:
            return f"<xf {attrs}/>"
        al = "".join(f' {k}="{v}"' for k, v in (("horizontal", a.horizontal), ("vertical", a.vertical)) if v)
        wrap = ' wrapText="1"' if a.wrap else ""
        return f"<xf {attrs}><alignment{al}{wrap}/></xf>"

    # ---------------------------------------------------------------- the package

    def parts(self) -> list[tuple[str, bytes]]:
        """(zip member name, bytes) of every part, in the order they are stored."""
        if not self.sheets:
            raise ValueError("a workbook needs at least one sheet")
        n = len(self.sheets)
        sheet_types = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, n + 1))
        content_types = (
            f'{XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{sheet_types}"
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>')
        rels = (
            f'{XML_DECL}<Relationships xmlns="{NS_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{NS_REL}/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
            'core-properties" Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{NS_REL}/extended-properties" Target="docProps/app.xml"/>'
            "</Relationships>")
        book_rels = (
            f'{XML_DECL}<Relationships xmlns="{NS_PKG_REL}">'
            + "".join(f'<Relationship Id="rId{i}" Type="{NS_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                      for i in range(1, n + 1))
            + f'<Relationship Id="rId{n + 1}" Type="{NS_REL}/styles" Target="styles.xml"/></Relationships>')
        names = [x for i, s in enumerate(self.sheets) for x in s.defined_names(i)]
        workbook = (
            f'{XML_DECL}<workbook xmlns="{NS_MAIN}" xmlns:r="{NS_REL}"><workbookPr/>'
            '<bookViews><workbookView activeTab="0"/></bookViews><sheets>'
            + "".join(f'<sheet name="{_esc(s.name)}" sheetId="{i}" r:id="rId{i}"/>'
                      for i, s in enumerate(self.sheets, start=1))
            + "</sheets>"
            + (f"<definedNames>{''.join(names)}</definedNames>" if names else "")
            + '<calcPr calcId="191029" fullCalcOnLoad="1"/></workbook>')
        sheets = []
        for s in self.sheets:
            pieces: list[str] = []
            s._xml(pieces)
            sheets.append("".join(pieces).encode("utf-8"))
        return [
            ("[Content_Types].xml", content_types.encode()),
            ("_rels/.rels", rels.encode()),
            ("docProps/core.xml", self._core_xml().encode()),
            ("docProps/app.xml", self._app_xml().encode()),
            ("xl/workbook.xml", workbook.encode()),
            ("xl/_rels/workbook.xml.rels", book_rels.encode()),
            ("xl/styles.xml", self._styles_xml().encode()),
            *((f"xl/worksheets/sheet{i}.xml", data) for i, data in enumerate(sheets, start=1)),
        ]

    def _core_xml(self) -> str:
        body = ""
        if self.creator:
            body += f"<dc:creator>{_esc(self.creator)}</dc:creator>"
        if self.created is not None:
            stamp = self.created.strftime("%Y-%m-%dT%H:%M:%SZ")
            body += (f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
                     f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>')
        return (f'{XML_DECL}<cp:coreProperties '
                'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
                f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{body}</cp:coreProperties>')

    def _app_xml(self) -> str:
        return (f'{XML_DECL}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
                f'extended-properties"><Application>{_esc(self.application)}</Application></Properties>')

    def save(self, target: str | Path | IO[bytes]) -> None:
        """Write the .xlsx to a path or a binary file object."""
        with zipfile.ZipFile(target, "w") as zf:
            for name, data in self.parts():
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 0
                info.external_attr = 0o600 << 16
                zf.writestr(info, data, compresslevel=COMPRESS_LEVEL)


def _font_xml(f: Font) -> str:
    parts = ["<font>"]
    if f.bold:
        parts.append('<b val="1"/>')
    if f.italic:
        parts.append('<i val="1"/>')
    if f.underline:
        parts.append(f'<u val="{_esc(f.underline)}"/>')
    if f.size is not None:
        parts.append(f'<sz val="{_num(float(f.size))}"/>')
    if f.color:
        parts.append(f'<color rgb="{_esc(f.color)}"/>')
    if f.name:
        parts.append(f'<name val="{_esc(f.name)}"/>')
    parts.append("</font>")
    return "".join(parts)


def _border_xml(b: Border) -> str:
    color = f'<color rgb="{_esc(b.color)}"/>' if b.color else ""
    side = "".join(f'<{s} style="{_esc(b.style)}">{color}</{s}>' for s in ("left", "right", "top", "bottom"))
    return f"<border>{side}<diagonal/></border>"

