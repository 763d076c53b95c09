"""``gxsheet serve init|run|link``: a county's collection page, where towns upload and see their findings.

    gxsheet serve init DIR --county NAME --year YEAR --units UNITS.txt|.xlsx [--edition 2019|2021] [--url BASE]
    gxsheet serve run DIR [--host 127.0.0.1] [--port 8000] [--certfile F --keyfile F] [--limit NAME=VALUE]
    gxsheet serve link DIR UNIT [--revoke]

The web application is :mod:`gxsheet.serve` (optional dependencies: ``pip install "gxsheet[serve]"``);
``init`` and ``link`` need only the database and write the links workbook.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from gxsheet.cli.config import add_options, limits_of
from gxsheet.cli.usage import Example, Text, add_lang, no_action, positive
from gxsheet.core.spec import editions

DEFAULT_URL = "http://127.0.0.1:8000"


EXAMPLES = (
    Example("gxsheet serve init 收集 --county 某某县 --year 2021 --units 单位名单.txt",
            "建立数据文件夹，为名单中的每个单位生成专用上传链接", "create the data folder and a private link for every unit"),
    Example("gxsheet serve run 收集", "启动网页服务（默认只在本机可访问）", "start the web server (this computer only by default)"),
    Example("gxsheet serve run 收集 --host 192.168.1.10 --port 8443 --certfile 证书.pem --keyfile 私钥.pem",
            "在局域网中用 HTTPS 提供服务", "serve the local network over HTTPS"),
    Example("gxsheet serve link 收集 城关镇", "收回并重发某个单位的链接", "revoke and reissue a unit's link"),
)


#: what the [serve] extra brings, checked before the server starts: import name(s) → distribution name
#: (python-multipart is imported as python_multipart since 0.0.13, as multipart before)
WEB_MODULES = {("starlette",): "starlette", ("uvicorn",): "uvicorn", ("jinja2",): "jinja2",
               ("python_multipart", "multipart"): "python-multipart", ("pebble",): "pebble"}


def register(sub: argparse._SubParsersAction, T: Text) -> None:
    p = sub.add_parser(
        "serve", help=T("网页收集：各单位在浏览器中上传年报并立即看到检查结果", "a county's web collection page"),
        description=T("在县（区）的一台电脑上运行：各单位用专属链接上传年报工作簿，立即看到问题清单；"
                      "汇总页显示各单位报送状态并一键下载汇总表。",
                      "Run on one computer of the county: towns upload their workbooks through private links and see "
                      "their findings at once; the county sees who is done and downloads the merge."))
    verbs = p.add_subparsers(dest="verb", metavar="ACTION", title=T("操作", "actions"))
    p.set_defaults(func=lambda _args: no_action(p, verbs))

    i = verbs.add_parser("init", help=T("建立数据文件夹并生成各单位的上传链接", "create the data folder and the links"),
                         description=T("建立数据文件夹和数据库，为名单中的每个单位和汇总部门各生成一个专用链接，"
                                       "写入 DIR/上传链接.xlsx（请妥善保管）。",
                                       "Create the data folder and database, issue a private link for every unit on "
                                       "the list and for the county, and write them to DIR/上传链接.xlsx (keep it safe)."))
    i.add_argument("dir", metavar="DIR", help=T("数据文件夹（新建）", "the data folder (created)"))
    i.add_argument("--county", required=True, metavar="NAME",
                   help=T("本行政区域名称，如“某某县”（必填）", "the county's name (required)"))
    i.add_argument("--year", required=True, type=int, metavar="YEAR", help=T("报告年度（必填）", "the report year (required)"))
    i.add_argument("--units", required=True, metavar="UNITS.txt|.xlsx",
                   help=T("单位名单（必填）：每行一个单位“名称, 层级”（.txt），或前两列为名称、层级的 .xlsx",
                          "the list of units (required): one “name, level” a line (.txt), or an .xlsx with name and "
                          "level in its first two columns"))
    i.add_argument("--edition", choices=editions(),
                   help=T("模板版本（默认按年度）", "template edition (default: by year)"))
    i.add_argument("--url", default=DEFAULT_URL, metavar="BASE",
                   help=T(f"链接的地址前缀，如 https://192.168.1.10:8443（默认 {DEFAULT_URL}）",
                          f"the address links start with, e.g. https://192.168.1.10:8443 (default {DEFAULT_URL})"))
    add_lang(i, T)
    i.set_examples(EXAMPLES[0:1])
    i.set_defaults(func=run_init)

    r = verbs.add_parser("run", help=T("启动网页服务", "start the web server"),
                         description=T("启动网页服务。默认只在本机（127.0.0.1）可访问；--host 给出局域网地址时请同时用 "
                                       "--certfile/--keyfile 启用 HTTPS。",
                                       "Start the web server. By default only this computer (127.0.0.1) reaches it; "
                                       "with a network address in --host, also give --certfile/--keyfile for HTTPS."))
    r.add_argument("dir", metavar="DIR", help=T("serve init 建立的数据文件夹", "the data folder made by serve init"))
    r.add_argument("--host", default="127.0.0.1",
                   help=T("监听地址（默认 127.0.0.1，仅本机）", "address to listen on (default 127.0.0.1: this computer only)"))
    r.add_argument("--port", type=int, default=8000, help=T("端口（默认 8000）", "port (default 8000)"))
    r.add_argument("--certfile", help=T("HTTPS 证书文件（PEM）", "TLS certificate (PEM)"))
    r.add_argument("--keyfile", help=T("HTTPS 私钥文件（PEM）", "TLS private key (PEM)"))
    r.add_argument("--jobs", type=positive, metavar="N",
                   help=T("同时检查的文件数（默认 CPU 数，至少 2）", "files checked at once (default: the CPUs, at least 2)"))
    r.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help=T("单个文件读取和检查的时限（默认 60 秒）", "time limit per uploaded file (default 60 s)"))
    add_lang(r, T)
    r.set_examples(EXAMPLES[1:3])
    add_options(r, T)  # --config / --limit: the same reading limits as validate and merge (max_file_mb caps uploads)
    r.set_defaults(func=run_server)

    k = verbs.add_parser("link", help=T("收回并重发某个单位的链接", "revoke and reissue a unit's link"),
                         description=T("收回某个单位（或汇总部门，用本行政区域名称）的链接并生成新链接；加 --revoke 只收回不重发。",
                                       "Revoke a unit's link (the county's: use the county's name) and issue a new one; "
                                       "--revoke only revokes."))
    k.add_argument("dir", metavar="DIR", help=T("serve init 建立的数据文件夹", "the data folder made by serve init"))
    k.add_argument("unit", metavar="UNIT", help=T("单位名称（与名单一致）", "the unit's name (as on the list)"))
    k.add_argument("--revoke", action="store_true", help=T("只收回，不生成新链接", "revoke only"))
    k.add_argument("--url", metavar="BASE",
                   help=T("新链接的地址前缀（默认与 init 时相同）", "the address new links start with (default: as at init)"))
    add_lang(k, T)
    k.set_examples(EXAMPLES[3:4])
    k.set_defaults(func=run_link)
    p.set_examples(EXAMPLES)


def _say(e: Exception, lang: str) -> int:
    print(getattr(e, "message_en" if lang == "en" else "message_zh", str(e)), file=sys.stderr)
    return 2


def run_init(args: argparse.Namespace) -> int:
    from gxsheet.core.spec import edition_for_year
    from gxsheet.serve.store import Store, StoreError
    from gxsheet.serve.units import LINKS_NAME, link_row, links_title, read_units, write_links

    en = args.lang == "en"
    edition = args.edition or edition_for_year(args.year)
    if edition not in editions():
        print(f"{args.year}年没有对应的模板版本，请用 --edition 指定（{'、'.join(editions())}）。" if not en else
              f"no template edition covers {args.year}; give --edition ({', '.join(editions())}).", file=sys.stderr)
        return 2
    county = " ".join(args.county.split())
    if not county:
        print("--county 不能为空。" if not en else "--county cannot be empty.", file=sys.stderr)
        return 2
    try:
        units = read_units(args.units, edition, county=county)
        store, issued = Store.create(args.dir, county=county, year=args.year, edition=edition, units=units)
    except StoreError as e:
        return _say(e, args.lang)
    settings_base = args.url.rstrip("/")
    store.set_setting("base_url", settings_base)
    rows = [link_row(u, settings_base, t) for u, t in issued]
    out = write_links(Path(args.dir) / LINKS_NAME, links_title(county, args.year), rows)
    store.close()
    for name, level, link in rows:
        print(f"{name}\t{level}\t{link}")
    print(f"已为 {len(units)} 个单位和汇总部门生成上传链接，已写出 {out}（内含全部链接，请妥善保管，分别私下发给各单位）。"
          f"启动服务：gxsheet serve run {args.dir}" if not en else
          f"issued links for {len(units)} units and the county; wrote {out} (it holds every link: keep it private). "
          f"Start the server: gxsheet serve run {args.dir}", file=sys.stderr)
    return 0


def run_server(args: argparse.Namespace) -> int:
    limits = limits_of(args)  # a bad --limit or config file: one line (ConfigError), before anything starts
    missing = [dist for names, dist in WEB_MODULES.items()
               if not any(importlib.util.find_spec(name) is not None for name in names)]
    if missing:  # the [serve] extra is not installed: say so before anything starts, never a traceback
        names = ", ".join(missing)
        print(f"gxsheet serve 需要网页组件（缺少 {names}）：pip install \"gxsheet[serve]\"" if args.lang != "en" else
              f"gxsheet serve needs the web components (missing {names}): pip install \"gxsheet[serve]\"",
              file=sys.stderr)
        return 2
    from gxsheet.serve.server import serve
    from gxsheet.serve.store import StoreError

    if bool(args.certfile) != bool(args.keyfile):
        print("--certfile 和 --keyfile 需要同时给出。" if args.lang != "en" else "give both --certfile and --keyfile.",
              file=sys.stderr)
        return 2
    if args.timeout <= 0:
        print("--timeout 须为正数。" if args.lang != "en" else "--timeout must be positive.", file=sys.stderr)
        return 2
    try:
        return serve(args.dir, host=args.host, port=args.port, certfile=args.certfile, keyfile=args.keyfile,
                     jobs=args.jobs, timeout=args.timeout, limits=limits, lang=args.lang)
    except StoreError as e:
        return _say(e, args.lang)


def run_link(args: argparse.Namespace) -> int:
    from gxsheet.serve.store import Store, StoreError
    from gxsheet.serve.units import LINKS_NAME, link_row, links_title, replace_link

    en = args.lang == "en"
    try:
        store = Store.open(args.dir)
        unit = store.unit_by_name(args.unit)
    except StoreError as e:
        return _say(e, args.lang)
    if args.revoke:
        n = store.revoke(unit)
        print(f"已收回“{unit.name}”的链接（{n} 个）。该单位已上传的文件和结果均保留。" if not en else
              f"revoked {n} link(s) of {unit.name}; its uploads and results are kept.", file=sys.stderr)
        return 0
    base = (args.url or store.settings().get("base_url") or DEFAULT_URL).rstrip("/")
    row = link_row(unit, base, store.reissue(unit))
    links = replace_link(Path(args.dir) / LINKS_NAME, links_title(store.county, store.year), row)
    store.close()
    print("\t".join(row))
    print(f"已收回“{unit.name}”的旧链接并生成新链接，{links} 已更新。" if not en else
          f"revoked {unit.name}'s old link and issued a new one; {links} updated.", file=sys.stderr)
    return 0
