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
from gxsheet.cli.usage import Example, Text, add_lang
from gxsheet.core.errors import LoadError
from gxsheet.core.findings import SEVERITY_ZH, Finding, summary
from gxsheet.core.limits import Limits
from gxsheet.core.record import Record
from gxsheet.core.sanitise import json_dumps, shown, terminal
from gxsheet.core.wording import plural
from gxsheet.render.findings_report import display_rows, file_entry, findings_document

EXAMPLES = (
    Example("gxsheet validate 某镇2021年报.xlsx", "校验一份年报：终端里是表格，指出每个问题的单元格",
            "check one report: a table naming the cell of every problem"),
    Example("gxsheet validate 收件箱/", "校验文件夹里的全部年报（不是工作簿的文件列出并跳过）",
            "check every report in a folder (files that are not workbooks are listed and skipped)"),
    Example("gxsheet validate 某镇2021年报.xlsx --annotate 标注.xlsx",
            "另存一份标注副本：问题单元格标红/黄、加批注，首页“校验结果”可打印",
            "also write an annotated copy: problem cells coloured and commented, a printable 校验结果 sheet"),
    Example("gxsheet validate 收件箱/ --json > 结果.json", "机器可读的结果（格式见 schemas/findings.schema.json）",
            "machine-readable results (shape: schemas/findings.schema.json)"),
    Example("gxsheet validate 某镇2021年报.xlsx --lang en", "英文消息", "messages in English"),
)


def register(sub: argparse._SubParsersAction, T: Text) -> None:
    p = sub.add_parser(
        "validate", help=T("校验年报工作簿，指出每个问题所在的单元格", "check report workbooks; every problem names its cell"),
        description=T("校验一个或多个年报（工作簿，或可导入的 .txt/.docx/.html/.pdf/.json）及文件夹，指出每个问题的单元格、"
                      "规则编号和带数字的说明。退出码：0 没有错误（可有疑问）；1 有错误；2 有文件无法读取或用法有误。",
                      "Check one or more reports (workbooks, or importable .txt/.docx/.html/.pdf/.json) and folders; "
                      "every problem names its cell, rule and numbers. Exit: 0 no errors (warnings allowed), "
                      "1 errors, 2 unreadable input or misuse."))
    p.add_argument("inputs", nargs="+", metavar="FILE_OR_DIR",
                   help=T("年报文件或文件夹（文件夹中不是工作簿、也读不成年报的文件列出并跳过）",
                          "report files or folders (a folder's files that are neither workbooks nor reports are "
                          "listed and skipped)"))
    p.add_argument("--json", action="store_true",
                   help=T("输出机器可读的 JSON（见 schemas/findings.schema.json）",
                          "print machine-readable JSON (see schemas/findings.schema.json)"))
    p.add_argument("--annotate", metavar="OUT",
                   help=T("另写标注副本：单个输入时为 .xlsx 文件名，多个输入时为文件夹；输入文件不会被修改",
                          "write annotated copies: an .xlsx name for one input, a folder for several; "
                          "inputs are never changed"))
    p.add_argument("--force", action="store_true",
                   help=T("允许覆盖已存在的标注副本", "overwrite existing annotated copies"))
    add_lang(p, T)
    p.set_examples(EXAMPLES)
    add_options(p, T)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gxsheet.read.batch import iter_files
    from gxsheet.read.registry import folder_files, skipped_in_folder

    limits = limits_of(args)
    listed: list[tuple[Path, bool]] = []  # (file, found in a folder)
    for item in args.inputs:
        p = Path(item)
        listed += [(q, True) for q in folder_files(p)] if p.is_dir() else [(p, False)]
    if not listed:
        names = ", ".join(args.inputs)
        raise LoadError(names, "empty", f"{names}：文件夹里没有找到文件（隐藏文件和 Excel 临时文件 ~$… 不算）。",
                        f"{names}: the folder holds no files (hidden files and Excel's ~$… lock files do not count).")
    paths = [p for p, _ in listed]
    targets = _annotate_targets(args, paths) if args.annotate else {}
    results: list[dict[str, Any]] = [{"path": p} for p in paths]
    batch: list[dict[str, Any]] = []
    # bounded workers read the files and run the prose rules; the table rules' validator starts
    # up here meanwhile (pandas and pandera, ~0.45 s of a cold run)
    for i, got in iter_files(paths, reader=_read_and_check_prose, limits=limits, while_waiting=_prepare):
        r, in_folder = results[i], listed[i][1]
        if isinstance(got, LoadError):
            r.update(error=got, skipped=in_folder and skipped_in_folder(paths[i], got))
            if got.trace and getattr(args, "debug", False):
                sys.stderr.write(got.trace)
            continue
        r["record"], r["prose"] = got
        batch.append(r)
        if len(batch) >= BATCH:
            _check(batch, slim=True)
            batch = []
    _check(batch, slim=len(results) > BATCH)
    if args.annotate:
        _annotate(args, results, targets)
    if args.json:
        _print_json(results, args.lang)
        for r in results:  # stdout is the JSON; where the copies went goes to stderr
            if r.get("annotated"):
                print(terminal(f"annotated copy: {r['annotated']}" if args.lang == "en" else f"标注副本：{r['annotated']}"),
                      file=sys.stderr)
    else:
        _print_human(results, args.lang)
    if any("error" in r and not r["skipped"] for r in results):
        return 2
    if any(f.is_error for r in results for f in r.get("findings", [])):
        return 1
    return 0


#: files validated together; past this many inputs the records are slimmed once checked (as the
#: county merge does), so auditing a folder of thousands of reports holds ~3 KB a file, not ~60
BATCH = 256


def _read_and_check_prose(path: str, limits: Limits | None) -> Any:
    """The workers' task (:func:`gxsheet.check.prose.read_and_check_prose`), imported in the worker:
    this process never runs the prose rules, so it does not load them."""
    from gxsheet.check.prose import read_and_check_prose

    return read_and_check_prose(path, limits)


def _prepare() -> None:
    from gxsheet.check.validate import prepare
    from gxsheet.core.spec import editions

    prepare(editions(), prose=False)


def _check(batch: list[dict[str, Any]], *, slim: bool) -> None:
    """Validate a batch of read files in one pass; their findings go next to their records."""
    from gxsheet.check.validate import validate_records

    if not batch:
        return
    found = validate_records([r["record"] for r in batch], prose=[r.pop("prose", None) for r in batch])
    for r, fs in zip(batch, found, strict=True):
        r["findings"] = fs
    if slim:
        from gxsheet.merge.county import slim_record

        for r in batch:
            r["record"] = slim_record(r["record"])


# ----------------------------------------------------------------------------- output
def file_report(r: dict[str, Any], lang: str) -> dict[str, Any]:
    """One file's entry in the JSON report (shape: schemas/findings.schema.json)."""
    if "error" in r:
        return file_entry(str(r["path"]), error=r["error"], skipped=r["skipped"], lang=lang)
    return file_entry(str(r["path"]), record=r["record"], findings=r["findings"], lang=lang)


def _print_json(results: list[dict[str, Any]], lang: str) -> None:
    doc = findings_document([file_report(r, lang) for r in results])
    sys.stdout.write(json_dumps(doc) + "\n")


def counts(errors: int, warnings: int, lang: str) -> str:
    """``3个错误，1个疑问`` / ``3 errors, 1 warning`` (the one place a file's verdict is worded)."""
    if lang == "en":
        return f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"
    return f"{errors}个错误，{warnings}个疑问"


def _headline(r: dict[str, Any], lang: str) -> tuple[str, str]:
    """(mark, text) of a file's first line."""
    path: Path = r["path"]
    en = lang == "en"
    if "error" in r:
        e: LoadError = r["error"]
        message = e.message_en if en else e.message_zh
        if r["skipped"]:
            return "-", (f"skipped (not a workbook): {message}" if en else f"已跳过（不是工作簿）：{message}")
        return "!", message
    rec: Record = r["record"]
    errors, warnings = summary(r["findings"])
    unit, year = rec.role("unit_name"), rec.role("year")
    unit, year = (shown(str(v)) if v not in (None, "") else None for v in (unit, year))
    name = shown(path.name)
    if en:
        who = f"{unit or '(no name)'} {year or '?'} ({rec.edition} edition)"
        verdict = "passed" if not errors and not warnings else counts(errors, warnings, lang)
        line = f"{name} — {who}: {verdict}"
    else:
        who = f"{unit or '（未填单位名称）'} {year or '?'}年（{rec.edition}版）"
        verdict = "通过" if not errors and not warnings else counts(errors, warnings, lang)
        line = f"{name} — {who}：{verdict}"
    if r.get("annotated"):
        line += f" → {r['annotated']}"
    elif r.get("not_annotated"):
        line += " (not a workbook: no annotated copy)" if en else "（不是工作簿，没有标注副本）"
    return ("✗" if errors else "?" if warnings else "✓"), line


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
    """The report for a person: every line passes :func:`terminal` (a 单位名称 or file name holding
    a newline or an escape sequence cannot forge a line or reach the terminal), and on a terminal
    nothing from a submission is read as rich markup (``[link=…]`` stays text)."""
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        out: Any = Console(highlight=False, soft_wrap=False)
        err: Any = Console(stderr=True, highlight=False, soft_wrap=True)
    else:
        out, err = _Lines(sys.stdout), _Lines(sys.stderr)
    en = lang == "en"
    sev = (lambda s: s) if en else (lambda s: SEVERITY_ZH.get(s, s))
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
        rows = display_rows(fs, lang)
        if out.is_terminal:
            t = Table(show_header=True, header_style="bold", show_lines=False, expand=False)
            for h in (("Severity", "Rule", "Cell", "Message") if en else ("严重程度", "规则", "位置", "说明")):
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
    skipped = sum(1 for r in results if r.get("skipped"))
    n_files = len(results) - skipped
    bad = sum(1 for r in results if "error" in r and not r["skipped"])
    errs = sum(summary(r["findings"])[0] for r in results if "findings" in r)
    warns = sum(summary(r["findings"])[1] for r in results if "findings" in r)
    if n_files > 1 or skipped:
        if en:
            msg = (f"{plural(n_files, 'file')}: {counts(errs, warns, lang)}, {bad} unreadable"
                   + (f"; {plural(skipped, 'file')} skipped (not workbooks)" if skipped else "") + ".")
        else:
            msg = (f"共 {n_files} 个文件：{errs} 个错误，{warns} 个疑问，{bad} 个无法读取"
                   + (f"；跳过 {skipped} 个不是工作簿的文件" if skipped else "") + "。")
        out.print(msg, markup=False)
    annotated = [r["annotated"] for r in results if r.get("annotated")]
    if len(annotated) > 1:
        folder = annotated[0].parent
        out.print(terminal(f"wrote {plural(len(annotated), 'annotated copy', 'annotated copies')} to {folder}" if en
                           else f"已写出 {len(annotated)} 份标注副本，在 {folder}"), markup=False)


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
    todo = []
    for r in results:
        if "record" not in r or r["path"] not in targets:
            continue
        if r["record"].kind in ("xlsx", "xlsm"):
            todo.append(r)
        else:
            r["not_annotated"] = True  # imported reports have no cells to mark; their findings are printed
    if not todo:
        return
    for r in todo:
        dest = targets[r["path"]]
        dest.parent.mkdir(parents=True, exist_ok=True)
        check_output(dest, inputs=inputs, force=args.force)
    limits = limits_of(args)
    with Pool(_annotate_task, 1, limits) as pool:
        for r in todo:
            dest = targets[r["path"]]

            def write(tmp: Path, r: dict[str, Any] = r) -> None:
                outcome = pool.map([(str(r["path"]), r["findings"], args.lang, str(tmp), limits, r["record"])])[0]
                if not outcome.ok:
                    raise error_for(str(r["path"]), outcome, limits)
                if isinstance(outcome.value, LoadError):
                    raise outcome.value

            try:
                write_with(dest, write)
            except LoadError as e:  # over a bound while annotating: this file is unreadable, the rest go on
                r.pop("record")
                r.pop("findings", None)
                r["error"], r["skipped"] = e, False
                continue
            r["annotated"] = dest


def _annotate_task(source: str, findings: list[Finding], lang: str, dest: str, limits: Limits,
                   record: Record) -> int | LoadError:
    """Worker task: the annotated copy, or the loader's refusal as a value (it crosses the pipe)."""
    from gxsheet.render.annotate import annotate_file

    try:
        return annotate_file(source, findings, lang, dest, limits, record=record)
    except LoadError as e:
        return e
