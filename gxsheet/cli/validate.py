"""``gxsheet validate FILE_OR_DIR... [--json] [--lang zh|en] [--annotate OUT]``.

All readable inputs are validated together (one frame, one pandera pass); unreadable ones get a
one-line reason and make the exit code 2. ``--annotate`` writes marked copies — the inputs are
never touched.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from gxsheet.cli.config import add_options, limits_of
from gxsheet.core.errors import LoadError
from gxsheet.core.findings import SEVERITY_ZH, Finding, summary
from gxsheet.core.record import Record
from gxsheet.render.findings_report import display_rows, file_entry, findings_document


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
    from gxsheet.read.registry import expand_inputs, read_any

    limits = limits_of(args)
    paths = expand_inputs(args.inputs)
    if not paths:
        raise LoadError(", ".join(args.inputs), "empty", f"{', '.join(args.inputs)}：没有找到可校验的文件。",
                        f"{', '.join(args.inputs)}: no files to validate.")
    results: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    for p in paths:
        try:
            r = {"path": p, "record": read_any(p, limits=limits)}
            batch.append(r)
            results.append(r)
        except LoadError as e:
            results.append({"path": p, "error": e})
        if len(batch) >= BATCH:
            _check(batch, slim=True)
            batch = []
    _check(batch, slim=len(results) > BATCH)
    if args.annotate:
        _annotate(args, results)
    if args.json:
        _print_json(results, args.lang)
    else:
        _print_human(results, args.lang)
    if any("error" in r for r in results):
        return 2
    if any(f.is_error for r in results for f in r.get("findings", [])):
        return 1
    return 0


#: files validated together; past this many inputs the records are slimmed once checked (as the
#: county merge does), so auditing a folder of thousands of reports holds ~3 KB a file, not ~60
BATCH = 256


def _check(batch: list[dict[str, Any]], *, slim: bool) -> None:
    """Validate a batch of read files in one pass; their findings go next to their records."""
    from gxsheet.check.validate import validate_records

    if not batch:
        return
    for r, fs in zip(batch, validate_records([r["record"] for r in batch]), strict=True):
        r["findings"] = fs
    if slim:
        from gxsheet.merge.county import slim_record

        for r in batch:
            r["record"] = slim_record(r["record"])


# ----------------------------------------------------------------------------- output
def file_report(r: dict[str, Any], lang: str) -> dict[str, Any]:
    """One file's entry in the JSON report (shape: schemas/findings.schema.json)."""
    if "error" in r:
        return file_entry(str(r["path"]), error=r["error"], lang=lang)
    return file_entry(str(r["path"]), record=r["record"], findings=r["findings"], lang=lang)


def _print_json(results: list[dict[str, Any]], lang: str) -> None:
    doc = findings_document([file_report(r, lang) for r in results])
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")


def _headline(r: dict[str, Any], lang: str) -> tuple[str, str]:
    """(mark, text) of a file's first line."""
    path: Path = r["path"]
    if "error" in r:
        e: LoadError = r["error"]
        return "!", e.message_en if lang == "en" else e.message_zh
    rec: Record = r["record"]
    errors, warnings = summary(r["findings"])
    who = f"{rec.role('unit_name') or '（未填单位名称）'} {rec.role('year') or '?'}年（{rec.edition}版）"
    if lang == "en":
        who = f"{rec.role('unit_name') or '(no name)'} {rec.role('year') or '?'} ({rec.edition} edition)"
        verdict = "passed" if not errors and not warnings else f"{errors} error(s), {warnings} warning(s)"
    else:
        verdict = "通过" if not errors and not warnings else f"{errors}个错误，{warnings}个疑问"
    return ("✗" if errors else "?" if warnings else "✓"), f"{path.name} — {who}：{verdict}" if lang != "en" else f"{path.name} — {who}: {verdict}"


class _Lines:
    """What :func:`_print_human` asks of a rich Console, for a pipe or a file: plain lines.

    rich only matters on a terminal (colours, tables); importing it for a pipe is ~30 ms of a
    cold run, and its markup/emoji substitutions must not touch a town's text anyway.
    """

    is_terminal = False

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def print(self, text: str, *, style: str | None = None, markup: bool = False) -> None:
        print(text, file=self.stream)


def _print_human(results: list[dict[str, Any]], lang: str) -> None:
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        out: Any = Console(highlight=False, soft_wrap=False)
        err: Any = Console(stderr=True, highlight=False, soft_wrap=True)
    else:
        out, err = _Lines(sys.stdout), _Lines(sys.stderr)
    sev = (lambda s: s) if lang == "en" else (lambda s: SEVERITY_ZH.get(s, s))
    for r in results:
        mark, line = _headline(r, lang)
        if "error" in r:
            err.print(line, markup=False)
            continue
        style = {"✗": "bold red", "?": "bold yellow", "✓": "bold green"}[mark]
        out.print(f"{mark} {line}", style=style, markup=False)
        fs: list[Finding] = r["findings"]
        if not fs:
            continue
        rows = display_rows(fs, lang)
        if out.is_terminal:
            t = Table(show_header=True, header_style="bold", show_lines=False, expand=False)
            for h in (("Severity", "Rule", "Cell", "Message") if lang == "en" else ("严重程度", "规则", "位置", "说明")):
                t.add_column(h, overflow="fold")
            for severity, rule, cells, message in rows:
                t.add_row(sev(severity), rule, "\n".join(cells[:4]) + ("…" if len(cells) > 4 else ""),
                          message, style="red" if severity == "error" else "yellow")
            out.print(t)
        else:
            for severity, rule, cells, message in rows:
                shown = ",".join(cells[:4]) + ("…" if len(cells) > 4 else "")
                out.print(f"  {sev(severity)}\t{rule}\t{shown}\t{message}", markup=False)
    n_files = len(results)
    bad = sum(1 for r in results if "error" in r)
    errs = sum(summary(r["findings"])[0] for r in results if "findings" in r)
    warns = sum(summary(r["findings"])[1] for r in results if "findings" in r)
    if n_files > 1:
        msg = (f"共 {n_files} 个文件：{errs} 个错误，{warns} 个疑问，{bad} 个无法读取。" if lang != "en" else
               f"{n_files} files: {errs} errors, {warns} warnings, {bad} unreadable.")
        out.print(msg, markup=False)


def _annotate(args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    from gxsheet.core.atomic import OutputError, check_output, write_with
    from gxsheet.render.annotate import annotate
    from gxsheet.render.book_port import OpenpyxlBook

    targets = [r for r in results if "record" in r]
    inputs = [r["path"] for r in results]
    out = Path(args.annotate)
    if out.suffix.lower() in (".xlsm", ".xls", ".xlsb", ".ods"):
        raise OutputError(out, f"{out}：标注副本只能保存为 .xlsx（不含宏），请换用 .xlsx 文件名。",
                          f"{out}: the annotated copy can only be an .xlsx (no macros); use an .xlsx name.")
    single = len(results) == 1 and out.suffix.lower() == ".xlsx"
    if not single:
        out.mkdir(parents=True, exist_ok=True)
    for r in targets:
        rec: Record = r["record"]
        if rec.kind not in ("xlsx", "xlsm"):
            continue  # imported reports have no cells to mark; their findings are printed
        dest = out if single else out / f"{r['path'].stem}.校验.xlsx"
        check_output(dest, inputs=inputs, force=args.force)
        book = OpenpyxlBook(r["path"])
        annotate(book, r["findings"], args.lang)
        write_with(dest, book.save)
        r["annotated"] = dest
