"""Fast streaming cell reader for .xlsx/.xlsm, built on :mod:`gxsheet.xlsx.loader`.

Why not openpyxl: a county merges ~300 submitted workbooks per run and openpyxl builds a
full object model (styles, every cell object) for each, which is several times slower
than needed.  Here each part is inflated once and parsed by expat: normal-size parts are
built into an ElementTree entirely in C (expat -> C TreeBuilder, no Python call per
element) and walked once; parts over ``_TREE_MAX_BYTES`` stream through Python handlers
instead so memory stays flat.  Only cells that hold a value or a formula are kept, as
:class:`RawCell`.  Interpreting them (dates, number formats, the report layout) is left
to the callers.

This module is the workbook level and the public API: :func:`read_workbook` (workbook.xml,
its relationships, the shared strings, then each worksheet) and the names callers import
from here (:class:`RawCell`, :class:`SheetCells`, :class:`WorkbookCells`, :func:`a1`,
:func:`col_letter`, :func:`parse_a1`, ``MAX_ROW``, ``MAX_COL``, :func:`number`), defined
in the modules below it, each importing only those under it:

* :mod:`gxsheet.xlsx.cells`: A1 references, the result types, element names, the memo;
* :mod:`gxsheet.xlsx.sheet`: one sheet's cells (value conversion, shared formulas,
  limits) and the tree and streaming walkers;
* :mod:`gxsheet.xlsx.plain`: the fast path for plain worksheet parts (``FAST_PATH``).

:func:`_read_sheet` picks the way for each worksheet part: streaming over
``_TREE_MAX_BYTES``, else the fast path, else the tree.

Robustness against real-world writers (Excel, WPS, LibreOffice, openpyxl, the .NET SDK):
sheet parts are found through ``xl/_rels/workbook.xml.rels`` (absolute, relative,
percent-encoded or differently-cased targets), never by guessing ``sheetN.xml``; the
shared strings are read like cell text (see :mod:`gxsheet.xlsx.sheet` for namespaces,
positions and rich text).

Every part is read through the loader's :class:`~gxsheet.xlsx.loader.Package` (vetted sizes,
bounded inflation, DOCTYPE refused), and the sheet limits are enforced as cells arrive.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Collection
from typing import Any
from urllib.parse import unquote

from gxsheet.core.errors import LoadError
from gxsheet.core.limits import DEFAULT_LIMITS, Limits
from gxsheet.xlsx import plain as xlsx_plain
from gxsheet.xlsx.cells import _LOCAL, RawCell, SheetCells, WorkbookCells, _Memo, a1, col_letter, parse_a1
from gxsheet.xlsx.cells import MAX_COL as MAX_COL
from gxsheet.xlsx.cells import MAX_ROW as MAX_ROW
from gxsheet.xlsx.loader import Package, new_parser, open_package
from gxsheet.xlsx.sheet import _rich_text, _Sheet, _stream, _text, _walk_tree
from gxsheet.xlsx.sheet import number as number

__all__ = [
    "RawCell",
    "SheetCells",
    "WorkbookCells",
    "a1",
    "col_letter",
    "parse_a1",
    "read_workbook",
]

_REL_NS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
_REL_ID_ATTRS = tuple(f"{ns} id" for ns in _REL_NS)


# --------------------------------------------------------------------------- parts

#: Parts up to this size are read as a tree built in C (2-3x faster than Python
#: callbacks per element); larger ones stream through Python handlers so memory stays
#: flat.  Real report sheets are 10-100 KB.
_TREE_MAX_BYTES = 2 * 1024 * 1024


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
    return _LOCAL.get(tag) in ("sheet", "workbookPr", "calcPr")


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


def _read_workbook_xml(pkg: Package, part: str) -> tuple[list[tuple[str, str, str]], bool, bool]:
    """Sheets as (name, state, relationship id) in workbook order, the date1904 flag and
    whether the writer asked for a full recalculation on load (cached results are placeholders)."""
    sheets: list[tuple[str, str, str]] = []
    date1904 = full_calc = False
    for tag, attrs in _scan_memo(pkg, part, _is_sheet_or_workbook_pr):
        local = _LOCAL[tag]
        if local == "sheet":
            rid = next((attrs[key] for key in _REL_ID_ATTRS if key in attrs), "")
            if not rid:  # unknown relationships namespace: take any '... id' attribute
                rid = next((v for key, v in attrs.items() if key.endswith(" id")), "")
            sheets.append((attrs.get("name", ""), attrs.get("state", "visible"), rid))
        elif local == "calcPr":
            full_calc = attrs.get("fullCalcOnLoad", "").lower() in ("1", "true")
        else:
            date1904 = attrs.get("date1904", "").lower() in ("1", "true")
    return sheets, date1904, full_calc


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


def _read_sheet(pkg: Package, part: str, name: str, state: str, sst: list[str], limits: Limits) -> SheetCells:
    """One worksheet's non-empty cells (value or formula), merged ranges and dimension."""
    sheet = _Sheet(pkg, part, name, sst, limits)
    if pkg.size(part) > _TREE_MAX_BYTES:
        _stream(pkg, part, sheet)
    elif not (xlsx_plain.FAST_PATH and xlsx_plain._read_plain(pkg, part, sheet)):  # read there at each call
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
    :class:`~gxsheet.xlsx.loader.LoadError` for anything the loader refuses, and kind 'corrupt'
    for structurally broken workbooks.
    """
    limits = limits or DEFAULT_LIMITS
    wanted = None if sheets is None else set(sheets)
    with open_package(path, limits) as pkg:
        if pkg.kind == "ods":
            from gxsheet.xlsx.ods import read_ods

            return read_ods(pkg, limits, wanted)
        entries, date1904, full_calc = _read_workbook_xml(pkg, pkg.workbook_part)
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
            full_calc_on_load=full_calc,
        )
