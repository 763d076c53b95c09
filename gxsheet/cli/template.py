"""``gxsheet template --edition 2019|2021 -o FILE.xlsx``: a fresh standard template."""

from __future__ import annotations

import argparse

from gxsheet.cli.usage import Example, Text, add_lang

EXAMPLES = (
    Example("gxsheet template --edition 2021 -o 某镇2021年报.xlsx", "2021 版空白模板（2021 年度起的年报）",
            "a blank template of the 2021 edition (reports from 2021 on)"),
    Example("gxsheet template --edition 2019 -o 2020年报.xlsx", "2019 版空白模板（2019—2020 年度的年报）",
            "a blank template of the 2019 edition (reports for 2019 and 2020)"),
    Example("gxsheet template --edition 2021 -o 模板.xlsx --force", "覆盖已存在的同名文件",
            "overwrite an existing file of that name"),
)


def register(sub: argparse._SubParsersAction, T: Text) -> None:
    from gxsheet.core.spec import editions, load_spec
    from gxsheet.core.wording import years_words

    eds = editions()
    spans = "；".join(f"{e} 版用于 {years_words(load_spec(e))}" for e in eds)
    spans_en = "; ".join(f"{e} for {years_words(load_spec(e), en=True)}" for e in eds)
    p = sub.add_parser(
        "template", help=T("生成空白的标准年报模板", "write a blank standard template"),
        description=T(f"生成空白的标准年报 Excel 模板：官方表格，填写时实时校验，打印为 A4。{spans}。",
                      f"Write a blank standard report workbook: the official tables, checked while typing, "
                      f"printing on A4. Editions: {spans_en}."))
    p.add_argument("--edition", required=True, choices=eds, help=T("表格版本（必填）：" + "、".join(eds),
                                                                   "edition of the tables (required): " + ", ".join(eds)))
    p.add_argument("-o", "--output", required=True, metavar="FILE.xlsx",
                   help=T("输出的模板文件名（必填，.xlsx）", "the template file to write (required, .xlsx)"))
    p.add_argument("--force", action="store_true", help=T("覆盖已存在的文件", "overwrite an existing file"))
    add_lang(p, T)
    p.set_examples(EXAMPLES)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gxsheet.render.template import write_template

    path = write_template(args.edition, args.output, force=args.force)
    print(f"已生成 {args.edition} 版模板：{path}" if args.lang != "en" else f"wrote the {args.edition} template: {path}")
    return 0
