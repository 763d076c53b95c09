"""Strict OOXML (ISO/IEC 29500 Strict, Excel's "Strict Open XML Spreadsheet") for openpyxl.

gxsheet's own reader matches namespaces by URI, so it reads Strict workbooks as they are. openpyxl
(used to write the ``--annotate`` copy) knows only the Transitional names: given a Strict file it
finds no worksheet and would write a copy holding nothing but the 校验结果 sheet. Strict and
Transitional differ, for what a report workbook holds, only in namespace and relationship-type
names, so the package is renamed part by part into Transitional before openpyxl sees it; the
annotated copy is then an ordinary .xlsx that every program opens.
"""

from __future__ import annotations

import io
import zipfile

from gxsheet.xlsx.loader import Package

#: Strict name → Transitional name (longest first, so a prefix never replaces part of a longer name)
_RENAMES: tuple[tuple[bytes, bytes], ...] = tuple(sorted((
    (b"http://purl.oclc.org/ooxml/spreadsheetml/main", b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"),
    (b"http://purl.oclc.org/ooxml/officeDocument/relationships/extendedProperties",
     b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties"),
    (b"http://purl.oclc.org/ooxml/officeDocument/relationships",
     b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"),
    (b"http://purl.oclc.org/ooxml/officeDocument/extendedProperties",
     b"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"),
    (b"http://purl.oclc.org/ooxml/officeDocument/docPropsVTypes",
     b"http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"),
    (b"http://purl.oclc.org/ooxml/drawingml/main", b"http://schemas.openxmlformats.org/drawingml/2006/main"),
    (b"http://purl.oclc.org/ooxml/drawingml/spreadsheetDrawing",
     b"http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"),
    (b"http://purl.oclc.org/ooxml/drawingml/chart", b"http://schemas.openxmlformats.org/drawingml/2006/chart"),
), key=lambda pair: -len(pair[0])))

STRICT_MAIN = b"http://purl.oclc.org/ooxml/spreadsheetml/main"


def is_strict(pkg: Package) -> bool:
    """Whether the workbook part of an opened package is in the Strict namespace."""
    if pkg.kind not in ("xlsx", "xlsm"):
        return False
    return STRICT_MAIN in pkg.read(pkg.workbook_part)[:4096]


def transitional(pkg: Package) -> io.BytesIO:
    """The opened package with every Strict name renamed to its Transitional one.

    Parts are read through the guarded loader (sizes, ratios and member counts were vetted, under
    the caller's limits, when it opened the file), so nothing here inflates more than reading the
    file for validation did.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in pkg.names():
            data = pkg.read(name)
            if name.lower().endswith((".xml", ".rels", ".vml")):
                for strict, trans in _RENAMES:
                    data = data.replace(strict, trans)
                data = data.replace(b' conformance="strict"', b"")
            zf.writestr(name, data)
    out.seek(0)
    return out
