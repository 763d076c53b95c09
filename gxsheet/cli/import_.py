"""``gxsheet import REPORT [-o OUT.xlsx] [--edition 2019|2021] [--year N] [--force] [--lang zh|en]``.

Turns a published report (text, Word, web page — or report JSON) into a filled standard workbook,
so every check of the validator applies to it. Values go in exactly as published: a blank cell
stays blank (V-BLANK will say so), 288.79万元 stays text (V-UNIT will say so) — the workbook is
evidence of what the report says, not a corrected copy. What the import recognised, assumed and
could not place is printed, together with the findings a workbook cannot carry (misspelt labels,
repeated section headings). Bad input exits 2 and leaves no output file behind.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from gxsheet.cli.config import add_options, limits_of
from gxsheet.cli.usage import Example, Text, add_lang
from gxsheet.core.findings import SEVERITY_ZH, Finding, summary
from gxsheet.core.sanitise import shown as one_line_text
from gxsheet.core.sanitise import terminal_lines
from gxsheet.core.spec import editions
from gxsheet.core.wording import plural

if TYPE_CHECKING:
    from gxsheet.core.errors import LoadError
    from gxsheet.core.limits import Limits
    from gxsheet.read.blocks import Imported

#: findings that describe the source document itself; shown in full (the workbook cannot carry them)
DOCUMENT_RULES = ("S-LABEL", "S-LAYOUT", "S-EDITION", "S-SECTIONS", "N-PERIOD", "N-TEXT-TABLE", "N-SEC5-EMPTY",
                  "N-FEE", "T2-TOWN-RULES", "V-UNIT")


EXAMPLES = (
    Example("gxsheet import 某镇2021年报.docx", "导入 Word 年报为 某镇2021年报.xlsx 并校验",
            "import a Word report as 某镇2021年报.xlsx and check it"),
    Example("gxsheet import 年报.html -o 某镇.xlsx", "导入网页上发布的年报", "import a report published as a web page"),
    Example("gxsheet import 年报.txt --year 2021", "正文中没有年份时指定年度", "give the year when the text has none"),
)


def register(sub: argparse._SubParsersAction, T: Text) -> None:
    p = sub.add_parser(
        "import", help=T("导入已发布的年报（文本/Word/网页/PDF）为标准工作簿",
                         "import a published report (text, Word, web page, PDF) into a workbook"),
        description=T("把已发布的年度报告（.txt 文本、.docx Word 文档、.html 网页、有文字层的 .pdf，或 .json）导入为填好的标准"
                      "工作簿，数值按原样填入（空白仍为空白，带单位的文字照录），以便校验。",
                      "Import a published annual report (.txt, .docx, .html, a .pdf with a text layer, or .json) into a "
                      "filled standard workbook, values exactly as published (blanks stay blank, units stay text), "
                      "so that it can be checked."))
    p.add_argument("input", metavar="REPORT",
                   help=T("年度报告文件：.txt / .docx / .html / .htm / .pdf / .json",
                          "the report: .txt / .docx / .html / .htm / .pdf / .json"))
    p.add_argument("-o", "--output", metavar="OUT.xlsx",
                   help=T("输出工作簿（默认：与输入同名的 .xlsx）", "the workbook to write (default: the input's name, .xlsx)"))
    p.add_argument("--edition", choices=editions(),
                   help=T("指定表格版本（默认按表格本身识别）", "the tables' edition (default: recognised from the tables)"))
    p.add_argument("--year", type=int, metavar="N",
                   help=T("指定报告年度（标题和正文中没有年份时使用）", "the report year (when title and text give none)"))
    p.add_argument("--force", action="store_true", help=T("允许覆盖已存在的输出文件", "overwrite an existing output"))
    add_lang(p, T)
    p.set_examples(EXAMPLES)
    add_options(p, T)
    p.set_defaults(func=run)


def default_output(path: str | Path) -> Path:
    p = Path(path)
    return p.with_name(p.stem + ".xlsx")


def run(args: argparse.Namespace) -> int:
    from gxsheet.check.validate import validate_record
    from gxsheet.core.atomic import OutputError, check_output
    from gxsheet.core.bounded import error_for, run_bounded
    from gxsheet.core.errors import LoadError
    from gxsheet.read.batch import warm
    from gxsheet.render.workbook import write_record

    lang = args.lang
    limits = limits_of(args)
    src = Path(args.input)
    out = Path(args.output) if args.output else default_output(src)
    if out.suffix.lower() not in (".xlsx",):
        raise OutputError(out, f"{out}：输出文件必须是 .xlsx 工作簿。", f"{out}: the output must be an .xlsx workbook.")
    check_output(out, inputs=[src], force=args.force)
    warm()
    outcome = run_bounded(_import_task, str(src), args.edition, args.year, limits, limits=limits)  # bounded
    if not outcome.ok:
        raise error_for(str(src), outcome, limits)
    if isinstance(outcome.value, LoadError):
        raise outcome.value
    imported = outcome.value
    rec = imported.record
    findings = validate_record(rec)
    write_record(rec, out)
    print(terminal_lines(_summary(imported, findings, src, out, lang)))
    return 0


def _import_task(src: str, edition: str | None, year: int | None, limits: Limits) -> Imported | LoadError:
    """Worker task: the import, or its refusal as a value (it crosses the pipe)."""
    from gxsheet.core.errors import LoadError
    from gxsheet.read.published import import_report

    try:
        return import_report(src, edition=edition, year=year, limits=limits)
    except LoadError as e:
        return e


def _summary(imported, findings: list[Finding], src: Path, out: Path, lang: str) -> str:
    from gxsheet.core.wording import location_en

    rec = imported.record
    spec = rec.spec
    en = lang == "en"
    lines: list[str] = []

    def text(v: object) -> str:  # the document's own text, inside a line of ours: one line, no controls
        return one_line_text(str(v))

    if en:
        lines.append(f"imported {src} → {out} ({spec.edition} edition, {spec.issued_with})")
    else:
        lines.append(f"已导入 {src} → {out}（{spec.edition}版表格，{spec.issued_with}）")

    def meta_line(key: str, label_zh: str, label_en: str) -> None:
        v = rec.meta.get(key)
        where = rec.where.get(f"meta.{key}")
        shown = text(v) if v not in (None, "") else ("(not found)" if en else "（未找到）")
        at = f" ({location_en(where)})" if en and where else (f"（{where}）" if where else "")
        lines.append(f"  {label_en if en else label_zh}: {shown}{at}" if en else f"  {label_zh}：{shown}{at}")

    if imported.title:
        lines.append(f"  {'title' if en else '标题'}{': ' if en else '：'}{text(imported.title)}")
    spec = rec.spec
    for role, label_en in (("unit_name", "body"), ("level", "level"), ("parent", "parent"), ("year", "year")):
        meta_line(spec.meta_key(role), spec.meta_field(role).label, label_en)
    ps, pe = rec.role("period_start"), rec.role("period_end")
    where = rec.where.get(rec.role_key("period_start"))
    if en:
        lines.append(f"  period: {ps or '?'} to {pe or '?'}" + (f" ({location_en(where)})" if where else ""))
    else:
        lines.append(f"  统计期限：{ps or '?'} 至 {pe or '?'}" + (f"（{where}）" if where else ""))
    if rec.headings_found is not None:
        heads = " · ".join(text(h) for h in rec.headings_found) or ("(none)" if en else "（无）")
        lines.append(f"  {'headings' if en else '正文标题'}{': ' if en else '：'}{heads}")
    if imported.tables:
        lines.append(f"  {'tables' if en else '表格'}{': ' if en else '：'}" +
                     (", " if en else "；").join(name + (f" ({location_en(where)})" if en else f"（{where}）") if where
                                                else name for name, where in imported.tables))
    filled = sum(1 for k, v in rec.values.items() if v is not None)
    lines.append(f"  {'cells' if en else '数据格'}{': ' if en else '：'}"
                 + (f"{filled} of {len(rec.values)} filled, {len(rec.missing)} not found in the document"
                    if en else f"共 {len(rec.values)} 格，有数据 {filled} 格，文中找不到 {len(rec.missing)} 格"))
    if imported.notes:
        lines.append("notes:" if en else "说明：")
        lines += [f"  - {n.en if en else n.zh}" for n in imported.notes]
    shown = [f for f in findings if f.rule in DOCUMENT_RULES]
    if shown:
        lines.append("findings about the document:" if en else "报告本身的问题：")
        for f in shown:
            sev = f.severity if en else SEVERITY_ZH.get(f.severity, f.severity)
            lines.append(f"  [{sev}] {f.rule} {location_en(f.message_en) if en else f.message_zh}")
    rest = Counter(f.rule for f in findings if f.rule not in DOCUMENT_RULES)
    errors, warnings = summary(findings)
    if rest:
        counts = ", ".join(f"{r} ×{n}" for r, n in sorted(rest.items()))
        lines.append(f"other findings: {counts}" if en else f"其他问题：{counts}")
    if en:
        lines.append(f"{plural(errors, 'error')}, {plural(warnings, 'warning')} in all; "
                     f"`gxsheet validate {out}` lists every cell.")
    else:
        lines.append(f"共 {errors} 项错误、{warnings} 项疑问；用 gxsheet validate {out} 可逐格查看。")
    return "\n".join(lines)
