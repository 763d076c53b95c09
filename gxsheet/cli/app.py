"""The ``gxsheet`` command line.

Each command lives in ``gxsheet/cli/<name>.py`` with ``register(subparsers, T)`` (``T`` picks the
text of the user's language, :mod:`gxsheet.cli.usage`); this module only dispatches and turns every
failure into one line and an exit code — a clerk or a county script never sees a traceback, nor
argparse's English usage text. Exit codes: 0 fine (warnings allowed), 1 findings of severity error
(or a refused action), 2 unreadable input, bad output path, bad setting or misuse.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from gxsheet import __version__
from gxsheet.cli.usage import Example, Parser, Text, language, make_parser_class, usage_line

#: command modules, in the order ``--help`` lists them
COMMANDS = ("validate", "template", "export", "import_", "merge", "config", "serve", "addin")

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2

EXAMPLES = (
    Example("gxsheet template --edition 2021 -o 某镇2021年报.xlsx", "生成空白的 2021 版标准模板",
            "write a blank template of the 2021 edition"),
    Example("gxsheet validate 某镇2021年报.xlsx", "校验一份年报，指出每个问题所在的单元格",
            "check one report; every problem names its cell"),
    Example("gxsheet merge 收件箱/ -o 全县汇总.xlsx", "把文件夹里各单位的年报汇总成一张表",
            "merge the reports in a folder into one county workbook"),
    Example("gxsheet validate --help", "查看某个命令的全部选项和示例", "every option and example of a command"),
)



def build_parser(lang: str = "zh", only: str | None = None) -> Parser:
    """The whole parser, or (``only``) one with just that command: a run imports and builds only
    the command it runs (``--help``, no command and a mistyped command build all of them)."""
    T = Text(lang)
    parser = make_parser_class(lang)(
        prog="gxsheet",
        description=T("政府信息公开工作年度报告：标准模板、校验、导入导出与汇总。",
                      "Annual government-information-disclosure reports: templates, validation, import/export, merge."),
    )
    parser.add_argument("--version", action="version", version=f"gxsheet {__version__}",
                        help=T("显示版本号并退出", "show the version and exit"))
    parser.add_argument("--lang", dest="main_lang", choices=("zh", "en"), default=argparse.SUPPRESS,
                        help=T("消息语言（也可写在命令之后）：zh 中文，en 英文", "language of messages (also after the command)"))
    parser.add_argument("--debug", action="store_true",
                        help=T("出错时显示完整的技术信息（给维护者看）", "show the full traceback of an internal error"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title=T("命令", "commands"))
    for name in COMMANDS if only is None else (only,):
        try:
            module = importlib.import_module(f"gxsheet.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"gxsheet.cli.{name}":
                continue  # a command not built into this version
            raise
        module.register(sub, T)
    parser.commands = list(sub.choices)
    parser.set_examples(EXAMPLES, T("每个命令的选项：gxsheet 命令 --help。English: --lang en。",
                                    "Options of a command: gxsheet COMMAND --help."))
    return parser


def _command_in(argv: list[str]) -> str | None:
    """The command module named by ``argv`` (None: not a known command, or options first that may
    mean help): of the top-level options only ``--lang`` takes a value, so the command is the
    first other word."""
    words = iter(argv)
    for word in words:
        if word.startswith("-"):
            if word == "--debug" or word.startswith("--lang="):
                continue
            if word == "--lang":
                next(words, None)
                continue
            return None
        module = "import_" if word == "import" else word  # `import` is a keyword: its module is import_
        return module if module in COMMANDS else None
    return None


def _say(message: str) -> None:
    """One line on stderr: paths and file names in it come from users and submitters (escaped)."""
    from gxsheet.core.sanitise import terminal

    print(terminal(message), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(encoding="utf-8", errors="replace")  # type: ignore[attr-defined]
        except (AttributeError, ValueError):
            pass
    lang = language(argv)
    parser = build_parser(lang, _command_in(sys.argv[1:] if argv is None else argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version (0) or a usage error already said in one line (2)
        return e.code if isinstance(e.code, int) else EXIT_INPUT
    if not getattr(args, "func", None):
        names = "、".join(parser.commands)
        _say(usage_line(parser, problem=Text(lang)(f"请指定要执行的命令（{names}）", f"name a command ({names})")))
        return EXIT_INPUT
    lang = getattr(args, "lang", lang) or lang
    from gxsheet.core.atomic import OutputError
    from gxsheet.core.config import ConfigError
    from gxsheet.core.errors import LoadError

    try:
        return int(args.func(args) or 0)
    except (LoadError, OutputError, ConfigError) as e:
        _say(e.message_en if lang == "en" else e.message_zh)
        return EXIT_INPUT
    except KeyboardInterrupt:
        _say("已中断。" if lang != "en" else "interrupted.")
        return 130
    except BrokenPipeError:
        os._exit(EXIT_OK)
    except Exception as e:  # noqa: BLE001 - the promise is: never a traceback for a user
        if args.debug:
            raise
        _say(f"gxsheet：内部错误（{type(e).__name__}: {e}）。请把这行信息和输入文件发给维护者；加 --debug 可看详细信息。"
             if lang != "en" else
             f"gxsheet: internal error ({type(e).__name__}: {e}). Please report it with the input file; --debug shows details.")
        return EXIT_INPUT


def run() -> None:
    """The ``gxsheet`` console script: :func:`main`, then a fast exit.

    Tearing down an interpreter that has imported pandas and pandera takes ~0.2 s and does
    nothing for a finished command: every output is written and closed (atomically) before main
    returns and no command leaves a process or thread behind. So flush what was printed and
    leave. Tests call :func:`main`, which returns normally.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
