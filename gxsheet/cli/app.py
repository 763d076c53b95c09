"""The ``gxsheet`` command line.

Each command lives in ``gxsheet/cli/<name>.py`` with ``register(subparsers)``; this module
only dispatches and turns every failure into one line and an exit code — a clerk or a county
script never sees a traceback. Exit codes: 0 fine (warnings allowed), 1 findings of severity
error (or a refused action), 2 unreadable input, bad output path, bad setting or misuse.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from gxsheet import __version__

#: command modules, in the order ``--help`` lists them
COMMANDS = ("validate", "template", "export", "import_", "merge", "config", "addin")

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gxsheet",
        description="政府信息公开工作年度报告：标准模板、校验、导入导出与汇总。 "
                    "Annual government-information-disclosure reports: templates, validation, import/export, merge.",
    )
    parser.add_argument("--version", action="version", version=f"gxsheet {__version__}")
    parser.add_argument("--debug", action="store_true", help="出错时显示完整的技术信息 / show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"gxsheet.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"gxsheet.cli.{name}":
                continue  # a command not built into this version
            raise
        module.register(sub)
    return parser


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
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_INPUT
    lang = getattr(args, "lang", "zh")
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


if __name__ == "__main__":
    sys.exit(main())
