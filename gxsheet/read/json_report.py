"""Reading a JSON report (``schemas/report.schema.json``) back into a Record.

The document is checked against the JSON Schema, then against the spec of its edition (unknown keys
are refused, absent values read as blank and are reported by the validator like any blank cell).
Every problem is a one-line ``LoadError``: a report that cannot be trusted is never half-read.
Writing it is :mod:`gxsheet.render.json_report`; the two together round-trip byte for byte.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

from gxsheet.core.errors import LoadError
from gxsheet.core.findings import Finding
from gxsheet.core.limits import DEFAULT_LIMITS, Limits
from gxsheet.core.normalise import clean_text, normalise_value, parse_date, parse_year
from gxsheet.core.record import Record, Value
from gxsheet.core.spec import Spec, editions, load_spec, schemas_dir

SCHEMA_FILE = "report.schema.json"
FINDINGS_SCHEMA_FILE = "findings.schema.json"


def finding_from_json(d: dict[str, Any], source: str) -> Finding:
    return Finding(rule=d["rule"], severity=d["severity"], message_zh=d["message_zh"], message_en=d["message_en"],
                   sheet=d.get("sheet"), cells=list(d.get("cells", [])), keys=list(d.get("keys", [])),
                   numbers=dict(d.get("numbers", {})), source=source)



@cache
def _validator() -> jsonschema.protocols.Validator:
    def load(name: str) -> dict:
        return json.loads((schemas_dir() / name).read_text(encoding="utf-8"))

    schema = load(SCHEMA_FILE)
    registry = Registry().with_resources([
        (SCHEMA_FILE, Resource.from_contents(schema)),
        (FINDINGS_SCHEMA_FILE, Resource.from_contents(load(FINDINGS_SCHEMA_FILE))),
    ])
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, registry=registry)


def schema_errors(data: Any) -> list[jsonschema.ValidationError]:
    """Everything wrong with ``data`` as a report document, most relevant first."""
    return sorted(_validator().iter_errors(data), key=jsonschema.exceptions.relevance)


#: digits of the longest integer read as a number; a longer one is kept as its text (more than a
#: double holds exactly: the validator says it is out of range, not an internal error)
_MAX_INT_DIGITS = 18


def _json_int(text: str) -> int | str:
    """A JSON integer: an int when it has a sane number of digits, else its digits as text.

    ``json`` would call ``int()`` on any length (an error past 4,300 digits, an int no frame can
    hold below); NaN and Infinity (``parse_constant``) likewise stay text, so each becomes a
    V-NUMBER finding on its cell instead of a blank, an infinity or an internal error.
    """
    return int(text) if len(text.lstrip("-")) <= _MAX_INT_DIGITS else text


def _json_float(text: str) -> float | str:
    """A JSON number with a fraction or exponent: the float, or its text when no double holds it (1e400)."""
    v = float(text)
    return v if math.isfinite(v) else text


def _fail(path: str, kind: str, zh: str, en: str) -> LoadError:
    return LoadError(path, kind, f"{path}：{zh}", f"{path}: {en}")


def _pointer(err: jsonschema.ValidationError) -> str:
    return "/" + "/".join(str(p) for p in err.absolute_path) if err.absolute_path else "/"


def _meta_value(spec: Spec, key: str, raw: Any) -> Any:
    """Metadata as the workbook reader would have normalised it (idempotent on our own output)."""
    f = spec.field(key)
    if raw is None:
        return None
    if f.type == "year":
        y = parse_year(raw)
        return y if y is not None else str(raw)
    if f.type == "date":
        d = parse_date(raw)
        return d if d is not None else str(raw)
    if f.type == "choice":
        return clean_text(str(raw)) or None
    return str(raw).strip() or None


def _check_keys(p: str, what_zh: str, what_en: str, found: Any, known: Sequence[str]) -> None:
    unknown = [k for k in found if k not in known]
    if unknown:
        shown = "、".join(unknown[:5]) + ("…" if len(unknown) > 5 else "")
        raise _fail(p, "json-keys", f"{what_zh}中有本版本表格没有的键：{shown}。请按 schemas/format-<版本>.json 的键名填写。",
                    f"{what_en} has keys this edition does not define: {', '.join(unknown[:5])}. Use the keys of schemas/format-<edition>.json.")


def record_from_json(data: Any, source: str = "<json>") -> Record:
    """A Record from a parsed report document (schema and spec checked; LoadError otherwise)."""
    errs = schema_errors(data)
    if errs:
        e = errs[0]
        what = e.message if len(e.message) <= 200 else e.message[:199] + "…"  # it quotes the document
        more = f"（另有 {len(errs) - 1} 处）" if len(errs) > 1 else ""
        raise _fail(source, "json-schema", f"不符合 report.schema.json：{_pointer(e)}：{what}{more}",
                    f"does not match report.schema.json: {_pointer(e)}: {what}" + (f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""))
    edition = data["edition"]
    if edition not in editions():
        raise _fail(source, "json-edition", f"表格版本“{edition}”未知（已知：{'、'.join(editions())}）。",
                    f"unknown edition {edition!r} (known: {', '.join(editions())}).")
    spec = load_spec(edition)
    _check_keys(source, "values", "values", data["values"], list(spec.cells))
    _check_keys(source, "metadata", "metadata", data["metadata"], [f.key for f in spec.metadata])
    _check_keys(source, "prose", "prose", data["prose"], [s.key for s in spec.sections])
    values: dict[str, Value] = {}
    for key in spec.cells:
        entry = data["values"].get(key)
        values[key] = normalise_value(entry["value"]) if entry is not None else None
    meta = {f.key: _meta_value(spec, f.key, (data["metadata"].get(f.key) or {}).get("value")) for f in spec.metadata}
    prose: dict[str, str | None] = {}
    for s in spec.sections:
        text = (data["prose"].get(s.key) or {}).get("text")
        prose[s.key] = (text.strip() or None) if isinstance(text, str) else None
    known = set(spec.cells)
    missing = {k for k in data.get("missing", []) if k in known}
    return Record(
        edition=edition, meta=meta, prose=prose, values=values, source=source, kind="json",
        where=dict(data.get("where", {})),
        structure=[finding_from_json(f, source) for f in data.get("structure", [])],
        headings_found=list(data["headings_found"]) if data.get("headings_found") is not None else None,
        missing=missing,
    )


def read_json(path: str | Path, *, limits: Limits | None = None, **_: object) -> Record:
    """Import a JSON report (the ``json`` importer of ``sources.read_any``)."""
    limits = limits or DEFAULT_LIMITS
    p = str(path)
    try:
        size = Path(path).stat().st_size
        if size > limits.max_file_bytes:
            raise _fail(p, "too-large", f"文件过大（{size} 字节，上限 {limits.max_file_bytes} 字节）。",
                        f"file too large ({size} bytes, limit {limits.max_file_bytes}).")
        raw = Path(path).read_bytes()
    except OSError as e:
        raise _fail(p, "unreadable", f"无法读取（{e.strerror or e}）。", f"cannot be read ({e.strerror or e}).") from e
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _fail(p, "json-encoding", f"不是 UTF-8 编码的 JSON（第 {e.start} 字节）。请以 UTF-8 保存。",
                    f"not UTF-8 encoded JSON (byte {e.start}); save it as UTF-8.") from e
    try:
        data = json.loads(text, parse_int=_json_int, parse_float=_json_float, parse_constant=str)
    except json.JSONDecodeError as e:
        raise _fail(p, "json-invalid", f"不是有效的 JSON：第 {e.lineno} 行第 {e.colno} 列，{e.msg}。",
                    f"not valid JSON: line {e.lineno} column {e.colno}: {e.msg}.") from e
    except RecursionError as e:
        raise _fail(p, "json-invalid", "JSON 嵌套过深，不是年报文档。", "JSON nested too deeply; not a report document.") from e
    except ValueError as e:  # e.g. an integer of thousands of digits (int_max_str_digits)
        raise _fail(p, "json-invalid", "JSON 中有无法读取的数值（位数过多），不是有效的年报文档。",
                    "the JSON holds a number that cannot be read (too many digits); not a valid report document.") from e
    if not isinstance(data, dict) or "gxsheet_report" not in data:
        raise _fail(p, "json-not-report", "不是 gxsheet 年报 JSON（缺少 gxsheet_report 字段），请用 gxsheet export --to json 生成。",
                    "not a gxsheet report JSON (no gxsheet_report field); produce it with gxsheet export --to json.")
    return record_from_json(data, p)


__all__ = ["finding_from_json", "read_json", "record_from_json", "schema_errors"]
