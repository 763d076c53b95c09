"""Fast streaming cell reader for .xlsx/.xlsm, built on :mod:`gxsheet.loader`.

Why not openpyxl: a county merges ~300 submitted workbooks per run and openpyxl builds a
full object model (styles, every cell object) for each, which is several times slower
than needed.  Here each part is inflated once and parsed by expat: normal-size parts are
built into an ElementTree entirely in C (expat -> C TreeBuilder, no Python call per
element) and walked once; parts over ``_TREE_MAX_BYTES`` stream through Python handlers
instead so memory stays flat.  Only cells that hold a value or a formula are kept, as
:class:`RawCell` (cached value + formula text + type + style index).  Interpreting them
(dates, number formats, the report layout) is left to the callers.

Robustness against real-world writers (Excel, WPS, LibreOffice, openpyxl, the .NET SDK):

* sheet parts are found through ``xl/_rels/workbook.xml.rels`` (absolute, relative,
  percent-encoded or differently-cased targets), never by guessing ``sheetN.xml``;
* namespaces are matched by URI (transitional and strict OOXML, any prefix, or none);
* cells and rows without ``r`` get positions from their predecessors;
* rich-text shared strings are flattened, phonetic runs (``<rPh>``) dropped, and Excel's
  ``_xHHHH_`` escapes decoded; text is kept verbatim (``xml:space`` is honoured by simply
  never stripping).

Every part is read through the loader's :class:`~gxsheet.loader.Package` (vetted sizes,
bounded inflation, DOCTYPE refused), and the sheet limits are enforced as cells arrive.
"""

from __future__ import annotations

import math
import os
import posixpath
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree as ET

from gxsheet.loader import (
    DEFAULT_LIMITS,
    Limits,
    LoadError,
    Package,
    new_parser,
    open_package,
)

__all__ = [
    "RawCell",
    "SheetCells",
    "WorkbookCells",
    "a1",
    "col_letter",
    "parse_a1",
    "read_workbook",
]

MAX_ROW = 1_048_576
MAX_COL = 16_384

_MAIN_NS = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
_REL_NS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)

_LOCALS = (
    "c", "v", "f", "row", "is", "t", "rPh", "dimension", "mergeCell", "si", "sheet",
    "workbookPr", "sheetData", "mergeCells", "r",
)  # fmt: skip

# Qualified element name -> local name, for the names we care about.  Elements in other
# namespaces (extLst, mc:AlternateContent, x14 ...) map to nothing and are skipped; names
# without a namespace are accepted too because some generators omit xmlns altogether.
# Both spellings: ``{uri}local`` from ElementTree (tree path) and ``uri local`` from
# loader.new_parser (streaming path).
_LOCAL: dict[str, str] = {f"{ns} {name}": name for ns in _MAIN_NS for name in _LOCALS}
_LOCAL.update({f"{{{ns}}}{name}": name for ns in _MAIN_NS for name in _LOCALS})
_LOCAL.update({name: name for name in _LOCALS})
_REL_ID_ATTRS = tuple(f"{ns} id" for ns in _REL_NS)


# --------------------------------------------------------------------------- A1 helpers

_A1_RE = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")
_POS_CACHE: dict[str, tuple[int, int]] = {}
_POS_CACHE_MAX = 100_000


def _pos(ref: str) -> tuple[int, int]:
    """(row, col) of an A1 reference, cached: templates repeat the same refs in every file."""
    pos = _POS_CACHE.get(ref)
    if pos is None:
        m = _A1_RE.fullmatch(ref)
        if m is None:
            raise ValueError(f"not an A1 cell reference: {ref!r}")
        col = 0
        for ch in m[1].upper():
            col = col * 26 + ord(ch) - 64
        row = int(m[2])
        if not (1 <= row <= MAX_ROW and 1 <= col <= MAX_COL):
            raise ValueError(f"cell reference out of range: {ref!r}")
        if len(_POS_CACHE) >= _POS_CACHE_MAX:
            _POS_CACHE.clear()
        pos = _POS_CACHE[ref] = (row, col)
    return pos


def parse_a1(ref: str) -> tuple[int, int]:
    """``"D5"`` -> ``(5, 4)`` (row, col), 1-based; ``$`` anchors and lower case accepted."""
    return _pos(ref.strip())


def col_letter(n: int) -> str:
    """1 -> ``"A"``, 27 -> ``"AA"``, 16384 -> ``"XFD"``."""
    if not 1 <= n <= MAX_COL:
        raise ValueError(f"column out of range: {n}")
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def a1(row: int, col: int) -> str:
    """``(5, 4)`` -> ``"D5"``."""
    if not 1 <= row <= MAX_ROW:
        raise ValueError(f"row out of range: {row}")
    return f"{col_letter(col)}{row}"


def _range(ref: str) -> tuple[int, int, int, int]:
    first, _, last = ref.partition(":")
    r1, c1 = _pos(first)
    r2, c2 = _pos(last) if last else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


# --------------------------------------------------------------------------- data model


@dataclass(slots=True)
class RawCell:
    """One stored cell: what the file says, uninterpreted.

    ``value`` is the cached value: numbers as int when the XML text is integral (``'3'``),
    else float; strings (shared, inline, formula results); bool; error codes such as
    ``'#REF!'`` as str.  ``None`` when a formula has no cached result.  ``formula`` is the
    formula text without ``=``.  For shared formulas the master's text is translated to
    this cell; if that was not possible ``formula_untranslated`` is True and ``formula``
    is the master's text verbatim.  ``type`` is the ``t`` attribute ('n', 's', 'str',
    'inlineStr', 'b', 'e', 'd' or '' when absent); ``style`` the ``s`` index.
    """

    value: str | float | int | bool | None
    formula: str | None
    type: str
    style: int = 0
    formula_untranslated: bool = False


@dataclass
class SheetCells:
    """The non-empty cells of one worksheet, keyed ``(row, col)``, 1-based."""

    name: str
    cells: dict[tuple[int, int], RawCell]
    merged: list[tuple[int, int, int, int]]  # (min_row, min_col, max_row, max_col)
    dimension: str | None
    state: str  # 'visible' / 'hidden' / 'veryHidden'

    def value(self, row: int, col: int) -> str | float | int | bool | None:
        """Cached value at (row, col), None when the cell is empty."""
        cell = self.cells.get((row, col))
        return None if cell is None else cell.value


@dataclass
class WorkbookCells:
    """All (or the requested) worksheets of one workbook, in workbook order."""

    path: str
    kind: str  # 'xlsx' / 'xlsm'
    sheets: dict[str, SheetCells]
    external_links: int  # externalLink parts: reported, never followed
    has_macros: bool
    date1904: bool = field(default=False)  # serial dates count from 1904 (old Mac files)


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
#: Integers up to here are exact in a double, i.e. exactly what Excel holds.
_EXACT = 2**53


def number(vtext: str) -> int | float | str:
    """The value of a numeric cell's ``<v>``: int when integral text, else float; odd text kept.

    A cell holds a double, so integral text beyond 2**53 becomes the float Excel would hold
    (a 400-digit "integer" must not reach the validator as an int no frame can compute
    with).  Text that is no finite xsd:double ('1e400', 'INF', 'NaN', '1_000') is kept as
    the text itself, so the validator reports it as not a number instead of computing with
    infinity or reading a blank.
    """
    if _XSD_NUMBER.fullmatch(vtext) is None:
        return vtext
    if "." not in vtext and "e" not in vtext and "E" not in vtext and len(vtext) < 20:
        n = int(vtext)
        if -_EXACT <= n <= _EXACT:
            return n
    try:
        v = float(vtext)
    except (ValueError, OverflowError):
        return vtext
    return v if math.isfinite(v) else vtext


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


# --------------------------------------------------------------------------- parts

#: Parts up to this size are read as a tree built in C (2-3x faster than Python
#: callbacks per element); larger ones stream through Python handlers so memory stays
#: flat.  Real report sheets are 10-100 KB.
_TREE_MAX_BYTES = 2 * 1024 * 1024
_MISSING = object()
#: Characters of translated shared-formula text per sheet (an amplification guard).
_SHIFT_BUDGET = 10_000_000


def _scan(pkg: Package, part: str, start: Any) -> None:
    """Run ``start(tag, attrs)`` over every element of a small metadata part.

    Streaming with a start handler only (tags ``"uri local"``): as fast as a tree for
    the usual few-KB parts, and memory stays flat if a hostile one is huge.
    """
    allowed = pkg.elements_left
    count = 0

    def counted(tag: str, attrs: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if count > allowed:
            pkg.charge(count, part)  # raises
        start(tag, attrs)

    p = new_parser()
    p.StartElementHandler = counted
    pkg.parse(part, p)
    pkg.charge(count, part)


def _read_rels(pkg: Package, part: str) -> list[tuple[str, str, str | None]]:
    """Relationships of ``part`` as (id, type, member name or None if external/missing)."""
    folder, base = posixpath.split(part)
    rels_part = pkg.find(posixpath.join(folder, "_rels", base + ".rels"))
    if rels_part is None:
        return []
    out = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        # any namespace: the package-relationships URI is shared by strict OOXML, and
        # some writers get it wrong while Excel does not care
        if tag.endswith("Relationship"):
            target = None
            if attrs.get("TargetMode") != "External":
                target = _resolve(pkg, folder, attrs.get("Target", ""))
            out.append((attrs.get("Id", ""), attrs.get("Type", ""), target))

    _scan(pkg, rels_part, start)
    return out


def _resolve(pkg: Package, folder: str, target: str) -> str | None:
    """Member name for a relationship target, relative to ``folder`` or absolute."""
    target = target.replace("\\", "/")
    if target.startswith("/"):
        path = target.lstrip("/")
    else:
        path = posixpath.normpath(posixpath.join(folder, target))
        if path.startswith("../") or path == "..":
            return None
    found = pkg.find(path)
    if found is None and "%" in path:
        found = pkg.find(unquote(path))
    return found


def _read_workbook_xml(pkg: Package, part: str) -> tuple[list[tuple[str, str, str]], bool]:
    """Sheets as (name, state, relationship id) in workbook order, and the date1904 flag."""
    sheets: list[tuple[str, str, str]] = []
    flags = {"date1904": False}
    local = _LOCAL.get

    def start(tag: str, attrs: dict[str, str]) -> None:
        k = local(tag)
        if k == "sheet":
            rid = next((attrs[key] for key in _REL_ID_ATTRS if key in attrs), "")
            if not rid:  # unknown relationships namespace: take any '... id' attribute
                rid = next((v for key, v in attrs.items() if key.endswith(" id")), "")
            sheets.append((attrs.get("name", ""), attrs.get("state", "visible"), rid))
        elif k == "workbookPr":
            flags["date1904"] = attrs.get("date1904", "").lower() in ("1", "true")

    _scan(pkg, part, start)
    return sheets, flags["date1904"]


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


def _too_many_strings(pkg: Package, limit: int) -> LoadError:
    return LoadError.make(
        pkg.path,
        "too-many-cells",
        f"shared strings > {limit}",
        detail_zh=f"共享字符串表超过 {limit} 条",
        detail_en=f"the shared-string table has more than {limit} entries",
    )


def _read_shared_strings(pkg: Package, part: str, limits: Limits) -> list[str]:
    """The shared-string table: rich-text runs flattened, phonetic runs (rPh) dropped."""
    cap = limits.max_text_len
    max_count = limits.max_shared_strings
    if pkg.size(part) <= _TREE_MAX_BYTES:
        root = pkg.tree(part)
        if len(root) > max_count:
            raise _too_many_strings(pkg, max_count)
        pkg.charge(len(root), part)
        local = _LOCAL.get
        strings = [_rich_text(si) for si in root if local(si.tag) == "si"]
        return [_text(s, cap) if "_x" in s or len(s) > cap else s for s in strings]

    strings = []
    append = strings.append
    local = _LOCAL.get
    parts: list[str] | None = None
    in_rph = False
    p: Any = None

    allowed = pkg.elements_left
    count = 0

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal parts, in_rph, count
        count += 1
        if count > allowed:
            pkg.charge(count, part)  # raises
        k = local(name)
        if k == "t":
            if parts is not None and not in_rph:
                p.CharacterDataHandler = parts.append
        elif k == "si":
            parts = []
        elif k == "rPh":
            in_rph = True

    def end(name: str) -> None:
        nonlocal parts, in_rph
        k = local(name)
        if k == "t":
            p.CharacterDataHandler = None
        elif k == "si" and parts is not None:
            append(_text("".join(parts), cap))
            parts = None
            if len(strings) > max_count:
                raise _too_many_strings(pkg, max_count)
        elif k == "rPh":
            in_rph = False

    p = new_parser()
    p.StartElementHandler = start
    p.EndElementHandler = end
    pkg.parse(part, p)
    pkg.charge(count, part)
    return strings


# --------------------------------------------------------------------------- sheets


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

    def too_large(self, detail: str) -> LoadError:
        return LoadError.make(
            self.path,
            "sheet-too-large",
            detail,
            sheet=self.name,
            max_rows=self.max_rows,
            max_cols=self.max_cols,
        )

    def too_many(self, what: str) -> LoadError:
        zh = {"cells": "非空单元格", "merged ranges": "合并单元格区域", "merged cells": "合并区域覆盖的单元格"}[what]
        limit = self.max_cells
        return LoadError.make(
            self.path,
            "too-many-cells",
            f"{what} > {limit} in {self.name}",
            detail_zh=f"工作表「{self.name}」的{zh}超过 {limit} 个",
            detail_en=f"sheet '{self.name}' has more than {limit} {what}",
        )

    def pos(self, ref: str) -> tuple[int, int]:
        try:
            return _pos(ref)
        except ValueError:
            raise self.bad(f"bad cell reference {ref!r}") from None

    def row_number(self, r: str) -> int:
        """A ``<row r>``, refused beyond the limits even when the row holds nothing.

        An empty row or cell far down is harmless to us but not to what reads the file
        next: openpyxl (``--annotate``) walks every row and column up to the furthest
        element, so one formatted cell at XFD1048576 would keep it busy for hours.
        """
        try:
            n = int(r)
        except ValueError:
            raise self.bad(f"bad row number {r!r}") from None
        if n < 1:
            raise self.bad(f"bad row number {r!r}")
        if n > self.max_rows:
            raise self.too_large(f"row {n}")
        return n

    def check_pos(self, pos: tuple[int, int]) -> None:
        """Refuse any ``<c>`` - empty or not - beyond the limits (see :meth:`row_number`)."""
        if pos[0] > self.max_rows or pos[1] > self.max_cols:
            raise self.too_large(f"cell {a1(*pos)}")

    def dimension(self, ref: str | None) -> None:
        """Refuse a sheet whose declared extent is beyond the limits, before reading cells."""
        self.ref = ref
        if not ref:
            return
        try:
            _, _, max_r, max_c = _range(ref)
        except ValueError:
            return  # a malformed dimension is only a hint; the cells decide
        if max_r > self.max_rows or max_c > self.max_cols:
            raise self.too_large(f"<dimension ref={ref}>")

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
            raise self.too_large(f"merged range {ref}")
        self.merged.append(rng)
        if len(self.merged) > self.max_cells:
            raise self.too_many("merged ranges")
        self.merged_area += (r2 - r1 + 1) * (c2 - c1 + 1)
        if self.merged_area > self.max_cells:
            raise self.too_many("merged cells")

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
            raise self.too_large(f"cell {a1(*pos)}")
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
    n_sst = len(sst)
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
                        sheet.check_pos(pos)  # raises, even for an empty cell
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
                                vtext = first.text
                                if not vtext:
                                    continue
                                if t is None or t == "n":
                                    value = (
                                        int(vtext)
                                        if vtext.isascii() and vtext.isdigit() and len(vtext) < 16
                                        else number(vtext)
                                    )
                                elif t == "s":
                                    idx = int(vtext)
                                    if 0 <= idx < n_sst:
                                        value = sst[idx]
                                        if not value:
                                            continue  # empty string: not a value
                            elif first.tag == tag_is and t == "inlineStr" and len(first) == 1:
                                only = first[0]
                                if only.tag == tag_t:
                                    value = only.text
                                    if not value:
                                        continue
                                    if "_x" in value or len(value) > cap:
                                        value = _text(value, cap)
                            if value is not _MISSING:
                                style = get("s")
                                cells[pos] = RawCell(value, None, t or "", int(style) if style else 0)
                                continue
                        except ValueError:
                            pass  # odd number or style text: the general path decides
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
                sheet.check_pos(pos)  # raises, even for an empty cell
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


def _read_sheet(pkg: Package, part: str, name: str, state: str, sst: list[str], limits: Limits) -> SheetCells:
    """One worksheet's non-empty cells (value or formula), merged ranges and dimension."""
    sheet = _Sheet(pkg, part, name, sst, limits)
    if pkg.size(part) <= _TREE_MAX_BYTES:
        _walk_tree(pkg, pkg.tree(part), sheet)
    else:
        _stream(pkg, part, sheet)
    return sheet.finish(state)


# --------------------------------------------------------------------------- workbook

_WORKSHEET_TYPES = ("/worksheet",)
_MACRO_SHEET_TYPES = ("/xlMacrosheet", "/xlIntlMacrosheet")
_EXTERNAL_LINK_PART = re.compile(r"(?i)xl[/\\]externalLinks[/\\][^/\\]+\.xml$")


def read_workbook(
    path: str | os.PathLike[str],
    limits: Limits | None = None,
    sheets: Collection[str] | None = None,
) -> WorkbookCells:
    """Read the cells of a submitted workbook, safely and fast.

    ``sheets`` restricts parsing to those sheet names (unknown names are ignored; the
    result holds only the sheets found, in workbook order).  Chart sheets, dialog sheets
    and Excel 4 macro sheets are not worksheets and are skipped.  Raises
    :class:`~gxsheet.loader.LoadError` for anything the loader refuses, and kind 'corrupt'
    for structurally broken workbooks.
    """
    limits = limits or DEFAULT_LIMITS
    wanted = None if sheets is None else set(sheets)
    with open_package(path, limits) as pkg:
        entries, date1904 = _read_workbook_xml(pkg, pkg.workbook_part)
        rels = _read_rels(pkg, pkg.workbook_part)
        by_id = {rid: (typ, target) for rid, typ, target in rels}

        sst_part = next(
            (tgt for _, typ, tgt in rels if typ.endswith("/sharedStrings") and tgt),
            None,
        )
        if sst_part is None:
            sst_part = pkg.find("xl/sharedStrings.xml")
        # externalLink parts, whether or not the workbook still references them
        links = {tgt.lower() for _, typ, tgt in rels if typ.endswith("/externalLink") and tgt}
        links.update(n.lower() for n in pkg.names() if _EXTERNAL_LINK_PART.match(n))
        has_macros = pkg.kind == "xlsm" or any(typ.endswith(_MACRO_SHEET_TYPES) for _, typ, _ in rels)

        todo: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        for name, state, rid in entries:
            if name.lower() in seen:
                raise LoadError.make(pkg.path, "corrupt", f"duplicate sheet name {name!r}")
            seen.add(name.lower())
            typ, target = by_id.get(rid, ("", None))
            if not typ:
                raise LoadError.make(pkg.path, "corrupt", f"sheet {name!r} has no part")
            if not typ.endswith(_WORKSHEET_TYPES):
                continue  # chartsheet, dialogsheet, macro sheet
            if wanted is not None and name not in wanted:
                continue
            if target is None:
                raise LoadError.make(pkg.path, "corrupt", f"sheet {name!r}: part missing")
            todo.append((name, state, target))

        sst = _read_shared_strings(pkg, sst_part, limits) if sst_part and todo else []
        result = {name: _read_sheet(pkg, target, name, state, sst, limits) for name, state, target in todo}
        return WorkbookCells(
            path=pkg.path,
            kind=pkg.kind,
            sheets=result,
            external_links=len(links),
            has_macros=has_macros,
            date1904=date1904,
        )
