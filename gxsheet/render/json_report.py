"""The report as JSON (``schemas/report.schema.json``): the exchange format for other systems.

A JSON report is a Record written out: edition and format name, metadata, the six sections'
prose, and every value by its stable key with the official label path beside it, so a
consumer needs neither our spec nor the workbook layout to understand it. The reader's
structural findings, the locations of values in the source document and (for a forced export)
all findings travel with it, so importing the JSON again gives back the same Record: export →
import → export is byte-identical (spec key order, UTF-8 without escapes, two-space indent).

Reading it back is :mod:`gxsheet.read.json_report`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gxsheet import __version__
from gxsheet.core.atomic import write_text
from gxsheet.core.findings import Finding
from gxsheet.core.record import Record
from gxsheet.core.sanitise import json_dumps
from gxsheet.render.txt import report_title

SCHEMA_FILE = "report.schema.json"
FINDINGS_SCHEMA_FILE = "findings.schema.json"
DOCUMENT_VERSION = 1


# ------------------------------------------------------------------ writing
def _json_scalar(v: Any) -> Any:
    """A metadata or cell value as JSON can hold it (dates as ISO text, no NaN)."""
    if v is None or isinstance(v, (str, bool)):
        return v
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    return str(v)


def finding_to_json(f: Finding, lang: str = "zh") -> dict[str, Any]:
    """One finding in the shape of ``findings.schema.json#/$defs/finding`` (no file path)."""
    return {"rule": f.rule, "severity": f.severity, "sheet": f.sheet, "cells": list(f.cells), "keys": list(f.keys),
            "message": f.message(lang), "message_zh": f.message_zh, "message_en": f.message_en,
            "numbers": {k: _json_scalar(v) for k, v in f.to_json()["numbers"].items()}}


def record_to_json(record: Record, findings: Sequence[Finding] | None = None, *, lang: str = "zh") -> dict[str, Any]:
    """The JSON document of a report (see ``schemas/report.schema.json``).

    ``findings`` are included when given (a forced export); ``lang`` picks the ``message`` of each
    finding (both languages are always present too).
    """
    spec = record.spec
    values: dict[str, Any] = {}
    for key, cell in spec.cells.items():
        entry: dict[str, Any] = {"labels": list(spec.label_path(key)), "value": _json_scalar(record.values.get(key)),
                                 "type": cell.type}
        if cell.unit:
            entry["unit"] = cell.unit
        values[key] = entry
    order = {k: i for i, k in enumerate(
        [*spec.cells, *("meta." + f.key for f in spec.metadata), *("prose." + s.key for s in spec.sections)])}
    doc: dict[str, Any] = {
        "gxsheet_report": DOCUMENT_VERSION,
        "generator": f"gxsheet {__version__}",
        "edition": spec.edition,
        "format": {"name": spec.name, "issued_with": spec.issued_with},
        "title": report_title(record),
        "metadata": {f.key: {"label": f.label, "value": _json_scalar(record.meta.get(f.key))} for f in spec.metadata},
        "prose": {s.key: {"heading": s.heading, "text": record.prose.get(s.key) or None} for s in spec.sections},
        "values": values,
        "missing": sorted(record.missing, key=lambda k: (order.get(k, len(order)), k)),
        "where": {k: record.where[k] for k in sorted(record.where, key=lambda k: (order.get(k, len(order)), k))},
        "headings_found": list(record.headings_found) if record.headings_found is not None else None,
        "structure": [finding_to_json(f, lang) for f in record.structure],
    }
    if findings is not None:
        doc["findings"] = [finding_to_json(f, lang) for f in findings]
    return doc


def dumps_json(record: Record, findings: Sequence[Finding] | None = None, *, lang: str = "zh") -> str:
    r"""The JSON text: stable order, UTF-8 characters as such (controls, bidi and invisible marks as
    ``\uXXXX``: :func:`gxsheet.core.sanitise.json_dumps`), two-space indent, final newline."""
    return json_dumps(record_to_json(record, findings, lang=lang)) + "\n"


def write_json(record: Record, path: str | Path, findings: Sequence[Finding] | None = None, *,
               lang: str = "zh") -> Path:
    """Write the JSON document atomically (a temp file renamed into place)."""
    return write_text(path, dumps_json(record, findings, lang=lang))

__all__ = ["dumps_json", "finding_to_json", "record_to_json", "write_json"]
