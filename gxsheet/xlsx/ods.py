"""OpenDocument spreadsheets (.ods, LibreOffice's own format) read into the same cells as .xlsx.

A town that fills the template in LibreOffice and keeps its default format submits an .ods; it
is read into :class:`~gxsheet.xlsx.cells.WorkbookCells` like any workbook, so the label-anchored
reader, the findings and the cell names (``表三!D5``, as LibreOffice shows them) are the same.

Two passes, each doing what it is good at:

* **A guard and formula pass of our own** over ``content.xml``, through the loader's guarded
  expat (DOCTYPE refused, element budget charged). ODF compresses a run of equal cells into one
  element (``number-rows-repeated="1048000"``): harmless when empty, as LibreOffice writes to
  the end of every sheet, but a run of *non-empty* cells is content and is held to the same
  limits as an .xlsx (rows, columns, cells, merged area) before anything expands it. The pass
  also records which cells hold a formula, since the reader must know that the template's check
  formulas are still formulas, and where merged ranges are.
* **python-calamine** (the Rust ``calamine`` reader) for the values: number, text, date and
  boolean cells, with ODF's text rules (``<text:s>``, line breaks, spans) handled by a
  maintained library. Measured on the filled template saved by LibreOffice: ~45 ms per file,
  against ~3 s for odfpy, which builds a Python object per element; and calamine gives no
  formulas, which is why the first pass records them.

The package itself (size, members, compression ratios, encryption) was vetted by the loader
before either pass runs, so calamine only ever inflates what the limits allow.
"""

from __future__ import annotations

import io
from typing import Any

from gxsheet.core.errors import LoadError
from gxsheet.core.limits import Limits
from gxsheet.xlsx.cells import MAX_COL, MAX_ROW, RawCell, SheetCells, WorkbookCells, a1
from gxsheet.xlsx.loader import Package, new_parser
from gxsheet.xlsx.sheet import sheet_too_large, too_many_cells

TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_T = TABLE + " "
_NAME, _ROWS, _COLS = _T + "name", _T + "number-rows-repeated", _T + "number-columns-repeated"
_SPAN_C, _SPAN_R, _FORMULA = _T + "number-columns-spanned", _T + "number-rows-spanned", _T + "formula"
_VALUE_TYPE = OFFICE + " value-type"
_CELL, _COVERED = _T + "table-cell", _T + "covered-table-cell"


class _Layout:
    """What the guard pass learns about one table: formula cells, merges, extent of content."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.formulas: dict[tuple[int, int], str] = {}
        self.merged: list[tuple[int, int, int, int]] = []
        self.content = 0  # non-empty cells, repeats counted


def _int(attrs: dict[str, str], key: str, path: str) -> int:
    raw = attrs.get(key)
    if raw is None:
        return 1
    try:
        n = int(raw)
    except ValueError:
        raise LoadError.make(path, "corrupt", f"content.xml: bad {key.split(' ')[-1]} {raw!r}") from None
    if n < 1:
        raise LoadError.make(path, "corrupt", f"content.xml: bad {key.split(' ')[-1]} {raw!r}")
    return n


def _guard(pkg: Package, limits: Limits) -> list[_Layout]:
    """Walk content.xml once: refuse content beyond the limits, keep formulas and merges."""
    path = pkg.path
    tables: list[_Layout] = []
    cur: _Layout | None = None
    depth = 0  # nesting of table:table (sub-tables in cells are not sheets)
    row = col = 0
    row_repeat = 1
    count = 0
    allowed = pkg.elements_left

    def too_large(where: str) -> LoadError:
        assert cur is not None
        return sheet_too_large(path, cur.name, where, limits.max_rows, limits.max_cols)

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal cur, depth, row, col, row_repeat, count
        count += 1
        if count > allowed:
            pkg.charge(count, "content.xml", cur.name if cur else None)  # raises
        if not tag.startswith(_T):
            return
        local = tag[len(_T):]
        if local == "table":
            depth += 1
            if depth == 1:
                cur = _Layout(attrs.get(_NAME, f"Sheet{len(tables) + 1}"))
                tables.append(cur)
                row = 0
        elif depth != 1 or cur is None:
            return
        elif local == "table-row":
            row_repeat = _int(attrs, _ROWS, path)
            row += 1
            col = 0
        elif tag in (_CELL, _COVERED):
            repeat = _int(attrs, _COLS, path)
            first = col + 1
            col += repeat
            last_row = row + row_repeat - 1
            if last_row > MAX_ROW or col > MAX_COL:
                raise LoadError.make(path, "corrupt", f"content.xml: {cur.name} beyond the sheet's last row or column")
            formula = attrs.get(_FORMULA)
            if tag == _CELL and (_VALUE_TYPE in attrs or formula is not None):
                if last_row > limits.max_rows or col > limits.max_cols:
                    raise too_large(a1(last_row, col))
                cur.content += repeat * row_repeat
                if cur.content > limits.max_cells:
                    raise too_many_cells(path, cur.name, "cells", limits.max_cells)
                if formula is not None:
                    text = formula.split(":", 1)[1] if formula.startswith(("of:", "oooc:", "msoxl:")) else formula
                    for r in range(row, last_row + 1):
                        for c in range(first, col + 1):
                            cur.formulas[(r, c)] = text.removeprefix("=")
            if tag == _CELL:
                span_c, span_r = _int(attrs, _SPAN_C, path), _int(attrs, _SPAN_R, path)
                if span_c > 1 or span_r > 1:
                    r2, c2 = row + span_r - 1, first + span_c - 1
                    if r2 > limits.max_rows or c2 > limits.max_cols:
                        raise too_large(f"{a1(row, first)}:{a1(r2, c2)}")
                    cur.merged.append((row, first, r2, c2))
                    if len(cur.merged) > limits.max_cells:
                        raise too_many_cells(path, cur.name, "merged ranges", limits.max_cells)

    def end(tag: str) -> None:
        nonlocal depth, row, row_repeat
        if tag == _T + "table":
            depth -= 1
        elif tag == _T + "table-row" and depth == 1:
            row += row_repeat - 1
            row_repeat = 1

    p = new_parser()
    p.StartElementHandler = start
    p.EndElementHandler = end
    pkg.parse("content.xml", p)
    pkg.charge(count, "content.xml")
    return tables


def _value(v: Any) -> Any:
    """calamine's value as the xlsx reader gives it (integral floats as int; '' is empty)."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    return v


def read_ods(pkg: Package, limits: Limits, wanted: set[str] | None = None) -> WorkbookCells:
    """The cells of an .ods package the loader opened and vetted."""
    from python_calamine import CalamineError, CalamineWorkbook

    tables = _guard(pkg, limits)
    try:
        with open(pkg.path, "rb") as fh:
            book = CalamineWorkbook.from_filelike(io.BytesIO(fh.read()))
    except (CalamineError, OSError, ValueError) as exc:
        raise LoadError.make(pkg.path, "corrupt", f"content.xml: {exc}") from None
    sheets: dict[str, SheetCells] = {}
    names = book.sheet_names
    for lay in tables:
        if wanted is not None and lay.name not in wanted:
            continue
        cells: dict[tuple[int, int], RawCell] = {}
        if lay.name in names and lay.content:
            try:
                grid = book.get_sheet_by_name(lay.name).to_python(skip_empty_area=False)
            except (CalamineError, ValueError) as exc:
                raise LoadError.make(pkg.path, "corrupt", f"content.xml: {lay.name}: {exc}") from None
            for r, values in enumerate(grid, start=1):
                for c, v in enumerate(values, start=1):
                    formula = lay.formulas.get((r, c))
                    if v == "" and formula is None:
                        continue
                    kind = "s" if isinstance(v, str) else "b" if isinstance(v, bool) else "n"
                    cells[(r, c)] = RawCell(_value(v), formula, "str" if formula and kind == "s" else kind)
        sheets[lay.name] = SheetCells(lay.name, cells, lay.merged, None, "visible")
    book.close()
    return WorkbookCells(path=pkg.path, kind="ods", sheets=sheets, external_links=0, has_macros=False)
