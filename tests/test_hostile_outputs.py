"""Hostile submissions, second round (issue 14): no live formula out, no hang, no lost file.

Each case a red-team pass reproduced on main is here, with its exit code, its message and, where
inputs are involved, the sha256 of every input before and after:

* formula injection into outputs the county opens (a 上级单位 or a sheet named ``=HYPERLINK(…)``, a
  submission's own DDE formula in the annotated copy);
* hangs and blow-ups: formulas without cached values chained 40 deep, a 400-digit number, 700,000
  styles, a Word table of 1.4 million rows, rowspans, 20,000 nested tables, 4,000 copies of a town;
* crashes on control characters; workers outliving the command (real processes, real signals);
* files replaced or lost: a FIFO as output, a town workbook that looks like a county workbook, two
  inputs of one name, a full disk (a real one: a 64 KB tmpfs in a private mount namespace);
* wrong values and spoofing: 9², NaN/Infinity, a newline in 单位名称, bidi and zero-width marks.

The committed corpus files are built by ``tests/bad_inputs/make_corpus.py``; files too large to
commit are built here. The property test over random submission text is tests/test_output_rule.py.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from test_hostile import CORPUS, MEMORY_LIMIT, ROOT, TIME_LIMIT, cli, gxsheet_process, make_corpus, no_temp_files, state

from gxsheet.core.bounded import ISOLATED, Pool
from gxsheet.core.errors import LoadError
from gxsheet.core.limits import MB, Limits
from gxsheet.core.sanitise import CONTROL, INVISIBLE

GOOD = CORPUS / "城关镇 2021年 年报（终稿）.xlsx"
RAW_UNSAFE = re.compile(f"[{CONTROL}{INVISIBLE}]")
posix_only = pytest.mark.skipif(not ISOLATED, reason="bounded worker processes need fork and POSIX limits")


def copy(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest)
    return dest


def live_formulas(path: Path) -> list[tuple[str, str, str]]:
    """(sheet, cell, formula) of every formula cell of a workbook."""
    wb = load_workbook(path)
    return [(ws.title, c.coordinate, str(c.value)) for ws in wb.worksheets for row in ws.iter_rows()
            for c in row if c.data_type == "f"]


def external_targets(path: Path) -> list[str]:
    """Relationship targets of a package that point outside it (hyperlinks, external links)."""
    with zipfile.ZipFile(path) as zf:
        rels = [zf.read(n).decode("utf-8") for n in zf.namelist() if n.endswith(".rels")]
    return [t for r in rels for t in re.findall(r'Target="([^"]*)"[^>]*TargetMode="External"', r)]


def package_text(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return "".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist() if n.endswith(".xml"))


def cell_of(path: Path, key: str) -> object:
    """The openpyxl cell of a layout key (``meta.unit_name``) in a standard workbook."""
    sheet, ref = make_corpus.address(key)
    name = next(n for n, part in make_corpus.SHEETS.items() if part == sheet)
    return load_workbook(path)[name][ref]


# =========================================================================== formulas out


def test_county_report_keeps_a_formula_like_parent_as_text(tmp_path):
    """上级单位 =HYPERLINK(…): merge --report used to write it into 单位名称 as a live link."""
    inbox = tmp_path / "inbox"
    copy(CORPUS / "parent-hyperlink.xlsx", inbox / "城关镇.xlsx")
    before = state(inbox)
    county, report = tmp_path / "全县.xlsx", tmp_path / "全县年报.xlsx"
    run = cli("merge", inbox, "-o", county, "--report", report)
    assert run.code == 0, run.err
    unit = cell_of(report, "meta.unit_name")
    assert unit.value == make_corpus.HYPERLINK and unit.data_type == "s" and unit.quotePrefix
    for out in (county, report):
        assert not [f for f in live_formulas(out) if "HYPERLINK" in f[2]], out
        assert external_targets(out) == []
    title = load_workbook(county)["汇总"]["A1"]
    assert title.value.startswith(make_corpus.HYPERLINK) and title.data_type == "s"
    assert state(inbox) == before


def test_a_sheet_named_like_a_formula_stays_text_in_the_annotated_copy(tmp_path):
    src = CORPUS / "sheet-named-formula.xlsx"
    before = state(CORPUS)
    out = tmp_path / "标注.xlsx"
    run = cli("validate", src, "--annotate", out)
    assert run.code == 0 and "S-LABEL" in run.out and make_corpus.SHEET_FORMULA in run.out
    results = load_workbook(out)["校验结果"]
    where, message = results["D4"], results["E4"]
    assert where.value == make_corpus.SHEET_FORMULA and where.data_type == "s" and where.quotePrefix
    assert make_corpus.SHEET_FORMULA in message.value and message.data_type == "s"
    assert not [f for f in live_formulas(out) if "HYPERLINK" in f[2]]
    assert external_targets(out) == []
    assert state(CORPUS) == before


def test_the_annotated_copy_makes_the_submissions_formulas_inert(tmp_path):
    """A DDE formula, formulas on another workbook: text or their cached value in the copy; the
    template's own checks (SUM, IF …) stay live."""
    from gxsheet.render.xlsx_text import inert_formula

    before = state(CORPUS)
    for name, cell, expected in (
        ("dde-formula.xlsx", "D5", "=cmd|' /C calc'!A0"),
        ("external-link.xlsx", "E5", "=[1]Sheet1!$A$2"),
    ):
        out = tmp_path / f"{name}.标注.xlsx"
        run = cli("validate", CORPUS / name, "--annotate", out)
        assert run.code == 1, run.err
        wb = load_workbook(out)
        c = wb["表三"][cell]
        assert c.value == expected and c.data_type == "s", (name, c.value, c.data_type)
        formulas = live_formulas(out)
        assert len(formulas) >= 40  # the template's checks are still there ...
        assert all(inert_formula(f) for _, _, f in formulas)  # ... and nothing reaches outside
        assert not [f for f in formulas if "|" in f[2] or "[" in f[2]]
        assert external_targets(out) == []
    cached = load_workbook(tmp_path / "external-link.xlsx.标注.xlsx")["表三"]["D5"]
    assert cached.value == make_corpus.valid_values_for("t3.received.natural") and cached.data_type == "n"
    assert state(CORPUS) == before


def test_inert_formula():
    from gxsheet.render.xlsx_text import inert_formula

    for f in ("=SUM(D5:D9)", "=IF(AND(ISNUMBER(D5),D5>0),\"\",\"错\")", "='表三'!D5+1", "=LEFT(A1,2)", "=1+2"):
        assert inert_formula(f), f
    for f in ("=cmd|' /C calc'!A0", "=[1]Sheet1!$A$1", '=HYPERLINK("http://x","y")', '=WEBSERVICE("http://x")',
              '=INDIRECT("[x.xlsx]S!A1")', "=CALL(\"k\",\"f\")", "='C:\\[x.xlsx]S'!A1", '=IMAGE("x")'):
        assert not inert_formula(f), f


# =========================================================================== no hang


def test_a_deep_formula_chain_is_computed_once_per_cell():
    """40 levels, each naming the next three times: 3**40 evaluations before; now 40, at once."""
    run = gxsheet_process("validate", CORPUS / "formula-chain.xlsx")
    assert run.code == 0 and "通过" in run.out, run.out + run.err
    assert run.seconds < TIME_LIMIT


def test_a_chain_past_the_budget_is_a_finding_not_a_hang(tmp_path):
    from gxsheet.read.workbook import FORMULA_DEPTH

    part, ref = make_corpus.address("t3.received.natural")
    depth = FORMULA_DEPTH + 50

    def chain(xml: str) -> str:
        xml = make_corpus.sub_once(xml, make_corpus.cell_pattern(ref), f'<c r="{ref}"><f>Z901</f></c>')
        rows = "".join(f'<row r="{r}"><c r="Z{r}"><f>Z{r + 1}*1</f></c></row>' for r in range(901, 901 + depth))
        xml = re.sub(r'<dimension ref="[^"]*"/>', "", xml)
        return make_corpus.sub_once(xml, "</sheetData>", rows + "</sheetData>")

    path = tmp_path / "链.xlsx"
    path.write_bytes(make_corpus.zip_bytes(make_corpus.edit(make_corpus.filled_report(), part, chain)))
    run = gxsheet_process("validate", path)
    assert run.code == 1 and "V-NUMBER" in run.out and "表三!D5" in run.out and "公式没有计算结果" in run.out
    assert run.seconds < TIME_LIMIT


def _report_json(tmp_path: Path, name: str, value_text: str) -> Path:
    """A valid exported report JSON whose 表三!D5 value is ``value_text`` (raw JSON)."""
    base = tmp_path / "base.json"
    if not base.exists():
        assert cli("export", GOOD, "--to", "json", "-o", base).code == 0
    text = base.read_text(encoding="utf-8")
    value = make_corpus.valid_values_for("t3.received.natural")
    pattern = r'("t3\.received\.natural": \{\s*"labels": \[[^\]]*\],\s*"value": )' + str(value)
    path = tmp_path / name
    path.write_text(re.sub(pattern, lambda m: m[1] + value_text, text, count=1), encoding="utf-8")
    assert path.read_text(encoding="utf-8") != text
    return path


def test_giant_numbers_are_findings_and_the_batch_goes_on(tmp_path):
    """A 400-digit number (formula, JSON), NaN and Infinity: each a V-NUMBER on its cell, never an
    OverflowError that stopped validate DIR and merge naming no file."""
    inbox = tmp_path / "inbox"
    copy(CORPUS / "formula-huge-number.xlsx", inbox / "甲.xlsx")
    copy(GOOD, inbox / "乙.xlsx")
    for name, raw in (("丙.json", "1" + "0" * 400), ("丁.json", "NaN"), ("戊.json", "Infinity"),
                      ("己.json", "1e400"), ("庚.json", "12345678901234567")):
        shutil.move(_report_json(tmp_path, name, raw), inbox / name)
    before = state(inbox)
    run = cli("validate", inbox, "--json")
    assert run.code == 1 and "内部错误" not in run.err, run.err
    files = {Path(f["file"]).name: f for f in json.loads(run.out)["files"]}
    assert files["乙.xlsx"]["status"] == "ok"
    for name in ("甲.xlsx", "丙.json", "丁.json", "戊.json", "己.json", "庚.json"):
        found = [(f["rule"], f["cells"]) for f in files[name]["findings"]]
        assert found[:1] == [("V-NUMBER", ["表三!D5"])], (name, found)
    too_large = files["庚.json"]["findings"][0]["message_zh"]
    assert "超出了合理范围" in too_large and "12345678901234567" in too_large
    out = tmp_path / "汇总.xlsx"
    run = cli("merge", inbox, "-o", out, "--report", tmp_path / "年报.xlsx")
    assert run.code == 1 and "内部错误" not in run.err and out.exists()
    assert state(inbox) == before


def test_a_record_with_an_int_beyond_any_double_is_a_finding():
    from gxsheet.check.validate import validate_record
    from gxsheet.read.registry import read_any

    rec = read_any(GOOD)
    for v in (10**400, -(10**20), 1e300):
        rec.values["t3.received.natural"] = v
        found = [(f.rule, f.case, f.cells) for f in validate_record(rec)]
        assert found == [("V-NUMBER", "too-large", ["表三!D5"])], (v, found)


def _zip_streaming(path: Path, members: dict[str, bytes], name: str, pieces) -> Path:
    """``members`` zipped as ``make_corpus.zip_bytes`` does, member ``name`` written from ``pieces`` as they
    come (a file of millions of elements is built without holding it: pytest's own peak memory would
    otherwise show up in every later measurement)."""
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in members.items():
            info = zipfile.ZipInfo(member, make_corpus.ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            if member == name:
                with zf.open(info, "w") as out:
                    for piece in pieces:
                        out.write(piece.encode("utf-8"))
            else:
                zf.writestr(info, data)
    return path


def many_styles(path: Path, n: int = 700_000) -> Path:
    """A valid report whose styles.xml holds ``n`` more cell formats (~4.5 MB on disk)."""
    members = make_corpus.filled_report()
    xml = members["xl/styles.xml"].decode("utf-8")
    m = re.search(r'<cellXfs count="(\d+)">', xml)
    assert m is not None
    rnd = random.Random(7)

    def pieces():
        yield xml[:m.start()] + f'<cellXfs count="{int(m[1]) + n}">'
        for _ in range(n // 1000):
            yield "".join(f'<xf numFmtId="{rnd.randrange(100_000)}" fontId="0" fillId="0" borderId="0" '
                          f'xfId="{rnd.randrange(1000)}"/>' for _ in range(1000))
        yield xml[m.end():]

    return _zip_streaming(path, members, "xl/styles.xml", pieces())


@posix_only
def test_styles_a_library_would_choke_on_are_refused_before_annotating(tmp_path):
    """700,000 <xf>: --annotate took 71 s and 2.7 GB in openpyxl; styles nested 300 deep crashed it."""
    big = many_styles(tmp_path / "格式.xlsx")
    assert big.stat().st_size > 4 * MB
    deep = tmp_path / "嵌套.xlsx"
    nest = "<extLst>" + "<ext>" * 300 + "</ext>" * 300 + "</extLst></styleSheet>"
    deep.write_bytes(make_corpus.zip_bytes(make_corpus.edit(
        make_corpus.filled_report(), "xl/styles.xml", lambda x: x.replace("</styleSheet>", nest))))
    before = state(tmp_path)
    for path, words in ((big, ("xl/styles.xml", "200000")), (deep, ("xl/styles.xml", "deeper than 64"))):
        out = tmp_path / f"{path.stem}.标注.xlsx"
        run = gxsheet_process("validate", path, "--annotate", out)
        assert run.code == 2 and "Traceback" not in run.err and not out.exists(), run.err
        line, = run.err.splitlines()
        assert line.startswith(f"{path}：") and all(w in line for w in words), line
        assert run.seconds < TIME_LIMIT and run.peak < MEMORY_LIMIT, (run.seconds, run.peak // MB)
        assert gxsheet_process("validate", path).code == 0  # the report itself reads fine
    assert state(tmp_path) == before
    no_temp_files(tmp_path)


def big_word_table(path: Path, rows: int = 1_400_000) -> Path:
    """A Word report with a table of ``rows`` rows (~10 MB, varied enough to pass the ratio check)."""
    base = path.with_suffix(".base.docx")
    assert cli("export", GOOD, "--to", "docx", "-o", base).code == 0
    with zipfile.ZipFile(base) as src:
        members = {i.filename: src.read(i) for i in src.infolist()}
    base.unlink()
    head, tail = members["word/document.xml"].decode("utf-8").split("<w:body>", 1)
    rnd = random.Random(3)

    def pieces():
        yield head + "<w:body><w:tbl>"
        for _ in range(rows // 1000):
            yield "".join(f"<w:tr><w:tc><w:p><w:r><w:t>{rnd.getrandbits(40):x}</w:t></w:r></w:p></w:tc></w:tr>"
                          for _ in range(1000))
        yield "</w:tbl>" + tail

    return _zip_streaming(path, members, "word/document.xml", pieces())


@posix_only
def test_published_reports_too_big_to_parse_are_refused_quickly(tmp_path):
    """A Word table of 1.4 million rows (27 s, 1.85 GB), 256 KB of rowspan=1000 cells (>120 s,
    1.6 GB), 20,000 nested tables (quadratic): each answered within the bounds."""
    docx = big_word_table(tmp_path / "大表格.docx")
    rowspan = tmp_path / "跨行.html"
    rowspan.write_text("<html><body><p>2021年政府信息公开工作年度报告</p><table><tr>"
                       + "<td rowspan=1000>1</td>" * 10_000 + "</tr>" + "<tr></tr>" * 1000
                       + "</table></body></html>", encoding="utf-8")
    nested = tmp_path / "嵌套.html"
    nested.write_text("<html><body><p>2021年政府信息公开工作年度报告</p>" + "<table><tr><td>" * 20_000 + "x"
                      + "</td></tr></table>" * 20_000 + "</body></html>", encoding="utf-8")
    assert docx.stat().st_size > 8 * MB and rowspan.stat().st_size > 200 * 1024
    before = state(tmp_path)
    for path, words in ((docx, ("Word 文档内容过多", "word/document.xml")), (rowspan, ("表格1过大",)),
                        (nested, ("找不到年度报告的统计表格",))):
        run = gxsheet_process("validate", path)
        assert run.code == 2 and "Traceback" not in run.err and "内部错误" not in run.err, run.err
        line, = run.err.splitlines()
        assert line.startswith(f"{path}：") and all(w in line for w in words), line
        assert run.seconds < TIME_LIMIT and run.peak < MEMORY_LIMIT, (path.name, run.seconds, run.peak // MB)
    assert state(tmp_path) == before


def pdf_bomb(path: Path, mb: int = 300) -> Path:
    """A one-page PDF whose drawing instructions (a line, over and over) are ``mb`` MB inflated from
    under 1 MB: a decompression bomb for any reader that inflates a content stream whole."""
    import zlib

    op = b"0 0 m 100 100 l S\n"
    co = zlib.compressobj(9)
    chunk = op * (MB // len(op))
    stream = b"".join(co.compress(chunk) for _ in range(mb)) + co.flush()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def test_a_pdf_page_that_inflates_to_hundreds_of_mb_is_refused_before_parsing(tmp_path):
    """pdfminer inflates a page's content stream whole and makes an object per drawing operator:
    300 MB of lines from 0.75 MB took the whole 20 s CPU bound and ~780 MB before the worker
    stopped it. Measured while inflating, it is refused in about a second."""
    from gxsheet.read.pdf import MAX_PAGE_CONTENT_BYTES

    bomb = pdf_bomb(tmp_path / "炸弹.pdf")
    assert bomb.stat().st_size < MB
    before = state(tmp_path)
    for args in (["validate", bomb], ["import", bomb, "-o", tmp_path / "导入.xlsx"]):
        run = gxsheet_process(*args)
        line, = run.err.splitlines()
        assert run.code == 2 and line.startswith(f"{bomb}：第1页的绘制内容解压后超过"), run.err
        assert f"{MAX_PAGE_CONTENT_BYTES // MB} MB" in line
        assert run.seconds < TIME_LIMIT and run.peak < MEMORY_LIMIT, (run.seconds, run.peak // MB)
    assert state(tmp_path) == before
    no_temp_files(tmp_path)


def _spin(kind: str) -> str:
    """A reader gone wrong, for the pool: loops, allocates, backtracks in C, or dies."""
    if kind == "loop":
        while True:
            pass
    if kind == "memory":
        hog = []
        while True:
            hog.append(bytearray(16 * MB))
    if kind == "regex":
        re.match(r"(a+)+$", "a" * 64 + "b")
    if kind == "exit":
        os._exit(3)
    if kind == "crash":
        raise ValueError("a reader bug")
    return kind


@posix_only
@pytest.mark.parametrize("chunk", [1, 3])
def test_the_bounds_are_enforced_by_the_system(chunk):
    """CPU time (a Python loop, a regex stuck in C), memory, a crash, a dying worker: each one
    task's outcome, and the tasks after it still run - also when tasks travel in chunks (a chunk
    whose worker dies is retried task by task, so only the task that killed it is lost)."""
    limits = Limits(max_seconds=1, max_memory_bytes=128 * MB)
    tasks = [("ok",), ("loop",), ("memory",), ("regex",), ("crash",), ("exit",), ("after",)]
    started = time.process_time()
    with Pool(_spin, 2, limits) as pool:
        outcomes = pool.map(tasks, chunk=chunk)
    assert [o.status for o in outcomes] == ["ok", "time", "memory", "time", "crash", "died", "ok"]
    assert outcomes[-1].value == "after" and "a reader bug" in outcomes[4].detail and "ValueError" in outcomes[4].trace
    assert time.process_time() - started < 5  # the parent only waited


def _mark(folder: str, i: int) -> int:
    Path(folder, str(i)).touch()
    return i


@posix_only
def test_results_stream_and_work_in_flight_is_bounded(tmp_path):
    """imap hands a worker at most two chunks ahead of its caller: a merge validating and spilling
    as files come holds a few chunks of records, not the county's."""
    from gxsheet.core.bounded import _DEPTH

    tasks = [(str(tmp_path), i) for i in range(40)]
    with Pool(_mark, 1) as pool:
        results = pool.imap(tasks, chunk=3)
        first = next(results)
        started = len(list(tmp_path.iterdir()))
        rest = list(results)
    assert first[1].ok and started <= _DEPTH * 3, started
    assert sorted(i for i, _ in [first, *rest]) == list(range(40)) and all(o.value == i for i, o in [first, *rest])


@posix_only
def test_the_same_bounds_hold_for_work_in_an_existing_worker():
    """call_bounded (what gxsheet serve's workers use around an upload): a loop and a hog each end as
    their outcome, and the limits are lifted again for the next job."""
    import resource

    from gxsheet.core.bounded import call_bounded

    limits = Limits(max_seconds=1, max_memory_bytes=128 * MB)
    before = resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_CPU)
    assert [call_bounded(_spin, kind, limits=limits).status for kind in ("loop", "memory", "crash", "ok")] == [
        "time", "memory", "crash", "ok"]
    assert (resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_CPU)) == before
    assert bytearray(256 * MB)  # more than the bound: lifted


def _slow_reader(path: str, limits: Limits | None = None):
    if path.endswith("slow.xlsx"):
        while True:
            pass
    from gxsheet.read.registry import read_any

    return read_any(path, limits=limits)


@posix_only
def test_a_file_over_a_bound_is_unreadable_and_the_batch_goes_on(tmp_path):
    from gxsheet.read.batch import read_files

    paths = [copy(GOOD, tmp_path / f"{n}.xlsx") for n in ("a", "slow", "b")]
    got = read_files(paths, reader=_slow_reader, limits=Limits(max_seconds=1))
    assert not isinstance(got[0], LoadError) and not isinstance(got[2], LoadError)
    e = got[1]
    assert isinstance(e, LoadError) and e.kind == "too-slow"
    assert e.message_zh.startswith(f"{paths[1]}：读取超过了时间上限（1 秒 CPU 时间）") and "\n" not in e.message_zh


def test_duplicate_findings_reference_rather_than_copy_the_file_list():
    """4,000 copies of one town: each X-DUPLICATE listed every file (16 million names, 2.2 GB)."""
    from gxsheet.check.merge_rules import SHOWN_FILES, duplicate_findings
    from gxsheet.read.registry import read_any

    rec = read_any(GOOD)
    group = [(f"城关镇-{i:04d}.xlsx", rec) for i in range(4000)]
    found = duplicate_findings(group, 3999, 2021)
    assert len(found) == 4000
    longest = max(len(f.message_zh) + len(f.message_en) for f in found)
    assert longest < 600, longest
    assert "报送了4000份工作簿" in found[0].message_zh and "城关镇-0000.xlsx" in found[0].message_zh
    assert f"and {4000 - SHOWN_FILES} more" in found[0].message_en and "本文件未计入" in found[0].message_zh
    assert "即本文件" in found[-1].message_zh and "城关镇-3999.xlsx" in found[-1].message_zh


@posix_only
def test_a_merge_of_many_copies_of_one_town_stays_small(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(300):
        os.link(GOOD, inbox / f"城关镇-{i:03d}.xlsx")
    out = tmp_path / "汇总.xlsx"
    run = gxsheet_process("merge", inbox, "-o", out, "--jobs", "2")
    assert run.code == 1 and out.exists(), run.err  # every copy but one is an X-DUPLICATE error
    problems = load_workbook(out, read_only=True)["问题清单"]
    messages = [r[7] for r in problems.iter_rows(min_row=3, values_only=True)]
    assert len(messages) == 300 and max(len(m) for m in messages) < 600
    assert run.peak < MEMORY_LIMIT, run.peak // MB


# =========================================================================== crashes on control characters


def test_control_characters_reach_no_output(tmp_path):
    """U+0001 and escape sequences crashed export --to docx, --annotate, JSON import and merge --report
    (after the county workbook was already written); now they are shown escaped everywhere."""
    from docx import Document

    src = copy(CORPUS / "control-characters.xlsx", tmp_path / "in" / "城关镇.xlsx")
    before = state(src.parent)
    out = tmp_path / "out"
    out.mkdir()
    runs = [
        cli("validate", src),
        cli("validate", src, "--json"),
        cli("validate", src, "--annotate", out / "标注.xlsx"),
        cli("merge", src.parent, "-o", out / "汇总.xlsx", "--report", out / "年报.xlsx"),
        *(cli("export", src, "--to", fmt, "-o", out / f"导出.{fmt}") for fmt in ("txt", "docx", "json")),
    ]
    for run in runs:
        assert run.code == 0 and "内部错误" not in run.err, run.err
        assert not RAW_UNSAFE.search(run.out + run.err), repr(run.out + run.err)
    assert "城关镇\\x01\\x1b[31m红色" in runs[0].out
    assert "城关镇\\x01\\x1b[31m红色" in (out / "导出.txt").read_text(encoding="utf-8")
    for name in ("导出.txt", "导出.json"):
        assert not RAW_UNSAFE.search((out / name).read_text(encoding="utf-8")), name
    doc = json.loads((out / "导出.json").read_text(encoding="utf-8"))
    assert doc["metadata"]["unit_name"]["value"] == make_corpus.CONTROL_NAME  # the data is kept, as escapes
    assert cli("import", out / "导出.json", "-o", out / "再导入.xlsx").code == 0
    paragraphs = "\n".join(p.text for p in Document(str(out / "导出.docx")).paragraphs)
    assert "城关镇\\x01\\x1b[31m红色" in paragraphs and not RAW_UNSAFE.search(paragraphs)
    for name in ("标注.xlsx", "汇总.xlsx", "年报.xlsx", "再导入.xlsx"):
        text = package_text(out / name)
        assert not RAW_UNSAFE.search(text) and not re.search(r"_x00(0[0-8]|1[0-9A-F]|7F)_", text, re.I), name
    assert state(src.parent) == before
    no_temp_files(tmp_path)


# =========================================================================== workers die with the command


def _children(pid: int) -> list[int]:
    """Live (not zombie) child processes of ``pid``."""
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            pass
    return [k for k in kids if _alive(k)]


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux") or not ISOLATED, reason="Linux /proc and signals")
def _as_from_a_terminal() -> None:
    """The signal dispositions a command typed in a terminal starts with. A test run started in the
    background by a shell without job control (``pytest &`` in a script, as CI may do) inherits
    SIGINT and SIGQUIT *ignored*, and so would the merge: it rightly keeps an inherited 'ignore'
    (the nohup convention) and runs to its end, exit 1 — not the Ctrl-C this test means."""
    for name in ("SIGINT", "SIGQUIT", "SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), signal.SIG_DFL)


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP", "SIGINT", "SIGKILL"])
def test_workers_die_with_the_command(tmp_path, sig):
    """A 500-file merge interrupted: the workers are gone within seconds, a caller reading stderr
    gets its EOF, no output (or temp file) is left. SIGTERM/SIGHUP/SIGKILL used to leave both
    workers running a minute later. The merge starts with a terminal's signal dispositions
    (:func:`_as_from_a_terminal`), whatever the test run inherited."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(500):
        os.link(GOOD, inbox / f"镇{i:03d}.xlsx")
    out = tmp_path / "汇总.xlsx"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen([sys.executable, "-m", "gxsheet", "merge", str(inbox), "-o", str(out), "--jobs", "2"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env,
                            preexec_fn=_as_from_a_terminal)
    try:
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            workers = _children(proc.pid)
        assert len(workers) == 2, "the merge never started its two workers"
        time.sleep(0.3)  # well inside reading 500 files
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=60)  # returns only when nobody holds our pipes open any more
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    expected = {"SIGINT": 130}.get(sig, -getattr(signal, sig) if sig == "SIGKILL" else 128 + getattr(signal, sig))
    assert proc.returncode == expected, (proc.returncode, err.decode("utf-8", "replace"))
    gone = time.monotonic() + 30  # a hang detector: they die within milliseconds (PDEATHSIG, SIGKILL)
    while any(_alive(w) for w in workers) and time.monotonic() < gone:
        time.sleep(0.05)
    assert not [w for w in workers if _alive(w)], f"workers outlived the command after {sig}"
    assert b"Traceback" not in err
    assert not out.exists()
    no_temp_files(tmp_path)


# =========================================================================== files replaced or lost


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_an_output_that_is_not_a_regular_file_is_refused_even_with_force(tmp_path):
    src = copy(GOOD, tmp_path / "城关镇.xlsx")
    fifo = tmp_path / "管道.xlsx"
    os.mkfifo(fifo)
    device = tmp_path / "设备.xlsx"
    device.symlink_to(os.devnull)  # a character device behind a name (never /dev/null itself)
    for dest in (fifo, device):
        for args in (["export", src, "--to", "txt", "-o", dest], ["import", src, "-o", dest],
                     ["merge", src, "-o", dest], ["validate", src, "--annotate", dest],
                     ["template", "--edition", "2021", "-o", dest]):
            run = cli(*args, "--force")
            assert run.code == 2 and "不是普通文件" in run.err and len(run.err.splitlines()) == 1, (args, run.err)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and device.is_symlink()
    assert stat.S_ISCHR(os.stat(device).st_mode)
    no_temp_files(tmp_path)


def test_a_town_workbook_that_looks_like_a_county_workbook_is_a_submission(tmp_path):
    """Sheets 汇总 and 问题清单 made a town's file 'our earlier output': dropped from the merge, and
    -o naming it with --force overwrote the submission."""
    inbox = tmp_path / "inbox"
    town = copy(CORPUS / "merge-lookalike.xlsx", inbox / "北城镇.xlsx")
    copy(GOOD, inbox / "城关镇.xlsx")
    before = state(inbox)
    run = cli("merge", inbox, "-o", town, "--force")
    assert run.code == 2 and "输入" in run.err and len(run.err.splitlines()) == 1, run.err
    assert state(inbox) == before
    out = tmp_path / "汇总.xlsx"
    assert cli("merge", inbox, "-o", out).code == 1  # two bodies named 测试单位名称: X-DUPLICATE
    files = [r[4] for r in load_workbook(out, read_only=True)["汇总"].iter_rows(values_only=True)]
    assert "北城镇.xlsx" in files and "城关镇.xlsx" in files
    assert state(inbox) == before


def test_a_rerun_recognises_its_own_output_by_its_signature(tmp_path):
    from gxsheet.merge.county import is_merge_output

    inbox = tmp_path / "inbox"
    copy(GOOD, inbox / "城关镇.xlsx")
    out = inbox / "县汇总.xlsx"
    assert cli("merge", inbox, "-o", out).code == 0
    assert is_merge_output(out) and not is_merge_output(inbox / "城关镇.xlsx")
    assert not is_merge_output(CORPUS / "merge-lookalike.xlsx") and not is_merge_output(CORPUS / "zip-bomb.xlsx")
    elsewhere = tmp_path / "旧汇总.xlsx"
    shutil.copy2(out, elsewhere)
    copy(elsewhere, inbox / "上次的汇总.xlsx")  # an earlier output under another name: not a submission
    before = state(inbox)
    run = cli("merge", inbox, "-o", out, "--force")
    assert run.code == 0 and "无法读取的文件 0 个" in run.out, run.out + run.err
    assert "1 个工作簿" in run.out
    assert {k: v for k, v in state(inbox).items() if k != "县汇总.xlsx"} == {
        k: v for k, v in before.items() if k != "县汇总.xlsx"}


def test_annotated_copies_of_inputs_with_one_name_never_overwrite_each_other(tmp_path):
    a = copy(CORPUS / "parent-hyperlink.xlsx", tmp_path / "a" / "城关镇.xlsx")
    b = copy(CORPUS / "newline-in-name.xlsx", tmp_path / "b" / "城关镇.xlsx")
    c = copy(GOOD, tmp_path / "c" / "城关镇.XLSX")
    before = state(tmp_path)
    out = tmp_path / "标注"
    run = cli("validate", a, b, c, "--annotate", out, "--force")
    assert run.code == 0, run.err
    made = sorted(p.name for p in out.iterdir())
    assert made == ["城关镇.校验.xlsx", "城关镇（2）.校验.xlsx", "城关镇（3）.校验.xlsx"], made
    names = [cell_of(out / n, "meta.unit_name").value for n in made]
    assert names[0] == "城关镇" and names[1] == make_corpus.FORGED_NAME  # each copy is of its own input
    assert {k: v for k, v in state(tmp_path).items() if not k.startswith("标注")} == before


def _tiny_disk() -> list[str] | None:
    """A command prefix that runs inside a private mount namespace where a small tmpfs can be mounted."""
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        return None
    probe = subprocess.run([unshare, "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt && echo ok"],
                           capture_output=True, text=True, timeout=30)
    return [unshare, "-rm", "sh", "-c"] if probe.stdout.strip() == "ok" else None


def test_a_full_disk_names_the_output_and_leaves_nothing(tmp_path):
    """On a real full disk (a 12 KB tmpfs): one line naming the output, exit 2, nothing left behind —
    for the merge, both of its outputs or neither."""
    prefix = _tiny_disk()
    if prefix is None:
        pytest.skip("cannot mount a small tmpfs in a private namespace here")
    inbox = tmp_path / "inbox"
    for i in range(3):
        copy(GOOD, inbox / f"镇{i}.xlsx")
    before = state(inbox)
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    gx = f"{sys.executable} -m gxsheet"
    script = (f"mount -t tmpfs -o size=12k tmpfs {tiny} && cd {ROOT} && "
              f"{gx} merge {inbox} -o {tiny}/汇总.xlsx --report {tiny}/年报.xlsx; echo \"merge=$?\"; "
              f"{gx} export '{GOOD}' --to docx -o {tiny}/年报.docx; echo \"export=$?\"; ls -a {tiny}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([*prefix, script], capture_output=True, text=True, timeout=300, env=env)
    lines = done.stderr.splitlines()
    assert "merge=2" in done.stdout and "export=2" in done.stdout, done.stdout + done.stderr
    assert len(lines) == 2 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(f"{tiny}/") and "磁盘空间不足" in lines[0], lines[0]
    assert lines[1].startswith(f"{tiny}/年报.docx：无法写出（磁盘空间不足）"), lines[1]
    assert done.stdout.split("export=2")[1].split() == [".", ".."]  # nothing left on the tiny disk
    assert state(inbox) == before


def test_merge_writes_both_outputs_or_neither(tmp_path, monkeypatch):
    import gxsheet.merge.workbook as W

    src = copy(GOOD, tmp_path / "in" / "城关镇.xlsx")

    def no_space(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(W, "county_report_bytes", no_space)
    out, report = tmp_path / "汇总.xlsx", tmp_path / "年报.xlsx"
    run = cli("merge", src.parent, "-o", out, "--report", report)
    assert run.code == 2 and len(run.err.splitlines()) == 1 and "磁盘空间不足" in run.err, run.err
    assert not out.exists() and not report.exists()
    no_temp_files(tmp_path)


# =========================================================================== numbers and marks


def test_numbers_only_from_digits_a_clerk_types():
    from gxsheet.core.normalise import normalise_value

    for text, value in (("１２", 12), (" 1,234 ", 1234), ("\u200e97\u200b", 97), ("−3", -3), ("\ufeff0", 0)):
        assert normalise_value(text) == value, text
    for text in ("9²", "①", "𝟗", "٣", "1e5", "⑴2"):
        assert normalise_value(text) == text, text
    assert normalise_value(float("nan")) == "NaN" and normalise_value(float("inf")) == "Infinity"


def test_invisible_marks_are_stripped_before_comparing_and_escaped_when_shown(tmp_path):
    from gxsheet.check.validate import validate_record
    from gxsheet.read.registry import read_any

    rec = read_any(CORPUS / "invisible-marks.xlsx")
    value = make_corpus.valid_values_for("t3.received.natural")
    # the label with marks inside is the label (no S-LABEL); the marked digits are text in a number
    # cell, which every spreadsheet's SUM skips: number-as-text, with the marks shown escaped
    f, = validate_record(rec)
    assert (f.rule, f.case, f.cells) == ("V-NUMBER", "number-as-text", ["表三!D5"])
    assert f"“\\u200e{value}\\u200b”是存为文本的数字" in f.message_zh
    assert not RAW_UNSAFE.search(f.message_zh + f.message_en)
    rec.values["t3.received.natural"] = "\u202e十二\u202c"
    f, = [f for f in validate_record(rec) if f.rule == "V-NUMBER"]
    assert "“\\u202e十二\\u202c”不是数字" in f.message_zh and not RAW_UNSAFE.search(f.message_zh + f.message_en)


def test_a_newline_in_a_name_forges_no_line(tmp_path):
    run = gxsheet_process("validate", CORPUS / "newline-in-name.xlsx", GOOD)
    assert run.code == 0
    lines = run.out.splitlines()
    assert len(lines) == 3 and lines[-1].startswith("共 2 个文件"), lines
    assert lines[0].startswith("✓ newline-in-name.xlsx — 城关镇\\x0a✓ 东城街道.xlsx")
    assert not [ln for ln in lines if ln.startswith("✓ 东城街道")]
