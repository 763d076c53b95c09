"""One way in: any input file → Record, by what the file *is* (sniffed by content).

Workbooks go through the guarded loader and the label-anchored reader; published reports (text,
Word, web page, PDF) and exchanged JSON go through importers, listed here by kind (IMPORTERS).
Every command (validate, export, merge, the add-in) reads through ``read_any`` so a new input
kind is one registration, not an edit in five places.

Content decides, the name only refines: a Word report saved as ``.xlsx`` is read as Word, a
workbook called ``.xls`` as a workbook. The one exception is text behind a spreadsheet name
(``.xlsx``/``.xls``/``.csv`` holding CSV or an HTML table, as web systems "export to Excel"): it
is never fed to the text importer, whose answer ("not an annual report") would hide the real
problem; the loader says "the name ends in .xlsx but the file is text", which is what to fix.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from gxsheet.core.errors import LoadError
from gxsheet.core.limits import Limits
from gxsheet.core.record import Record
from gxsheet.xlsx.loader import EXCEL_SUFFIXES, sniff

__all__ = [
    "IMPORTERS",
    "INPUT_SUFFIXES",
    "JUNK_NAMES",
    "REPORTED_SUFFIXES",
    "SPREADSHEET_SUFFIXES",
    "WORKBOOK_KINDS",
    "expand_inputs",
    "folder_files",
    "kind_of",
    "read_any",
    "register",
    "skipped_in_folder",
    "spreadsheet_like",
]

Importer = Callable[..., Record]

#: kind → "module:function" of the reader that turns that kind of file into a Record; modules are
#: imported lazily so a command's start stays fast. Workbooks are read by gxsheet.read.workbook.
IMPORTERS: dict[str, str] = {
    "txt": "gxsheet.read.txt:read_txt",
    "docx": "gxsheet.read.docx:read_docx",
    "html": "gxsheet.read.html:read_html",
    "pdf": "gxsheet.read.pdf:read_pdf",
    "json": "gxsheet.read.json_report:read_json",
    "empty": "gxsheet.read.registry:read_empty",
}

WORKBOOK_KINDS = ("xlsx", "xlsm", "ods")
#: what a folder's file is, by name or content, when it is meant as a workbook (a town that sent an
#: old .xls, a CSV "export to Excel" or an encrypted file made a submission that failed to read)
SPREADSHEET_SUFFIXES = (*EXCEL_SUFFIXES, ".xlsb", ".ods", ".csv")
SPREADSHEET_KINDS = ("xlsx", "xlsm", "xls", "xlsb", "ods", "encrypted")
#: files a folder may hold that are never submissions (Windows/macOS housekeeping)
JUNK_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})
#: file name endings gxsheet reads (the collection page keeps uploads with these endings)
INPUT_SUFFIXES = (".xlsx", ".xlsm", ".ods", ".txt", ".docx", ".html", ".htm", ".pdf", ".json")
#: endings gxsheet cannot read but that look like submissions: an upload with one is kept, so an
#: old .xls or a .doc gets its one-line advice instead of vanishing silently
REPORTED_SUFFIXES = (".xls", ".xlsb", ".xltx", ".xltm", ".et", ".ett", ".csv", ".doc", ".wps")
#: text content under these names is answered by the loader, not the text importer
_SPREADSHEET_NAMES = (*EXCEL_SUFFIXES, ".csv", ".xlsb", ".ods")


def register(kind: str, target: str) -> None:
    """Route inputs of ``kind`` (as returned by :func:`kind_of`) to ``"module:function"``."""
    IMPORTERS[kind] = target


def kind_of(path: str | Path) -> str:
    """What a file is, for dispatch: sniffed content, refined by suffix for text formats.

    Text is 'html' or 'json' by its suffix, 'text' under a spreadsheet name (no importer takes
    it, so ``read_any`` ends in the loader's "this is a text file, not a workbook"), else 'txt'.
    """
    kind = sniff(path)
    suffix = Path(path).suffix.lower()
    if kind == "text":
        if suffix in (".html", ".htm"):
            return "html"
        if suffix == ".json":
            return "json"
        if suffix in _SPREADSHEET_NAMES:
            return "text"
        return "txt"
    return kind


def read_any(path: str | Path, *, limits: Limits | None = None, **options: object) -> Record:
    """Read any supported input into a Record, or raise LoadError with a one-line reason."""
    kind = kind_of(path)
    if kind in WORKBOOK_KINDS:
        from gxsheet.read.workbook import read_report

        return read_report(path, limits=limits)
    target = IMPORTERS.get(kind)
    if target is None:
        from gxsheet.xlsx.loader import open_package

        open_package(path, limits).close()  # raises the loader's specific advice (.xls, encrypted, text …)
        raise LoadError(
            str(path),
            "unsupported",
            f"{path}：不支持的文件类型（{kind}），请提交 .xlsx 工作簿。",
            f"{path}: unsupported file type ({kind}); submit an .xlsx workbook.",
        )
    module, func = target.split(":")
    fn = getattr(importlib.import_module(module), func)
    return fn(path, limits=limits, **options)


def read_empty(path: str | Path, **_: object) -> Record:
    """An empty file is never a report: say so plainly instead of 'unsupported type'."""
    raise LoadError(str(path), "empty", f"{path}：文件是空的（0 字节），请提供完整的年度报告。",
                    f"{path}: the file is empty (0 bytes); provide the complete annual report.")


def _listed(q: Path) -> bool:
    """Whether a folder entry is looked at: not hidden, not an Excel lock file, not OS housekeeping.

    Symbolic links are offered even when broken or looping, so they get a message rather
    than being skipped without a word (``is_file`` is False for them).
    """
    if q.name.startswith((".", "~$")) or q.name.lower() in JUNK_NAMES:
        return False
    return q.is_symlink() or q.is_file()


def folder_files(folder: str | Path) -> list[Path]:
    """Every file of a folder a person might have put there as a submission, sorted by name.

    Any suffix: a stray 说明.txt or a photo is *looked at* and, not being a report, listed as
    skipped (:func:`skipped_in_folder`) — validate and merge treat a folder the same way. Not
    recursive. A folder that cannot be listed is a LoadError ('unreadable').
    """
    p = Path(folder)
    try:
        entries = list(p.iterdir())
    except OSError as e:
        raise LoadError.make(str(p), "unreadable", e.strerror or type(e).__name__) from None
    return sorted((q for q in entries if _listed(q)), key=lambda q: q.name)


def expand_inputs(items: list[str]) -> list[Path]:
    """Files as given, folders expanded to their files (:func:`folder_files`)."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        out += folder_files(p) if p.is_dir() else [p]
    return out


def spreadsheet_like(path: str | Path) -> bool:
    """Whether a file is meant as a workbook: a spreadsheet name, or spreadsheet content."""
    if Path(path).suffix.lower() in SPREADSHEET_SUFFIXES:
        return True
    try:
        return sniff(path) in SPREADSHEET_KINDS
    except LoadError:
        return False


def skipped_in_folder(path: str | Path, error: LoadError) -> bool:
    """An unreadable file found in a folder that is not a workbook at all (说明.txt, a photo, a cover
    letter): listed as skipped, with its reason, and not counted as a failed submission. A workbook
    that fails (an old .xls, a damaged .xlsx) is a submission that needs fixing, and stays one."""
    return error.kind != "internal" and not spreadsheet_like(path)
