"""The one output rule, as a property: submission text is text in every output.

For random text - formula starts (``=``, ``+``, ``-``, ``@``, a tab or CR before them, a DDE call,
``=HYPERLINK(…)&``), tabs, newlines, C0 and C1 controls, bidi and zero-width marks - typed into a
workbook's 单位名称, 上级单位, a prose section and a number cell, every output of

    validate (the terminal report and --json), validate --annotate, merge --report,
    export --to txt / docx / json

holds it only as text: no formula or DDE call contains it, no field or hyperlink is made of it, no
relationship points outside the package, and no control, bidi or invisible character reaches a
file or the terminal (tabs and line breaks only where the format has them: cell text, txt, and
the lines and columns of the terminal report, each of which starts where it should).
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from test_hostile import cli, make_corpus

from gxsheet.core.sanitise import CONTROL, INVISIBLE

MARK = "〔标记〕"
#: characters no output may hold raw (tabs and line breaks are allowed where noted)
UNSAFE = re.compile(f"[{CONTROL}{INVISIBLE}]")
ALLOWED_SPACE = re.compile("[\t\n\r]")
#: how Excel writes a character XML cannot hold: one that decodes to a control is one too
OOXML_CONTROL = re.compile(r"_x(00[01][0-9A-Fa-f]|007[Ff]|008[0-9A-Fa-f]|009[0-9A-Fa-f]|20[0-2][0-9A-Fa-f]|206[0-9])_")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

ALPHABET = (
    list("=+-@\t\n\r \"'|!()[]{}<>&;:,.$%#/\\_x")
    + [chr(c) for c in range(0x00, 0x20)] + ["\x7f", "\x85", "\x9b", "\x9c"]
    + list("\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029\ufeff\u00ad")
    + list("城关镇一二三十无abcXYZ0123456789")
)
PREFIXES = ["", "=", "+", "-", "@", "\t=", "\r=", " =", '=HYPERLINK("http://127.0.0.1:9/","点我")&',
            "=cmd|' /C calc'!A0&", "_x001B_[31m", "\x1b]8;;http://127.0.0.1:9/\x07"]
submission = st.builds(lambda p, t: p + t + MARK, st.sampled_from(PREFIXES), st.text(st.sampled_from(ALPHABET), max_size=24))

SETTINGS = settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow],
                    phases=(Phase.explicit, Phase.reuse, Phase.generate))


def workbook_with(path: Path, text: str) -> Path:
    members = make_corpus.filled_report()
    for key in ("meta.unit_name", "meta.parent", "prose.s1", "t3.received.natural"):
        members = make_corpus.with_text(members, key, text)
    path.write_bytes(make_corpus.zip_bytes(members))
    return path


def raw_unsafe(text: str, *, spaces_ok: bool) -> list[str]:
    found = [m for m in UNSAFE.findall(text) if not (spaces_ok and ALLOWED_SPACE.match(m))]
    return found + OOXML_CONTROL.findall(text)


def check_package(path: Path, *, word: bool = False) -> None:
    """No formula with the text, no field or link, nothing pointing outside, no raw control."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if not name.endswith((".xml", ".rels")):
                continue
            data = zf.read(name).decode("utf-8")
            assert 'TargetMode="External"' not in data, (path.name, name)
            root = ET.fromstring(data)
            for el in root.iter():
                tag = el.tag.rsplit("}", 1)[-1]
                text = el.text or ""
                if tag == "f":
                    assert MARK not in text and "|" not in text, (path.name, name, text)
                if word and tag in ("fldSimple", "instrText"):  # only the exporter's own page numbers
                    instr = el.get(f"{W}instr", "") if tag == "fldSimple" else text
                    assert instr.split()[:1] in (["PAGE"], ["NUMPAGES"]) and MARK not in instr, (path.name, instr)
                if word:
                    assert tag != "hyperlink", (path.name, name)
                for value in [text, *el.attrib.values()]:
                    assert not raw_unsafe(value, spaces_ok=tag == "t" and not word), (path.name, name, tag, value)
                if tag == "hyperlink":
                    assert MARK not in "".join(el.attrib.values()), (path.name, el.attrib)


def check_terminal(out: str, err: str) -> None:
    for stream in (out, err):
        assert not raw_unsafe(stream, spaces_ok=True), repr(stream)
    lines = out.splitlines()
    assert lines and lines[0][:2] in ("✓ ", "✗ ", "? "), lines
    assert all(line.startswith("  ") for line in lines[1:]), lines  # no line forged by the text


@SETTINGS
@given(text=submission)
def test_submission_text_is_only_ever_text(tmp_path_factory, text):
    tmp = tmp_path_factory.mktemp("rule")
    inbox = tmp / "inbox"
    inbox.mkdir()
    src = workbook_with(inbox / "城关镇.xlsx", text)
    out = tmp / "out"
    out.mkdir()

    run = cli("validate", src)
    assert run.code == 1, run.err  # the number cell holds text: V-NUMBER
    check_terminal(run.out, run.err)
    assert MARK in run.out

    run = cli("validate", src, "--json")
    assert not raw_unsafe(run.out, spaces_ok=True)
    doc = json.loads(run.out)
    assert MARK in doc["files"][0]["unit_name"]

    assert cli("validate", src, "--annotate", out / "标注.xlsx").code == 1
    check_package(out / "标注.xlsx")

    run = cli("merge", inbox, "-o", out / "汇总.xlsx", "--report", out / "年报.xlsx")
    assert run.code == 1 and not raw_unsafe(run.out + run.err, spaces_ok=True), run.err
    check_package(out / "汇总.xlsx")
    check_package(out / "年报.xlsx")

    for fmt in ("txt", "docx", "json"):
        run = cli("export", src, "--to", fmt, "-o", out / f"导出.{fmt}", "--force")
        assert run.code == 0 and not raw_unsafe(run.out + run.err, spaces_ok=True), run.err
    txt = (out / "导出.txt").read_text(encoding="utf-8")
    assert MARK in txt and not raw_unsafe(txt, spaces_ok=True)
    check_package(out / "导出.docx", word=True)
    exported = (out / "导出.json").read_text(encoding="utf-8")
    assert not raw_unsafe(exported, spaces_ok=True)
    assert MARK in json.loads(exported)["metadata"]["unit_name"]["value"]
