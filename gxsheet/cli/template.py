"""``gxsheet template --edition 2019|2021 -o FILE.xlsx``: a fresh standard template."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from gxsheet.core.spec import editions

    p = sub.add_parser("template", help="生成标准年报模板 / write a standard template",
                       description="按指定版本生成标准年报 Excel 模板（2019版用于2019—2020年度，2021版用于2021年度起）。")
    p.add_argument("--edition", required=True, choices=editions())
    p.add_argument("-o", "--output", required=True, metavar="FILE.xlsx")
    p.add_argument("--force", action="store_true", help="覆盖已存在的文件")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gxsheet.render.template import write_template

    path = write_template(args.edition, args.output, force=args.force)
    print(f"已生成 {args.edition} 版模板：{path}" if args.lang != "en" else f"wrote the {args.edition} template: {path}")
    return 0
