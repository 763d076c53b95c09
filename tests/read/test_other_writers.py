"""Workbooks as other programs write them: Excel for Mac's 1904 dates, generators' placeholder
results under full-calc-on-load, Strict OOXML (validate and --annotate)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from gxsheet.cli import main
from gxsheet.core.layout import RESULT_SHEET, workbook_layout
from gxsheet.core.spec import load_spec
from gxsheet.read.workbook import read_report
from gxsheet.render.samples import valid_values, write_sample

EDITION = "2021"
SPEC = load_spec(EDITION)
LAYOUT = workbook_layout(SPEC)


def _rewrite(src: Path, dst: Path, edit) -> Path:
    """Copy a package, passing each XML part's text through ``edit(name, text)``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith((".xml", ".rels")):
                data = edit(info.filename, data.decode("utf-8")).encode("utf-8")
            zout.writestr(info.filename, data)
    return dst


def _sheet_part(path: Path, sheet: str) -> str:
    wb = load_workbook(path, read_only=True)
    try:
        return f"xl/worksheets/sheet{wb.sheetnames.index(sheet) + 1}.xml"
    finally:
        wb.close()


def _validate_json(*args: object, capsys) -> tuple[int, list[dict]]:
    code = main(["validate", *map(str, args), "--json"])
    files = json.loads(capsys.readouterr().out)["files"]
    return code, [f for x in files for f in x.get("findings", [])]


# ------------------------------------------------------------------ 1904 date system


def test_excel_for_mac_1904_dates(tmp_path, capsys):
    """Excel for Mac's 1904 system stores 2021-01-01 as serial 42369, not 43831: read as the
    dates the clerk typed, so no false N-PERIOD and the JSON export publishes the right dates."""
    src = write_sample(tmp_path / "src.xlsx", EDITION, meta={"year": 2021, "period_start": dt.date(2021, 1, 1),
                                                             "period_end": dt.date(2021, 12, 31)})
    meta_part = _sheet_part(src, "基本信息")
    shift = (dt.date(1904, 1, 1) - dt.date(1899, 12, 30)).days  # 1462

    def to_1904(name: str, text: str) -> str:
        if name == "xl/workbook.xml":
            return re.sub(r"<workbookPr([^>]*)/>", r'<workbookPr\1 date1904="1"/>', text, count=1)
        if name == meta_part:  # openpyxl wrote 1900-system serials: store what a Mac writes
            return re.sub(r'(<c r="B[89]"[^>]*>)<v>(\d+)</v>', lambda m: f"{m[1]}<v>{int(m[2]) - shift}</v>", text)
        return text

    mac = _rewrite(src, tmp_path / "mac.xlsx", to_1904)
    assert b'date1904="1"' in zipfile.ZipFile(mac).read("xl/workbook.xml")
    rec = read_report(mac)
    assert (rec.meta["period_start"], rec.meta["period_end"]) == ("2021-01-01", "2021-12-31")
    code, findings = _validate_json(mac, capsys=capsys)
    assert (code, findings) == (0, [])
    out = tmp_path / "mac.json"
    assert main(["export", str(mac), "--to", "json", "-o", str(out)]) == 0
    published = out.read_text(encoding="utf-8")
    assert "2021-01-01" in published and "2021-12-31" in published and "2016-12-31" not in published


# ------------------------------------------------------------------ placeholder cached values


def test_generator_placeholder_results_are_not_trusted(tmp_path, capsys):
    """XlsxWriter writes formulas with a placeholder result of 0 and asks for a full recalculation
    on load: the totals are computed from their formulas, never read as 0."""
    xlsxwriter = pytest.importorskip("xlsxwriter")
    values = valid_values(SPEC, 4)
    filled = write_sample(tmp_path / "filled.xlsx", EDITION, seed=4)
    src = load_workbook(filled)
    totals = {k for k in SPEC.cells if k.endswith(".total") and k.startswith("t3.")}
    out = tmp_path / "generated.xlsx"
    book = xlsxwriter.Workbook(str(out))
    for ws in src.worksheets:
        dst = book.add_worksheet(ws.title)
        for row in ws.iter_rows():
            for c in row:
                if c.value is None:
                    continue
                if isinstance(c.value, dt.datetime | dt.date):
                    dst.write_datetime(c.row - 1, c.column - 1, c.value, book.add_format({"num_format": "yyyy-mm-dd"}))
                elif isinstance(c.value, str) and c.value.startswith("="):
                    dst.write_formula(c.row - 1, c.column - 1, c.value)
                else:
                    dst.write(c.row - 1, c.column - 1, c.value)
        for key in totals:
            sheet, r, col = LAYOUT.position(key)
            if sheet == ws.title:  # the total as a formula over its parts, typed the way a generator does
                parts = next(e for e in SPEC.equations if e.lhs == (key,) and len(e.rhs) > 1).rhs
                refs = "+".join(LAYOUT.address(p).split("!")[1] for p in parts)
                dst.write_formula(r - 1, col - 1, "=" + refs)
    book.close()
    with zipfile.ZipFile(out) as zf:
        part = zf.read(_sheet_part(out, "表三")).decode()
        assert re.search(r"<f>[A-Z]+\d+\+[^<]*</f><v>0</v>", part)  # the placeholder is there
        assert b"fullCalcOnLoad" in zf.read("xl/workbook.xml")
    rec = read_report(out)
    assert {k: rec.values[k] for k in totals} == {k: values[k] for k in totals}
    code, findings = _validate_json(out, capsys=capsys)
    assert (code, findings) == (0, [])


def test_placeholder_of_a_formula_that_cannot_be_computed_is_reported(tmp_path, capsys):
    src = write_sample(tmp_path / "src.xlsx", EDITION, seed=4)
    key = "t3.received.total"
    sheet, r, c = LAYOUT.position(key)
    cell = LAYOUT.address(key).split("!")[1]
    part = _sheet_part(src, sheet)

    def placeholder(name: str, text: str) -> str:
        if name != part:
            return text
        return re.sub(rf'<c r="{cell}"([^>]*?)(?: t="n")?>.*?</c>',
                      lambda m: f'<c r="{cell}"{m[1]}><f>VLOOKUP(1,A1:B2,2)</f><v>0</v></c>', text, count=1)

    bad = _rewrite(src, tmp_path / "bad.xlsx", placeholder)
    code, findings = _validate_json(bad, capsys=capsys)
    assert code == 1 and [(f["rule"], f["cells"]) for f in findings] == [("V-NUMBER", [LAYOUT.address(key)])]
    assert "公式没有计算结果" in findings[0]["message_zh"]


# ------------------------------------------------------------------ Strict OOXML

#: Transitional → Strict names, as Excel's "Strict Open XML Spreadsheet" writes them
_TO_STRICT = [
    ("http://schemas.openxmlformats.org/spreadsheetml/2006/main", "http://purl.oclc.org/ooxml/spreadsheetml/main"),
    ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties",
     "http://purl.oclc.org/ooxml/officeDocument/relationships/extendedProperties"),
    ("http://schemas.openxmlformats.org/officeDocument/2006/relationships",
     "http://purl.oclc.org/ooxml/officeDocument/relationships"),
    ("http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
     "http://purl.oclc.org/ooxml/officeDocument/extendedProperties"),
    ("http://schemas.openxmlformats.org/drawingml/2006/main", "http://purl.oclc.org/ooxml/drawingml/main"),
]


def _strict(src: Path, dst: Path) -> Path:
    def edit(name: str, text: str) -> str:
        for a, b in _TO_STRICT:
            text = text.replace(a, b)
        if name == "xl/workbook.xml":
            text = re.sub(r"<workbook ", '<workbook conformance="strict" ', text, count=1)
        return text

    return _rewrite(src, dst, edit)


def test_strict_ooxml_in_validate_and_annotate(tmp_path, capsys):
    key = "t3.received.natural"
    src = write_sample(tmp_path / "src.xlsx", EDITION, seed=5, values={key: "五"})
    strict = _strict(src, tmp_path / "strict.xlsx")
    assert b"purl.oclc.org/ooxml/spreadsheetml/main" in zipfile.ZipFile(strict).read("xl/workbook.xml")
    code, findings = _validate_json(strict, capsys=capsys)
    assert code == 1 and [(f["rule"], f["cells"]) for f in findings] == [("V-NUMBER", [LAYOUT.address(key)])]

    out = tmp_path / "标注.xlsx"
    assert main(["validate", str(strict), "--annotate", str(out)]) == 1
    capsys.readouterr()
    wb = load_workbook(io.BytesIO(out.read_bytes()))
    assert wb.sheetnames[0] == RESULT_SHEET
    assert set(wb.sheetnames) == {RESULT_SHEET, *(s.name for s in LAYOUT.sheets)}  # nothing lost
    sheet, r, c = LAYOUT.position(key)
    marked = wb[sheet].cell(r, c)
    assert marked.value == "五" and marked.comment is not None and "不是数字" in marked.comment.text
    # the copy reads back with the same finding (and every other value intact)
    again = read_report(out)
    assert again.values[key] == "五"
    assert {k: v for k, v in again.values.items() if k != key} == {k: v for k, v in read_report(src).values.items() if k != key}


def test_strict_annotate_honours_the_users_limits(tmp_path, capsys):
    """A Strict workbook that only a raised limit admits (here: more parts than the default 500)
    is annotated under that limit: the package is opened once, with the caller's limits, for the
    check, the Strict test and the renaming alike."""
    from gxsheet.core.limits import DEFAULT_LIMITS

    key = "t3.received.natural"
    src = write_sample(tmp_path / "src.xlsx", EDITION, seed=5, values={key: "五"})
    strict = _strict(src, tmp_path / "strict.xlsx")
    many = tmp_path / "many.xlsx"
    with zipfile.ZipFile(strict) as zin, zipfile.ZipFile(many, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item))
        for i in range(DEFAULT_LIMITS.max_members):
            zout.writestr(f"customXml/extra{i}.bin", b"x")
    out = tmp_path / "标注.xlsx"
    assert main(["validate", str(many), "--annotate", str(out)]) == 2  # over the default: refused
    assert "部件" in capsys.readouterr().err and not out.exists()
    limit = f"max_members={2 * DEFAULT_LIMITS.max_members}"
    assert main(["validate", str(many), "--annotate", str(out), "--limit", limit]) == 1
    capsys.readouterr()
    assert RESULT_SHEET in load_workbook(io.BytesIO(out.read_bytes())).sheetnames
