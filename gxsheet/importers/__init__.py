"""Importers for published reports — text, Word, web page — and exchanged report JSON.

Each registers itself with :mod:`gxsheet.sources` by kind, so ``read_any`` (and with it every
command) reads them like workbooks. :func:`import_report` is the richer entry point of
``gxsheet import``: besides the Record it returns what the import assumed or left out, for the
summary shown to the person importing.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..loader import Limits, LoadError
from ..sources import kind_of, read_any, register
from .text import Imported

__all__ = ["IMPORT_KINDS", "Imported", "import_report", "read_empty"]

register("txt", "gxsheet.importers.txt:read_txt")
register("docx", "gxsheet.importers.docx:read_docx")
register("html", "gxsheet.importers.html:read_html")
register("json", "gxsheet.report_json:read_json")
register("empty", "gxsheet.importers:read_empty")

#: kind → (module, function returning Imported)
IMPORT_KINDS = {
    "txt": ("gxsheet.importers.txt", "import_txt"),
    "docx": ("gxsheet.importers.docx", "import_docx"),
    "html": ("gxsheet.importers.html", "import_html"),
}


def read_empty(path: str | Path, **_: object) -> None:
    """An empty file is never a report: say so plainly instead of 'unsupported type'."""
    raise LoadError(str(path), "empty", f"{path}：文件是空的（0 字节），请提供完整的年度报告。",
                    f"{path}: the file is empty (0 bytes); provide the complete annual report.")


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
    if kind in ("xlsx", "xlsm", "json"):
        rec = read_any(path, limits=limits)
        if year is not None:
            rec.meta["year"] = year
        return Imported(rec)
    raise LoadError(str(path), "unsupported",
                    f"{path}：不能导入这种文件（{kind}）；支持文本 (.txt)、Word (.docx)、网页 (.html/.htm) 和 JSON。"
                    f"旧版 Word (.doc) 请先另存为 .docx。",
                    f"{path}: this kind of file ({kind}) cannot be imported; supported are text (.txt), Word (.docx), "
                    f"web pages (.html/.htm) and JSON. Save an old Word .doc as .docx first.")
