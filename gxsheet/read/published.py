"""Importers for published reports — text, Word, web page, PDF — and exchanged report JSON.

:mod:`gxsheet.read.registry` routes every kind of file to its reader, so ``read_any`` (and with it
every command) reads them like workbooks. :func:`import_report` is the richer entry point of
``gxsheet import``: besides the Record it returns what the import assumed or left out, for the
summary shown to the person importing.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from gxsheet.core.errors import LoadError
from gxsheet.core.limits import Limits
from gxsheet.read.blocks import Imported
from gxsheet.read.registry import WORKBOOK_KINDS, kind_of, read_any, read_empty

__all__ = ["IMPORT_KINDS", "Imported", "import_report"]

#: kind → (module, function returning Imported)
IMPORT_KINDS = {
    "txt": ("gxsheet.read.txt", "import_txt"),
    "docx": ("gxsheet.read.docx", "import_docx"),
    "html": ("gxsheet.read.html", "import_html"),
    "pdf": ("gxsheet.read.pdf", "import_pdf"),
}


def import_report(path: str | Path, *, limits: Limits | None = None, edition: str | None = None,
                  year: int | None = None) -> Imported:
    """Any supported input → Imported (Record + notes). Workbooks and JSON carry no notes."""
    kind = kind_of(path)
    if kind == "empty":
        read_empty(path)
    if kind in IMPORT_KINDS:
        module, func = IMPORT_KINDS[kind]
        fn = getattr(importlib.import_module(module), func)
        return fn(path, limits=limits, edition=edition, year=year)
    if kind in (*WORKBOOK_KINDS, "json"):
        rec = read_any(path, limits=limits)
        if year is not None:
            rec.set_role("year", year)
        return Imported(rec)
    raise LoadError(str(path), "unsupported",
                    f"{path}：不能导入这种文件（{kind}）；支持文本 (.txt)、Word (.docx)、网页 (.html/.htm)、PDF 和 JSON。"
                    f"旧版 Word (.doc) 请先另存为 .docx。",
                    f"{path}: this kind of file ({kind}) cannot be imported; supported are text (.txt), Word (.docx), "
                    f"web pages (.html/.htm), PDF and JSON. Save an old Word .doc as .docx first.")
