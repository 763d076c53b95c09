"""The command line in the user's language: help, examples and one-line usage errors.

argparse speaks English and answers a slip with three or four lines of usage text. A clerk who
typed ``gxsheet template --edition 2021`` needs one line in Chinese that says what is missing and
shows a command that works; ``--help`` must describe every option and show examples. This module
gives every parser of the command line that behaviour:

* :func:`language` decides the language before anything is parsed: ``--lang en`` on the command
  line, else the locale (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``: English when it starts
  with ``en``), else Chinese — so a Windows PC (no ``LANG``) and a Chinese desktop get Chinese.
* :class:`Parser` is an ArgumentParser whose help is in that language (``用法：``, ``选项：``) and
  whose :meth:`~Parser.error` prints one line — the problem, then the command's first example and
  where the full help is — and exits 2.
* :func:`translate` turns argparse's English error messages into Chinese. They are matched by the
  templates argparse itself uses (listed in ``_PATTERNS``); a message none of them matches is still
  one Chinese line, quoting the English.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

from gxsheet.core.display import char_width, display_width
from gxsheet.core.errors import one_line

__all__ = ["Example", "Parser", "Text", "add_lang", "positive", "examples_text", "language", "make_parser_class", "no_action",
           "translate", "usage_line"]

LANGS = ("zh", "en")
#: locale variables in the order gettext reads them
LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
EXIT_USAGE = 2


def language(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> str:
    """'zh' or 'en': ``--lang`` in ``argv`` wins, else the locale, else Chinese."""
    args = list(sys.argv[1:] if argv is None else argv)
    for i, a in enumerate(args):
        if a == "--":
            break
        if a == "--lang" and i + 1 < len(args) and args[i + 1] in LANGS:
            return args[i + 1]
        if a.startswith("--lang=") and a.split("=", 1)[1] in LANGS:
            return a.split("=", 1)[1]
    env = os.environ if env is None else env
    for var in LOCALE_VARS:
        value = env.get(var, "")
        if value:
            return "en" if value.lower().startswith("en") else "zh"
    return "zh"


@dataclass(frozen=True)
class Text:
    """Picks the text of one language: ``T("中文", "English")``."""

    lang: str

    def __call__(self, zh: str, en: str) -> str:
        return en if self.lang == "en" else zh


@dataclass(frozen=True)
class Example:
    """One example of a command's --help: the command line and what it does."""

    command: str
    zh: str
    en: str


def examples_text(T: Text, examples: Sequence[Example]) -> str:
    """The 示例 / examples block of a --help (commands aligned, each with its explanation)."""
    if not examples:
        return ""
    lines = [T("示例：", "examples:")]
    for e in examples:
        lines += [f"  # {T(e.zh, e.en)}", f"  {e.command}"]
    return "\n".join(lines)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Help laid out as written (examples keep their lines), long lines wrapped by display width
    (a Chinese character takes two columns), with a Chinese usage prefix."""

    lang = "zh"

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out: list[str] = []
        for line in text.splitlines():
            if line.startswith(" ") or display_width(line) <= width:
                out.append(indent + line)  # examples and tables keep their layout
                continue
            while display_width(line) > width:
                cut, used = 0, 0
                for i, ch in enumerate(line):
                    used += char_width(ch)
                    if used > width:
                        break
                    cut = i + 1
                back = cut  # never split an ASCII word (a path, an option): break before it
                while back > 0 and cut < len(line) and _wordy(line[back - 1]) and _wordy(line[cut]):
                    back -= 1
                    if back == 0 or not _wordy(line[back - 1]):
                        break
                cut = back or cut
                out.append(indent + line[:cut].rstrip())
                line = line[cut:].lstrip(" ")
            if line:
                out.append(indent + line)
        return "\n".join(out)

    def add_usage(self, usage, actions, groups, prefix=None):  # type: ignore[no-untyped-def]
        if prefix is None and self.lang != "en":
            prefix = "用法："
        return super().add_usage(usage, actions, groups, prefix)


def _wordy(ch: str) -> bool:
    """Part of an ASCII word (letters, digits, path and option punctuation): not a break point."""
    return ch.isascii() and not ch.isspace()


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that speaks the user's language and reports misuse in one line (exit 2).

    ``lang`` is fixed per command line (:func:`make_parser_class`); subcommand parsers are made
    of the same class, so they speak it too. ``examples`` (set by each command) feed the --help
    and the usage-error line.
    """

    lang = "zh"

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        T = Text(self.lang)
        formatter = type("Formatter", (_Formatter,), {"lang": self.lang})
        kwargs.setdefault("formatter_class", formatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self.examples: list[Example] = []
        self.commands: list[str] = []  # the subcommands, for "name a command"
        self._positionals.title = T("参数", "arguments")
        self._optionals.title = T("选项", "options")
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                          help=T("显示本说明（含示例）并退出", "show this help (with examples) and exit"))
        # the deepest subcommand's parser ends up in the namespace: leftovers are reported by it
        self.set_defaults(_parser=self)

    def parse_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def]
        """As argparse's, but an unknown argument is reported by the subcommand it was given to."""
        ns, extras = self.parse_known_args(args, namespace)
        if extras:
            getattr(ns, "_parser", self).error("unrecognized arguments: " + " ".join(extras))
        return ns

    def describe(self, name: str) -> str:
        """What an argument is, in a few words (its help up to the first bracket or comma), or ''."""
        for action in self._actions:
            names = [*action.option_strings, str(action.metavar or ""), action.dest, "/".join(action.option_strings)]
            if name in names and action.help and action.help is not argparse.SUPPRESS:
                return re.split(r"[（(，,；;：:]", action.help, maxsplit=1)[0].strip()
        return ""

    def set_examples(self, examples: Sequence[Example], note: str = "") -> None:
        """Examples for this command: shown at the end of --help (after ``note``) and in usage errors."""
        self.examples = list(examples)
        T = Text(self.lang)
        parts = [p for p in (self.epilog, note, examples_text(T, examples)) if p]
        self.epilog = "\n\n".join(parts)

    def error(self, message: str) -> NoReturn:
        """One line on stderr — the problem, a working example, where the help is — and exit 2."""
        self.exit(EXIT_USAGE, usage_line(self, message) + "\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._print_message(message, sys.stderr)
        raise SystemExit(status)


def make_parser_class(lang: str) -> type[Parser]:
    """The Parser class of one language (argparse makes subcommand parsers of the same class)."""
    return type("Parser", (Parser,), {"lang": lang})


def usage_line(parser: Parser, message: str = "", *, problem: str | None = None) -> str:
    """``gxsheet template：缺少必需的参数 -o/--output。示例：…（gxsheet template --help 查看全部说明）``.

    ``message`` is argparse's (English, translated here); ``problem`` one already in the parser's language.
    """
    en = parser.lang == "en"
    if problem is None:
        problem = message if en else translate(message, parser.describe)
    problem = one_line(problem)
    prog = parser.prog
    tail = f" (see {prog} --help)" if en else f"（{prog} --help 查看全部说明）"
    example = ""
    if parser.examples:
        example = (f" Example: {parser.examples[0].command}" if en else f"示例：{parser.examples[0].command}")
    sep = ": " if en else "："
    end = "." if en else "。"
    return f"{prog}{sep}{problem.rstrip('.。')}{end}{example}{tail}"


def no_action(parser: Parser, actions: argparse._SubParsersAction) -> int:
    """A command of several actions (``gxsheet serve``, ``gxsheet addin``) run without one: one line
    naming them, exit 2. The names are the parser's own, so a new action is named without another edit."""
    names = "、".join(actions.choices)
    T = Text(parser.lang)
    print(usage_line(parser, problem=T(f"请指定操作（{names}）", f"name an action ({names})")), file=sys.stderr)
    return EXIT_USAGE


# --------------------------------------------------------------------------- argparse's messages

def _quoted_list(text: str) -> str:
    """``'2019', '2021'`` (or ``2019, 2021`` in newer Pythons) → ``2019、2021``."""
    return "、".join(x.strip().strip("'\"") for x in text.split(","))


def _value(text: str) -> str:
    return text.strip().strip("'\"")


def _arg(name: str) -> str:
    return "命令" if name == "COMMAND" else name


def _invalid_choice(m: re.Match[str]) -> str:
    value, choices = _value(m["value"]), _quoted_list(m["choices"])
    if m["arg"] in ("COMMAND", "ACTION"):
        what = "命令" if m["arg"] == "COMMAND" else "操作"
        return f"没有“{value}”这个{what}，可用的{what}：{choices}"
    return f"{m['arg']} 的值“{value}”无效，可选：{choices}"


def _invalid_type(m: re.Match[str]) -> str:
    kind = {"int": "整数", "float": "数字", "positive": "正整数"}.get(m["type"])
    if kind:
        return f"{m['arg']} 的值“{_value(m['value'])}”不是{kind}"
    return f"{m['arg']} 的值“{_value(m['value'])}”无效"


#: argparse's error templates (Lib/argparse.py) as patterns, and their Chinese; compiled by ``re``'s
#: cache on the first error, not on every run (13 patterns, ~3 ms of a cold start)
_PATTERNS: list[tuple[str, object]] = [
    (r"^the following arguments are required: (?P<args>.+)$",
     lambda m: "缺少必需的参数：" + "、".join(_arg(a.strip()) for a in m["args"].split(","))),
    (r"^argument (?P<arg>\S+?): invalid choice: (?P<value>.*?) \(choose from (?P<choices>.*)\)$",
     _invalid_choice),
    (r"^argument (?P<arg>\S+?): expected one argument$", lambda m: f"{m['arg']} 后面缺少值"),
    (r"^argument (?P<arg>\S+?): expected at least one argument$",
     lambda m: f"{_arg(m['arg'])} 至少需要一个值" if m["arg"] != "COMMAND" else "请指定命令"),
    (r"^argument (?P<arg>\S+?): expected at most one argument$", lambda m: f"{m['arg']} 最多只能有一个值"),
    (r"^argument (?P<arg>\S+?): expected (?P<n>\d+) arguments?$",
     lambda m: f"{m['arg']} 需要 {m['n']} 个值"),
    (r"^argument (?P<arg>\S+?): invalid (?P<type>\w+) value: (?P<value>.*)$", _invalid_type),
    (r"^argument (?P<arg>\S+?): not allowed with argument (?P<other>.+)$",
     lambda m: f"{m['arg']} 不能与 {m['other']} 同时使用"),
    (r"^argument (?P<arg>\S+?): ignored explicit argument (?P<value>.+)$",
     lambda m: f"{m['arg']} 不接受值“{_value(m['value'])}”"),
    (r"^unrecognized arguments: (?P<args>.+)$", lambda m: f"不认识的参数：{m['args']}"),
    (r"^ambiguous option: (?P<option>\S+) could match (?P<matches>.+)$",
     lambda m: f"选项 {m['option']} 不明确，可能是 {m['matches']}"),
    (r"^one of the arguments (?P<args>.+) is required$", lambda m: f"需要以下参数之一：{m['args']}"),
]


def translate(message: str, describe: Callable[[str], str] | None = None) -> str:
    """argparse's English error message in Chinese (unknown ones quoted, still one line).

    ``describe`` says what a named argument is ("-o/--output" → "输出的模板文件名"); its words are
    added after the argument's name.
    """
    text = message.strip()
    for pattern, render in _PATTERNS:
        m = re.match(pattern, text)
        if m:
            out: str = render(m)  # type: ignore[operator]
            if describe is not None:
                out = re.sub(_ARG_NAME, lambda a: _with_words(a[0], describe), out, count=1)
            return out
    return f"命令用法有误（{text}）"


#: the first argument named in a message: an option (-o/--output, --to) or a positional (FILE_OR_DIR)
_ARG_NAME = r"(?<![\w-])(?:-{1,2}[\w-]+(?:/-{1,2}[\w-]+)*|[A-Z][A-Z_.]+)(?![\w-])"


def _with_words(name: str, describe: Callable[[str], str]) -> str:
    words = describe(name)
    return f"{name}（{words}）" if words else name


def positive(text: str) -> int:
    """argparse type: a whole number of at least 1 (``--jobs``)."""
    n = int(text)
    if n < 1:
        raise ValueError(text)
    return n


def add_lang(p: argparse.ArgumentParser, T: Text) -> None:
    """``--lang zh|en``, defaulting to the language the command line was built in (locale, or zh)."""
    p.add_argument("--lang", choices=LANGS, default=T.lang,
                   help=T("消息语言：zh 中文，en 英文（默认按系统语言 LANG，未设置时为中文）",
                          "language of messages: zh Chinese, en English (default: from LANG, else Chinese)"))

