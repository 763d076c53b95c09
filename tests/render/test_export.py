"""Export: the report as text, Word and JSON, checked by reading each format back.

The txt is parsed back (every label where the form has it, every number in its own column); the
docx is opened with python-docx and its raw table XML is compared box by box with the workbook
layout (gridSpan / vMerge = the official form's merges); the JSON is validated against its schema
and round-tripped byte for byte. LibreOffice turns the docx into PDF pages (copied to
/tmp/export-pages/ for a person to look at) to prove it renders, in Chinese, within the page.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from docx import Document
from docx.oxml.ns import qn
from referencing import Registry, Resource

from gxsheet.check.validate import validate_record
from gxsheet.cli.app import main
from gxsheet.core.errors import LoadError
from gxsheet.core.layout import workbook_layout
from gxsheet.core.record import Record, empty_record
from gxsheet.core.spec import load_spec, schemas_dir
from gxsheet.read import registry as sources
from gxsheet.read.json_report import read_json, record_from_json
from gxsheet.read.txt_export import TxtParseError, parse_txt_export, parse_txt_tables, parse_unit_note
from gxsheet.read.workbook import read_report
from gxsheet.render.docx import build_docx, write_docx
from gxsheet.render.json_report import dumps_json, record_to_json, write_json
from gxsheet.render.samples import valid_values, write_sample
from gxsheet.render.txt import (
    MAX_WIDTH,
    display_width,
    format_value,
    render_txt,
    report_title,
    wrap,
    wrap_label,
)

EDITIONS = ("2019", "2021")
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.xlsx")) if (ROOT / "examples").is_dir() else []
PAGES_DIR = Path("/tmp/export-pages")

PROSE = {
    "s1": "本报告依据《中华人民共和国政府信息公开条例》编制，统计期限自1月1日起至12月31日止。\n"
          "（一）主动公开。本年度通过政府网站主动公开政府信息，及时发布政策文件和工作动态。\n"
          "（二）依申请公开。严格按照法定时限答复，做到件件有回复。",
    "s2": "本年度主动公开政府信息情况如下表。",
    "s3": "本年度收到和处理政府信息公开申请情况如下表。",
    "s4": "本年度政府信息公开行政复议、行政诉讼情况如下表。",
    "s5": "存在的主要问题是公开内容不够全面。下一步将加强培训，提高公开质量。",
    "s6": "本年度未收取信息处理费。无其他需要报告的事项。",
}


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def same_value(a, b) -> bool:
    if _num(a) and _num(b):
        return abs(a - b) < 1e-9
    return a == b


# ------------------------------------------------------------------ inputs
@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("export-samples")
    out = {}
    for ed in EDITIONS:
        out[ed] = write_sample(d / f"样例{ed}.xlsx", ed, seed=7, prose=PROSE,
                               meta={"unit_name": "金瑞镇人民政府", "level": "镇"})
    return out


def _inputs():
    return [pytest.param(("sample", ed), id=f"sample-{ed}") for ed in EDITIONS] + \
           [pytest.param(("example", p), id=p.name) for p in EXAMPLES]


@pytest.fixture(params=_inputs())
def report(request, samples) -> tuple[Record, list]:
    kind, what = request.param
    path = samples[what] if kind == "sample" else what
    rec = read_report(path)
    return rec, validate_record(rec)


def _record(edition: str, **values) -> Record:
    """A record straight from the spec (no workbook): valid values, then overrides."""
    spec = load_spec(edition)
    rec = empty_record(spec, unit_name="测试街道办事处", year=spec.first_year, level="街道")
    rec.values.update(valid_values(spec, seed=3))
    rec.values.update(values)
    rec.prose.update(PROSE)
    return rec


# ------------------------------------------------------------------ txt
def test_display_width_and_wrapping():
    assert display_width("自然人12") == 8
    assert display_width("“三安全一稳定”") == 4 + 12  # curly quotes: full width in a CJK monospace font
    for text in ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", "本年收费金额（单位：万元）"):
        for w in (8, 12, 20, 40):
            lines = wrap(text, w)
            assert "".join(lines) == text
            assert all(display_width(x) <= w for x in lines)
            assert not any(x[0] in "，。、）：" for x in lines[1:])
    lines = wrap_label("5.要求行政机关确认或重新出具已获取信息", 36)
    assert len(lines) == 2 and len(lines[-1].strip()) > 2  # balanced: no orphaned character
    assert lines[1].startswith("  ")  # hanging indent after "5."


def test_txt_has_everything_in_official_order(report):
    rec, findings = report
    spec = rec.spec
    txt = render_txt(rec, findings)
    lines = txt.splitlines()
    assert lines[0].strip() == report_title(rec)
    assert report_title(rec) == f"{rec.meta['unit_name']}{rec.meta['year']}年政府信息公开工作年度报告"
    heads = [i for i, x in enumerate(lines) if x in [s.heading for s in spec.sections]]
    assert [lines[i] for i in heads] == [s.heading for s in spec.sections]
    for s in spec.sections:
        for para in (rec.prose.get(s.key) or "").split("\n"):
            if para.strip():
                assert "\u3000\u3000" + para.strip() in lines
    table_lines = [x for x in lines if x.startswith("=") or "  " in x.strip()]
    assert max(display_width(x) for x in table_lines) <= MAX_WIDTH + 2


def test_txt_numbers_parse_back_at_their_place(report):
    rec, findings = report
    txt = render_txt(rec, findings)
    got = parse_txt_tables(txt, rec.edition)
    assert parse_txt_export(txt) == (rec.edition, got)
    assert set(got) == set(rec.spec.cells)
    wrong = {k: (got[k], rec.values.get(k)) for k in got if not same_value(got[k], rec.values.get(k))}
    assert not wrong


@pytest.mark.parametrize("edition", EDITIONS)
def test_txt_odd_values_and_findings(edition):
    """Blank, text, negative, big and fractional values keep their column; findings come last."""
    spec = load_spec(edition)
    keys = list(spec.cells)
    odd = {keys[0]: None, keys[1]: "十", keys[2]: 1234567, "t3.received.natural": "1200余",
           "t3.carry_forward.total": 3.5, "t4.cases.review_total": 99}
    if edition == "2019":
        odd["t2_5.licensing.change"] = -4
        odd["t2_9.purchase.amount"] = "288.79万元"
    rec = _record(edition, **odd)
    findings = validate_record(rec)
    assert any(f.is_error for f in findings)
    txt = render_txt(rec, findings)
    got = parse_txt_tables(txt, edition)
    assert all(same_value(got[k], rec.values[k]) for k in keys)
    tail = txt.split("校验结果", 1)[1]
    assert all(f.rule in tail and f.message_zh in tail for f in findings)
    en = render_txt(rec, findings, lang="en")
    assert "Validation findings" in en and findings[0].message_en in en
    assert "校验结果" not in render_txt(rec)


def test_txt_blank_table_keeps_its_row():
    """An all-blank 表四 (a forced draft) still has its data line, so nothing shifts."""
    spec = load_spec("2021")
    rec = _record("2021", **{k: None for k in spec.cells if k.startswith("t4.")})
    got = parse_txt_tables(render_txt(rec), "2021")
    assert all(got[k] is None for k in spec.cells if k.startswith("t4."))
    assert all(same_value(got[k], rec.values[k]) for k in spec.cells)


def test_txt_parser_rejects_a_moved_label():
    rec = _record("2021")
    txt = render_txt(rec)
    broken = txt.replace("2.重复申请", "2.重复的申请")
    with pytest.raises(TxtParseError):
        parse_txt_tables(broken, "2021")


def test_unit_note_for_2019_purchase_amount():
    rec = _record("2019")
    rec.meta["amount_unit"] = "万元"
    txt = render_txt(rec)
    note = next(x for x in txt.splitlines() if x.startswith("注："))
    assert parse_unit_note(note, rec.spec) == ("amount_unit", "万元")
    assert "注：" not in render_txt(_record("2021"))


# ------------------------------------------------------------------ json
@pytest.fixture(scope="module")
def report_validator():
    def load(name):
        return json.loads((schemas_dir() / name).read_text(encoding="utf-8"))

    schema = load("report.schema.json")
    registry = Registry().with_resources([
        ("report.schema.json", Resource.from_contents(schema)),
        ("findings.schema.json", Resource.from_contents(load("findings.schema.json"))),
    ])
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, registry=registry)


def test_json_validates_and_carries_labels(report, report_validator):
    rec, findings = report
    doc = record_to_json(rec, findings)
    report_validator.validate(doc)
    spec = rec.spec
    assert doc["edition"] == rec.edition and doc["format"]["name"] == spec.name
    assert list(doc["values"]) == list(spec.cells)
    for key, entry in doc["values"].items():
        assert entry["labels"] == list(spec.label_path(key))
        assert same_value(entry["value"], rec.values.get(key))
    assert [s["heading"] for s in doc["prose"].values()] == [s.heading for s in spec.sections]
    assert len(doc["findings"]) == len(findings)


@pytest.mark.parametrize("with_findings", [False, True])
def test_json_round_trip_is_byte_identical(report, tmp_path, with_findings):
    rec, findings = report
    first = tmp_path / "a.json"
    write_json(rec, first, findings if with_findings else None)
    again = read_json(first)
    assert again.kind == "json" and again.edition == rec.edition
    assert again.meta == rec.meta and again.prose == rec.prose
    assert all(same_value(again.values[k], rec.values.get(k)) for k in rec.spec.cells)
    second = tmp_path / "b.json"
    write_json(again, second, validate_record(again) if with_findings else None)
    assert second.read_bytes() == first.read_bytes()


def test_json_round_trip_keeps_text_values_and_structure(tmp_path):
    rec = _record("2019", **{"t3.received.natural": "十", "t2_9.purchase.amount": "288.79万元"})
    rec.where["t3.received.natural"] = "表三!D5"
    rec.missing = {"t4.cases.review_upheld"}
    rec.values["t4.cases.review_upheld"] = None
    findings = validate_record(rec)
    text = dumps_json(rec, findings)
    back = record_from_json(json.loads(text), "x.json")
    assert back.values["t3.received.natural"] == "十" and back.missing == rec.missing
    assert back.where["t3.received.natural"] == "表三!D5"
    assert dumps_json(back, validate_record(back)) == text


def _bad(tmp_path, name, content) -> Path:
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return p


def test_bad_json_is_one_clear_load_error(tmp_path):
    good = record_to_json(_record("2021"))
    cases = {
        "syntax": ('{"gxsheet_report": 1,\n  "edition": "2021",,}', "json-invalid", "第 2 行"),
        "not-report": ('[1, 2, 3]', "json-not-report", "gxsheet_report"),
        "encoding": ("{\"a\": \"\xff\"}".encode("latin-1"), "json-encoding", "UTF-8"),
        "schema": (json.dumps({**good, "values": {**good["values"], "t3.received.natural": {"labels": ["x", "y"], "value": True}}}),
                   "json-schema", "/values/t3.received.natural/value"),
        "edition": (json.dumps({**good, "edition": "2030"}), "json-edition", "2030"),
        "keys": (json.dumps({**good, "values": {**good["values"], "t3.nonsense.natural": {"labels": ["a", "b"], "value": 1}}}),
                 "json-keys", "t3.nonsense.natural"),
    }
    for name, (content, kind, words) in cases.items():
        p = _bad(tmp_path, f"{name}.json", content)
        with pytest.raises(LoadError) as e:
            read_json(p)
        assert e.value.kind == kind, name
        assert words in e.value.message_zh and "\n" not in e.value.message_zh and p.name in e.value.message_zh


def test_absent_values_read_as_blank():
    doc = record_to_json(_record("2021"))
    del doc["values"]["t3.received.natural"]
    rec = record_from_json(doc)
    assert rec.values["t3.received.natural"] is None
    assert any(f.rule == "V-BLANK" for f in validate_record(rec))


# ------------------------------------------------------------------ docx
def _grid(table) -> dict[tuple[int, int], dict]:
    """(row, grid column) → {text, span, vmerge} from the raw XML, so merges are seen as written."""
    out = {}
    for r, tr in enumerate(table._tbl.findall(qn("w:tr"))):
        c = 0
        for tc in tr.findall(qn("w:tc")):
            pr = tc.find(qn("w:tcPr"))
            span_el = pr.find(qn("w:gridSpan")) if pr is not None else None
            vm_el = pr.find(qn("w:vMerge")) if pr is not None else None
            span = int(span_el.get(qn("w:val"))) if span_el is not None else 1
            vmerge = None if vm_el is None else (vm_el.get(qn("w:val")) or "continue")
            text = "".join(t.text or "" for t in tc.iter(qn("w:t")))
            out[(r, c)] = {"text": text, "span": span, "vmerge": vmerge}
            c += span
    return out


def check_docx_tables(doc, rec: Record) -> None:
    spec = rec.spec
    lay = workbook_layout(spec)
    assert len(doc.tables) == len(spec.tables)
    for table, t in zip(doc.tables, spec.tables, strict=True):
        sheet = lay.table_sheet(t.key)
        boxes = [b for b in sheet.boxes if b.role in ("caption", "corner", "header", "label")]
        first = min([b.row for b in boxes] + [r for r, _ in sheet.inputs.values()])
        grid = _grid(table)
        assert len(table._tbl.findall(qn("w:tr"))) == max(r for r, _ in grid) + 1
        assert len(table._tbl.tblGrid.findall(qn("w:gridCol"))) == sheet.width
        for b in boxes:
            top = grid[(b.row - first, b.col - 1)]
            assert top["text"] == b.text, (t.key, b)
            assert top["span"] == b.col2 - b.col + 1, (t.key, b.text)
            if b.row2 > b.row:
                assert top["vmerge"] == "restart", b.text
                for r in range(b.row + 1, b.row2 + 1):
                    cont = grid[(r - first, b.col - 1)]
                    assert cont["vmerge"] == "continue" and cont["text"] == "" and cont["span"] == top["span"]
            else:
                assert top["vmerge"] is None, b.text
        for key, (r, c) in sheet.inputs.items():
            cell = grid[(r - first, c - 1)]
            assert cell["text"] == format_value(rec.values.get(key)), key
            assert cell["span"] == sheet.input_span.get(key, c) - c + 1


def test_docx_tables_merged_like_the_form(report, tmp_path):
    rec, findings = report
    path = write_docx(rec, tmp_path / "r.docx", findings)
    doc = Document(str(path))
    check_docx_tables(doc, rec)
    texts = [p.text for p in doc.paragraphs]
    spec = rec.spec
    assert doc.paragraphs[0].text.replace("\n", "") == report_title(rec)
    heads = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert heads == [s.heading for s in spec.sections]
    for s in spec.sections:
        for para in (rec.prose.get(s.key) or "").split("\n"):
            if para.strip():
                assert para.strip() in texts
    sec = doc.sections[0]
    assert abs(sec.page_width.cm - 21.0) < 0.01 and abs(sec.page_height.cm - 29.7) < 0.01


def test_docx_fonts_and_shading(samples, tmp_path):
    rec = read_report(samples["2021"])
    doc = build_docx(rec)
    body = doc.element.body
    runs = list(body.iter(qn("w:r")))
    assert runs
    for r in runs:
        rfonts = r.find(qn("w:rPr") + "/" + qn("w:rFonts"))
        assert rfonts is not None and rfonts.get(qn("w:eastAsia")), "every run names its Chinese font"
    heading_run = next(p.runs[0] for p in doc.paragraphs if p.style.name == "Heading 1")
    assert heading_run._r.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    body_run = next(p.runs[0] for p in doc.paragraphs if p.style.name == "GX Body")
    assert body_run._r.rPr.rFonts.get(qn("w:eastAsia")).startswith("仿宋")
    fills = {shd.get(qn("w:fill")) for shd in body.iter(qn("w:shd"))}
    assert fills - {None, "auto"}, "header cells are shaded"
    centred = [p.alignment for t in doc.tables for c in t._cells for p in c.paragraphs]
    assert all(a == 1 for a in centred)  # WD_ALIGN_PARAGRAPH.CENTER


def test_docx_forced_export_lists_findings(tmp_path):
    rec = _record("2021", **{"t3.received.natural": "十"})
    findings = validate_record(rec)
    doc = Document(str(write_docx(rec, tmp_path / "f.docx", findings)))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "校验结果" in text and "V-NUMBER" in text
    check_docx_tables(doc, rec)


def test_docx_imports_back_to_the_same_record(report, tmp_path):
    """Round trip through the docx importer (another module); skipped until it exists."""
    pytest.importorskip("gxsheet.read.docx")
    rec, findings = report
    path = write_docx(rec, tmp_path / "r.docx")
    back = sources.read_any(path)
    assert back.edition == rec.edition
    assert all(same_value(back.values.get(k), rec.values.get(k)) for k in rec.spec.cells)
    assert {k: (v or None) for k, v in back.prose.items()} == {k: (v or None) for k, v in rec.prose.items()}


# ------------------------------------------------------------------ command line
@pytest.fixture
def workdir(tmp_path, samples) -> dict[str, Path]:
    ok = shutil.copy(samples["2021"], tmp_path / "ok.xlsx")
    bad = write_sample(tmp_path / "bad.xlsx", "2021", seed=2, prose=PROSE,
                       values={"t3.received.natural": "无", "t4.cases.review_total": 99})
    return {"dir": tmp_path, "ok": Path(ok), "bad": bad}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gxsheet", *args], capture_output=True, text=True, encoding="utf-8")


@pytest.mark.parametrize("fmt", ["txt", "docx", "json"])
def test_cli_exports_next_to_the_input(workdir, fmt):
    before = workdir["ok"].read_bytes()
    assert main(["export", str(workdir["ok"]), "--to", fmt]) == 0
    out = workdir["dir"] / f"ok.{fmt}"
    assert out.is_file() and out.stat().st_size > 0
    assert workdir["ok"].read_bytes() == before
    assert not [p for p in workdir["dir"].iterdir() if p.name.endswith(".tmp")]
    # an existing output is kept unless asked
    assert main(["export", str(workdir["ok"]), "--to", fmt]) == 2
    assert main(["export", str(workdir["ok"]), "--to", fmt, "--overwrite"]) == 0


def test_cli_refuses_a_report_with_errors(workdir):
    r = cli("export", str(workdir["bad"]), "--to", "txt")
    assert r.returncode == 1
    assert "2 项错误" in r.stderr and "V-NUMBER" in r.stderr and "T4-GROUP-TOTAL" in r.stderr and "--force" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (workdir["dir"] / "bad.txt").exists()
    r = cli("export", str(workdir["bad"]), "--to", "json", "--lang", "en")
    assert r.returncode == 1 and "2 errors" in r.stderr


def test_cli_force_lists_findings(workdir):
    out = workdir["dir"] / "draft.txt"
    r = cli("export", str(workdir["bad"]), "--to", "txt", "-o", str(out), "--force")
    assert r.returncode == 0, r.stderr
    txt = out.read_text(encoding="utf-8")
    tail = txt.split("校验结果", 1)[1]
    assert "V-NUMBER" in tail and "T4-GROUP-TOTAL" in tail and "表三!D5" in tail
    js = workdir["dir"] / "draft.json"
    assert main(["export", str(workdir["bad"]), "--to", "json", "-o", str(js), "--force"]) == 0
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert {f["rule"] for f in doc["findings"]} >= {"V-NUMBER", "T4-GROUP-TOTAL"}


def test_cli_bad_output_and_input(workdir, tmp_path):
    r = cli("export", str(workdir["ok"]), "--to", "docx", "-o", str(tmp_path / "nope" / "x.docx"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert cli("export", str(workdir["ok"]), "--to", "txt", "-o", str(workdir["dir"])).returncode == 2
    r = cli("export", str(tmp_path / "missing.xlsx"), "--to", "txt")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    before = workdir["ok"].read_bytes()
    assert cli("export", str(workdir["ok"]), "--to", "txt", "-o", str(workdir["ok"]), "--force").returncode == 2
    assert workdir["ok"].read_bytes() == before
    assert cli("export", str(workdir["ok"]), "--to", "pdf").returncode == 2


def test_cli_json_input_never_overwritten(workdir, monkeypatch):
    """A JSON report exports to txt/docx, and to json only under another name."""
    monkeypatch.setitem(sources.IMPORTERS, "json", sources.IMPORTERS.get("json", "gxsheet.read.json_report:read_json"))
    assert main(["export", str(workdir["ok"]), "--to", "json"]) == 0
    js = workdir["dir"] / "ok.json"
    before = js.read_bytes()
    assert main(["export", str(js), "--to", "json", "--force"]) == 2  # default output = the input
    assert js.read_bytes() == before
    again = workdir["dir"] / "again.json"
    assert main(["export", str(js), "--to", "json", "-o", str(again)]) == 0
    assert again.read_bytes() == before
    assert main(["export", str(js), "--to", "txt", "-o", str(workdir["dir"] / "from-json.txt")]) == 0
    broken = workdir["dir"] / "broken.json"
    broken.write_text('{"gxsheet_report": 1,', encoding="utf-8")
    assert main(["export", str(broken), "--to", "txt"]) == 2


# ------------------------------------------------------------------ LibreOffice
SHOWCASE = [p for p in EXAMPLES if p.name.startswith("示例")]


@pytest.mark.libreoffice
@pytest.mark.parametrize("which", [*EDITIONS, *(p.name for p in SHOWCASE)])
def test_docx_renders_as_a_published_report(samples, tmp_path, which):
    lo = pytest.importorskip("lo")
    if not lo.available() or shutil.which("pdftoppm") is None:
        pytest.skip("LibreOffice or pdftoppm missing")
    rec = read_report(samples[which] if which in samples else ROOT / "examples" / which)
    stem = f"report-{which}" if which in samples else Path(which).stem
    docx = write_docx(rec, tmp_path / f"{stem}.docx")
    pdf = lo.convert(docx, "pdf", tmp_path)
    pngs = lo.pdf_to_pngs(pdf, tmp_path / "png", dpi=70)
    assert len(pngs) >= 2
    PAGES_DIR.mkdir(parents=True, exist_ok=True)
    for p in pngs:
        shutil.copy(p, PAGES_DIR / p.name)
    for pgm in lo.pdf_to_pgms(pdf, tmp_path / "pgm", dpi=40):
        page = lo.read_pgm(pgm)
        assert page.ink() > 0.005, f"{pgm.name} is blank"
        left, right = page.ink_columns()
        margin = int(1.5 / 2.54 * 40)  # nothing within 1.5 cm of the paper's edge: not cut off
        assert margin < left and right < page.width - margin, (pgm.name, left, right, page.width)
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
        assert "CJK" in fonts or "Droid" in fonts or "WenQuanYi" in fonts, fonts
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
        squeezed = "".join(text.split())
        for s in rec.spec.sections:
            assert s.heading in squeezed
        assert "申请人情况" in squeezed and "未经复议直接起诉" in squeezed
