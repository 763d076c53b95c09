"""The .ods reader: positions, values and formulas as LibreOffice writes them, and its guard.

ODF compresses runs of equal rows and cells (``number-rows-repeated``): LibreOffice ends every
sheet with an empty run down to row 1,048,576, which is not content; a run of *non-empty* cells is
content and is held to the sheet limits before anything expands it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from gxsheet.core.errors import LoadError
from gxsheet.core.limits import Limits
from gxsheet.xlsx.loader import sniff
from gxsheet.xlsx.workbook import read_workbook

NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
      'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
      'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')


def ods(path: Path, rows: str, *, prolog: str = "") -> Path:
    content = (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<office:document-content {NS}><office:body>'
               f'<office:spreadsheet><table:table table:name="表三">{rows}</table:table></office:spreadsheet>'
               "</office:body></office:document-content>")
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        zf.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return path


def cell(value: str | None = None, *, kind: str = "float", formula: str | None = None, cols: int = 1) -> str:
    extra = f' table:number-columns-repeated="{cols}"' if cols > 1 else ""
    if value is None:
        return f"<table:table-cell{extra}/>"
    f = f' table:formula="{formula}"' if formula else ""
    v = f' office:value="{value}"' if kind == "float" else ""
    return f'<table:table-cell office:value-type="{kind}"{v}{f}{extra}><text:p>{value}</text:p></table:table-cell>'


def test_values_formulas_and_positions(tmp_path):
    rows = (
        f'<table:table-row>{cell(cols=2)}{cell("五", kind="string")}</table:table-row>'
        f'<table:table-row>{cell("3")}{cell("4")}{cell("7", formula="of:=[.A2]+[.B2]")}</table:table-row>'
        f'<table:table-row table:number-rows-repeated="1048573">{cell(cols=1024)}'
        "</table:table-row>"
    )
    path = ods(tmp_path / "a.ods", rows)
    assert sniff(path) == "ods"
    wb = read_workbook(path)
    got = {p: (c.value, c.formula) for p, c in wb.sheets["表三"].cells.items()}
    assert got == {(1, 3): ("五", None), (2, 1): (3, None), (2, 2): (4, None), (2, 3): (7, "[.A2]+[.B2]")}
    assert wb.kind == "ods"


def test_a_run_of_content_beyond_the_limits_is_refused_before_expanding(tmp_path):
    rows = (f'<table:table-row table:number-rows-repeated="1000000">'
            f'{cell("1", cols=16000)}</table:table-row>')
    path = ods(tmp_path / "run.ods", rows)
    with pytest.raises(LoadError) as err:  # 16 billion cells: refused from the attributes, nothing expanded
        read_workbook(path)
    assert err.value.kind == "sheet-too-large" and "表三" in err.value.message_zh
    small = ods(tmp_path / "cells.ods", f'<table:table-row table:number-rows-repeated="40">{cell("1")}</table:table-row>')
    with pytest.raises(LoadError) as err:
        read_workbook(small, Limits(max_cells=30))
    assert err.value.kind == "too-many-cells"


def test_doctype_is_refused(tmp_path):
    path = ods(tmp_path / "dtd.ods", f"<table:table-row>{cell('1')}</table:table-row>", prolog='<!DOCTYPE x [<!ENTITY a "b">]>')
    with pytest.raises(LoadError) as err:
        read_workbook(path)
    assert err.value.kind == "xml-entities"


def test_too_many_merged_ranges_are_named_as_in_an_xlsx(tmp_path):
    merged = '<table:table-cell table:number-columns-spanned="2"/>'  # empty: only the merge counts
    path = ods(tmp_path / "merged.ods", f'<table:table-row table:number-rows-repeated="1">{merged * 3}</table:table-row>')
    with pytest.raises(LoadError) as err:
        read_workbook(path, Limits(max_cells=2))
    assert err.value.kind == "too-many-cells"
    assert "工作表「表三」的合并单元格区域超过 2 个" in err.value.message_zh
