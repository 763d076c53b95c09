"""What the worker processes do: the same reading, checking, marking and merging the command line does.

Each function runs in a pool process (:mod:`gxsheet.serve.pool`) so a hostile file costs at most one
worker for at most the per-file timeout, and a crash or a runaway reader takes down a worker, never
the server. Nothing here decides anything of its own: it calls ``read_any`` with the guarded limits,
``validate_record``, ``annotate_file``, ``fill_workbook``, ``merge_paths``/``write_merge``/
``write_county_report`` — the functions behind ``gxsheet validate``, ``template`` and ``merge`` —
and writes every output atomically.

Messages from the readers name the file they read: here that is the stored copy (named by its
hash), so the uploaded name is put back in before anything is shown.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gxsheet.core.atomic import write_with
from gxsheet.core.errors import LoadError
from gxsheet.core.limits import Limits
from gxsheet.render.findings_report import file_entry

__all__ = ["LANGS", "check_upload", "make_merge", "make_template", "warm"]

LANGS = ("zh", "en")


def warm() -> None:
    """Check each edition's blank template once per worker, before any upload.

    The first validation in a process builds the schemas and fills every cache on the way (~0.5 s);
    paid here, at worker start, it is not charged to a town's upload or counted against its timeout.
    """
    from gxsheet.check.validate import validate_record
    from gxsheet.core.spec import editions
    from gxsheet.read.registry import read_any
    from gxsheet.render import annotate  # noqa: F401 - imported for its cost
    from gxsheet.render.samples import template_path

    for e in editions():
        try:
            validate_record(read_any(template_path(e)))
        except LoadError:
            pass


def _renamed(entry: dict[str, Any], stored: str, name: str) -> dict[str, Any]:
    """``entry`` with the stored copy's path replaced by the uploaded file's name in every message."""
    text = json.dumps(entry, ensure_ascii=False)
    quoted = json.dumps(stored, ensure_ascii=False)[1:-1]
    return json.loads(text.replace(quoted, json.dumps(name, ensure_ascii=False)[1:-1]))


def check_upload(stored: str, name: str, annotated: str | None, limits: Limits | None = None) -> dict[str, Any]:
    """Read, validate and (for a workbook) mark one stored upload.

    Returns ``{"entries": {lang: file entry of validate --json}, "annotated": bool}``; the marked
    copy is written to ``annotated`` (atomically, once: its name is the upload's hash) when there is
    something to mark. Marking is done here, not on download, because it is the step a crafted file
    can make slow, and here it is inside the timeout — and inside the CPU and memory bounds of
    ``gxsheet validate`` (:func:`gxsheet.core.bounded.call_bounded`): the pool's timeout counts
    wall-clock seconds only and would let one upload take all the machine's memory.
    """
    from gxsheet.core.bounded import call_bounded, error_for

    outcome = call_bounded(_check, stored, annotated, limits, limits=limits)
    if outcome.ok:
        record, findings, marked = outcome.value
        if record is not None:
            entries = {lang: _renamed(file_entry(name, record=record, findings=findings, lang=lang), stored, name)
                       for lang in LANGS}
            return {"entries": entries, "annotated": marked}
        error = findings
    elif outcome.status == "crash":  # one strange file must never reach the user as a traceback
        error = LoadError(stored, "internal",
                          f"{stored}：读取时发生内部错误（{outcome.detail.split(':')[0]}），请把该文件发给维护者。",
                          f"{stored}: internal error while reading ({outcome.detail.split(':')[0]}); "
                          "please send the file to the maintainers.")
    else:
        error = error_for(stored, outcome, limits)
    return {"entries": {lang: _renamed(file_entry(name, error=error, lang=lang), stored, name) for lang in LANGS},
            "annotated": False}


def _check(stored: str, annotated: str | None, limits: Limits | None) -> tuple[Any, Any, bool]:
    """(record, findings, marked), or (None, the LoadError, False) for a file that cannot be read."""
    from gxsheet.check.validate import validate_record
    from gxsheet.read.registry import WORKBOOK_KINDS, read_any

    try:
        record = read_any(stored, limits=limits)
    except LoadError as e:
        return None, e, False
    findings = validate_record(record)
    marked = False
    if annotated and record.kind in WORKBOOK_KINDS and findings:  # nothing to mark in a report that passed
        out = Path(annotated)
        if out.exists():
            marked = True
        else:
            from gxsheet.render.annotate import annotate_file

            out.parent.mkdir(parents=True, exist_ok=True)
            try:  # as validate --annotate: the submission's outside-reaching formulas made inert
                write_with(out, lambda tmp: annotate_file(stored, findings, "zh", str(tmp), limits, record=record))
                marked = True
            except Exception:  # noqa: BLE001 - the findings stand when the copy cannot be made (an .ods, …)
                marked = False
    return record, findings, marked


def make_template(edition: str, out: str, roles: dict[str, object]) -> str:
    """The edition's standard template with the unit's 单位名称/层级/年度 typed in (``fill_workbook``).

    ``roles`` names metadata by role (``unit_name``, ``level``, ``year``); the spec says which field
    of this edition holds each.
    """
    from gxsheet.core.spec import load_spec
    from gxsheet.render.samples import fill_workbook, template_path

    spec = load_spec(edition)
    meta = {spec.meta_key(role): value for role, value in roles.items()}
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_with(path, lambda tmp: fill_workbook(template_path(edition), tmp, {}, meta))
    return str(path)


def make_merge(items: Sequence[tuple[str, str, float]], workdir: str, merge_out: str, report_out: str, *,
               year: int, name: str, limits: Limits | None = None, order: Sequence[str] | None = None) -> dict[str, Any]:
    """The county merge of ``items`` ((stored file, name in the merge, upload time) each).

    The files are copied under their merge names into a private folder (the stored copies are never
    touched, and the problem list then names each unit's file), merged exactly as ``gxsheet merge
    FOLDER -o … --report … --name … --year … --order UNITS`` does (``order``: the units in the
    county's list order), and the folder removed again.
    """
    from gxsheet.merge.county import merge_paths
    from gxsheet.merge.workbook import write_county_report, write_merge

    folder = Path(tempfile.mkdtemp(prefix="merge-", dir=workdir))
    try:
        for stored, shown, mtime in items:
            dest = folder / shown
            shutil.copyfile(stored, dest)
            os.utime(dest, (mtime, mtime))
        result = merge_paths([folder], year=year, name=name, jobs=1, limits=limits, order=order)
        if not result.entries:
            return {"merged": 0, "unreadable": len(result.unreadable)}
        write_merge(result, merge_out)
        write_county_report(result, report_out, name=name)
        return {"merged": len(result.entries), "unreadable": len(result.unreadable), "errors": result.errors,
                "warnings_only": result.warnings_only, "passed": result.passed}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
