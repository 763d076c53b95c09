"""``gxsheet serve init|run|link``: a county's collection page, where towns upload and see their findings.

    gxsheet serve init DIR --county NAME --year YEAR --units UNITS.txt|.xlsx [--edition 2019|2021] [--url BASE]
    gxsheet serve run DIR [--host 127.0.0.1] [--port 8000] [--certfile F --keyfile F] [--limit NAME=VALUE]
    gxsheet serve link DIR UNIT [--revoke]

The web application is :mod:`gxsheet.serve` (optional dependencies: ``pip install "gxsheet[serve]"``);
``init`` and ``link`` need only the database and write the links workbook.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gxsheet.cli.config import add_options, limits_of

DEFAULT_URL = "http://127.0.0.1:8000"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve", help="网页收集：各单位在浏览器中上传年报并立即看到检查结果 / a county's web collection page",
        description="在县（区）的一台电脑上运行：各单位用专属链接上传年报工作簿，立即看到问题清单；"
                    "汇总页显示各单位报送状态并一键下载汇总表。 Towns upload in a browser and see their findings at once; "
                    "the county sees who is done and downloads the merge.")
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])
    verbs = p.add_subparsers(dest="verb", metavar="init|run|link")

    i = verbs.add_parser("init", help="建立数据文件夹并生成各单位的上传链接 / create the data folder and the links",
                         description="建立数据文件夹和数据库，为名单中的每个单位和汇总部门各生成一个专用链接，"
                                     "写入 DIR/上传链接.xlsx（请妥善保管）。")
    i.add_argument("dir", metavar="DIR")
    i.add_argument("--county", required=True, metavar="NAME", help="本行政区域名称，如“某某县” / the county's name")
    i.add_argument("--year", required=True, type=int, metavar="YEAR", help="报告年度 / the report year")
    i.add_argument("--units", required=True, metavar="UNITS.txt|.xlsx",
                   help="单位名单：每行一个单位“名称, 层级”（.txt），或前两列为名称、层级的 .xlsx / one unit a line: name, level")
    i.add_argument("--edition", metavar="2019|2021", help="模板版本（默认按年度）/ template edition (default: by year)")
    i.add_argument("--url", default=DEFAULT_URL, metavar="BASE",
                   help=f"链接的地址前缀，如 https://192.168.1.10:8443（默认 {DEFAULT_URL}）/ the address links start with")
    i.add_argument("--lang", choices=("zh", "en"), default="zh")
    i.set_defaults(func=run_init)

    r = verbs.add_parser("run", help="启动网页服务 / start the web server",
                         description="启动网页服务。默认只在本机（127.0.0.1）可访问；--host 给出局域网地址时请同时用 "
                                     "--certfile/--keyfile 启用 HTTPS。")
    r.add_argument("dir", metavar="DIR")
    r.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1，仅本机）/ address to listen on")
    r.add_argument("--port", type=int, default=8000)
    r.add_argument("--certfile", help="HTTPS 证书文件（PEM）/ TLS certificate")
    r.add_argument("--keyfile", help="HTTPS 私钥文件（PEM）/ TLS key")
    r.add_argument("--jobs", type=int, metavar="N", help="同时检查的文件数（默认 CPU 数，至少 2）/ worker processes")
    r.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="单个文件读取和检查的时限（默认 60 秒）/ time limit per uploaded file")
    r.add_argument("--lang", choices=("zh", "en"), default="zh")
    add_options(r)  # --config / --limit: the same reading limits as validate and merge (max_file_mb caps uploads)
    r.set_defaults(func=run_server)

    k = verbs.add_parser("link", help="收回并重发某个单位的链接 / revoke and reissue a unit's link",
                         description="收回某个单位（或汇总部门，用本行政区域名称）的链接并生成新链接；加 --revoke 只收回不重发。")
    k.add_argument("dir", metavar="DIR")
    k.add_argument("unit", metavar="UNIT", help="单位名称（与名单一致）/ the unit's name")
    k.add_argument("--revoke", action="store_true", help="只收回，不生成新链接 / revoke only")
    k.add_argument("--url", metavar="BASE", help="新链接的地址前缀（默认与 init 时相同）/ the address links start with")
    k.add_argument("--lang", choices=("zh", "en"), default="zh")
    k.set_defaults(func=run_link)


def _say(e: Exception, lang: str) -> int:
    print(getattr(e, "message_en" if lang == "en" else "message_zh", str(e)), file=sys.stderr)
    return 2


def _link(base: str, unit_role: str, token: str) -> str:
    return f"{base.rstrip('/')}/{'c' if unit_role == 'county' else 'u'}/{token}"


def run_init(args: argparse.Namespace) -> int:
    from gxsheet.core.spec import edition_for_year, editions
    from gxsheet.serve.store import Store, StoreError
    from gxsheet.serve.units import COUNTY_LEVEL, LINKS_NAME, read_units, write_links

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
    rows = [(u.name, COUNTY_LEVEL if u.is_county else u.level, _link(settings_base, u.role, t)) for u, t in issued]
    out = write_links(Path(args.dir) / LINKS_NAME, _links_title(county, args.year), rows)
    store.close()
    for name, level, link in rows:
        print(f"{name}\t{level}\t{link}")
    print(f"已为 {len(units)} 个单位和汇总部门生成上传链接，已写出 {out}（内含全部链接，请妥善保管，分别私下发给各单位）。"
          f"启动服务：gxsheet serve run {args.dir}" if not en else
          f"issued links for {len(units)} units and the county; wrote {out} (it holds every link: keep it private). "
          f"Start the server: gxsheet serve run {args.dir}", file=sys.stderr)
    return 0


def _links_title(county: str, year: int) -> str:
    return f"{county} {year}年度政府信息公开工作年度报告 上传链接"


def run_server(args: argparse.Namespace) -> int:
    limits = limits_of(args)  # a bad --limit or config file: one line (ConfigError), before anything starts
    try:
        from gxsheet.serve.server import serve
        from gxsheet.serve.store import StoreError
    except ModuleNotFoundError as e:
        print(f"gxsheet serve 需要网页组件（缺少 {e.name}）：pip install \"gxsheet[serve]\"" if args.lang != "en" else
              f"gxsheet serve needs the web components (missing {e.name}): pip install \"gxsheet[serve]\"", file=sys.stderr)
        return 2
    if bool(args.certfile) != bool(args.keyfile):
        print("--certfile 和 --keyfile 需要同时给出。" if args.lang != "en" else "give both --certfile and --keyfile.",
              file=sys.stderr)
        return 2
    if args.jobs is not None and args.jobs < 1 or args.timeout <= 0:
        print("--jobs 和 --timeout 须为正数。" if args.lang != "en" else "--jobs and --timeout must be positive.",
              file=sys.stderr)
        return 2
    try:
        return serve(args.dir, host=args.host, port=args.port, certfile=args.certfile, keyfile=args.keyfile,
                     jobs=args.jobs, timeout=args.timeout, limits=limits, lang=args.lang)
    except StoreError as e:
        return _say(e, args.lang)


def run_link(args: argparse.Namespace) -> int:
    from gxsheet.serve.store import Store, StoreError
    from gxsheet.serve.units import COUNTY_LEVEL, LINKS_NAME, read_links, write_links

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
    token = store.reissue(unit)
    link = _link(base, unit.role, token)
    links = Path(args.dir) / LINKS_NAME
    level = COUNTY_LEVEL if unit.is_county else unit.level
    title, rows = (read_links(links) if links.is_file() else (_links_title(store.county, store.year), []))
    rows = [(n, lv, link if n == unit.name else old) for n, lv, old in rows]
    if not any(n == unit.name for n, _, _ in rows):
        rows.append((unit.name, level, link))
    write_links(links, title, rows)
    store.close()
    print(f"{unit.name}\t{level}\t{link}")
    print(f"已收回“{unit.name}”的旧链接并生成新链接，{links} 已更新。" if not en else
          f"revoked {unit.name}'s old link and issued a new one; {links} updated.", file=sys.stderr)
    return 0
