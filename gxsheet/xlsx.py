"""Fast streaming cell reader for .xlsx/.xlsm, built on :mod:`gxsheet.loader`.

Why not openpyxl: a county merges ~300 submitted workbooks per run and openpyxl builds a
full object model (styles, every cell object) for each, which is several times slower
than needed.  Here each part is inflated once and parsed by expat: normal-size parts are
built into an ElementTree entirely in C (expat -> C TreeBuilder, no Python call per
element) and walked once; parts over ``_TREE_MAX_BYTES`` stream through Python handlers
instead so memory stays flat.  Only cells that hold a value or a formula are kept, as
:class:`RawCell` (cached value + formula text + type + style index).  Interpreting them
(dates, number formats, the report layout) is left to the callers.

Fast path for plain sheets (``FAST_PATH``, :func:`_read_plain`): building that tree was
three quarters of the reading time, mostly for layout XML (column widths, conditional
formats, data validation) around a few hundred cells.  So a normal-size worksheet part in
the plain shape that Excel, WPS and openpyxl write is read without a tree: its single
``<sheetData>`` is cut out and split into cell and row tokens by one regular expression,
and the layout around it is only checked (dimension, merged ranges, and well-formedness by
the same guarded expat, memoised on the bytes before and after ``<sheetData>``, which
repeat in every file made from one template).  It gives exactly the tree path's results and errors: the same
:class:`_Sheet` calls in the same order, the same element count charged, text decoded as
expat decodes it, and every well-formedness rule expat applies to the cut-out part checked
to the letter.  Anything else falls back to the tree path for that part, before anything
is recorded: another encoding than UTF-8, a prefixed or foreign namespace on the sheet
elements, ``<sheetData>``/``<dimension>``/``<mergeCells>`` not children of the root or in
an unusual form, rich-text or phonetic inline strings, ``extLst`` or other children in a
cell, whitespace or comments, CDATA or processing instructions between the cells,
single-quoted attributes or attribute values with references or whitespace to normalise,
an element budget that would run out in the sheet, and XML that is not well-formed (so
the tree path reports it, with expat's message).

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
from xml.parsers import expat

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


_RANGE_CACHE: dict[str, tuple[int, int, int, int]] = {}


def _range(ref: str) -> tuple[int, int, int, int]:
    """(min_row, min_col, max_row, max_col) of ``A1`` or ``A1:B2``, cached like :func:`_pos`."""
    rng = _RANGE_CACHE.get(ref)
    if rng is None:
        first, _, last = ref.partition(":")
        r1, c1 = _pos(first)
        r2, c2 = _pos(last) if last else (r1, c1)
        if len(_RANGE_CACHE) >= _POS_CACHE_MAX:
            _RANGE_CACHE.clear()
        rng = _RANGE_CACHE[ref] = min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)
    return rng


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
    if len(vtext) < 16 and vtext.isdigit() and vtext.isascii():
        return int(vtext)  # the usual case, quickly: fewer than 16 digits is exact in a double
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


class _Memo(dict[Any, Any]):
    """A dict that empties itself when its entries grow past ``max_cost`` (sizes summed).

    Templates repeat the same parts, tags and texts in every submitted file, so a cache
    keyed by the raw XML of a part, an attribute list or a text node turns their parsing
    and decoding into one dict lookup.  ``get`` is dict's own (no Python call).
    """

    __slots__ = ("cost", "max_cost")

    def __init__(self, max_cost: int) -> None:
        super().__init__()
        self.cost = 0
        self.max_cost = max_cost

    def put(self, key: Any, value: Any, cost: int = 1) -> Any:
        if self.cost + cost > self.max_cost:
            self.clear()
            self.cost = 0
        self.cost += cost
        self[key] = value
        return value


def _scan(pkg: Package, part: str, start: Any) -> int:
    """Run ``start(tag, attrs)`` over every element of a small metadata part; the count.

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
    return count


#: Metadata parts up to this size have their scans memoised (see _scan_memo).
_SCAN_MEMO_MAX = 256 * 1024
_SCAN_MEMO = _Memo(4 * 1024 * 1024)  # (wanted, part bytes) -> (events, element count)


def _scan_memo(pkg: Package, part: str, wanted: Any) -> list[tuple[str, dict[str, str]]]:
    """The (tag, attrs) of the elements of ``part`` whose tag ``wanted`` accepts, in order.

    Every element is charged as :func:`_scan` charges it.  Memoised on the part's bytes:
    workbook.xml and its relationships repeat in every file made from one template.
    """
    data = pkg.read(part) if pkg.size(part) <= _SCAN_MEMO_MAX else None
    found = None if data is None else _SCAN_MEMO.get((wanted, data))
    if found is not None:
        pkg.charge(found[1], part)
        return found[0]
    events: list[tuple[str, dict[str, str]]] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        if wanted(tag):
            events.append((tag, attrs))

    count = _scan(pkg, part, start)
    if data is not None:
        _SCAN_MEMO.put((wanted, data), (events, count), len(data) + 100)
    return events


def _is_relationship(tag: str) -> bool:
    # any namespace: the package-relationships URI is shared by strict OOXML, and some
    # writers get it wrong while Excel does not care
    return tag.endswith("Relationship")


def _is_sheet_or_workbook_pr(tag: str) -> bool:
    return _LOCAL.get(tag) in ("sheet", "workbookPr")


def _read_rels(pkg: Package, part: str) -> list[tuple[str, str, str | None]]:
    """Relationships of ``part`` as (id, type, member name or None if external/missing)."""
    folder, base = posixpath.split(part)
    rels_part = pkg.find(posixpath.join(folder, "_rels", base + ".rels"))
    if rels_part is None:
        return []
    out = []
    for _, attrs in _scan_memo(pkg, rels_part, _is_relationship):
        target = None
        if attrs.get("TargetMode") != "External":
            target = _resolve(pkg, folder, attrs.get("Target", ""))
        out.append((attrs.get("Id", ""), attrs.get("Type", ""), target))
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
    date1904 = False
    for tag, attrs in _scan_memo(pkg, part, _is_sheet_or_workbook_pr):
        if _LOCAL[tag] == "sheet":
            rid = next((attrs[key] for key in _REL_ID_ATTRS if key in attrs), "")
            if not rid:  # unknown relationships namespace: take any '... id' attribute
                rid = next((v for key, v in attrs.items() if key.endswith(" id")), "")
            sheets.append((attrs.get("name", ""), attrs.get("state", "visible"), rid))
        else:
            date1904 = attrs.get("date1904", "").lower() in ("1", "true")
    return sheets, date1904


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


# --------------------------------------------------------------------------- plain sheets

#: Read worksheet parts in the plain shape real writers produce without building an
#: element tree (see the module docstring and :func:`_read_plain`).  Tests turn it off to
#: compare every result with the tree path.
FAST_PATH = True


# The prolog and the root start tag: an optional BOM and XML declaration, then the root
# (any name; the tree path does not look at it) with its attributes.
_PROLOG_RE = re.compile(
    rb"(?:\xef\xbb\xbf)?(?:<\?xml([^<>?]*)\?>)?[ \t\r\n]*"
    rb"<([A-Za-z_][A-Za-z0-9._-]*(?::[A-Za-z_][A-Za-z0-9._-]*)?)"
    rb"((?:[ \t\r\n]+[A-Za-z_][A-Za-z0-9._:-]*[ \t\r\n]*=[ \t\r\n]*(?:\"[^\"<]*\"|'[^'<]*'))*)[ \t\r\n]*>"
)
_ENCODING_RE = re.compile(rb"encoding[ \t\r\n]*=[ \t\r\n]*[\"']([^\"']*)[\"']")
_ROOT_ATTR_RE = re.compile(rb"([A-Za-z_][A-Za-z0-9._:-]*)[ \t\r\n]*=[ \t\r\n]*(?:\"([^\"<]*)\"|'([^'<]*)')")
_MAIN_NS_BYTES = (b"", *(ns.encode() for ns in _MAIN_NS))
#: An empty-element tag (``<x .../>``), attribute values containing '>' included.
_EMPTY_TAG_RE = re.compile(rb"<[^<>\"']*+(?:(?:\"[^\"]*+\"|'[^']*+')[^<>\"']*+)*+(?<=/)>")
_DIMENSION_RE = re.compile(rb'<dimension ref="([^"<>&\t\n\r]*)"/>')
_MERGES_RE = re.compile(rb'<mergeCells(?: count="[0-9]*")?>((?:<mergeCell ref="[^"<>&\t\n\r]*"/>)*+)</mergeCells>')
_MERGE_REF_RE = re.compile(rb'ref="([^"]*)"')
#: Bytes that are no XML character (C0 controls other than tab, LF, CR).
_NOT_XML_BYTES = bytes([*range(9), 11, 12, *range(14, 32)])

#: One token of a plain ``<sheetData>``: a cell with an optional ``<f>``, ``<v>`` and plain
#: inline string in schema order; a row start (or empty row); a row end.  ``re.split`` on
#: it returns the text between tokens too, so any other markup (rich text, ``<rPh>``,
#: ``extLst``, whitespace, comments, CDATA, other quoting) shows up as a non-empty gap.
_TOKEN_RE = re.compile(
    r"<c([^<>/]*+)(?:/>|>"
    r"(?:<f([^<>/]*+)(?:/>|>([^<]*+)</f>))?+"
    r"(?:<v/>|<v>([^<]*+)</v>)?+"
    r"(?:<is><t([^<>/]*+)>([^<]*+)</t></is>)?+"
    r"</c>)"
    r"|<row([^<>/]*+)(/?)>"
    r"|</row>"
)
_STRIDE = _TOKEN_RE.groups + 1  # re.split: the gap before a token, then its groups
#: A tag's attribute list in the plain shape: single spaces, double quotes, ASCII names,
#: and values that expat would report verbatim (no reference, no whitespace to normalise).
_PLAIN_ATTRS_RE = re.compile(r'(?: [A-Za-z_][A-Za-z0-9._-]*(?::[A-Za-z_][A-Za-z0-9._-]*)?="[^"<&\t\n\r]*")*+')
_PLAIN_ATTR_RE = re.compile(r' ([^=]+)="([^"]*)"')
#: The usual ``<c>`` attribute list (r, s, t in that order, plain values), parsed at once.
_USUAL_CELL_ATTRS_RE = re.compile(r' r="([A-Z]{1,3}[0-9]{1,7})"(?: s="([0-9]{1,9})")?(?: t="([A-Za-z]{1,9})")?')

_ATTRS_MEMO = _Memo(20_000)  # raw attribute list -> (attrs, prefixes) or None
_CELL_MEMO = _Memo(20_000)  # raw <c> attribute list -> _cell_attrs(raw)
_ROW_MEMO = _Memo(20_000)  # raw <row> attribute list -> (r, prefixes)
_CHARS_MEMO = _Memo(2_000_000)  # raw character data with '&' or CR -> text as expat reports it
_NO_PREFIXES: frozenset[str] = frozenset()


def _balanced(region: bytes) -> bool:
    """Whether ``region``, a stretch of a well-formed document, closes every element it opens.

    Then an element that follows it is a sibling of one that precedes it.  Counting tags
    is exact because '<' only starts markup in well-formed XML; comments, CDATA and
    processing instructions (which may hide '<') are refused.
    """
    if b"<!" in region or b"<?" in region:
        return False
    return region.count(b"<") == 2 * region.count(b"</") + len(_EMPTY_TAG_RE.findall(region))


def _well_formed(doc: bytes) -> bool:
    """Whether the guarded expat (DOCTYPE refused, namespaces on) accepts ``doc``."""
    try:
        new_parser().Parse(doc, True)
    except Exception:  # noqa: BLE001 - malformed or refused: the tree path reports it
        return False
    return True


def _check_prefix(prefix: bytes) -> tuple[int, str | None, frozenset[str]] | None:
    """What comes before a worksheet's ``<sheetData>``: (where the root start tag ends,
    ``<dimension ref>``, namespace prefixes the root declares); None unless plain.

    Plain means: UTF-8; the root's default namespace the main one or none (the tree path
    accepts both); ``<sheetData>`` a child of the root; at most one ``<dimension>``, a
    child of the root in its simplest form; nothing else named like 'sheetData',
    'dimension' or 'mergeCell'.  Well-formed: the prefix closed by ``<sheetData/>`` and
    the root end tag passes the guarded expat.
    """
    m = _PROLOG_RE.match(prefix)
    if m is None or b"sheetData" in prefix or b"mergeCell" in prefix:
        return None
    decl, root, root_attrs = m.groups()
    if decl:
        enc = _ENCODING_RE.search(decl)
        if enc is not None and enc[1].lower() not in (b"utf-8", b"utf8"):
            return None
    declared = {"xml"}
    for name, dq, sq in _ROOT_ATTR_RE.findall(root_attrs):
        if name == b"xmlns":
            if (dq or sq) not in _MAIN_NS_BYTES:
                return None  # another default namespace: the tree path ignores the cells
        elif name.startswith(b"xmlns:"):
            declared.add(name[6:].decode("ascii"))
    if not _well_formed(prefix + b"<sheetData/></" + root + b">"):
        return None  # (if well-formed, the root end tag makes <sheetData> a child of the root)
    root_end = m.end()
    dimension = None
    n = prefix.count(b"dimension")
    if n:
        d = prefix.find(b"<dimension ", root_end)
        dm = _DIMENSION_RE.match(prefix, d) if n == 1 and d >= 0 else None
        if dm is None or not _balanced(prefix[root_end:d]):
            return None
        dimension = dm[1].decode("utf-8")
    return root_end, dimension, frozenset(declared)


def _check_suffix(head: bytes, suffix: bytes) -> tuple[tuple[str, ...], _MergeSummary | None] | None:
    """The merged ranges in what comes after a worksheet's ``</sheetData>``; None unless plain.

    ``head`` is the part up to the end of the root start tag.  Plain means: at most one
    ``<mergeCells>``, a child of the root in its simplest form, and nothing else named
    like 'sheetData', 'dimension' or 'mergeCell'.  Well-formed: ``head`` followed by the
    suffix passes the guarded expat.  With :func:`_check_prefix` that makes the whole
    part (``<sheetData>`` emptied) well-formed: both sides are element content of the
    same root start tag, and ``<sheetData/>`` keeps their character data apart.
    """
    if b"sheetData" in suffix or b"dimension" in suffix or not _well_formed(head + suffix):
        return None
    n = suffix.count(b"mergeCell")
    if not n:
        return (), None
    mc = suffix.find(b"<mergeCells")
    mm = _MERGES_RE.match(suffix, mc) if mc >= 0 else None
    if mm is None:
        return None
    merges = tuple(ref.decode("utf-8") for ref in _MERGE_REF_RE.findall(mm[1]))
    if n != 2 + len(merges) or not _balanced(suffix[:mc]):
        return None
    return merges, _merge_summary(merges)


#: Verdicts on the bytes around ``<sheetData>``, which repeat in every file made from one
#: template (Excel rewrites the part before it - selection, active cell - more often than
#: the larger part after it, so the two are kept apart).
_PREFIX_MEMO = _Memo(2 * 1024 * 1024)  # prefix -> _check_prefix(prefix)
_SUFFIX_MEMO = _Memo(8 * 1024 * 1024)  # (head, suffix) -> _check_suffix(head, suffix)


def _plain_layout(
    data: bytes,
) -> tuple[str, str | None, tuple[tuple[str, ...], _MergeSummary | None], frozenset[str]] | None:
    """Split a worksheet part at its ``<sheetData>``; None when it is not plain.

    Returns the ``<sheetData>`` content (decoded), the ``<dimension ref>``, the merged
    ranges (with their :func:`_merge_summary`) and the namespace prefixes the root declares.  The verdicts on the bytes
    before and after ``<sheetData>`` (:func:`_check_prefix`, :func:`_check_suffix`)
    depend on nothing else, so they are memoised on them: identical bytes, identical
    verdict.

    Well-formedness of the content is checked here and as it is read, to the letter of
    what expat checks: bytes that are XML characters in UTF-8 (no control characters,
    no U+FFFE/U+FFFF) and no ``]]>`` here; markup that :data:`_TOKEN_RE` and
    :func:`_plain_attrs` only accept in well-formed shapes, character references that
    name XML characters (:func:`_xml_chars`), row nesting and declared namespace
    prefixes in :func:`_read_plain_cells`.
    """
    a = data.find(b"<sheetData")
    if a < 0:
        return None
    if data.startswith(b"<sheetData>", a):
        b = data.find(b"</sheetData>", a)
        if b < 0:
            return None
        body, end = data[a + 11 : b], b + 12
    elif data.startswith(b"<sheetData/>", a):
        body, end = b"", a + 12
    else:
        return None
    prefix = data[:a]
    before = _PREFIX_MEMO.get(prefix, _MISSING)
    if before is _MISSING:
        before = _PREFIX_MEMO.put(prefix, _check_prefix(prefix), len(prefix) + 100)
    if before is None:
        return None
    root_end, dimension, declared = before
    key = (data[:root_end], data[end:])
    merges = _SUFFIX_MEMO.get(key, _MISSING)
    if merges is _MISSING:
        merges = _SUFFIX_MEMO.put(key, _check_suffix(*key), len(key[0]) + len(key[1]) + 100)
    if merges is None:
        return None
    text = ""
    if body:
        if len(body.translate(None, _NOT_XML_BYTES)) != len(body) or (b"]" in body and b"]]>" in body):
            return None
        if not body.isascii() and (b"\xef\xbf\xbe" in body or b"\xef\xbf\xbf" in body):
            return None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return text, dimension, merges, declared


def _plain_attrs(raw: str) -> tuple[dict[str, str], frozenset[str]] | None:
    """A plain attribute list (see :data:`_PLAIN_ATTRS_RE`) and the prefixes it uses, else None.

    Refused as well (expat would refuse them, or they change namespaces): duplicate names,
    two prefixed names with the same local part, and namespace declarations.
    """
    found = _ATTRS_MEMO.get(raw, _MISSING)
    if found is not _MISSING:
        return found
    result = None
    if _PLAIN_ATTRS_RE.fullmatch(raw) is not None:
        pairs = _PLAIN_ATTR_RE.findall(raw)
        attrs = dict(pairs)
        prefixed = [name.partition(":") for name in attrs if ":" in name]
        if (
            len(attrs) == len(pairs)
            and not any(name.startswith("xmlns") for name in attrs)
            and len({local for _, _, local in prefixed}) == len(prefixed)
        ):
            prefixes = frozenset(prefix for prefix, _, _ in prefixed) if prefixed else _NO_PREFIXES
            result = attrs, prefixes
    return _ATTRS_MEMO.put(raw, result)


def _cell_attrs(
    raw: str,
) -> tuple[str | None, tuple[int, int] | None, str | None, str | None, int, frozenset[str], bool] | None:
    """A ``<c>`` attribute list as (r, its position or None if invalid, t, s, s as the
    style index RawCell gets, prefixes used, whether t means a number), memoised; None
    when not plain."""
    usual = _USUAL_CELL_ATTRS_RE.fullmatch(raw)
    if usual is not None:
        ref, style, t = usual.groups()
        prefixes = _NO_PREFIXES
    else:
        parsed = _plain_attrs(raw)
        if parsed is None:
            return None
        attrs, prefixes = parsed
        ref, style, t = attrs.get("r"), attrs.get("s"), attrs.get("t")
    pos = None
    if ref:
        try:
            pos = _pos(ref)
        except ValueError:
            pos = None  # the reader raises the tree path's error when it gets there
    try:
        index = int(style) if style else 0
    except ValueError:
        index = 0  # as _Sheet.cell
    return _CELL_MEMO.put(raw, (ref, pos, t, style, index, prefixes, t is None or t == "n"))


def _row_attrs(raw: str) -> tuple[str | None, frozenset[str]] | None:
    """A ``<row>`` attribute list as (r, prefixes used), memoised; None when not plain."""
    parsed = _plain_attrs(raw)
    return None if parsed is None else _ROW_MEMO.put(raw, (parsed[0].get("r"), parsed[1]))


def _xml_chars(raw: str) -> str | None:
    """Character data between two tags (with '&' or CR) as expat reports it; None if not
    well-formed.  Expat decodes it itself (line ends, entities, character references):
    markup cannot hide in ``raw``, so on its own in an element it reads exactly as in the part.
    """
    found = _CHARS_MEMO.get(raw)
    if found is not None:
        return found
    out: list[str] = []
    p = expat.ParserCreate()
    p.buffer_text = True
    p.CharacterDataHandler = out.append
    try:
        p.Parse(b"<t>" + raw.encode("utf-8") + b"</t>", True)
    except expat.ExpatError:
        return None
    return _CHARS_MEMO.put(raw, "".join(out), len(raw) + 64)


def _plain_tag(raw: str, declared: frozenset[str]) -> dict[str, str] | None:
    """A tag's attributes if their list ``raw`` is plain and uses only ``declared`` prefixes."""
    parsed = _plain_attrs(raw)
    return parsed[0] if parsed is not None and parsed[1] <= declared else None


def _plain_tokens_ok(parts: list[str | None], declared: frozenset[str]) -> bool:
    """Whether the tokens of a ``<sheetData>`` are well-formed (see :func:`_plain_layout`).

    :func:`_read_plain_cells` checks the same as it goes; this is for when a limit stopped
    it early, since a part that is not well-formed must be reported as such instead.
    """
    in_row = False
    it = iter(parts)
    next(it)
    for ca, fa, ft, vt, ta, tt, ra, rc, _ in zip(it, it, it, it, it, it, it, it, it, strict=True):
        if ca is not None:
            info = _cell_attrs(ca)
            if not in_row or info is None or not info[5] <= declared:
                return False
            if any(attrs and _plain_tag(attrs, declared) is None for attrs in (fa, ta)):
                return False
            if any(text and _xml_chars(text) is None for text in (ft, vt, tt)):
                return False
        elif ra is not None:
            if in_row or _plain_tag(ra, declared) is None:
                return False
            in_row = not rc
        elif not in_row:
            return False
        else:
            in_row = False
    return not in_row


def _read_plain_cells(text: str, parts: list[str | None], declared: frozenset[str], sheet: _Sheet) -> bool:
    """Feed the tokens of a plain ``<sheetData>`` to ``sheet`` exactly as :func:`_walk_tree`
    would; False (stop, fall back) at the first token that is not plain or not well-formed.
    """
    cell_attrs = _CELL_MEMO.get
    row_attrs = _ROW_MEMO.get
    chars = _CHARS_MEMO.get
    cells = sheet.cells
    sst, cap = sheet.sst, sheet.cap
    max_rows, max_cols, max_cells = sheet.max_rows, sheet.max_cols, sheet.max_cells
    row = col = 0
    in_row = False
    special = "\r" if "\r" in text else "&"  # what makes character data need decoding: '&', CR
    it = iter(parts)
    next(it)  # the (empty) gap before the first token
    for ca, fa, ft, vt, ta, tt, ra, rc, _ in zip(it, it, it, it, it, it, it, it, it, strict=True):
        if ca is not None:  # <c>
            info = cell_attrs(ca) or _cell_attrs(ca)
            if info is None or not in_row or (info[5] and not info[5] <= declared):
                return False
            ref, pos, t, style, index, _, numeric = info
            if ref:
                row, col = pos or sheet.pos(ref)  # raises for a bad reference
            else:  # after its left neighbour (row >= 1 inside a row)
                col += 1
                pos = (row, col)
            if row > max_rows or col > max_cols:
                sheet.check_pos((row, col))  # raises, even for an empty cell
            if vt and ("&" in vt or special in vt):
                vt = chars(vt) or _xml_chars(vt)
                if vt is None:
                    return False
            if ta is not None:
                if ta and _plain_tag(ta, declared) is None:
                    return False
                if "&" in tt or special in tt:
                    tt = chars(tt) or _xml_chars(tt)
                    if tt is None:
                        return False
            if fa is None:
                if ta is None:
                    if not vt:
                        continue  # formatted but empty
                    value = number(vt) if numeric else _quick_value(t, vt, None, sst, cap)
                elif vt is None:
                    value = _quick_value(t, None, tt, sst, cap)
                else:
                    value = _MISSING
                if value is None:
                    continue  # nothing to keep
                if value is not _MISSING and len(cells) < max_cells:
                    cells[pos] = RawCell(value, None, t or "", index)
                    continue
            fattrs = None
            if fa is not None:
                fattrs = _plain_tag(fa, declared) if fa else {}
                if fattrs is None:
                    return False
                if ft is None:
                    ft = ""
                elif "&" in ft or special in ft:
                    ft = chars(ft) or _xml_chars(ft)
                    if ft is None:
                        return False
            sheet.cell(pos, t or "", style, vt, tt if ta is not None else None, ft, fattrs)
        elif ra is not None:  # <row> or <row/>
            r = row_attrs(ra, _MISSING)
            if r is _MISSING:
                r = _row_attrs(ra)
            if in_row or r is None or not r[1] <= declared:
                return False
            row = sheet.row_number(r[0]) if r[0] else row + 1
            col = 0
            in_row = not rc
        elif in_row:  # </row>
            in_row = False
        else:
            return False
    return not in_row


def _read_plain(pkg: Package, part: str, sheet: _Sheet) -> bool:
    """Read a worksheet part in the plain shape without building a tree; False if it is not.

    Same results and errors as :func:`_walk_tree`: the same :class:`_Sheet` calls in the
    same order, the same element count charged.  When it returns False nothing has been
    charged and the caller starts again with a fresh ``_Sheet`` on the tree path.
    """
    data = pkg.read(part)
    plain = _plain_layout(data)
    if plain is None:
        return False
    text, dimension, merges, declared = plain
    parts: list[str | None] = _TOKEN_RE.split(text)
    if any(parts[::_STRIDE]):
        return False  # markup that is not plain: rich text, comments, whitespace ...
    elements = len(parts) // _STRIDE - text.count("</row>")  # rows and cells, as _walk_tree charges
    if elements > pkg.elements_left:
        return False  # the tree path reports where the budget runs out
    try:
        if dimension is not None:
            sheet.dimension(dimension)
        if not _read_plain_cells(text, parts, declared, sheet):
            return False
        sheet.merge_all(*merges)
    except LoadError:
        if not _plain_tokens_ok(parts, declared):
            return False  # not well-formed after all: the tree path reports that first
        raise
    pkg.charge(elements, part, sheet.name)
    return True


def _read_sheet(pkg: Package, part: str, name: str, state: str, sst: list[str], limits: Limits) -> SheetCells:
    """One worksheet's non-empty cells (value or formula), merged ranges and dimension."""
    sheet = _Sheet(pkg, part, name, sst, limits)
    if pkg.size(part) > _TREE_MAX_BYTES:
        _stream(pkg, part, sheet)
    elif not (FAST_PATH and _read_plain(pkg, part, sheet)):
        sheet = _Sheet(pkg, part, name, sst, limits)
        _walk_tree(pkg, pkg.tree(part), sheet)
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
