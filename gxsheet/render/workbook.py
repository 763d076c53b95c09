"""The one Record → workbook writer: a Record typed into its edition's standard template.

Three things need a filled standard workbook — ``gxsheet import`` (a published report becomes a
workbook, so every check applies to it), the samples (tests, the bundled examples, the
benchmarks) and the county report of ``gxsheet merge`` — and all three write it here, so a filled
workbook means one thing: the template, with the record's metadata, prose and values at the
positions the layout gives them, plus what an import found that the workbook must carry: a label
published misspelt is written as published into its label cell, and everything the template has
no place for goes into the 导入记录 sheet (:mod:`gxsheet.read.carried`), so validating the workbook
reports what validating the published report does.

The template is edited, not rebuilt (it carries the live checks, validation lists and styles),
so this is openpyxl's job; new workbooks (the county merge) are written with XlsxWriter instead.
The bytes are normalised (fixed document dates and zip timestamps) so the same record always
gives the same file, and written atomically.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook, load_workbook

from gxsheet.core.atomic import write_bytes
from gxsheet.core.layout import EDITION_KEY, WorkbookLayout, workbook_layout
from gxsheet.core.record import META_PREFIX, PROSE_PREFIX, Record
from gxsheet.core.spec import editions, load_spec
from gxsheet.read.carried import HEADER as CARRIED_HEADER
from gxsheet.read.carried import SHEET as CARRIED_SHEET
from gxsheet.read.carried import TITLE as CARRIED_TITLE
from gxsheet.read.carried import carried_rows
from gxsheet.render.xlsx_text import put_text

__all__ = ["layout_of", "published_labels", "record_workbook", "template_path", "write_record"]

#: roles of the template's table boxes whose text is a printed label (S-LABEL compares them)
_LABEL_ROLES = ("label", "header", "corner", "caption")
#: column widths of the 导入记录 sheet: 类别, 规则, 说明, 位置, 数据
_CARRIED_WIDTHS = (8, 14, 70, 24, 40)


def template_path(edition: str) -> Path:
    """The standard template of an edition (committed, or built from its spec)."""
    from gxsheet.render.template import template_file

    return template_file(edition)


def layout_of(path: str | Path) -> WorkbookLayout:
    """The layout of a workbook, found from its edition cell (the same address in every edition)."""
    wb = load_workbook(path, read_only=True)
    try:
        for ed in editions():
            layout = workbook_layout(load_spec(ed))
            sheet, r, c = layout.position(EDITION_KEY)
            if sheet in wb.sheetnames and str(wb[sheet].cell(r, c).value) == ed:
                return layout
    finally:
        wb.close()
    raise ValueError(f"{path}: no known edition in its edition cell")


def published_labels(record: Record, layout: WorkbookLayout) -> dict[tuple[str, int, int], str]:
    """Label cells to write with the published text (from the record's S-LABEL findings).

    So validating the imported workbook reports the same S-LABEL (both texts) as validating the
    report itself. A label whose official text stands in more than one place of the form (表四's
    结果维持) is left official: which one was misspelt cannot be told from the text alone.
    """
    places: dict[str, list[tuple[str, int, int]]] = {}
    for sheet in layout.sheets:
        if sheet.kind != "table":
            continue
        for b in sheet.boxes:
            if b.role in _LABEL_ROLES and b.text:
                places.setdefault(b.text, []).append((sheet.name, b.row, b.col))
    out: dict[tuple[str, int, int], str] = {}
    for f in record.structure:
        if f.rule != "S-LABEL":
            continue
        found, official = f.numbers.get("found"), f.numbers.get("official")
        where = places.get(official or "", [])
        if isinstance(found, str) and found.strip() and len(where) == 1:
            out[where[0]] = found.strip()
    return out


def _entries(record: Record, layout: WorkbookLayout, as_typed: bool) -> list[tuple[str, object]]:
    """(layout key, value) for every metadata field, prose section and value cell of the record.

    Unless ``as_typed``, a date field's ISO text ('2021-12-31', how readers keep dates) becomes a
    date again, so the workbook holds what a clerk would have typed.
    """
    dates = {f.key for f in layout.spec.metadata if f.type == "date"}
    items: list[tuple[str, object]] = list(record.values.items())
    for k, v in record.meta.items():
        key = k.removeprefix(META_PREFIX)
        if not as_typed and key in dates and isinstance(v, str):
            try:
                v = dt.date.fromisoformat(v)
            except ValueError:
                pass
        items.append((META_PREFIX + key, v))
    items += [(PROSE_PREFIX + k.removeprefix(PROSE_PREFIX), v) for k, v in record.prose.items()]
    return items


def record_workbook(record: Record, layout: WorkbookLayout, template: str | Path, *, as_typed: bool = False,
                    finish: Callable[[Workbook], object] | None = None) -> bytes:
    """The .xlsx bytes of ``template`` with ``record`` written in (reproducible: fixed dates and timestamps).

    By default everything from the record is data: text is written as text even when it starts
    with ``=``. ``as_typed`` writes values exactly as given, the way a clerk types them — a string
    starting with ``=`` becomes a live formula, a date string stays a string — which the samples
    use to build workbooks with formulas and bad input on purpose. The pages name the unit and year
    (the template leaves a line for them). ``finish`` adds to the workbook before it is saved (the
    county report's 概况 sheet).
    """
    from gxsheet.render.template import name_pages, normalize_xlsx

    if layout.spec.edition != record.edition:
        raise ValueError(f"{template}: a {layout.spec.edition} template for a {record.edition} record")
    with open(template, "rb") as f:  # a file object: openpyxl judges a path by its suffix
        wb = load_workbook(f)
    for key, value in _entries(record, layout, as_typed):
        sheet, r, c = layout.position(key)
        cell = wb[sheet].cell(r, c)
        if isinstance(value, str) and not as_typed:
            put_text(cell, value)
        else:
            cell.value = value
    for (sheet, r, c), text in published_labels(record, layout).items():
        put_text(wb[sheet].cell(r, c), text)
    carried = carried_rows(record)
    if carried:  # what the import found that the template cannot express, after the other sheets
        ws = wb.create_sheet(CARRIED_SHEET)
        for r, row in enumerate([(CARRIED_TITLE,), CARRIED_HEADER, *carried], 1):
            for c, text in enumerate(row, 1):
                put_text(ws.cell(r, c), text)
        for col, width in zip("ABCDE", _CARRIED_WIDTHS, strict=True):
            ws.column_dimensions[col].width = width
    name_pages(wb, record.role("unit_name"), record.role("year"))
    if finish is not None:
        finish(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return normalize_xlsx(buf.getvalue())


def write_record(record: Record, path: str | Path, *, template: str | Path | None = None,
                 as_typed: bool = False, finish: Callable[[Workbook], object] | None = None) -> Path:
    """Write ``record`` into its edition's standard template (or ``template``) at ``path``, atomically."""
    layout = layout_of(template) if template is not None else workbook_layout(record.spec)
    return write_bytes(path, record_workbook(record, layout, template or template_path(record.edition),
                                             as_typed=as_typed, finish=finish))
