"""``gxsheet config [--config FILE] [--limit NAME=VALUE]...``, and the options every reading command shares.

Every command that reads submissions (validate, import, export, merge) takes ``--config FILE`` and
``--limit NAME=VALUE`` (:func:`add_options`) and gets its :class:`~gxsheet.core.limits.Limits` from
:func:`limits_of`; the rules — which file, which names, which units — are in
:mod:`gxsheet.core.config`, shared with the add-in. ``gxsheet config`` shows what is in force and
where each value came from, so a county office can check a config file before a merge.
"""

from __future__ import annotations

import argparse
import sys

from gxsheet.cli.usage import Example, Text, add_lang
from gxsheet.core.config import ENV_VAR, FILE_NAME, Settings, load_settings, user_config_file
from gxsheet.core.display import pad
from gxsheet.core.limits import DEFAULT_LIMITS, LIMITS, Limits

FOUND_BY_ZH = {"--config": "--config 指定", ENV_VAR: f"环境变量 {ENV_VAR} 指定", "cwd": "当前文件夹", "user": "用户配置"}
FOUND_BY_EN = {"--config": "named by --config", ENV_VAR: f"named by {ENV_VAR}", "cwd": "current folder", "user": "user config"}


def limits_help(T: Text | None = None) -> str:
    """The help text on limits shown by every reading command's ``--help`` (built from the Limits fields)."""
    T = T or Text("zh")
    width = max(map(len, LIMITS)) + 2
    if T.lang == "en":
        rows = "\n".join(f"  {name:<{width}}{info.shown(getattr(DEFAULT_LIMITS, info.field)):>8} "
                         f"{info.unit_en:<3} {info.en}" for name, info in LIMITS.items())
        return (
            "Reading limits (they keep a damaged or hostile file from using up time and memory; real reports\n"
            "stay far below them):\n"
            "  on the command line: --limit NAME=VALUE (repeatable), e.g. --limit max_file_mb=50\n"
            f"  in a config file (TOML, one NAME = VALUE per line in a [limits] table), the first that exists of:\n"
            f"  --config FILE; the file named by ${ENV_VAR} (empty: no config file); ./{FILE_NAME};\n"
            f"  the user config {user_config_file()}. --limit beats the config file.\n"
            "  gxsheet config shows the values in force and where they come from; see docs/safety.md.\n"
            f"Limits (defaults):\n{rows}"
        )
    rows = "\n".join(f"  {name:<{width}}{info.shown(getattr(DEFAULT_LIMITS, info.field)):>8} {pad(info.unit_zh, 3)} {info.zh}"
                     for name, info in LIMITS.items())
    return (
        "读取限制（防止损坏或恶意的文件耗尽时间和内存；正常的年报远远达不到）：\n"
        "  命令行：--limit 名称=值（可重复），例如 --limit max_file_mb=50 --limit max_rows=20000\n"
        f"  配置文件（TOML，[limits] 表中每行一个 名称 = 值）：按顺序取第一个存在的——--config 文件；\n"
        f"  环境变量 {ENV_VAR} 指定的文件（设为空则不读配置文件）；当前文件夹的 {FILE_NAME}；\n"
        f"  用户配置 {user_config_file()}。命令行的 --limit 优先于配置文件。\n"
        "  gxsheet config 显示当前生效的值和来源；说明见 docs/safety.md。\n"
        f"可设置的限制（默认值）：\n{rows}"
    )


def add_options(p: argparse.ArgumentParser, T: Text | None = None) -> None:
    """``--config`` and ``--limit`` on a command that reads submissions, with the limits in its --help."""
    T = T or Text("zh")
    p.add_argument("--config", metavar="FILE",
                   help=T(f"配置文件（TOML；默认依次查找 ${ENV_VAR}、./{FILE_NAME}、用户配置，见下）",
                          f"config file (TOML; by default ${ENV_VAR}, ./{FILE_NAME}, then the user config: see below)"))
    p.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE",
                   help=T("设置一项读取限制，例如 max_file_mb=50（可重复；可设置的限制见下）",
                          "set one reading limit, e.g. max_file_mb=50 (repeatable; the limits are listed below)"))
    p.epilog = (p.epilog + "\n\n" if p.epilog else "") + limits_help(T)


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings a command runs with (raises ConfigError: one line, exit 2)."""
    return load_settings(getattr(args, "config", None), getattr(args, "limit", None) or ())


def limits_of(args: argparse.Namespace) -> Limits:
    return settings_of(args).limits


# ----------------------------------------------------------------------------- gxsheet config
EXAMPLES = (
    Example("gxsheet config", "显示生效的读取限制和配置文件", "show the limits in force and the config file"),
    Example("gxsheet config --config 县里.toml", "核对一个配置文件", "check a config file"),
    Example("gxsheet config --limit max_file_mb=50", "看 --limit 的效果", "see what a --limit does"),
)


def register(sub: argparse._SubParsersAction, T: Text) -> None:
    p = sub.add_parser("config", help=T("显示生效的读取限制及其来源", "show the limits in force and where they come from"),
                       description=T("显示各项读取限制当前生效的值、默认值和来源（配置文件或 --limit），用来核对配置文件。",
                                     "Show every reading limit's value in force, its default and where it comes from "
                                     "(config file or --limit), to check a config file."))
    add_lang(p, T)
    p.set_examples(EXAMPLES)
    add_options(p, T)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    sys.stdout.write(describe(settings, args.lang) + "\n")
    return 0


def describe(settings: Settings, lang: str = "zh") -> str:
    """The limits in force as a plain table (one line per limit), under a line naming the config file."""
    en = lang == "en"
    if settings.file is None:
        head = ("config file: none (defaults and --limit only)" if en else "配置文件：无（使用默认值和 --limit）")
    else:
        how = (FOUND_BY_EN if en else FOUND_BY_ZH).get(settings.found_by or "", "")
        head = f"config file: {settings.file} ({how})" if en else f"配置文件：{settings.file}（{how}）"
    origin = {"file": "config file" if en else "配置文件", "--limit": "--limit"}
    default = "default" if en else "默认"
    width = max(map(len, LIMITS)) + 2
    titles = ("limit", "value", "default", "unit", "source") if en else ("限制项", "当前值", "默认值", "单位", "来源")
    widths = (width, 10, 10, 7, 0)
    lines = [head, "".join(pad(t, w) for t, w in zip(titles, widths, strict=True)).rstrip()]
    for name, info in LIMITS.items():
        value = info.shown(getattr(settings.limits, info.field))
        default_value = info.shown(getattr(DEFAULT_LIMITS, info.field))
        unit = info.unit_en if en else info.unit_zh
        source = origin.get(settings.sources.get(name, ""), default)
        lines.append("".join(pad(t, w) for t, w in zip((name, value, default_value, unit, source), widths, strict=True)))
    return "\n".join(lines)
