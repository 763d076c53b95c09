"""The county workbook as a file: what XlsxWriter wrote reads back the same in openpyxl and LibreOffice.

The merge's own tests (test_merge.py) check what the sheets say; these check what the file *is*
when the towns' data is hostile or odd: text that looks like a formula, a link or a number stays
text, characters XML forbids are dropped instead of breaking the file, text longer than a cell
holds is cut, numbers keep their value and type, the package is well-formed and reproducible to
the byte, the 合计 row's cached values are what LibreOffice recalculates, and an interrupted write
leaves nothing behind. Every expectation is written out here, never taken from the writer.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from xml.etree import ElementTree as ET

import lo
import pytest
import xlsxwriter
from openpyxl import load_workbook

from gxsheet.core.atomic import OutputError
from gxsheet.core.record import Record
from gxsheet.core.sanitise import MAX_CELL_TEXT
from gxsheet.core.spec import load_spec
from gxsheet.merge import county as M
from gxsheet.merge import workbook as W
from gxsheet.render.samples import default_prose, valid_values

SPEC = load_spec("2021")
COUNTS = [k for k, c in SPEC.cells.items() if c.type == "count" and not k.endswith(".total")]
AMOUNT = next(k for k, c in SPEC.cells.items() if c.type == "amount")

#: text a town may have typed into a value cell (each goes into its own cell of 甲镇's row)
TRICKY = {
    "markup": '<a href="x">&amp; \'q\'</a>',
    "spaces": "  leading and trailing  ",
    "newlines": "line one\nline two\nline three",
    "formula_text": '=HYPERLINK("http://evil","x")',
    "cmd": "=cmd|' /C calc'!A0",
    "url": "http://example.com/报告",
    "number_text": "0012",
    "cjk": "县级政府　全角空格",
    "tab": "\ttabbed",
    "escape_like": "_x0041_ stays as typed",
}
CONTROL = "a\x07b\x00c\x1f\ud800d\ufffe"
LONG = "长" * (MAX_CELL_TEXT + 10)
INTS = [0, 7, 2**53 - 1, 123456789012]
FLOATS = [0.1, 1 / 3, 2.5, 1e-300, 41521.5]


def _meta(name: str) -> dict[str, object]:
    return {"unit_name": name, "level": "镇", "parent": "某县", "year": 2021,
            "period_start": "2021-01-01", "period_end": "2021-12-31"}


def _record(name: str, values: dict[str, object]) -> Record:
    return Record(edition=SPEC.edition, meta=_meta(name), prose=default_prose(SPEC), values=values,
                  source=f"{name}.xlsx", kind="xlsx")


@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    """A merge of three towns whose cells hold every kind of odd content; 甲镇's row carries the probes."""
    d = tmp_path_factory.mktemp("odd")
    probes: dict[str, object] = {}
    keys = iter(COUNTS)
    for text in TRICKY.values():
        probes[next(keys)] = text
    probes[next(keys)] = CONTROL
    probes[next(keys)] = LONG
    for v in INTS + FLOATS:
        probes[next(keys)] = v
    jia = {**valid_values(SPEC, 1), **probes}
    items = [(d / f"{n}.xlsx", _record(n, v)) for n, v in
             (("甲镇", jia), ("乙镇", valid_values(SPEC, 2)), ("丙镇", valid_values(SPEC, 3)))]
    for p, _ in items:
        p.write_bytes(b"")  # merge_records reads the file times only
    result = M.merge_records(items)
    out = d / "county.xlsx"
    W.write_merge(result, out)
    return result, out, probes


def _row(result: M.MergeResult, name: str) -> int:
    i = next(i for i, e in enumerate(result.entries) if e.unit_name == name)
    return W.summary_layout(result)["first_row"] + i


def _col(result: M.MergeResult, key: str) -> int:
    return W.summary_layout(result)["first_value_col"] + list(SPEC.cells).index(key)


# ---------------------------------------------------------------------------------------- values


def test_text_reads_back_exactly_and_stays_text(odd):
    """Rows are inline strings (constant_memory), where Excel's _xHHHH_ escapes apply as in shared
    strings; openpyxl does not undo them there, so the text is read back with gxsheet's own reader
    (which follows the format), the cell types and links with openpyxl."""
    from gxsheet.core.limits import Limits
    from gxsheet.xlsx.workbook import read_workbook

    result, out, probes = odd
    ws = load_workbook(out)[M.SUMMARY_SHEET]
    texts = read_workbook(out, limits=Limits(max_cols=1000)).sheets[M.SUMMARY_SHEET].cells
    r = _row(result, "甲镇")
    for key, text in probes.items():
        if not isinstance(text, str) or text in (CONTROL, LONG):
            continue
        c = ws.cell(r, _col(result, key))
        assert texts[(r, _col(result, key))].value == text, (key, c.value)
        assert c.data_type == "s", (key, c.value)  # never a formula, number or date
        assert c.hyperlink is None  # a URL typed by a town is not made a link


def test_county_report_overview_keeps_formula_like_text_as_text(odd):
    """概况 of the county report is written with openpyxl: a county named like a formula (its name
    may be the towns' 上级单位) is a string cell there, quote-prefixed like the report's own 单位名称,
    so it stays text when a clerk edits the cell."""
    result, _, _ = odd
    name = TRICKY["formula_text"]
    before, result.name = result.name, name
    try:
        data = W.county_report_bytes(result, source="report.xlsx")
    finally:
        result.name = before
    title = load_workbook(io.BytesIO(data))[W.OVERVIEW_SHEET]["A1"]
    assert title.value.startswith(name) and title.data_type == "s" and title.quotePrefix


def test_illegal_characters_shown_escaped_and_long_text_cut(odd):
    """Characters a workbook cannot hold are shown escaped (the one output rule: a town's control
    character is worth seeing, and escaped it can neither break the file nor act)."""
    result, out, probes = odd
    ws = load_workbook(out)[M.SUMMARY_SHEET]
    r = _row(result, "甲镇")
    by_text = {v: k for k, v in probes.items() if isinstance(v, str)}
    assert ws.cell(r, _col(result, by_text[CONTROL])).value == "a\\x07b\\x00c\\x1f\\ud800d\\ufffe"
    assert ws.cell(r, _col(result, by_text[LONG])).value == "长" * MAX_CELL_TEXT


def test_numbers_keep_value_and_type(odd):
    result, out, probes = odd
    ws = load_workbook(out)[M.SUMMARY_SHEET]
    r = _row(result, "甲镇")
    for key, v in probes.items():
        if isinstance(v, str):
            continue
        got = ws.cell(r, _col(result, key)).value
        assert type(got) is type(v), (key, got)
        # XlsxWriter writes 16 significant digits: exact for every integer a count can be and for
        # the usual decimals; a float that needs all 17 digits comes back within one part in 10^15
        assert got == v if isinstance(v, int) else got == pytest.approx(v, rel=1e-15), (key, got)


def test_numbers_no_spreadsheet_can_hold_keep_their_digits(tmp_path):
    """An integer past a double's range, NaN or infinity: text, not a corrupt file (the reader never
    produces these, so the writer is called directly)."""
    from gxsheet.merge.style import put

    path = tmp_path / "n.xlsx"
    wb = xlsxwriter.Workbook(str(path), W.WORKBOOK_OPTIONS)
    ws = wb.add_worksheet("S")
    for c, v in enumerate([10**400, float("nan"), float("inf"), dt.date(2021, 12, 31), True]):
        put(ws, 0, c, v, date_fmt=wb.add_format({"num_format": W.DATE_FORMAT}))
    wb.close()
    ws = load_workbook(path)["S"]
    assert ws["A1"].value == str(10**400) and ws["B1"].value == "nan" and ws["C1"].value == "inf"
    assert ws["D1"].value == dt.datetime(2021, 12, 31) and ws["D1"].number_format == W.DATE_FORMAT
    assert ws["E1"].value is True


# ---------------------------------------------------------------------------------------- the package


def test_parts_are_well_formed_and_declared(odd):
    _, out, _ = odd
    zf = zipfile.ZipFile(out)
    names = zf.namelist()
    for n in names:
        ET.fromstring(zf.read(n))  # raises on anything not well-formed
    types = ET.fromstring(zf.read("[Content_Types].xml"))
    overrides = {o.get("PartName").lstrip("/") for o in types if o.tag.endswith("Override")}
    assert {"xl/workbook.xml", "xl/styles.xml", "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"} <= overrides
    assert overrides <= set(names)
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
    book = zf.read("xl/workbook.xml").decode()
    assert 'fullCalcOnLoad="1"' in book  # Excel and LibreOffice recompute the 合计 row on opening


def test_reproducible_to_the_byte(odd, tmp_path):
    result, out, _ = odd
    again = tmp_path / "again.xlsx"
    W.write_merge(result, again)
    assert again.read_bytes() == out.read_bytes()
    zf = zipfile.ZipFile(again)
    dates = {i.date_time for i in zf.infolist()}  # XlsxWriter's fixed date (31 Jan 1980 from its temp files)
    assert len(dates) == 1 and next(iter(dates))[:2] == (1980, 1)
    core = zf.read("docProps/core.xml").decode()
    assert "<dcterms:created" in core and "2019-01-01T00:00:00Z" in core  # a fixed date, not the clock
    assert str(dt.date.today().year) + "-" not in core.replace("2019-01-01", "")


# ---------------------------------------------------------------------------------------- LibreOffice


@pytest.mark.libreoffice
@lo.requires_lo
def test_cached_totals_are_what_libreoffice_recalculates(odd, tmp_path):
    """The 合计 row carries its results (a viewer that never recalculates shows the right sums),
    and they are exactly what LibreOffice computes from the formulas; text cells are skipped."""
    result, out, _ = odd
    lay = W.summary_layout(result)
    t = lay["total_row"]
    cached = load_workbook(out, data_only=True)[M.SUMMARY_SHEET]
    recalced = load_workbook(lo.recalc(out, tmp_path), data_only=True)[M.SUMMARY_SHEET]
    totals = result.totals()
    for key in SPEC.cells:
        c = _col(result, key)
        assert cached.cell(t, c).value == pytest.approx(totals[key]), key
        assert recalced.cell(t, c).value == pytest.approx(cached.cell(t, c).value), key
    assert cached.cell(t, 7).value == recalced.cell(t, 7).value == 3


@pytest.mark.libreoffice
@lo.requires_lo
def test_libreoffice_reads_the_text_as_written(odd, tmp_path):
    result, out, probes = odd
    rows = list(csv.reader(lo.convert(out, "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,2", tmp_path / "csv").read_text(encoding="utf-8").splitlines(True)))
    r = _row(result, "甲镇") - 1
    for key, text in probes.items():
        if isinstance(text, str) and text not in (CONTROL, LONG):
            assert rows[r][_col(result, key) - 1] == text, key


# ---------------------------------------------------------------------------------------- interrupted


def test_interrupted_write_leaves_nothing_and_keeps_the_old_output(odd, tmp_path, monkeypatch):
    result, _, _ = odd
    out = tmp_path / "county.xlsx"
    out.write_bytes(b"last run")
    real_close = xlsxwriter.Workbook.close

    def close_then_fail(self):
        real_close(self)  # the whole workbook is in the temp file ...
        raise OSError(28, "No space left on device")  # ... when the disk fills up, before the rename

    monkeypatch.setattr(xlsxwriter.Workbook, "close", close_then_fail)
    with pytest.raises(OutputError) as e:  # one line naming the output (never 内部错误)
        W.write_merge(result, out)
    assert str(e.value).startswith(f"{out}：") and "磁盘空间不足" in str(e.value)
    assert [p.name for p in tmp_path.iterdir()] == ["county.xlsx"] and out.read_bytes() == b"last run"
    monkeypatch.undo()
    W.write_merge(result, out)
    assert load_workbook(out).sheetnames[:4] == [W.OVERVIEW_SHEET, M.SUMMARY_SHEET, M.PROBLEM_SHEET, W.GRID_SHEET]

