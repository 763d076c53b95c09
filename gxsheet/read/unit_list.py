"""A county's list of its units, as the county keeps it: a text file or a spreadsheet, one unit a line.

Used by ``gxsheet serve init --units`` (who gets an upload link) and ``gxsheet merge --order``
(the order the county lists its towns in). A line is 名称, 层级 and, optionally, a 区划代码 (the
6-, 9- or 12-digit administrative-division code of the 统计用区划代码, in any column); when every
line has a code, the units are in the order of their codes — the administrative-division order
a county office lists its towns in — else in the order of the lines. The callers check what the
cells mean (serve: the 层级 against the spec) and name a bad line themselves.

Text: UTF-8 (with or without BOM) or GB18030 (what Notepad on a Chinese Windows saves as 'ANSI');
cells separated by a comma (either width), a tab or spaces; blank lines and lines starting with
``#`` skipped. Spreadsheet (.xlsx, .xlsm, .ods, through the guarded loader): the first sheet's first columns, at most
:data:`MAX_ROWS` rows.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MAX_ROWS", "UnitLine", "in_order", "read_rows", "read_unit_list", "unit_lines"]

_SPLIT = re.compile(r"\s*[,，\t]\s*|\s+")
#: an administrative-division code: county (6 digits), township (9) or the statistics code (12)
_CODE = re.compile(r"\d{6}(?:\d{3}(?:\d{3})?)?")
#: cells a line may have: 名称, 层级, 区划代码
COLUMNS = 3
#: words of a header line (单位名称, 层级, 区划代码)
_HEADER_WORDS = ("名称", "单位", "name")
#: rows read from a spreadsheet at most: a county's list, not a data set
MAX_ROWS = 10_000


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


#: bytes of a text list read at most: 10,000 lines of a name, a level and a code are ~0.5 MB
MAX_TEXT_BYTES = 4 * 1024 * 1024


def _rows_from_text(path: Path, columns: int) -> list[tuple[int, list[str]]]:
    with open(path, "rb") as f:
        data = f.read(MAX_TEXT_BYTES + 1)
    if len(data) > MAX_TEXT_BYTES:
        from gxsheet.core.errors import LoadError

        mb = MAX_TEXT_BYTES // (1024 * 1024)
        raise LoadError(str(path), "units", f"{path}：单位名单超过 {mb} MB，不像每行一个单位的名单；请检查是否选错了文件。",
                        f"{path}: larger than {mb} MB, which no list of units is; is it the right file?")
    rows = []
    for no, line in enumerate(_decode(data).splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        rows.append((no, [p for p in _SPLIT.split(line, maxsplit=columns - 1) if p]))
        if len(rows) >= MAX_ROWS:
            break
    return rows


def _rows_from_workbook(path: Path, columns: int) -> list[tuple[int, list[str]]]:
    """The first worksheet's first ``columns`` columns, read by the guarded loader that reads the
    towns' reports (the county's list is a file like any other: size, zip and XML bounds hold)."""
    from gxsheet.xlsx.workbook import read_workbook

    book = read_workbook(path)
    sheet = next(iter(book.sheets.values()), None)
    if sheet is None:
        return []
    by_row: dict[int, list[tuple[int, object]]] = {}
    for (row, col), cell in sheet.cells.items():
        if col <= columns and row <= MAX_ROWS:
            by_row.setdefault(row, []).append((col, cell.value))
    rows = []
    for no in sorted(by_row):
        cells = [_text(v) for _, v in sorted(by_row[no], key=lambda c: c[0])]
        cells = [c for c in cells if c]
        if cells:
            rows.append((no, cells))
    return rows


def _text(v: object) -> str:
    """A cell as the list means it: 110101001 typed as a number is the code, not 110101001.0."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return "" if v is None else str(v).strip()


def read_rows(path: str | Path, columns: int) -> list[tuple[int, list[str]]]:
    """(line number, up to ``columns`` cells) of every unit line of the list at ``path``.

    Raises OSError when the file cannot be read, the loader's LoadError for a spreadsheet it
    refuses (damaged, encrypted, an old .xls) and LoadError kind 'units' for a text file too large
    to be a list.
    """
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm", ".ods"):
        return _rows_from_workbook(path, columns)
    return _rows_from_text(path, columns)


@dataclass(frozen=True)
class UnitLine:
    """One unit of the list: its line (or row) number, 名称, 层级 and 区划代码 when given."""

    no: int
    name: str
    level: str | None
    code: str | None


def unit_lines(path: str | Path, levels: Collection[str]) -> list[UnitLine]:
    """The units of the list at ``path``, line by line (errors as :func:`read_rows`); a first line
    that names the columns (单位名称, 层级 …) rather than a unit of one of ``levels`` is left out."""
    out = []
    for no, cells in read_rows(path, COLUMNS):
        codes = [c for c in cells if _CODE.fullmatch(c)]
        words = [c for c in cells if not _CODE.fullmatch(c)]
        if not words:
            continue
        out.append(UnitLine(no, words[0], words[1] if len(words) > 1 else None, codes[0] if codes else None))
    if out and any(w in out[0].name.lower() for w in _HEADER_WORDS) and out[0].level not in levels:
        out = out[1:]
    return out


def in_order(lines: list[UnitLine]) -> list[UnitLine]:
    """``lines`` in the county's order: by 区划代码 when every line has one (a township's 9 digits
    are its 12-digit code's first nine), else as listed."""
    if lines and all(u.code for u in lines):
        return sorted(lines, key=lambda u: (str(u.code).ljust(12, "0"), u.no))
    return list(lines)


def read_unit_list(path: str | Path, levels: Collection[str]) -> list[UnitLine]:
    """:func:`unit_lines`, every way it can fail as one LoadError (kind 'units') naming the file:
    unreadable, a damaged spreadsheet, or no unit at all. ``serve init`` and ``merge --order`` say
    the same thing about the same list."""
    from gxsheet.core.errors import LoadError

    try:
        lines = unit_lines(path, levels)
    except LoadError as e:  # the loader's own words: an old .xls, an encrypted file, a damaged zip …
        if e.kind == "units":
            raise
        raise LoadError(str(path), "units", f"无法读取单位名单：{e.message_zh}",
                        f"cannot read the list of units: {e.message_en}") from None
    except OSError as e:
        raise LoadError(str(path), "units", f"{path}：无法读取单位名单（{e.strerror or e}）。",
                        f"{path}: cannot read the list of units ({e.strerror or e}).") from None
    except Exception as e:  # noqa: BLE001 - a damaged spreadsheet is one line, not a traceback
        raise LoadError(str(path), "units",
                        f"{path}：无法读取单位名单（{type(e).__name__}）；请另存为 .xlsx 或每行一个单位的 .txt。",
                        f"{path}: cannot read the list of units ({type(e).__name__}); save it as .xlsx or a .txt "
                        "with one unit a line.") from None
    if not lines:
        raise LoadError(str(path), "units", f"{path}：名单里没有单位（每行一个：名称, 层级[, 区划代码]）。",
                        f"{path}: no units in the list (one a line: name, level[, division code]).")
    return lines
