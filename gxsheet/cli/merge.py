"""``gxsheet merge``: a county's submitted workbooks → one checked sheet (+ problem list, county report).

Exit codes: 0 merged (warnings allowed); 1 some workbook has errors (or, with ``--strict``, some
input could not be read); 2 misuse: bad output path, a named input that does not exist, nothing
readable to merge. The work itself is in :mod:`gxsheet.merge.county`; this module parses arguments,
guards the outputs before any reading starts, shows progress on a terminal and says the result
in one line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gxsheet.cli.config import add_options, limits_of
from gxsheet.cli.usage import Example, Text, add_lang, positive
from gxsheet.core.atomic import OutputError, check_output
from gxsheet.core.errors import LoadError
from gxsheet.core.sanitise import terminal
from gxsheet.core.wording import plural

if TYPE_CHECKING:
    from gxsheet.merge.county import MergeResult

PHASES = {"read": ("读取", "reading"), "validate": ("校验", "checking"), "write": ("写出", "writing")}


EXAMPLES = (
    Example("gxsheet merge 收件箱/ -o 全县汇总.xlsx", "汇总文件夹里各单位的年报工作簿（不是工作簿的文件列出并跳过）",
            "merge the workbooks in a folder (files that are not workbooks are listed and skipped)"),
    Example("gxsheet merge 收件箱/ -o 全县汇总.xlsx --report 全县年报.xlsx --name 某某县",
            "另写一份用标准模板填好的全县年报", "also write the county's own report in the standard template"),
    Example("gxsheet merge 收件箱/ -o 全县汇总.xlsx --previous 去年/", "与上年度的工作簿核对“上年结转”",
            "check the carry-over against last year's workbooks"),
    Example("gxsheet merge 收件箱/ -o 全县汇总.xlsx --year 2021 --strict", "只汇总 2021 年度；有无法读取的文件时退出码为 1",
            "merge 2021 only; exit 1 when some file cannot be read"),
    Example("gxsheet merge 收件箱/ -o 全县汇总.xlsx --order 单位名单.txt",
            "按县里的单位名单排列（名单都有区划代码时按代码），并列出名单上还没有报送的单位",
            "list the units in the county's order (by division code when every line has one) and name those that "
            "have not reported"),
)


def register(sub: argparse._SubParsersAction, T: Text) -> None:
    p = sub.add_parser(
        "merge",
        help=T("把多个单位的年报工作簿汇总成全县一张表", "merge many report workbooks into one county workbook"),
        description=T("把各乡镇（街道）、部门报送的年报工作簿汇总成一个工作簿：概况（图表、各单位问题一览）、汇总（每个单位一行，"
                      "附校验结果和合计行）、问题清单，以及可打印的各表汇总。",
                      "Merge the workbooks submitted by towns and departments into one workbook: an overview (charts, "
                      "each body's problems at a glance), the data sheet (one row per body, with checks and totals), the "
                      "problem list, and printable per-table sheets."),
        epilog=T("按年度汇总：其他年度或版本的工作簿、同一单位的重复报送（只计最后修改的一份）列入问题清单，不计入合计。"
                 "金额统一换算为万元。\n退出码：0 成功；1 有工作簿存在错误（--strict 时含无法读取的文件）；2 用法或输出路径有误。",
                 "Merges one year: workbooks of other years or editions and older duplicates are listed but not counted; "
                 "amounts in 万元.\nExit: 0 merged, 1 errors in some workbook (or unreadable files with --strict), "
                 "2 misuse or a bad output path."),
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help=T("工作簿或文件夹（文件夹里的每个工作簿都是一份报送；不是工作簿的文件列出并跳过）",
                          "workbooks or folders (every workbook in a folder is a submission; other files are listed "
                          "and skipped)"))
    p.add_argument("-o", "--output", required=True, metavar="COUNTY.xlsx",
                   help=T("汇总工作簿的文件名（必填）", "the county workbook to write (required)"))
    p.add_argument("--report", metavar="FILE",
                   help=T("另写一份用标准模板填好的本行政区域汇总年报", "also write the county-wide report in the standard template"))
    p.add_argument("--previous", nargs="+", action="extend", default=[], metavar="DIR_OR_FILE",
                   help=T("上年度的工作簿或文件夹，按单位名称核对上年结转（放在 INPUT 之后）",
                          "last year's workbooks or folders for X-CARRY, matched by 单位名称 (give it after the inputs)"))
    p.add_argument("--name", help=T("本行政区域名称（汇总表标题与汇总年报的单位名称；默认取共同的上级单位）",
                                    "the county's name (titles and the county report; default: the common parent body)"))
    p.add_argument("--order", metavar="UNITS",
                   help=T("县里的单位名单（.txt 或 .xlsx，每行：名称, 层级[, 区划代码]，与 serve init --units 相同）：各表按名单的"
                          "顺序排列，每行都有区划代码时按代码；不在名单上的单位排在最后（按拼音）（默认：按单位名称的拼音）",
                          "the county's list of units (.txt or .xlsx, a line each: name, level[, division code], as for "
                          "serve init --units): sheets list units in its order, by division code when every line has "
                          "one; units not on it come last, by pinyin (default: pinyin order)"))
    p.add_argument("--year", type=int, metavar="YEAR",
                   help=T("汇总年度（默认取多数工作簿的年度）", "the report year to merge (default: the most common)"))
    p.add_argument("--strict", action="store_true",
                   help=T("有无法读取的工作簿时以 1 退出", "exit 1 when any workbook cannot be read"))
    p.add_argument("--force", action="store_true", help=T("覆盖已存在的输出文件", "overwrite existing outputs"))
    p.add_argument("--jobs", type=positive, default=None, metavar="N",
                   help=T("并行读取的进程数（默认：当前空闲的 CPU 数，忙时串行读取）",
                          "reader processes (default: the idle CPUs; serial when they are busy)"))
    add_lang(p, T)
    p.set_examples(EXAMPLES)
    add_options(p, T)
    p.set_defaults(func=run)


class _Bar:
    """A rich progress bar on stderr, redrawn at most ten times a second.

    ``auto_refresh=False`` keeps rich from starting a refresh thread, so forking the reader
    processes never happens with another thread holding a lock.
    """

    def __init__(self, lang: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.lang = lang
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 console=Console(stderr=True), transient=True, auto_refresh=False)
        self.tasks: dict[str, int] = {}
        self.last = 0.0

    def __enter__(self) -> _Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase not in self.tasks:
            zh, en = PHASES.get(phase, (phase, phase))
            self.tasks[phase] = self.progress.add_task(en if self.lang == "en" else zh, total=max(total, 1))
        self.progress.update(self.tasks[phase], completed=done, total=max(total, 1))
        now = time.monotonic()
        if done >= total or now - self.last > 0.1:
            self.last = now
            self.progress.refresh()


class _Quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _guard_outputs(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """Refuse bad outputs before reading anything: an input, an existing file without --force, a folder.

    A file already in an input folder is a submission, never an output — unless it is this
    command's own earlier merge (a rerun into the same folder), known by the signature the merge
    writes (:func:`~gxsheet.merge.county.is_merge_output`), not by its sheet names. Only the output
    paths are looked at for that, never every file of the inbox: a province's 20,000 files are read
    once, by the merge.
    """
    from gxsheet.merge.county import is_merge_output

    folders, named = [], []
    for p in map(Path, list(args.inputs) + list(args.previous)):
        (folders if p.is_dir() else named).append(p)
    for candidate in (args.output, args.report):
        if candidate is None:
            continue
        q = Path(candidate)
        if q.is_file() and any(_same_folder(q.parent, f) for f in folders) and not is_merge_output(q):
            named.append(q)
    out = check_output(args.output, inputs=named, force=args.force)
    report = None
    if args.report:
        report = check_output(args.report, inputs=named, force=args.force)
        if report.resolve() == out.resolve():
            raise OutputError(report, f"{report}：汇总年报与汇总表不能是同一个文件。",
                              f"{report}: the county report and the merged sheet cannot be the same file.")
    return out, report


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def run(args: argparse.Namespace) -> int:
    from gxsheet.merge import county as M

    en = args.lang == "en"
    limits = limits_of(args)
    out, report = _guard_outputs(args)
    order = _read_order(args.order) if args.order else None
    started = time.perf_counter()
    interactive = sys.stderr.isatty()
    bar = _Bar(args.lang) if interactive else None
    with bar if bar is not None else _Quiet():
        result = M.merge_paths(args.inputs, previous=args.previous, year=args.year, name=args.name, jobs=args.jobs,
                               exclude=[p for p in (out, report) if p is not None], progress=bar,
                               limits=limits, order=order)
        say = bar.progress.console.print if bar is not None else None
        lines = [u.message(args.lang) for u in result.unreadable]
        lines += [(f"skipped (not a workbook): {u.message_en}" if en else f"已跳过（不是工作簿）：{u.message_zh}")
                  for u in result.skipped]
        for line in lines:
            if say is not None:
                say(terminal(line), markup=False, highlight=False)
            else:
                print(terminal(line), file=sys.stderr)
        if not result.entries:
            raise _nothing_to_merge(args.inputs, result)
        if bar is not None:
            bar("write", 0, 1)
        _write(result, out, report, args)
        if bar is not None:
            bar("write", 1, 1)
    print(terminal(_summary(result, out, report, time.perf_counter() - started, en)))
    return result.exit_code(strict=args.strict)


def _read_order(path: str) -> list[str]:
    """The units of ``--order``, in the county's order; a list that cannot be read is one line (exit 2)."""
    from gxsheet.core.spec import editions, load_spec
    from gxsheet.read.unit_list import in_order, read_unit_list

    levels = {c for e in editions() for c in load_spec(e).meta_field("level").choices}
    lines = read_unit_list(path, levels)
    return [u.name for u in in_order(lines)]


def _write(result: MergeResult, out: Path, report: Path | None, args: argparse.Namespace) -> None:
    """The county workbook and (``--report``) the county report, both or neither.

    Each is written to its hidden temp file first; only when both are complete are they renamed
    into place, so a failure in the second (a full disk, a crash) never leaves the first behind.
    """
    from contextlib import ExitStack

    from gxsheet.core.atomic import atomic_path, write_failed
    from gxsheet.merge import workbook as W

    with ExitStack() as stack:
        tmp_out = stack.enter_context(atomic_path(out))
        tmp_report = stack.enter_context(atomic_path(report)) if report is not None else None
        started = time.perf_counter()
        try:
            W.write_county_workbook(result, tmp_out, lang=args.lang)
        except OSError as e:  # named here: the report's temp file is open around this write too
            raise write_failed(out, e) from e
        result.timings["write"] = time.perf_counter() - started
        if tmp_report is not None and report is not None:
            try:
                tmp_report.write_bytes(W.county_report_bytes(result, name=args.name, source=str(report)))
            except OSError as e:
                raise write_failed(report, e) from e


def _nothing_to_merge(inputs: list[str], r: MergeResult) -> LoadError:
    """Why there is nothing to merge, in words that match what was (or was not) printed above."""
    names = ", ".join(map(str, inputs))
    bad = [u for u in r.unreadable if not u.previous]
    if not bad and not r.skipped:
        return LoadError(names, "nothing-to-merge",
                         f"{names}：没有找到要汇总的文件（文件夹是空的；隐藏文件和 Excel 临时文件 ~$… 不算）。",
                         f"{names}: no files to merge (the folder is empty; hidden files and Excel's ~$… lock files "
                         "do not count).")
    if not bad:
        return LoadError(names, "nothing-to-merge",
                         f"没有可汇总的年报工作簿：{len(r.skipped)} 个文件都不是工作簿（见上）。",
                         f"nothing to merge: {plural(len(r.skipped), 'file')} and none is a workbook (see above).")
    return LoadError(names, "nothing-to-merge",
                     f"没有可汇总的年报工作簿：{len(bad)} 个工作簿都无法读取（原因见上）"
                     + (f"，另有 {len(r.skipped)} 个文件不是工作簿" if r.skipped else "") + "。",
                     f"nothing to merge: none of {plural(len(bad), 'workbook')} could be read (reasons above)"
                     + (f"; {plural(len(r.skipped), 'other file')} not workbooks" if r.skipped else "") + ".")


def _summary(r: MergeResult, out: Path, report: Path | None, seconds: float, en: bool) -> str:
    """The one line a clerk (or a script's log) reads after the merge."""
    n, k = len(r.entries), len(r.included())
    bad = [u for u in r.unreadable if not u.previous]
    prev = f"; last year's reports matched {r.previous_matched} of them" if r.previous_read else ""
    prev_zh = f"；与上年报告核对了{r.previous_matched}个单位" if r.previous_read else ""
    rep = f" and {report}" if report else ""
    rep_zh = f" 和 {report}" if report else ""
    skipped = len(r.skipped)
    missing = r.not_submitted
    shown = "、".join(missing[:10]) + ("等" if len(missing) > 10 else "")
    if en:
        skip = f"; {plural(skipped, 'file')} skipped (not workbooks)" if skipped else ""
        order = ((f"; {plural(len(missing), 'unit')} on the list sent nothing ({', '.join(missing[:10])}"
                  f"{', …' if len(missing) > 10 else ''})" if missing else "; every unit on the list reported")
                 + (f", {plural(r.unlisted, 'workbook')} of units not on it (listed last)" if r.unlisted else "")
                 if r.ordered else "")
        cap = (f"; the problem list reached Excel's last row: {plural(r.problem_rows_left, 'row')} left out "
               "(validate the folder with --json for all of them)" if r.problem_rows_left else "")
        return (f"merged {plural(n, 'workbook')} for {r.year or '?'} ({k} counted in the totals): {r.passed} passed, "
                f"{r.errors} with errors, {r.warnings_only} with warnings only; {plural(len(bad), 'file')} unreadable"
                f"{skip}{prev}{order}{cap}. Wrote {out}{rep} in {seconds:.1f} s.")
    skip_zh = f"；跳过不是工作簿的文件 {skipped} 个" if skipped else ""
    order_zh = ((f"；名单上 {len(missing)} 个单位没有报送（{shown}）" if missing else "；名单上的单位都已报送")
                + (f"，{r.unlisted} 个工作簿的单位不在名单上（排在最后）" if r.unlisted else "") if r.ordered else "")
    cap_zh = (f"；问题清单已到 Excel 的行数上限，另有 {r.problem_rows_left} 行未列出（完整的问题用 gxsheet validate 文件夹 --json 导出）"
              if r.problem_rows_left else "")
    return (f"汇总完成：{r.year or '?'}年度 {n} 个工作簿（计入合计 {k} 个），通过 {r.passed} 个，有错误 {r.errors} 个，"
            f"仅有疑问 {r.warnings_only} 个；无法读取的文件 {len(bad)} 个{skip_zh}{prev_zh}{order_zh}{cap_zh}。"
            f"已写出 {out}{rep_zh}（{seconds:.1f} 秒）。")
