"""The streaming xlsx writer: what it writes reads back the same in openpyxl and LibreOffice.

Every expectation is written out here, never taken from the writer: values and types cell by
cell, styles, layout (merges, widths, heights, panes, filter, print titles), links, the package's
parts and their well-formedness, and byte-for-byte reproducibility.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import lo
import pytest
from openpyxl import load_workbook

from gxsheet.render import xlsx_writer as XW

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
SHEET = "数据 '1' 表"  # a space and quotes: every reference to it must be quoted correctly
OTHER = "问题"

TRICKY = {
    "markup": '<a href="x">&amp; \'q\'</a>',
    "spaces": "  leading and trailing  ",
    "newlines": "line one\nline two\r\nline three",
    "formula_text": '=HYPERLINK("http://evil","x")',
    "cmd": "=cmd|' /C calc'!A0",
    "cjk": "县级政府　全角空格",
    "tab": "\ttabbed",
}
FLOATS = [0.1, 1 / 3, 1e-300, 123456789.123456789, -2.5e20, 5e-324, 1.0, -0.0]
INTS = [0, -1, 2**53 + 1, 10**20, -(10**15)]

BOLD_RED = XW.Style(font=XW.Font(name="Arial", size=12, bold=True, color="FFFF0000"))
LINK = XW.Style(font=XW.Font(color="FF0563C1", underline="single"))
FILLED = XW.Style(fill="FFFFC7CE", border=XW.Border("thin", "FF9E9E9E"),
                  alignment=XW.Alignment("center", "center", wrap=True))
AMOUNT = XW.Style(num_fmt="#,##0.00####")
COUNT = XW.Style(num_fmt="0", alignment=XW.Alignment("left", wrap=True))


def build() -> XW.Workbook:
    """A workbook exercising everything the writer supports (the tests below read it back)."""
    wb = XW.Workbook(creator="test")
    ws = wb.add_sheet(SHEET)
    ws.set_width(1, 20)
    ws.set_width(3, 12.5)
    ws.freeze("B3")
    ws.print_titles(1, 2)
    ws.merge(1, 1, 1, 4)
    ws.merge(6, 7, 7, 8)
    ws.append([XW.Cell("title", BOLD_RED)], height=28)  # 1
    ws.append([XW.Cell(h, FILLED) for h in ("name", "value", "flag", "when")], height=30.5)  # 2
    ws.append(list(TRICKY.values()))  # 3
    ws.append(FLOATS)  # 4
    ws.append([*INTS, None, True, False])  # 5 (F5 empty)
    ws.append([XW.Cell(3.25, AMOUNT), XW.Cell(7, COUNT), XW.Cell(None, FILLED), "", date(2021, 12, 31),
               datetime(2022, 1, 2, 3, 4, 5)])  # 6
    ws.append(["是", 10, "否", 20, "是", 30.5])  # 7
    ws.append([XW.Formula("SUM(A4,B4)"), XW.Formula('=SUMIF(A7:E7,"是",B7:F7)'), XW.Formula('COUNTIF(A7:E7,"是")'),
               XW.Formula("A5+B5"), XW.Formula('"<&>"&"x"')])  # 8
    ws.append(["a\x07b\x00c\x1f\ud800d\ufffe", float("nan"), float("inf"), 10**400, XW.Cell("go", LINK, f"'{OTHER}'!B2")])  # 9
    ws.autofilter("A2:F7")
    ps = wb.add_sheet(OTHER)
    ps.freeze("A2")
    ps.append(["back"])
    ps.append([None, XW.Cell("to sheet 1", LINK, f"'{SHEET.replace(chr(39), chr(39) * 2)}'!A3")])
    return wb


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("xw") / "w.xlsx"
    build().save(path)
    return path


@pytest.fixture(scope="module")
def book(written):
    return load_workbook(written)


# ---------------------------------------------------------------------------------------- values


def test_text_reads_back_exactly(book):
    ws = book[SHEET]
    for j, want in enumerate(TRICKY.values(), start=1):
        c = ws.cell(3, j)
        assert c.value == want and c.data_type == "s", (c.coordinate, c.value)


def test_illegal_characters_are_removed(book):
    assert book[SHEET]["A9"].value == "abcd"
    assert XW.clean_text("a\x07b\x00c\x0bd\ud800e\ufffe") == "abcde"
    assert XW.clean_text("tab\tnl\ncr\r ok") == "tab\tnl\ncr\r ok"  # the three XML allows stay


def test_text_longer_than_a_cell_holds_is_cut():
    wb = XW.Workbook()
    wb.add_sheet("S").append(["长" * (XW.MAX_TEXT + 10), "x" * XW.MAX_TEXT])
    buf = io.BytesIO()
    wb.save(buf)
    ws = load_workbook(buf)["S"]
    assert ws["A1"].value == "长" * XW.MAX_TEXT and ws["B1"].value == "x" * XW.MAX_TEXT


def test_numbers_exact_and_typed(book):
    ws = book[SHEET]
    for j, want in enumerate(FLOATS, start=1):
        got = ws.cell(4, j).value
        assert type(got) is float and got == want and repr(got) == repr(want), (j, got)
    for j, want in enumerate(INTS, start=1):
        got = ws.cell(5, j).value
        assert type(got) is int and got == want, (j, got)
    assert ws["F5"].value is None and ws["G5"].value is True and ws["H5"].value is False
    assert ws["G5"].data_type == "b"


def test_none_and_empty_text_write_no_value(written, book):
    ws = book[SHEET]
    assert ws["F5"].value is None and ws["D6"].value is None
    assert ws["C6"].value is None and ws["C6"].fill.start_color.rgb == "FFFFC7CE"  # a styled empty cell
    xml = zipfile.ZipFile(written).read("xl/worksheets/sheet1.xml").decode()
    assert 'r="F5"' not in xml and 'r="D6"' not in xml and '<c r="C6" s="' in xml


def test_dates_and_unwritable_numbers(book):
    ws = book[SHEET]
    assert ws["E6"].value == datetime(2021, 12, 31) and ws["E6"].number_format == XW.DATE_FORMAT
    assert ws["F6"].value == datetime(2022, 1, 2, 3, 4, 5) and ws["F6"].number_format == XW.DATETIME_FORMAT
    for ref in ("B9", "C9", "D9"):  # NaN, inf, an int beyond a double: an error value, not a corrupt file
        assert ws[ref].value == "#NUM!" and ws[ref].data_type == "e"


def test_formulas_and_formula_like_text(book):
    ws = book[SHEET]
    assert ws["A8"].value == "=SUM(A4,B4)" and ws["A8"].data_type == "f"
    assert ws["B8"].value == '=SUMIF(A7:E7,"是",B7:F7)'  # a leading '=' is accepted and not doubled
    assert ws["E8"].value == '="<&>"&"x"'
    assert ws["D3"].value == TRICKY["formula_text"] and ws["D3"].data_type == "s"  # str is never a formula


# ---------------------------------------------------------------------------------------- styles


def test_styles(book):
    ws = book[SHEET]
    a1 = ws["A1"].font
    assert (a1.name, a1.sz, a1.b, a1.color.rgb) == ("Arial", 12, True, "FFFF0000")
    h = ws["B2"]
    assert h.fill.fill_type == "solid" and h.fill.start_color.rgb == "FFFFC7CE"
    for side in (h.border.left, h.border.right, h.border.top, h.border.bottom):
        assert side.style == "thin" and side.color.rgb == "FF9E9E9E"
    assert (h.alignment.horizontal, h.alignment.vertical, h.alignment.wrap_text) == ("center", "center", True)
    assert ws["A6"].number_format == "#,##0.00####" and ws["B6"].number_format == "0"
    assert ws["B6"].alignment.horizontal == "left" and ws["B6"].alignment.wrap_text
    link = ws["E9"].font
    assert link.u == "single" and link.color.rgb == "FF0563C1"
    plain = ws["A3"]
    assert plain.font.b is False and plain.fill.fill_type is None and plain.number_format == "General"


def test_styles_xml_is_what_excel_expects(written):
    root = ET.fromstring(zipfile.ZipFile(written).read("xl/styles.xml"))
    fills = root.find(f"{MAIN}fills")
    patterns = [f.find(f"{MAIN}patternFill").get("patternType") for f in fills]
    assert patterns[:2] == ["none", "gray125"] and set(patterns[2:]) == {"solid"}
    assert int(fills.get("count")) == len(fills)
    fmts = {n.get("formatCode"): int(n.get("numFmtId")) for n in root.iter(f"{MAIN}numFmt")}
    assert set(fmts) == {"#,##0.00####", XW.DATE_FORMAT, XW.DATETIME_FORMAT} and min(fmts.values()) >= 164
    xfs = root.find(f"{MAIN}cellXfs")
    assert int(xfs.get("count")) == len(xfs)
    assert len(root.find(f"{MAIN}cellStyleXfs")) == 1
    builtin_count = [x for x in xfs if x.get("numFmtId") == "1"]  # "0" is built-in format 1
    assert builtin_count and all(x.get("applyNumberFormat") == "1" for x in builtin_count)
    for x in xfs:
        if x.find(f"{MAIN}alignment") is not None:
            assert x.get("applyAlignment") == "1"
        if x.get("fillId") != "0":
            assert x.get("applyFill") == "1"
        if x.get("fontId") != "0":
            assert x.get("applyFont") == "1"


def test_equal_styles_share_one_xf():
    wb = XW.Workbook()
    a = XW.Style(font=XW.Font(bold=True), fill="FF00FF00")
    b = XW.Style(font=XW.Font(bold=True), fill="FF00FF00")  # equal, another object
    assert a is not b and wb.xf(a) == wb.xf(b) == 1
    assert wb.xf(XW.Style()) == 0 and wb.xf(XW.Style(fill="FF00FF00")) == 2


# ---------------------------------------------------------------------------------------- layout


def test_layout(book):
    ws = book[SHEET]
    assert {str(r) for r in ws.merged_cells.ranges} == {"A1:D1", "G6:H7"}
    assert ws.column_dimensions["A"].width == 20 and ws.column_dimensions["C"].width == 12.5
    assert ws.row_dimensions[1].height == 28 and ws.row_dimensions[2].height == 30.5
    assert ws.row_dimensions[3].height is None
    assert ws.freeze_panes == "B3" and book[OTHER].freeze_panes == "A2"
    assert ws.auto_filter.ref == "A2:F7" and book[OTHER].auto_filter.ref is None
    assert ws.print_title_rows == "$1:$2"
    assert ws.max_row == 9 and ws.max_column == 8


def test_links_point_inside_the_workbook(book):
    link = book[SHEET]["E9"].hyperlink
    assert link.location == f"'{OTHER}'!B2" and not link.target
    back = book[OTHER]["B2"].hyperlink
    assert back.location == "'数据 ''1'' 表'!A3"


def test_defined_names(written):
    root = ET.fromstring(zipfile.ZipFile(written).read("xl/workbook.xml"))
    names = [(d.get("name"), d.get("localSheetId"), d.get("hidden"), d.text) for d in root.iter(f"{MAIN}definedName")]
    assert names == [
        ("_xlnm._FilterDatabase", "0", "1", "'数据 ''1'' 表'!$A$2:$F$7"),
        ("_xlnm.Print_Titles", "0", None, "'数据 ''1'' 表'!$1:$2"),
    ]
    assert root.find(f"{MAIN}calcPr").get("fullCalcOnLoad") == "1"  # formulas have no cached values


def test_frozen_pane_xml(written):
    zf = zipfile.ZipFile(written)
    pane = ET.fromstring(zf.read("xl/worksheets/sheet1.xml")).find(f".//{MAIN}pane")
    assert (pane.get("xSplit"), pane.get("ySplit"), pane.get("topLeftCell"), pane.get("activePane"),
            pane.get("state")) == ("1", "2", "B3", "bottomRight", "frozen")
    pane = ET.fromstring(zf.read("xl/worksheets/sheet2.xml")).find(f".//{MAIN}pane")
    assert (pane.get("xSplit"), pane.get("ySplit"), pane.get("activePane")) == (None, "1", "bottomLeft")


# ---------------------------------------------------------------------------------------- the package


def test_parts_are_well_formed_and_declared(written):
    zf = zipfile.ZipFile(written)
    names = zf.namelist()
    assert names[0] == "[Content_Types].xml"
    for n in names:
        ET.fromstring(zf.read(n))  # raises on anything not well-formed
    types = ET.fromstring(zf.read("[Content_Types].xml"))
    overrides = {o.get("PartName").lstrip("/") for o in types if o.tag.endswith("Override")}
    assert overrides == set(names) - {"[Content_Types].xml", "_rels/.rels", "xl/_rels/workbook.xml.rels"}
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    assert {"xl/" + r.get("Target") for r in rels} == {"xl/styles.xml", "xl/worksheets/sheet1.xml",
                                                       "xl/worksheets/sheet2.xml"}
    for r in ET.fromstring(zf.read("_rels/.rels")):
        assert r.get("Target") in names
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())


def test_escaping_in_the_xml(written):
    xml = zipfile.ZipFile(written).read("xl/worksheets/sheet1.xml").decode()
    assert '<t xml:space="preserve">  leading and trailing  </t>' in xml
    assert "&lt;a href=&quot;x&quot;&gt;&amp;amp;" in xml
    assert "line two&#13;\nline three" in xml  # a CR survives XML's line-end normalisation
    assert "\x07" not in xml and "\x00" not in xml


def test_deterministic(written, tmp_path):
    again = tmp_path / "again.xlsx"
    build().save(again)
    buf = io.BytesIO()
    build().save(buf)
    assert again.read_bytes() == written.read_bytes() == buf.getvalue()
    assert {i.date_time for i in zipfile.ZipFile(again).infolist()} == {XW.ZIP_DATE}
    core = zipfile.ZipFile(again).read("docProps/core.xml").decode()
    assert "dcterms:created" not in core  # no clock in the file unless asked for
    wb = build()
    wb.created = datetime(2024, 5, 6, 7, 8, 9)
    buf = io.BytesIO()
    wb.save(buf)
    assert "2024-05-06T07:08:09Z" in zipfile.ZipFile(buf).read("docProps/core.xml").decode()


def test_refuses_what_excel_would_not_open():
    wb = XW.Workbook()
    for bad in ("", "a/b", "x" * 32, "[x]", "'quoted'"):
        with pytest.raises(ValueError):
            wb.add_sheet(bad)
    ws = wb.add_sheet("Sheet")
    with pytest.raises(ValueError):
        wb.add_sheet("SHEET")  # names are case-insensitive in Excel
    with pytest.raises(TypeError):
        ws.append([object()])
    with pytest.raises(ValueError):
        ws.freeze("B0")
    with pytest.raises(ValueError):
        ws.autofilter("A1:")
    with pytest.raises(ValueError):
        ws.append([None] * (XW.MAX_COL + 1))
    with pytest.raises(ValueError):
        XW.Workbook().save(io.BytesIO())  # no sheet
    assert [XW.col_letter(n) for n in (1, 26, 27, 702, 703, XW.MAX_COL)] == ["A", "Z", "AA", "ZZ", "AAA", "XFD"]


# ---------------------------------------------------------------------------------------- LibreOffice


@pytest.mark.libreoffice
@lo.requires_lo
def test_libreoffice_recalculates_and_reads_text(written, tmp_path):
    ws = load_workbook(lo.recalc(written, tmp_path), data_only=True)[SHEET]
    assert ws["A8"].value == pytest.approx(0.1 + 1 / 3)
    assert ws["B8"].value == pytest.approx(10 + 30.5)  # SUMIF over "是" rows, CJK criteria
    assert ws["C8"].value == 2
    assert ws["E8"].value == "<&>x"
    for j, want in enumerate(TRICKY.values(), start=1):
        got = ws.cell(3, j).value
        assert got == want.replace("\r\n", "\n") or got == want, (j, got)
    assert ws["A9"].value == "abcd" and ws["G5"].value is True


@pytest.mark.libreoffice
@lo.requires_lo
def test_libreoffice_csv_export(tmp_path):
    src = tmp_path / "plain.xlsx"
    wb = XW.Workbook()
    ws = wb.add_sheet("S")
    ws.append(["n", "text"])
    ws.append([1, '<&>"'])
    ws.append([2.5, "  x  "])
    ws.append([XW.Formula("SUM(A2:A3)"), XW.Formula('COUNTIF(B2:B3,"*x*")')])
    wb.save(src)
    out = lo.convert(src, "csv", tmp_path / "csv")
    rows = list(csv.reader(out.read_text(encoding="utf-8").splitlines()))
    assert rows == [["n", "text"], ["1", '<&>"'], ["2.5", "  x  "], ["3.5", "1"]]
