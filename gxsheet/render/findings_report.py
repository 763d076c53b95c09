"""Validation results for machines and for people: the ``validate --json`` document and the rows a person reads.

One builder for every face: the command line prints the document, the web page's JSON API answers
with it, and both the terminal table and the web page show :func:`display_rows`, so a clerk reads the
same lines wherever the workbook was checked. Shape: ``schemas/findings.schema.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gxsheet.core.errors import LoadError
from gxsheet.core.findings import Finding, render, summary
from gxsheet.core.record import Record

__all__ = ["COLLAPSE_BLANKS", "SCHEMA_VERSION", "display_rows", "file_entry", "findings_document", "status_of"]

SCHEMA_VERSION = 1

#: above this many blank cells in one sheet, a person reads one line, not a page of them
COLLAPSE_BLANKS = 6


def status_of(findings: Sequence[Finding]) -> str:
    """'errors', 'warnings' or 'ok': the verdict on one readable file."""
    errors, warnings = summary(list(findings))
    return "errors" if errors else ("warnings" if warnings else "ok")


def file_entry(name: str, *, record: Record | None = None, findings: Sequence[Finding] = (),
               error: LoadError | None = None, skipped: bool = False, lang: str = "zh") -> dict[str, Any]:
    """One file's entry in the document: its findings, or the one-line reason it could not be read.

    ``name`` is what the file is called for the reader (a path on the command line, the uploaded
    file's name on the web page). ``skipped``: an unreadable file found in a folder that is not a
    workbook at all (说明.txt) — listed, but not a failure.
    """
    if error is not None:
        return {"file": name, "status": "skipped" if skipped else "unreadable",
                "error": {"kind": error.kind, "message": error.message_en if lang == "en" else error.message_zh}}
    if record is None:
        raise ValueError("file_entry needs a record or an error")
    from gxsheet.render.json_report import finding_to_json  # only the JSON document needs it (a cold start's ~3 ms)

    errors, warnings = summary(list(findings))
    return {
        "file": name, "status": status_of(findings),
        "kind": record.kind, "edition": record.edition,
        "unit_name": record.role("unit_name"), "year": record.role("year"),
        "errors": errors, "warnings": warnings,
        "findings": [finding_to_json(f, lang) for f in findings],
    }


def findings_document(files: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The whole document around file entries, with the run's summary."""
    files = list(files)
    return {"gxsheet": SCHEMA_VERSION, "files": files, "summary": {
        "files": len(files),
        "ok": sum(1 for f in files if f["status"] in ("ok", "warnings")),
        "with_errors": sum(1 for f in files if f["status"] == "errors"),
        "unreadable": sum(1 for f in files if f["status"] == "unreadable"),
        "skipped": sum(1 for f in files if f["status"] == "skipped"),
        "errors": sum(f.get("errors", 0) for f in files),
        "warnings": sum(f.get("warnings", 0) for f in files),
    }}


def display_rows(fs: Sequence[Finding | dict[str, Any]], lang: str) -> list[tuple[str, str, list[str], str]]:
    """(severity, rule, cells, message) lines for a person: many blanks of a sheet become one line.

    Takes findings or their JSON entries (the web page keeps the JSON). The JSON document and the
    annotated copies keep every finding; only what a person reads is condensed.
    """
    items = [_as_tuple(f, lang) for f in fs]
    blanks: dict[str, list[tuple[str, str, str | None, list[str], str]]] = {}
    for it in items:
        if it[1] == "V-BLANK" and it[2]:
            blanks.setdefault(it[2], []).append(it)
    rows: list[tuple[str, str, list[str], str]] = []
    done: set[str] = set()
    for severity, rule, sheet, cells, message in items:
        group = blanks.get(sheet or "", [])
        if rule == "V-BLANK" and len(group) >= COLLAPSE_BLANKS:
            if sheet in done:
                continue
            done.add(sheet or "")
            all_cells = [c for g in group for c in g[3]]
            first, last = all_cells[0].split("!")[-1], all_cells[-1].split("!")[-1]
            zh, en = render("V-BLANK", case="many", sheet=sheet, count=len(group), first=first, last=last)
            msg = en if lang == "en" else zh
            rows.append((severity, rule, [f"{sheet}!{first}", "…", f"{sheet}!{last}"], msg))
        else:
            rows.append((severity, rule, cells, message))
    return rows


def _as_tuple(f: Finding | dict[str, Any], lang: str) -> tuple[str, str, str | None, list[str], str]:
    if isinstance(f, Finding):
        return f.severity, f.rule, f.sheet, list(f.cells), f.message(lang)
    message = f.get("message_en" if lang == "en" else "message_zh") or f.get("message", "")
    return f["severity"], f["rule"], f.get("sheet"), list(f.get("cells") or []), message
