"""One worksheet's cells, whichever way its XML is walked: value conversion and the walkers.

:class:`_Sheet` collects the cells of one sheet and owns everything that decides what a
cell holds, so every way of reading a part gives identical results: value conversion
(numbers, shared strings, booleans, Excel's ``_xHHHH_`` escapes, the text cap), shared
formulas translated to each dependant (budgeted, since a 25-byte ``<f t="shared"/>``
expands to a copy of the master), merged ranges, and the sheet limits, enforced as cells
arrive.  Only cells that hold a value or a formula are kept, as
:class:`~gxsheet.xlsx.cells.RawCell` (cached value + formula text + type + style index).
Interpreting them (dates, number formats, the report layout) is left to the callers.

Two walkers feed it.  :func:`_walk_tree` reads a normal-size part from an ElementTree
built entirely in C (expat -> C TreeBuilder, no Python call per element), converting the
plain numeric and shared-string cells inline; :func:`_stream` reads a part over
:data:`gxsheet.xlsx.workbook._TREE_MAX_BYTES` through Python expat handlers, so memory stays flat.
The fast path for plain parts (:mod:`gxsheet.xlsx.plain`) makes the same :class:`_Sheet`
calls.  Robust against real-world writers (Excel, WPS, LibreOffice, openpyxl, the .NET SDK):

* namespaces are matched by URI (transitional and strict OOXML, any prefix, or none);
* cells and rows without ``r`` get positions from their predecessors;
* rich-text strings are flattened, phonetic runs (``<rPh>``) dropped, and Excel's
  ``_xHHHH_`` escapes decoded; text is kept verbatim (``xml:space`` is honoured by simply
  never stripping).
"""

from __future__ import annotations

import math
import re
from typing import Any
from xml.etree import ElementTree as ET

from gxsheet.core.errors import LoadError
from gxsheet.core.limits import Limits
from gxsheet.xlsx.cells import (
    _LOCAL,
    _MAIN_NS,
    _POS_CACHE,
    MAX_COL,
    MAX_ROW,
    RawCell,
    SheetCells,
    _pos,
    _range,
    a1,
    col_letter,
    integral,
)
from gxsheet.xlsx.loader import Package, new_parser

# --------------------------------------------------------------------------- limits

#: what ``too_many_cells`` counts, as a Chinese message names it
_COUNTED_ZH = {"cells": "非空单元格", "merged ranges": "合并单元格区域", "merged cells": "合并区域覆盖的单元格"}


def sheet_too_large(path: str, sheet: str, where: str, max_rows: int, max_cols: int) -> LoadError:
    """'sheet-too-large': content at ``where`` (a cell or range) beyond the rows and columns read.
    Shared by every sheet reader (.xlsx here, .ods in :mod:`gxsheet.xlsx.ods`), so both say it alike."""
    return LoadError.make(path, "sheet-too-large", where, sheet=sheet, max_rows=max_rows, max_cols=max_cols)


def too_many_cells(path: str, sheet: str, what: str, limit: int) -> LoadError:
    """'too-many-cells': more than ``limit`` of ``what`` (a key of ``_COUNTED_ZH``) in ``sheet``."""
    return LoadError.make(
        path,
        "too-many-cells",
        f"{what} > {limit} in {sheet}",
        detail_zh=f"工作表「{sheet}」的{_COUNTED_ZH[what]}超过 {limit} 个",
        detail_en=f"sheet '{sheet}' has more than {limit} {what}",
    )


# --------------------------------------------------------------------------- text

_ESCAPE_RE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescape_match(m: re.Match[str]) -> str:
    return chr(int(m[1], 16))


def _text(s: str, cap: int) -> str:
    """Decode Excel's ``_xHHHH_`` escapes (``_x000D_`` = CR) and cap the length."""
    if "_x" in s:
        s = _ESCAPE_RE.sub(_unescape_match, s)
    if len(s) > cap:
        s = s[:cap]
    return s


# --------------------------------------------------------------------------- numbers

#: xsd:double as Excel writes it (ASCII digits only: Python's float() and int() would also
#: take '1_000', '٣', 'infinity' ...), surrounding whitespace allowed by the schema.
_XSD_NUMBER = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")


def number(vtext: str) -> int | float | str:
    """The value of a numeric cell's ``<v>``: the double Excel holds; int when the text is integral.

    Integral text (no '.', no exponent - openpyxl's rule for int, so both readers agree on the
    type) becomes the int equal to the double: beyond 2**53 that is the value Excel holds,
    not the digits written, and beyond int64 it stays a float (:func:`integral`).  A
    400-digit "integer" therefore never reaches the validator as an int no frame can compute
    with.  Text that is no finite xsd:double ('1e400', 'INF', 'NaN', '1_000') is kept as the
    text itself, so the validator reports it as not a number instead of computing with
    infinity or reading a blank.  Both the tree and the fast path convert through here.
    """
    if len(vtext) < 16 and vtext.isdigit() and vtext.isascii():
        return int(vtext)  # the usual case, quickly: fewer than 16 digits is exact in a double
    if _XSD_NUMBER.fullmatch(vtext) is None:
        return vtext
    try:
        v = float(vtext)  # linear in the text's length; giant digit strings become inf
    except (ValueError, OverflowError):
        return vtext
    if not math.isfinite(v):
        return vtext
    if "." in vtext or "e" in vtext or "E" in vtext:
        return v
    return integral(v)


# --------------------------------------------------------------------------- formulas

_FORMULA_SEGMENTS = re.compile(
    r'"(?:[^"]|"")*"'  # string literal
    r"|'(?:[^']|'')*'"  # quoted sheet name
    r"|\[(?:[^\[\]]|\[[^\[\]]*\])*\]"  # [external book] / structured ref, one level nested
    r"|[^\"'\[\]]+"  # anything else: where references live
)
_FORMULA_REFS = re.compile(
    r"(?<![A-Za-z0-9_.$\\])(?:"
    r"(\$?)([A-Z]{1,3})(\$?)([0-9]{1,7})"  # A1
    r"|(\$?)([A-Z]{1,3}):(\$?)([A-Z]{1,3})"  # A:C
    r"|(\$?)([0-9]{1,7}):(\$?)([0-9]{1,7})"  # 1:3
    r")(?![A-Za-z0-9_(.!\[])"
)


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _shift_refs(formula: str, drow: int, dcol: int) -> str | None:
    """Translate relative references by (drow, dcol), as Excel does for shared formulas.

    Returns None when the formula cannot be segmented safely (unbalanced quotes or
    brackets); the caller then keeps the master text and flags it.
    """
    pieces: list[str] = []
    end = 0
    for m in _FORMULA_SEGMENTS.finditer(formula):
        if m.start() != end:
            return None
        end = m.end()
        seg = m[0]
        if seg[0] in "\"'[":
            pieces.append(seg)
        else:
            pieces.append(_FORMULA_REFS.sub(lambda r: _shift_one(r, drow, dcol), seg))
    if end != len(formula):
        return None
    return "".join(pieces)


def _shift_col(anchor: str, letters: str, dcol: int) -> str | None:
    if anchor:
        return anchor + letters
    n = _col_number(letters) + dcol
    return col_letter(n) if 1 <= n <= MAX_COL else None


def _shift_row(anchor: str, digits: str, drow: int) -> str | None:
    if anchor:
        return anchor + digits
    n = int(digits) + drow
    return str(n) if 1 <= n <= MAX_ROW else None


def _shift_one(m: re.Match[str], drow: int, dcol: int) -> str:
    g = m.groups()
    if g[1] is not None:  # A1
        if _col_number(g[1]) > MAX_COL:
            return m[0]  # not a reference after all (e.g. a name like ZZZ1)
        c, r = _shift_col(g[0], g[1], dcol), _shift_row(g[2], g[3], drow)
        return "#REF!" if c is None or r is None else c + r
    if g[5] is not None:  # A:C
        c1, c2 = _shift_col(g[4], g[5], dcol), _shift_col(g[6], g[7], dcol)
        return "#REF!" if c1 is None or c2 is None else f"{c1}:{c2}"
    r1, r2 = _shift_row(g[8], g[9], drow), _shift_row(g[10], g[11], drow)
    return "#REF!" if r1 is None or r2 is None else f"{r1}:{r2}"


_MISSING = object()
#: Characters of translated shared-formula text per sheet (an amplification guard).
_SHIFT_BUDGET = 10_000_000


def _rich_text(el: ET.Element) -> str:
    """Text of an ``<si>``/``<is>``: plain ``<t>`` plus rich runs ``<r><t>``; ``<rPh>`` skipped."""
    local = _LOCAL.get
    parts = []
    for ch in el:
        k = local(ch.tag)
        if k == "t":
            parts.append(ch.text or "")
        elif k == "r":
            parts.extend(g.text or "" for g in ch if local(g.tag) == "t")
    return parts[0] if len(parts) == 1 else "".join(parts)


# --------------------------------------------------------------------------- sheets


#: Merged ranges, their total area and furthest row and column (see _merge_summary).
_MergeSummary = tuple[tuple[tuple[int, int, int, int], ...], int, int, int]


def _merge_summary(refs: tuple[str, ...]) -> _MergeSummary | None:
    """What :meth:`_Sheet.merge_all` needs to keep ``refs`` at once; None if one is malformed."""
    try:
        ranges = tuple(_range(ref) for ref in refs if ref)
    except ValueError:
        return None
    area = sum((r2 - r1 + 1) * (c2 - c1 + 1) for r1, c1, r2, c2 in ranges)
    return ranges, area, max((r[2] for r in ranges), default=0), max((r[3] for r in ranges), default=0)


def _quick_value(t: str | None, vtext: str | None, inline: str | None, sst: list[str], cap: int) -> Any:
    """The value of a ``<c>`` holding only a ``<v>`` (``vtext``) or only a plain inline
    string (``inline``), for the common cases the walkers convert without
    :meth:`_Sheet.cell`: a number, a shared string, an ``inlineStr``.

    None when there is nothing to keep; _MISSING when :meth:`_Sheet.cell` must decide.
    """
    if inline is None:
        if not vtext:
            return None
        if t is None or t == "n":
            return number(vtext)
        if t == "s" and vtext.isdigit() and vtext.isascii():
            idx = int(vtext)
            if idx < len(sst):
                return sst[idx] or None  # an empty string is no value
    elif t == "inlineStr":
        if not inline:
            return None
        return _text(inline, cap) if "_x" in inline or len(inline) > cap else inline
    return _MISSING


class _Sheet:
    """Collects one sheet's cells, whichever way the XML is walked (tree or stream).

    Owns value conversion, shared formulas and the per-sheet limits so both walkers
    produce identical results.
    """

    __slots__ = (
        "cap",
        "cells",
        "masters",
        "max_cells",
        "max_cols",
        "max_rows",
        "merged",
        "merged_area",
        "name",
        "part",
        "path",
        "pending",
        "ref",
        "shift_budget",
        "sst",
    )

    def __init__(self, pkg: Package, part: str, name: str, sst: list[str], limits: Limits):
        self.path = pkg.path
        self.part = part
        self.name = name
        self.sst = sst
        self.cap = limits.max_text_len
        self.max_rows = limits.max_rows
        self.max_cols = limits.max_cols
        self.max_cells = limits.max_cells
        self.cells: dict[tuple[int, int], RawCell] = {}
        self.merged: list[tuple[int, int, int, int]] = []
        self.merged_area = 0  # cells covered by merged ranges, summed
        self.ref: str | None = None  # <dimension ref>
        self.masters: dict[str, tuple[int, int, str]] = {}
        self.pending: list[tuple[tuple[int, int], str]] = []
        self.shift_budget = _SHIFT_BUDGET

    def bad(self, detail: str) -> LoadError:
        return LoadError.make(self.path, "corrupt", f"{self.part}: {detail}")

    def too_large(self, where: str) -> LoadError:
        return sheet_too_large(self.path, self.name, where, self.max_rows, self.max_cols)

    def too_many(self, what: str) -> LoadError:
        return too_many_cells(self.path, self.name, what, self.max_cells)

    def pos(self, ref: str) -> tuple[int, int]:
        try:
            return _pos(ref)
        except ValueError:
            raise self.bad(f"bad cell reference {ref!r}") from None

    def row_number(self, r: str) -> int:
        """A ``<row r>``: any row the format allows, empty or not.

        An empty row is not content, wherever it is: LibreOffice writes ``<row r="1048576">``
        (and ``<dimension ref="A1:L1048576">``) after a row is deleted, and a clerk can do
        nothing about it.  The limits apply to cells that hold something (:meth:`cell`).
        """
        try:
            n = int(r)
        except ValueError:
            raise self.bad(f"bad row number {r!r}") from None
        if not 1 <= n <= MAX_ROW:
            raise self.bad(f"bad row number {r!r}")
        return n

    def check_pos(self, pos: tuple[int, int]) -> None:
        """An empty ``<c>`` beyond the limits is harmless; beyond the format it is damage."""
        if not (1 <= pos[0] <= MAX_ROW and 1 <= pos[1] <= MAX_COL):
            raise self.bad(f"cell beyond the sheet's last row or column ({pos[0]}, {pos[1]})")

    def dimension(self, ref: str | None) -> None:
        """Keep the declared extent: a hint only, never a reason to refuse (the cells decide).

        Programs declare what they once touched, not what holds content (LibreOffice:
        ``A1:L1048576`` after deleting one row), so only cells with a value or formula are
        held to the limits.
        """
        self.ref = ref

    def merge(self, ref: str | None) -> None:
        """Keep a merged range; its extent and the total merged area are limited.

        openpyxl materialises one object per merged cell, so ``A1:XFD1048576`` (or a few
        thousand overlapping large ranges) would exhaust the memory of ``--annotate``.
        A malformed range is refused as damage, since openpyxl would fail on it too.
        """
        if not ref:
            return
        try:
            r1, c1, r2, c2 = rng = _range(ref)
        except ValueError:
            raise self.bad(f"bad merged range {ref!r}") from None
        if r2 > self.max_rows or c2 > self.max_cols:
            raise self.too_large(ref)
        self.merged.append(rng)
        if len(self.merged) > self.max_cells:
            raise self.too_many("merged ranges")
        self.merged_area += (r2 - r1 + 1) * (c2 - c1 + 1)
        if self.merged_area > self.max_cells:
            raise self.too_many("merged cells")

    def merge_all(self, refs: tuple[str, ...], summary: _MergeSummary | None) -> None:
        """:meth:`merge` each of ``refs``: in one go when ``summary`` shows no limit is hit."""
        if summary is not None:
            ranges, area, last_row, last_col = summary
            if (
                last_row <= self.max_rows
                and last_col <= self.max_cols
                and len(self.merged) + len(ranges) <= self.max_cells
                and self.merged_area + area <= self.max_cells
            ):
                self.merged.extend(ranges)
                self.merged_area += area
                return
        for ref in refs:
            self.merge(ref)

    def cell(
        self,
        pos: tuple[int, int],
        t: str,
        style: str | None,
        vtext: str | None,
        inline: str | None,
        ftext: str | None,
        fattrs: dict[str, str] | None,
    ) -> None:
        """Convert and keep one ``<c>``; ``vtext``/``ftext`` are None when absent."""
        value: str | float | int | bool | None
        if inline is not None:
            value = _text(inline, self.cap)
        elif not vtext:
            value = None
        elif t == "" or t == "n":
            value = number(vtext)
        elif t == "s":
            try:
                value = self.sst[int(vtext)]
            except (ValueError, IndexError):
                raise self.bad(f"bad shared-string index {vtext!r}") from None
        elif t == "b":
            value = vtext.strip() in ("1", "true", "TRUE")
        elif t == "str":
            value = _text(vtext, self.cap)
        else:  # 'e' error code, 'd' ISO date, anything unknown: keep the text
            value = vtext

        formula = ftext or None
        untranslated = waiting = False
        if fattrs is not None and fattrs.get("t") == "shared" and "si" in fattrs:
            si = fattrs["si"]
            if ftext:
                self.masters[si] = (pos[0], pos[1], ftext)
            elif si in self.masters:
                formula, untranslated = self.translate(self.masters[si], pos)
            else:  # master further down the file: resolve in finish()
                self.pending.append((pos, si))
                waiting = True

        if formula is None and not waiting and (value is None or value == ""):
            return
        if pos[0] > self.max_rows or pos[1] > self.max_cols:
            raise self.too_large(a1(*pos))
        cells = self.cells
        if len(cells) >= self.max_cells and pos not in cells:
            raise self.too_many("cells")
        try:
            s = int(style) if style else 0
        except ValueError:
            s = 0
        cells[pos] = RawCell(value, formula, t, s, untranslated)

    def translate(self, master: tuple[int, int, str], pos: tuple[int, int]) -> tuple[str, bool]:
        """Shared-formula text for the dependant at ``pos``: (text, untranslated flag).

        Expansion turns a 25-byte ``<f t="shared" si="0"/>`` into a copy of the master's
        text, so it is budgeted per sheet; past the budget (or for a formula that will not
        segment) dependants share the master's text object and are flagged instead.
        """
        mrow, mcol, text = master
        if len(text) > self.shift_budget:
            return text, True
        shifted = _shift_refs(text, pos[0] - mrow, pos[1] - mcol)
        if shifted is None:
            return text, True
        self.shift_budget -= len(shifted)
        return shifted, False

    def finish(self, state: str) -> SheetCells:
        for pos, si in self.pending:
            cell = self.cells.get(pos)
            if cell is None:
                continue
            master = self.masters.get(si)
            if master is not None:
                cell.formula, cell.formula_untranslated = self.translate(master, pos)
            elif cell.value is None:
                del self.cells[pos]  # neither a value nor a usable formula
        return SheetCells(self.name, self.cells, self.merged, self.ref, state)


def _walk_tree(pkg: Package, root: ET.Element, sheet: _Sheet) -> None:
    """Read a worksheet from its element tree (the fast path for normal-size sheets).

    Plain numeric and shared-string cells (``<c r s t><v>..</v></c>``, the bulk of any
    report) are converted inline; everything else goes through :meth:`_Sheet.cell`, and
    so does any fast-path cell that would hit a limit, so the checks live in one place.
    """
    local = _LOCAL.get
    pos_of = _POS_CACHE.get
    add = sheet.cell
    cells = sheet.cells
    sst = sheet.sst
    max_rows, max_cols, max_cells = sheet.max_rows, sheet.max_cols, sheet.max_cells
    # exact tag strings for this document's namespace, for cheap compares
    ns, _, _ = root.tag.rpartition("}")
    if ns[1:] in _MAIN_NS or not ns:
        prefix = f"{ns}}}" if ns else ""
        tag_c, tag_v, tag_is, tag_t = (prefix + name for name in ("c", "v", "is", "t"))
    else:
        tag_c = tag_v = tag_is = tag_t = None
    cap = sheet.cap
    charge = pkg.charge
    for part in root:
        k = local(part.tag)
        if k == "sheetData":
            row = 0
            for row_el in part:
                charge(len(row_el) + 1, sheet.part, sheet.name)  # rows and cells: the Python work
                if local(row_el.tag) != "row":
                    continue
                r = row_el.get("r")
                row = sheet.row_number(r) if r else row + 1
                col = 0
                for c in row_el:
                    get = c.get
                    ref = get("r")
                    if ref:
                        pos = pos_of(ref) or sheet.pos(ref)
                        row, col = pos
                    else:
                        col += 1
                        pos = (row or 1, col)
                    if row > max_rows or col > max_cols:
                        sheet.check_pos(pos)  # beyond the format: damage; else kept only if it holds something
                    n = len(c)
                    if not n:
                        continue  # formatted but empty
                    if c.tag != tag_c and local(c.tag) != "c":
                        continue
                    t = get("t")
                    if n == 1 and len(cells) < max_cells and row <= max_rows and col <= max_cols:
                        # fast path: <v> of a number / shared string, or a plain inline string
                        first = c[0]
                        value: Any = _MISSING
                        try:
                            if first.tag == tag_v:
                                value = _quick_value(t, first.text, None, sst, cap)
                            elif first.tag == tag_is and len(first) == 1 and first[0].tag == tag_t:
                                value = _quick_value(t, None, first[0].text or "", sst, cap)
                            if value is None:
                                continue  # nothing to keep
                            if value is not _MISSING:
                                style = get("s")
                                cells[pos] = RawCell(value, None, t or "", int(style) if style else 0)
                                continue
                        except ValueError:
                            pass  # odd style text: the general path decides
                    vtext = ftext = inline = fattrs = None
                    for ch in c:
                        kk = local(ch.tag)
                        if kk == "v":
                            vtext = ch.text or ""
                        elif kk == "f":
                            ftext = ch.text or ""
                            fattrs = ch.attrib
                        elif kk == "is":
                            inline = _rich_text(ch)
                    add(pos, t or "", get("s"), vtext, inline, ftext, fattrs)
        elif k == "dimension":
            sheet.dimension(part.get("ref"))
        elif k == "mergeCells":
            for mc in part:
                if local(mc.tag) == "mergeCell":
                    sheet.merge(mc.get("ref"))


def _stream(pkg: Package, part: str, sheet: _Sheet) -> None:
    """Read a worksheet with Python expat handlers (large sheets: memory stays flat).

    Character data goes straight into ``list.append`` (a C method) and only while
    inside ``<v>``/``<f>``/``<t>``, so inter-element whitespace never reaches Python.
    """
    local = _LOCAL.get
    pos_of = _POS_CACHE.get
    add = sheet.cell
    row = col = 0
    pos = (1, 1)
    ctype = ""
    cstyle: str | None = None
    vtext: str | None = None
    ftext: str | None = None
    fattrs: dict[str, str] | None = None
    buf: list[str] = []
    inline: list[str] | None = None
    in_rph = False
    p: Any = None

    allowed = pkg.elements_left
    count = 0

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal row, col, pos, ctype, cstyle, vtext, ftext, fattrs, buf, inline, in_rph, count
        count += 1
        if count > allowed:
            pkg.charge(count, part, sheet.name)  # raises
        k = local(tag)
        if k is None:
            return
        if k == "c":
            ref = attrs.get("r")
            if ref:
                pos = pos_of(ref) or sheet.pos(ref)
                row, col = pos
            else:
                col += 1
                pos = (row or 1, col)
            if pos[0] > sheet.max_rows or pos[1] > sheet.max_cols:
                sheet.check_pos(pos)  # beyond the format: damage; else kept only if it holds something
            ctype = attrs.get("t", "")
            cstyle = attrs.get("s")
            vtext = ftext = fattrs = inline = None
        elif k == "v":
            buf = []
            p.CharacterDataHandler = buf.append
        elif k == "row":
            r = attrs.get("r")
            row = sheet.row_number(r) if r else row + 1
            col = 0
        elif k == "f":
            buf = []
            fattrs = attrs
            p.CharacterDataHandler = buf.append
        elif k == "is":
            inline = []
        elif k == "t":
            if inline is not None and not in_rph:
                p.CharacterDataHandler = inline.append
        elif k == "rPh":
            in_rph = True
        elif k == "dimension":
            sheet.dimension(attrs.get("ref"))
        elif k == "mergeCell":
            sheet.merge(attrs.get("ref"))

    def end(tag: str) -> None:
        nonlocal vtext, ftext, in_rph
        k = local(tag)
        if k is None:
            return
        if k == "v":
            p.CharacterDataHandler = None
            vtext = "".join(buf)
        elif k == "c":
            if vtext is not None or ftext is not None or inline is not None:
                text = None if inline is None else "".join(inline)
                add(pos, ctype, cstyle, vtext, text, ftext, fattrs)
        elif k == "f":
            p.CharacterDataHandler = None
            ftext = "".join(buf)
        elif k == "t":
            p.CharacterDataHandler = None
        elif k == "rPh":
            in_rph = False

    p = new_parser()
    p.StartElementHandler = start
    p.EndElementHandler = end
    pkg.parse(part, p)
    pkg.charge(count, part, sheet.name)
