"""Every usage error is one Chinese line and exit 2; every --help is in Chinese, describes every option
and shows examples (English with --lang en or an English LANG).

The cases are generated from the parsers themselves — every command and subcommand, every required
argument, every option with choices, a type or a value — so a new option is covered without a new test.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gxsheet.cli.app import build_parser, main
from gxsheet.cli.usage import Parser, language, translate

CJK = re.compile(r"[\u4e00-\u9fff]")


def parsers(lang: str = "zh") -> list[tuple[tuple[str, ...], Parser]]:
    """(command path, parser) of the whole command line: gxsheet, gxsheet merge, gxsheet addin build …"""
    out: list[tuple[tuple[str, ...], Parser]] = []

    def walk(path: tuple[str, ...], p: Parser) -> None:
        out.append((path, p))
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sub in a.choices.items():
                    walk((*path, name), sub)

    walk((), build_parser(lang))
    return out


def options(p: Parser) -> list[argparse.Action]:
    return [a for a in p._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]


def misuse_cases() -> list[tuple[str, ...]]:
    """Command lines that are misuse, one per kind of mistake per parser."""
    cases: list[tuple[str, ...]] = [("bogus",), ("--no-such-option",), ()]
    for path, p in parsers():
        if not path:
            continue
        cases.append((*path, "--no-such-option"))
        has_sub = any(isinstance(a, argparse._SubParsersAction) for a in p._actions)
        required = [a for a in p._actions if a.required or (not a.option_strings and a.nargs in (None, "+"))]
        if required or has_sub:
            cases.append(path)  # nothing given: a required argument (or the action) is missing
        if has_sub:
            cases.append((*path, "bogus"))
        for a in options(p):
            flag = a.option_strings[-1]
            if a.choices:
                cases.append((*path, flag, "nonsense"))
            if a.type in (int, float) or getattr(a.type, "__name__", "") == "positive":
                cases.append((*path, flag, "abc"))
                if getattr(a.type, "__name__", "") == "positive":
                    cases.append((*path, flag, "0"))
            if a.nargs is None and not isinstance(a, (argparse._StoreTrueAction, argparse._VersionAction)):
                cases.append((*path, flag))  # the value is missing
    return cases


@pytest.mark.parametrize("argv", misuse_cases(), ids=lambda a: " ".join(a) or "(nothing)")
def test_usage_error_is_one_chinese_line_and_exit_2(argv, capsys):
    assert main(list(argv)) == 2
    cap = capsys.readouterr()
    lines = [x for x in cap.err.splitlines() if x.strip()]
    assert len(lines) == 1, cap.err
    line = lines[0]
    assert CJK.search(line.split("示例：")[0]), line  # the problem itself is said in Chinese
    assert "usage:" not in line and "error:" not in line and "命令用法有误" not in line, line
    assert "--help" in line and line.startswith("gxsheet")
    assert cap.out == ""


@pytest.mark.parametrize("argv", [("template", "--edition", "2021"), ("merge", "e"), ("export", "ok.xlsx")],
                         ids=" ".join)
def test_the_issue_examples(argv, capsys):
    """The three commands of the issue: the missing option is named, with what it is and a working example."""
    assert main(list(argv)) == 2
    err = capsys.readouterr().err.strip()
    assert "缺少必需的参数" in err and "示例：gxsheet " + argv[0] in err
    want = {"template": "-o/--output（输出的模板文件名）", "merge": "-o/--output（汇总工作簿的文件名）", "export": "--to（导出格式）"}
    assert want[argv[0]] in err


def test_english_usage_error_with_lang_or_locale(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    for argv, extra in ((["template", "--edition", "2021", "--lang", "en"], {}),
                        (["--lang", "en", "template", "--edition", "2021"], {}),
                        (["template", "--edition", "2021"], {"LANG": "en_US.UTF-8"})):
        r = subprocess.run([sys.executable, "-m", "gxsheet", *argv], capture_output=True, text=True, encoding="utf-8",
                           env={**env, **extra}, cwd=tmp_path)
        assert r.returncode == 2
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and "the following arguments are required: -o/--output" in lines[0], r.stderr
    r = subprocess.run([sys.executable, "-m", "gxsheet", "template", "--edition", "2021"], capture_output=True,
                       text=True, encoding="utf-8", env={**env, "LANG": "zh_CN.UTF-8"}, cwd=tmp_path)
    assert r.returncode == 2 and "缺少必需的参数" in r.stderr


def test_language_choice():
    assert language(["validate", "x"], {}) == "zh"  # Windows: no LANG
    assert language(["validate", "x"], {"LANG": "C.UTF-8"}) == "zh"
    assert language(["validate", "x"], {"LANG": "en_GB.UTF-8"}) == "en"
    assert language(["validate", "x"], {"LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"}) == "zh"
    assert language(["validate", "--lang", "en"], {"LANG": "zh_CN.UTF-8"}) == "en"
    assert language(["validate", "--lang=zh"], {"LANG": "en_US.UTF-8"}) == "zh"
    assert language(["validate", "--", "--lang", "en"], {}) == "zh"


@pytest.mark.parametrize("path", [p for p, _ in parsers()], ids=lambda p: " ".join(p) or "gxsheet")
def test_every_help_is_chinese_with_examples(path, capsys):
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：gxsheet") and "示例：" in out and "\n  gxsheet " in out
    assert "usage:" not in out and "show this help message" not in out and "options:" not in out


@pytest.mark.parametrize("path", [p for p, _ in parsers("en")], ids=lambda p: " ".join(p) or "gxsheet")
def test_every_help_in_english_with_lang_en(path, capsys):
    assert main([*path, "--help", "--lang", "en"]) == 0 if path else main(["--lang", "en", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: gxsheet") and "examples:" in out and "用法" not in out and "示例" not in out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_option_is_described(lang):
    for path, p in parsers(lang):
        assert p.description or not path, path
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for choice in a._choices_actions:
                    assert choice.help, (path, choice.dest)
                continue
            assert a.help and a.help is not argparse.SUPPRESS, (path, a.dest)
            if lang == "zh":
                assert CJK.search(a.help), (path, a.dest, a.help)


@pytest.mark.parametrize("message", [
    "the following arguments are required: -o/--output",
    "argument --edition: invalid choice: '2018' (choose from '2019', '2021')",
    "argument --edition: invalid choice: '2018' (choose from 2019, 2021)",  # Python 3.12's wording
    "argument --year: invalid int value: 'abc'",
    "argument --to: expected one argument",
    "unrecognized arguments: --foo",
    "ambiguous option: --f could match --force, --foo",
    "argument -a: not allowed with argument -b",
    "argument --force: ignored explicit argument 'x'",
    "one of the arguments -a -b is required",
    "argument --previous: expected at least one argument",
])
def test_translate_knows_argparse_messages(message):
    zh = translate(message)
    assert not zh.startswith("命令用法有误") and CJK.search(zh)


def test_english_plurals_and_no_internal_keys(tmp_path):
    from gxsheet.render.samples import write_sample

    ok = write_sample(tmp_path / "a.xlsx", "2021", seed=1)
    warn = write_sample(tmp_path / "b.xlsx", "2021", seed=3, values={"t2_8.fees.amount": "300元"})
    r = subprocess.run([sys.executable, "-m", "gxsheet", "validate", "--lang", "en", str(ok), str(warn)],
                       capture_output=True, text=True, encoding="utf-8")
    assert "(s)" not in r.stdout and "1 warnings" not in r.stdout
    assert "0 errors, 1 warning" in r.stdout and "2 files: 0 errors, 1 warning, 0 unreadable." in r.stdout
    examples = Path(__file__).resolve().parents[2] / "examples"
    r = subprocess.run([sys.executable, "-m", "gxsheet", "validate", "--lang", "en", str(examples)],
                       capture_output=True, text=True, encoding="utf-8")
    assert not re.search(r"\(t\d[\w.]*\)", r.stdout), "an internal key in an English message"
    assert "(表三, row “一、本年新收政府信息公开申请数量”, column 总计)" in r.stdout


def test_folder_with_a_stray_file_same_in_validate_and_merge(tmp_path, capsys):
    """A 说明.txt in the inbox is listed and skipped by both commands, with a count, and does not fail either."""
    from gxsheet.render.samples import write_sample

    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    write_sample(inbox / "甲镇.xlsx", "2021", seed=1)
    (inbox / "说明.txt").write_text("请各镇于1月20日前报送。", encoding="utf-8")
    (inbox / "照片.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 64)
    assert main(["validate", str(inbox)]) == 0
    cap = capsys.readouterr()
    assert cap.err.count("已跳过（不是工作簿）") == 2 and "说明.txt" in cap.err and "照片.jpg" in cap.err
    assert "跳过 2 个不是工作簿的文件" in cap.out
    assert main(["merge", str(inbox), "-o", str(tmp_path / "县.xlsx")]) == 0
    cap = capsys.readouterr()
    assert cap.err.count("已跳过（不是工作簿）") == 2 and "跳过不是工作簿的文件 2 个" in cap.out
    # named explicitly, the same file is a mistake to fix: exit 2
    assert main(["validate", str(inbox / "说明.txt")]) == 2


def test_empty_folder_says_so(tmp_path, capsys):
    empty = tmp_path / "空"
    empty.mkdir()
    (empty / "~$锁.xlsx").write_bytes(b"x")
    assert main(["merge", str(empty), "-o", str(tmp_path / "x.xlsx")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "没有找到要汇总的文件" in err and "原因见上" not in err
    assert main(["validate", str(empty)]) == 2
    assert "文件夹里没有找到文件" in capsys.readouterr().err


def test_annotated_copy_path_is_printed(tmp_path, capsys):
    from gxsheet.render.samples import write_sample

    src = write_sample(tmp_path / "乙镇.xlsx", "2021", seed=2, values={"t3.received.natural": "无"})
    out = tmp_path / "标注.xlsx"
    assert main(["validate", str(src), "--annotate", str(out)]) == 1
    assert f"→ {out}" in capsys.readouterr().out
    assert main(["validate", str(src), "--annotate", str(tmp_path / "copies"), "--json"]) == 1
    assert "标注副本：" in capsys.readouterr().err
