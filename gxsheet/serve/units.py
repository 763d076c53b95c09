"""The county's list of units (``UNITS.txt`` or ``.xlsx``) and the workbook of upload links it gets back.

A county keeps its list of towns and departments in a text file or a spreadsheet, one unit a line:
名称 and 层级, separated by a comma (either width), a tab or spaces. Levels are checked against the
edition's choices in the spec, so a typo is caught at ``init``, not in every workbook later.

The links workbook (上传链接.xlsx) is the only place the plain tokens ever exist: it is written
owner-only, and a reissued link replaces its unit's row there.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

from gxsheet.core.atomic import write_with
from gxsheet.core.errors import LoadError
from gxsheet.core.sanitise import cell as cell_text
from gxsheet.core.spec import load_spec
from gxsheet.read.unit_list import in_order, read_unit_list
from gxsheet.serve.store import StoreError, Unit

__all__ = ["LINKS_NAME", "levels", "link_row", "links_title", "read_links", "read_units", "replace_link", "write_links"]

LINKS_NAME = "上传链接.xlsx"
LINK_HEADER = ("单位名称", "层级", "上传链接")
COUNTY_LEVEL = "（汇总）"


def levels(edition: str) -> tuple[str, ...]:
    """The 单位层级 choices of an edition (from the spec, like the template's drop-down)."""
    return tuple(load_spec(edition).meta_field("level").choices)


def read_units(path: str | Path, edition: str, *, county: str) -> list[tuple[str, str]]:
    """(名称, 层级) of every unit in the list, in the county's order (by 区划代码 when every line has
    one, else as listed); a bad line raises StoreError naming it."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"{path}：找不到单位名单文件。", f"{path}: the list of units does not exist.")
    try:
        lines = read_unit_list(path, levels(edition))
    except LoadError as e:
        raise StoreError(e.message_zh, e.message_en) from None
    allowed = levels(edition)
    out: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for u in in_order(lines):
        name, level, no = u.name, u.level or "", u.no
        where = f"{path.name} 第{no}行"
        if level not in allowed:
            raise StoreError(f"{where}：“{name}”的层级“{level}”不是可选值之一（{'、'.join(allowed)}）。",
                             f"{path.name} line {no}: level {level!r} of {name!r} is not one of {', '.join(allowed)}.")
        if len(name) > 100 or not name.isprintable():
            raise StoreError(f"{where}：单位名称过长或含有控制字符。", f"{path.name} line {no}: the unit name is too long or has control characters.")
        if name in seen:
            raise StoreError(f"{where}：“{name}”与第{seen[name]}行重复。", f"{path.name} line {no}: {name!r} repeats line {seen[name]}.")
        if name == county:
            raise StoreError(f"{where}：单位名称不能与本行政区域名称（--county）相同。",
                             f"{path.name} line {no}: a unit cannot have the county's own name (--county).")
        seen[name] = no
        out.append((name, level))
    return out  # not empty: read_unit_list refuses a list without units


def write_links(path: str | Path, title: str, rows: Sequence[tuple[str, str, str]]) -> Path:
    """上传链接.xlsx: one row per unit (name, level, link), owner-only (it holds the only plain tokens).

    Written with XlsxWriter, the writer of every new workbook; every cell is text through the one
    output rule (never a formula or hyperlink, no raw control: a unit's name is whatever the county
    typed)."""
    import xlsxwriter

    def save(tmp: Path) -> None:
        buffer = io.BytesIO()  # written below: a full disk is a plain OSError (see merge.workbook)
        book = xlsxwriter.Workbook(buffer, {"strings_to_formulas": False, "strings_to_urls": False,
                                            "strings_to_numbers": False})
        sheet = book.add_worksheet("上传链接")
        bold = book.add_format({"bold": True})
        sheet.write_string(0, 0, cell_text(title), bold)
        sheet.write_string(1, 0, "请把每个链接私下发给对应单位，不要转发或公开；链接泄露时可用 gxsheet serve link 收回并重发。")
        for c, h in enumerate(LINK_HEADER):
            sheet.write_string(2, c, h, bold)
        for r, row in enumerate(rows, start=3):
            for c, v in enumerate(row):
                sheet.write_string(r, c, cell_text(str(v)))
        for col, width in ((0, 30), (1, 12), (2, 90)):
            sheet.set_column(col, col, width)
        book.close()
        tmp.write_bytes(buffer.getbuffer())
        os.chmod(tmp, 0o600)

    out = write_with(path, save)
    os.chmod(out, 0o600)  # atomic_path gives the usual permissions; these links are secrets
    return out


def links_title(county: str, year: int) -> str:
    return f"{county} {year}年度政府信息公开工作年度报告 上传链接"


def link_row(unit: Unit, base: str, token: str) -> tuple[str, str, str]:
    """(名称, 层级, link) of a unit's row: a town's link is ``/u/<token>``, the county's ``/c/<token>``
    (the routes of :mod:`gxsheet.serve.app`)."""
    link = f"{base.rstrip('/')}/{'c' if unit.is_county else 'u'}/{token}"
    return unit.name, COUNTY_LEVEL if unit.is_county else unit.level, link


def replace_link(path: str | Path, title: str, row: tuple[str, str, str]) -> Path:
    """Put a reissued link into the links workbook in place of its unit's old one (a unit missing
    from it is added at the end; when there is no workbook, a new one titled ``title``)."""
    path = Path(path)
    title, rows = read_links(path) if path.is_file() else (title, [])
    rows = [row if n == row[0] else (n, lv, old) for n, lv, old in rows]
    if not any(n == row[0] for n, _, _ in rows):
        rows.append(row)
    return write_links(path, title, rows)


def read_links(path: str | Path) -> tuple[str, list[tuple[str, str, str]]]:
    """(title, rows) of a links workbook written by :func:`write_links`."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    try:
        values = [[("" if v is None else str(v)) for v in r] for r in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()
    title = values[0][0] if values and values[0] else ""
    start = next((i + 1 for i, r in enumerate(values) if tuple(r[:3]) == LINK_HEADER), len(values))
    return title, [(r[0], r[1], r[2]) for r in values[start:] if len(r) >= 3 and r[0]]
