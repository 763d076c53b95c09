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
from gxsheet.cli.usage import Example, Text, add_lang
from gxsheet.core.findings import SEVERITY_ZH, Finding, summary
from gxsheet.core.sanitise import terminal, terminal_lines
from gxsheet.core.wording import plural

FORMATS = ("txt", "docx", "json")
#: findings quoted in a refusal message; the rest are counted
SHOWN_FINDINGS = 5


EXAMPLES = (
    Example("gxsheet export 某镇2021年报.xlsx --to docx", "导出 Word 文档（默认与输入同名：某镇2021年报.docx）",
            "export a Word document (default name: 某镇2021年报.docx next to the input)"),
    Example("gxsheet export 某镇2021年报.xlsx --to txt -o 年报.txt", "导出可粘贴到网站的纯文本",
            "export plain text to paste into a web page"),
    Example("gxsheet export 某镇2021年报.xlsx --to json", "导出数据交换用的 JSON（schemas/report.schema.json）",
            "export JSON for data exchange (schemas/report.schema.json)"),
    Example("gxsheet export 草稿.xlsx --to docx --force", "有错误也导出草稿（问题列在文末）",
            "export a draft despite errors (the problems are listed at its end)"),
)


def register(sub: argparse._SubParsersAction, T: Text) -> None:
    p = sub.add_parser(
        "export", help=T("导出年报全文：文本 / Word / JSON", "export the report as text, Word or JSON"),
        description=T("把填好的年报工作簿导出为可发布的年报全文：txt（可粘贴到网站）、docx（Word 文档）或 json（数据交换）。"
                      "有校验错误时拒绝导出（退出码 1），除非加 --force。",
                      "Export a filled report workbook as the publishable report: txt (to paste into a web page), "
                      "docx (Word) or json (data exchange). A report with errors is refused (exit 1) unless --force."))
    p.add_argument("input", metavar="FILE",
                   help=T("年报工作簿（.xlsx），或可导入的 .json/.docx/.txt/.html/.pdf",
                          "the report workbook (.xlsx), or an importable .json/.docx/.txt/.html/.pdf"))
    p.add_argument("--to", required=True, choices=FORMATS,
                   help=T("导出格式（必填）：txt、docx、json", "format to export (required): txt, docx, json"))
    p.add_argument("-o", "--output", metavar="OUT",
                   help=T("输出文件（默认：与输入同名、同文件夹，扩展名按格式）",
                          "the file to write (default: the input's name and folder, the format's extension)"))
    p.add_argument("--force", action="store_true",
                   help=T("有校验错误也导出（问题列在文末 / 写入 JSON），并允许覆盖已存在的输出文件",
                          "export despite errors (listed at the end / in the JSON) and overwrite an existing output"))
    p.add_argument("--overwrite", action="store_true",
                   help=T("允许覆盖已存在的输出文件（不放行校验错误）",
                          "overwrite an existing output (errors still refuse the export)"))
    add_lang(p, T)
    p.set_examples(EXAMPLES)
    add_options(p, T)
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
        lines = [f"{name}: {plural(errors, 'error')} and {plural(warnings, 'warning')}; not exported. "
                 f"The first {plural(len(shown), 'error')}:" if len(shown) > 1 else f"{name}: {plural(errors, 'error')} "
                 f"and {plural(warnings, 'warning')}; not exported:"]
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
            print(f"{plural(errors, 'error')} and {plural(warnings, 'warning')} are listed in the export; "
                  "correct them before publishing.",
                  file=sys.stderr)
        elif warnings:
            print(f"{plural(warnings, 'warning')}: check with gxsheet validate {name}.", file=sys.stderr)
    else:
        print(terminal(f"已导出：{out}"))
        if findings and args.force:
            print(f"仍有错误 {errors} 项、疑问 {warnings} 项，已列入导出文件，发布前请更正。", file=sys.stderr)
        elif warnings:
            print(f"另有 {warnings} 项疑问，请用 gxsheet validate {name} 查看并核对。", file=sys.stderr)
    return 0
