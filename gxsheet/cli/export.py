"""``gxsheet export FILE --to txt|docx|json [-o OUT] [--force] [--overwrite] [--lang zh|en]``.

Renders a filled workbook (or any report ``sources.read_any`` can read) into the publishable
report. Clerks used to retype the tables into Word, which is where prose and tables drifted
apart; exporting from the checked workbook removes the retyping. A report with validation
errors is refused (exit 1) so a wrong table is not published by accident; ``--force`` exports
it anyway as a draft, with the findings listed at its end (txt, docx) or included (json).
Outputs are written atomically and never over the input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gxsheet.cli.config import add_options, limits_of
from gxsheet.core.findings import SEVERITY_ZH, Finding, summary
from gxsheet.core.sanitise import terminal, terminal_lines

FORMATS = ("txt", "docx", "json")
#: findings quoted in a refusal message; the rest are counted
SHOWN_FINDINGS = 5


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="导出年报全文：文本 / Word / JSON  / export the report as text, Word or JSON",
        description="把填好的年报工作簿导出为可发布的年报全文：txt（可粘贴到网站）、docx（Word 文档）或 json（数据交换）。"
                    "有校验错误时拒绝导出，除非加 --force。")
    p.add_argument("input", metavar="FILE", help="年报工作簿（.xlsx），或可导入的 .json/.docx/.txt/.html")
    p.add_argument("--to", required=True, choices=FORMATS, help="导出格式")
    p.add_argument("-o", "--output", metavar="OUT", help="输出文件（默认：与输入同名、同文件夹，扩展名按格式）")
    p.add_argument("--force", action="store_true",
                   help="有校验错误也导出（问题列在文末 / 写入 JSON），并允许覆盖已存在的输出文件")
    p.add_argument("--overwrite", action="store_true", help="允许覆盖已存在的输出文件（不放行校验错误）")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="提示信息和问题清单的语言")
    add_options(p)
    p.set_defaults(func=run)


def default_output(input_path: str | Path, fmt: str) -> Path:
    """``<stem>.<fmt>`` next to the input."""
    p = Path(input_path)
    return p.with_name(f"{p.stem}.{fmt}")


def refusal(name: str, findings: list[Finding], lang: str) -> str:
    """The exit-1 message: counts, the first few errors, what to do."""
    errors, warnings = summary(findings)
    shown = [f for f in findings if f.is_error][:SHOWN_FINDINGS]
    if lang == "en":
        lines = [f"{name}: {errors} error(s) and {warnings} warning(s); not exported. The first {len(shown)}:"]
        lines += [f"  [error] {f.rule} {f.message_en}" for f in shown]
        lines.append("Correct them and export again, or add --force to export a draft with the findings listed at its end.")
    else:
        lines = [f"{name}：有 {errors} 项错误、{warnings} 项疑问，未导出。前 {len(shown)} 项错误："]
        lines += [f"  【{SEVERITY_ZH['error']}】{f.rule} {f.message_zh}" for f in shown]
        lines.append("请更正后重新导出；确需导出草稿请加 --force（问题将列在导出文件末尾）。")
    return "\n".join(lines)


def write_export(record, fmt: str, out: Path, findings: list[Finding] | None, lang: str) -> Path:
    """Write one export format atomically."""
    from gxsheet.core.atomic import write_text, write_with

    if fmt == "txt":
        from gxsheet.render.txt import render_txt

        return write_text(out, render_txt(record, findings, lang))
    if fmt == "docx":
        from gxsheet.render.docx import write_docx

        return write_with(out, lambda tmp: write_docx(record, tmp, findings))
    from gxsheet.render.json_report import write_json

    return write_json(record, out, findings, lang=lang)


def run(args: argparse.Namespace) -> int:
    from gxsheet.check.validate import validate_record
    from gxsheet.core.atomic import check_output
    from gxsheet.core.errors import LoadError
    from gxsheet.read.batch import read_files

    out = Path(args.output) if args.output else default_output(args.input, args.to)
    check_output(out, inputs=[args.input], force=args.force or args.overwrite)
    record = read_files([args.input], limits=limits_of(args))[0]  # in a bounded worker, like every reader
    if isinstance(record, LoadError):
        raise record
    findings = validate_record(record)
    errors, warnings = summary(findings)
    name = Path(args.input).name
    if errors and not args.force:
        print(terminal_lines(refusal(name, findings, args.lang)), file=sys.stderr)
        return 1
    write_export(record, args.to, out, findings if args.force else None, args.lang)
    name = terminal(name)
    if args.lang == "en":
        print(terminal(f"exported {out}"))
        if findings and args.force:
            print(f"{errors} error(s) and {warnings} warning(s) are listed in the export; correct them before publishing.",
                  file=sys.stderr)
        elif warnings:
            print(f"{warnings} warning(s): check them with gxsheet validate {name}.", file=sys.stderr)
    else:
        print(terminal(f"已导出：{out}"))
        if findings and args.force:
            print(f"仍有错误 {errors} 项、疑问 {warnings} 项，已列入导出文件，发布前请更正。", file=sys.stderr)
        elif warnings:
            print(f"另有 {warnings} 项疑问，请用 gxsheet validate {name} 查看并核对。", file=sys.stderr)
    return 0
