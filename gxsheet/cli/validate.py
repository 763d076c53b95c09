"""``gxsheet validate FILE_OR_DIR... [--json] [--lang zh|en] [--annotate OUT]``.

All readable inputs are validated together (one frame, one pandera pass); unreadable ones get a
one-line reason and make the exit code 2. ``--annotate`` writes marked copies — the inputs are
never touched.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gxsheet.cli.config import add_options, limits_of
from gxsheet.core.errors import LoadError
from gxsheet.core.findings import SEVERITY_ZH, Finding, summary
from gxsheet.core.limits import Limits
from gxsheet.core.record import Record
from gxsheet.core.sanitise import json_dumps, shown, terminal

SCHEMA_VERSION = 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="校验年报工作簿 / validate report workbooks",
                       description="校验一个或多个年报工作簿（或文件夹），指出每个问题所在的单元格。")
    p.add_argument("inputs", nargs="+", metavar="FILE_OR_DIR")
    p.add_argument("--json", action="store_true", help="输出机器可读的 JSON（见 schemas/findings.schema.json）")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--annotate", metavar="OUT",
                   help="写出标注副本：单个输入时为 .xlsx 文件名，多个输入时为文件夹")
    p.add_argument("--force", action="store_true", help="允许覆盖已存在的标注输出")
    add_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gxsheet.check.validate import validate_records
    from gxsheet.read.batch import read_files
    from gxsheet.read.registry import expand_inputs

    limits = limits_of(args)
    paths = expand_inputs(args.inputs)
    if not paths:
        raise LoadError(", ".join(args.inputs), "empty", f"{', '.join(args.inputs)}：没有找到可校验的文件。",
                        f"{', '.join(args.inputs)}: no files to validate.")
    targets = _annotate_targets(args, paths) if args.annotate else {}
    records: list[Record] = []
    results: list[dict[str, Any]] = []
    for p, got in zip(paths, read_files(paths, limits=limits), strict=True):
        if isinstance(got, LoadError):
            results.append({"path": p, "error": got})
            if got.trace and getattr(args, "debug", False):
                sys.stderr.write(got.trace)
        else:
            records.append(got)
            results.append({"path": p, "record": got})
    all_findings = validate_records(records) if records else []
    it = iter(all_findings)
    for r in results:
        if "record" in r:
            r["findings"] = next(it)
    if args.annotate:
        _annotate(args, results, targets)
    if args.json:
        _print_json(results, args.lang)
    else:
        _print_human(results, args.lang)
    if any("error" in r for r in results):
        return 2
    if any(f.is_error for r in results for f in r.get("findings", [])):
        return 1
    return 0


# ----------------------------------------------------------------------------- output
def file_report(r: dict[str, Any], lang: str) -> dict[str, Any]:
    """One file's entry in the JSON report (shape: schemas/findings.schema.json)."""
    path: Path = r["path"]
    if "error" in r:
        e: LoadError = r["error"]
        return {"file": str(path), "status": "unreadable",
                "error": {"kind": e.kind, "message": e.message_en if lang == "en" else e.message_zh}}
    rec: Record = r["record"]
    fs: list[Finding] = r["findings"]
    errors, warnings = summary(fs)
    return {
        "file": str(path), "status": "errors" if errors else ("warnings" if warnings else "ok"),
        "kind": rec.kind, "edition": rec.edition,
        "unit_name": rec.role("unit_name"), "year": rec.role("year"),
        "errors": errors, "warnings": warnings,
        "findings": [_finding_json(f, lang) for f in fs],
    }


def _finding_json(f: Finding, lang: str) -> dict[str, Any]:
    return {"rule": f.rule, "severity": f.severity, "sheet": f.sheet, "cells": f.cells, "keys": f.keys,
            "message": f.message(lang), "message_zh": f.message_zh, "message_en": f.message_en,
            "numbers": f.to_json()["numbers"]}


def _print_json(results: list[dict[str, Any]], lang: str) -> None:
    files = [file_report(r, lang) for r in results]
    doc = {"gxsheet": SCHEMA_VERSION, "files": files, "summary": {
        "files": len(files),
        "ok": sum(1 for f in files if f["status"] in ("ok", "warnings")),
        "with_errors": sum(1 for f in files if f["status"] == "errors"),
        "unreadable": sum(1 for f in files if f["status"] == "unreadable"),
        "errors": sum(f.get("errors", 0) for f in files),
        "warnings": sum(f.get("warnings", 0) for f in files),
    }}
    sys.stdout.write(json_dumps(doc) + "\n")


def _headline(r: dict[str, Any], lang: str) -> tuple[str, str]:
    """(mark, text) of a file's first line."""
    path: Path = r["path"]
    if "error" in r:
        e: LoadError = r["error"]
        return "!", e.message_en if lang == "en" else e.message_zh
    rec: Record = r["record"]
    errors, warnings = summary(r["findings"])
    unit, year = rec.role("unit_name"), rec.role("year")
    unit, year = (shown(str(v)) if v not in (None, "") else None for v in (unit, year))
    who = f"{unit or '（未填单位名称）'} {year or '?'}年（{rec.edition}版）"
    if lang == "en":
        who = f"{unit or '(no name)'} {year or '?'} ({rec.edition} edition)"
        verdict = "passed" if not errors and not warnings else f"{errors} error(s), {warnings} warning(s)"
    else:
        verdict = "通过" if not errors and not warnings else f"{errors}个错误，{warnings}个疑问"
    name = shown(path.name)
    return ("✗" if errors else "?" if warnings else "✓"), f"{name} — {who}：{verdict}" if lang != "en" else f"{name} — {who}: {verdict}"


def _print_human(results: list[dict[str, Any]], lang: str) -> None:
    """The report for a person: every line passes :func:`terminal` (a 单位名称 or file name holding
    a newline or an escape sequence cannot forge a line or reach the terminal), and nothing from a
    submission is read as rich markup (``[link=…]`` stays text)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    out = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    sev = (lambda s: s) if lang == "en" else (lambda s: SEVERITY_ZH.get(s, s))
    for r in results:
        mark, line = _headline(r, lang)
        if "error" in r:
            err.print(terminal(line), markup=False)
            continue
        style = {"✗": "bold red", "?": "bold yellow", "✓": "bold green"}[mark]
        out.print(terminal(f"{mark} {line}"), style=style, markup=False)
        fs: list[Finding] = r["findings"]
        if not fs:
            continue
        rows = _display_rows(fs, lang)
        if out.is_terminal:
            t = Table(show_header=True, header_style="bold", show_lines=False, expand=False)
            for h in (("Severity", "Rule", "Cell", "Message") if lang == "en" else ("严重程度", "规则", "位置", "说明")):
                t.add_column(h, overflow="fold")
            for severity, rule, cells, message in rows:
                t.add_row(sev(severity), rule,
                          Text("\n".join(terminal(c) for c in cells[:4]) + ("…" if len(cells) > 4 else "")),
                          Text(terminal(message)), style="red" if severity == "error" else "yellow")
            out.print(t)
        else:
            for severity, rule, cells, message in rows:
                where = ",".join(cells[:4]) + ("…" if len(cells) > 4 else "")
                out.print("  " + "\t".join(terminal(x) for x in (sev(severity), rule, where, message)), markup=False)
    n_files = len(results)
    bad = sum(1 for r in results if "error" in r)
    errs = sum(summary(r["findings"])[0] for r in results if "findings" in r)
    warns = sum(summary(r["findings"])[1] for r in results if "findings" in r)
    if n_files > 1:
        msg = (f"共 {n_files} 个文件：{errs} 个错误，{warns} 个疑问，{bad} 个无法读取。" if lang != "en" else
               f"{n_files} files: {errs} errors, {warns} warnings, {bad} unreadable.")
        out.print(msg, markup=False)


#: above this many blank cells in one sheet, a person reads one line, not a page of them
COLLAPSE_BLANKS = 6


def _display_rows(fs: list[Finding], lang: str) -> list[tuple[str, str, list[str], str]]:
    """(severity, rule, cells, message) lines for a person: many blanks of a sheet become one line.

    JSON and annotated copies keep every finding; only the screen report is condensed.
    """
    blanks: dict[str, list[Finding]] = {}
    for f in fs:
        if f.rule == "V-BLANK" and f.sheet:
            blanks.setdefault(f.sheet, []).append(f)
    rows: list[tuple[str, str, list[str], str]] = []
    done: set[str] = set()
    for f in fs:
        group = blanks.get(f.sheet or "", [])
        if f.rule == "V-BLANK" and len(group) >= COLLAPSE_BLANKS:
            if f.sheet in done:
                continue
            done.add(f.sheet or "")
            cells = [c for g in group for c in g.cells]
            first, last = cells[0].split("!")[-1], cells[-1].split("!")[-1]
            msg = (f"{f.sheet} 有 {len(group)} 个单元格未填写（{first} 至 {last}）。没有数据请填 0，不要留空或写“无”“-”“/”。"
                   if lang != "en" else
                   f"{f.sheet}: {len(group)} cells are empty ({first} to {last}). Enter 0 when there is nothing to report.")
            rows.append((f.severity, f.rule, [f"{f.sheet}!{first}", "…", f"{f.sheet}!{last}"], msg))
        else:
            rows.append((f.severity, f.rule, f.cells, f.message(lang)))
    return rows


def _annotate_targets(args: argparse.Namespace, paths: list[Path]) -> dict[Path, Path]:
    """Where each workbook's annotated copy goes, decided (and checked) before anything is read.

    One input: ``--annotate`` names the file. Several: a folder, with ``<stem>.校验.xlsx`` per
    input; inputs of one name from different folders (a/城关镇.xlsx, b/城关镇.xlsx) get
    ``城关镇.校验.xlsx``, ``城关镇（2）.校验.xlsx`` … in input order, compared the way Windows and
    macOS compare names, so no copy ever replaces another.
    """
    from gxsheet.core.atomic import OutputError, check_output

    out = Path(args.annotate)
    if out.suffix.lower() in (".xlsm", ".xls", ".xlsb", ".ods"):
        raise OutputError(out, f"{out}：标注副本只能保存为 .xlsx（不含宏），请换用 .xlsx 文件名。",
                          f"{out}: the annotated copy can only be an .xlsx (no macros); use an .xlsx name.")
    if len(paths) == 1 and out.suffix.lower() == ".xlsx":
        check_output(out, inputs=paths, force=args.force)
        return {paths[0]: out}
    if out.exists() and not out.is_dir():
        raise OutputError(out, f"{out}：多个输入时 --annotate 须是文件夹，这里已有同名文件。",
                          f"{out}: with several inputs --annotate must be a folder, and a file has that name.")
    taken: set[str] = set()
    dests = {}
    for p in paths:  # every input reserves its name; only workbooks get a copy
        n, name = 1, f"{p.stem}.校验.xlsx"
        while name.casefold() in taken:
            n += 1
            name = f"{p.stem}（{n}）.校验.xlsx"
        taken.add(name.casefold())
        dests[p] = out / name
    if out.is_dir():
        for dest in dests.values():
            check_output(dest, inputs=paths, force=args.force)
    return dests


def _annotate(args: argparse.Namespace, results: list[dict[str, Any]], targets: dict[Path, Path]) -> None:
    """Write the annotated copies, each in a bounded worker (openpyxl builds every part of the file)."""
    from gxsheet.core.atomic import check_output, write_with
    from gxsheet.core.bounded import Pool, error_for

    inputs = [r["path"] for r in results]
    todo = [r for r in results if "record" in r and r["record"].kind in ("xlsx", "xlsm") and r["path"] in targets]
    if not todo:
        return  # imported reports have no cells to mark; their findings are printed
    for r in todo:
        dest = targets[r["path"]]
        dest.parent.mkdir(parents=True, exist_ok=True)
        check_output(dest, inputs=inputs, force=args.force)
    limits = limits_of(args)
    with Pool(_annotate_task, 1, limits) as pool:
        for r in todo:
            dest = targets[r["path"]]

            def write(tmp: Path, r: dict[str, Any] = r) -> None:
                outcome = pool.map([(str(r["path"]), r["findings"], args.lang, str(tmp), limits)])[0]
                if not outcome.ok:
                    raise error_for(str(r["path"]), outcome, limits)
                if isinstance(outcome.value, LoadError):
                    raise outcome.value

            try:
                write_with(dest, write)
            except LoadError as e:  # over a bound while annotating: this file is unreadable, the rest go on
                r.pop("record")
                r.pop("findings", None)
                r["error"] = e
                continue
            r["annotated"] = dest


def _annotate_task(source: str, findings: list[Finding], lang: str, dest: str, limits: Limits) -> int | LoadError:
    """Worker task: the annotated copy, or the loader's refusal as a value (it crosses the pipe)."""
    from gxsheet.render.annotate import annotate_file

    try:
        return annotate_file(source, findings, lang, dest, limits)
    except LoadError as e:
        return e
