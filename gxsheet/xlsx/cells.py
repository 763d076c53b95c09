"""The ground floor of the .xlsx reader: what it hands out and what all its layers share.

The reader is split by what each part does, and each module imports only those below it:

* ``xlsx_cells`` (this module): cell addresses (A1 references, with the caches that make
  them one dict lookup), the result types :class:`RawCell`, :class:`SheetCells` and
  :class:`WorkbookCells`, the SpreadsheetML element names the walkers compare tags with,
  and :class:`_Memo`, the cache that lets a template's repeated XML be parsed once;
* :mod:`gxsheet.xlsx.sheet`: one worksheet's cells - value conversion, shared formulas,
  the per-sheet limits - and the tree and streaming walkers that feed them;
* :mod:`gxsheet.xlsx.plain`: the fast path for worksheet parts in the plain shape;
* :mod:`gxsheet.xlsx.workbook`: the workbook level and the public API (it re-exports the public
  names defined here, so callers import them from there).

Nothing here reads a package; of gxsheet it imports only A1 references (:mod:`gxsheet.core.a1`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gxsheet.core.a1 import MAX_COL, MAX_ROW, a1, col_letter  # noqa: F401 - a1, col_letter re-exported for the readers

_MAIN_NS = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)

_LOCALS = (
    "c", "v", "f", "row", "is", "t", "rPh", "dimension", "mergeCell", "si", "sheet",
    "workbookPr", "sheetData", "mergeCells", "r", "calcPr",
)  # fmt: skip

# Qualified element name -> local name, for the names we care about.  Elements in other
# namespaces (extLst, mc:AlternateContent, x14 ...) map to nothing and are skipped; names
# without a namespace are accepted too because some generators omit xmlns altogether.
# Both spellings: ``{uri}local`` from ElementTree (tree path) and ``uri local`` from
# loader.new_parser (streaming path).
_LOCAL: dict[str, str] = {f"{ns} {name}": name for ns in _MAIN_NS for name in _LOCALS}
_LOCAL.update({f"{{{ns}}}{name}": name for ns in _MAIN_NS for name in _LOCALS})
_LOCAL.update({name: name for name in _LOCALS})


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


# --------------------------------------------------------------------------- numbers

#: An integral double is handed out as an int only below this: the int64 a data frame computes
#: with.  Beyond it, it stays a float (Excel has no integers, and an int that no frame column
#: can hold would only move the overflow downstream).
INT_LIMIT = 2**63


def integral(v: float) -> int | float:
    """``v`` as an int when it is a whole number a frame can hold, else ``v`` itself.

    Excel stores every number as a double; the reader hands whole numbers out as ints (like
    openpyxl) so that counts stay counts.  The int is the double's exact value - for text
    beyond 2**53 that is the value Excel holds, not the digits written.
    """
    if v.is_integer() and -INT_LIMIT < v < INT_LIMIT:
        return int(v)
    return v


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
    date1904: bool = field(default=False)  # serial dates count from 1904 (Excel for Mac's old default)
    #: <calcPr fullCalcOnLoad="1">: the writer asks for every formula to be recalculated on
    #: opening, so cached results are placeholders (XlsxWriter stores 0) and must not be trusted
    full_calc_on_load: bool = field(default=False)


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
