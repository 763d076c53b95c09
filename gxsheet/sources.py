"""One way in: any input file → Record, by what the file *is* (sniffed by content).

Workbooks go through the guarded loader and the label-anchored reader; published reports (text,
Word, web page) and exchanged JSON go through importers, which register themselves here by kind.
Every command (validate, export, merge, the add-in) reads through ``read_any`` so a new input
kind is one registration, not an edit in five places.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from .loader import Limits, LoadError, sniff
from .record import Record

Importer = Callable[..., Record]

#: kind → "module:function"; modules are imported lazily so a CLI start stays fast
IMPORTERS: dict[str, str] = {}

WORKBOOK_KINDS = ("xlsx", "xlsm")
#: file name endings offered when a folder is given
INPUT_SUFFIXES = (".xlsx", ".xlsm", ".txt", ".docx", ".html", ".htm", ".json")


def register(kind: str, target: str) -> None:
    IMPORTERS[kind] = target


def kind_of(path: str | Path) -> str:
    """What a file is, for dispatch: sniffed content, refined by suffix for text formats."""
    kind = sniff(path)
    suffix = Path(path).suffix.lower()
    if kind == "text":
        if suffix in (".html", ".htm"):
            return "html"
        if suffix == ".json":
            return "json"
        return "txt"
    return kind


def read_any(path: str | Path, *, limits: Limits | None = None, **options: object) -> Record:
    """Read any supported input into a Record, or raise LoadError with a one-line reason."""
    kind = kind_of(path)
    if kind in WORKBOOK_KINDS:
        from .reader import read_report

        return read_report(path, limits=limits)
    target = IMPORTERS.get(kind)
    if target is None:
        _load_builtin_importers()
        target = IMPORTERS.get(kind)
    if target is None:
        from .loader import open_package

        open_package(path, limits).close()  # raises the loader's specific advice (.xls, encrypted, empty …)
        raise LoadError(str(path), "unsupported", f"{path}：不支持的文件类型（{kind}），请提交 .xlsx 工作簿。",
                        f"{path}: unsupported file type ({kind}); submit an .xlsx workbook.")
    module, func = target.split(":")
    fn = getattr(importlib.import_module(module), func)
    return fn(path, limits=limits, **options)


def _load_builtin_importers() -> None:
    try:
        importlib.import_module("gxsheet.importers")
    except ModuleNotFoundError as e:  # importers not installed in this build
        if e.name != "gxsheet.importers":
            raise


def expand_inputs(items: list[str]) -> list[Path]:
    """Files as given, folders expanded to their report files (sorted, hidden/temp files skipped)."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            out += sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in INPUT_SUFFIXES
                          and not q.name.startswith((".", "~$")))
        else:
            out.append(p)
    return out
