"""gxsheet.xlsx.workbook: the fast cell reader agrees with openpyxl and copes with real-world writers.

Workbooks come from openpyxl, LibreOffice (when installed) and hand-built packages that
reproduce what Excel, WPS and SDK-based generators write (shared strings with rich text,
cached formula values, shared formulas, missing ``r`` attributes, absolute targets,
prefixed/strict namespaces ...).  Every reading test runs twice: through the tree path
used for normal-size sheets and through the streaming path used for large ones.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.formula.translate import Translator

from gxsheet.core.errors import LoadError
from gxsheet.core.limits import Limits
from gxsheet.xlsx import sheet as xlsx_sheet
from gxsheet.xlsx import workbook as xlsx
from gxsheet.xlsx.workbook import RawCell, a1, col_letter, parse_a1, read_workbook

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
WB_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
WS_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
SST_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
T_WS = f"{REL}/worksheet"
T_SST = f"{REL}/sharedStrings"


# --------------------------------------------------------------------------- helpers


@pytest.fixture(params=["tree", "stream"])
def path_mode(request, monkeypatch):
    """Run the test through both sheet walkers (tree for small parts, stream for large)."""
    if request.param == "stream":
        monkeypatch.setattr(xlsx, "_TREE_MAX_BYTES", -1)
    return request.param


def worksheet(body: str, *, head: str = "", tail: str = "", ns: str = MAIN, prefix: str = "") -> str:
    """A worksheet part: ``body`` goes inside <sheetData>; ``prefix`` e.g. 'x' for <x:c>."""
    p = f"{prefix}:" if prefix else ""
    decl = f'xmlns:{prefix}="{ns}"' if prefix else f'xmlns="{ns}"'
    if p:
        body = re.sub(r"<(/?)(row|c|v|f|is|t|r|rPh|mergeCells|mergeCell|dimension)\b", rf"<\1{p}\2", body)
        head = re.sub(r"<(/?)(dimension)\b", rf"<\1{p}\2", head)
        tail = re.sub(r"<(/?)(mergeCells|mergeCell)\b", rf"<\1{p}\2", tail)
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<{p}worksheet {decl} xmlns:r="{REL}">{head}<{p}sheetData>{body}</{p}sheetData>{tail}</{p}worksheet>'
    )


def sst(*items: str) -> str:
    """A sharedStrings part from raw <si> inner XML snippets."""
    sis = "".join(f"<si>{i}</si>" for i in items)
    return f'<?xml version="1.0"?>\n<sst xmlns="{MAIN}" count="{len(items)}" uniqueCount="{len(items)}">{sis}</sst>'


def build(
    path: Path,
    sheets: list[dict],
    *,
    shared: str | None = None,
    absolute: bool = False,
    ns: str = MAIN,
    extra_members: dict[str, bytes | str] | None = None,
    extra_rels: list[tuple[str, str, str]] = (),
    workbook_pr: str = "",
    wb_content_type: str = WB_CT,
) -> Path:
    """Write a minimal but valid .xlsx from raw parts, the way other writers lay them out.

    ``sheets``: dicts with ``name``, ``xml`` and optionally ``state``, ``target`` (relative
    to xl/), ``type`` (relationship type) and ``rid``.
    """
    rels, entries, overrides = [], [], []
    members: dict[str, bytes | str] = {}
    for i, sh in enumerate(sheets, 1):
        target = sh.get("target", f"worksheets/sheet{i}.xml")
        rid = sh.get("rid", f"rId{i}")
        rels.append((rid, sh.get("type", T_WS), ("/xl/" + target) if absolute else target))
        state = f' state="{sh["state"]}"' if sh.get("state") else ""
        entries.append(f'<sheet name="{sh["name"]}" sheetId="{i}"{state} r:id="{rid}"/>')
        members[f"xl/{target}"] = sh["xml"]
        overrides.append(f'<Override PartName="/xl/{target}" ContentType="{WS_CT}"/>')
    if shared is not None:
        rels.append(("rIdS", T_SST, "/xl/sharedStrings.xml" if absolute else "sharedStrings.xml"))
        members["xl/sharedStrings.xml"] = shared
        overrides.append(f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST_CT}"/>')
    rels.extend(extra_rels)
    rel_ns = REL if ns == MAIN else "http://purl.oclc.org/ooxml/officeDocument/relationships"
    members["[Content_Types].xml"] = (
        f'<?xml version="1.0"?><Types xmlns="{CT_NS}">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{wb_content_type}"/>{"".join(overrides)}</Types>'
    )
    members["_rels/.rels"] = (
        f'<?xml version="1.0"?><Relationships xmlns="{PKG_REL}">'
        f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    members["xl/workbook.xml"] = (
        f'<?xml version="1.0"?><workbook xmlns="{ns}" xmlns:r="{rel_ns}">{workbook_pr}'
        f"<sheets>{''.join(entries)}</sheets></workbook>"
    )
    members["xl/_rels/workbook.xml.rels"] = (
        f'<?xml version="1.0"?><Relationships xmlns="{PKG_REL}">'
        + "".join(f'<Relationship Id="{i}" Type="{t}" Target="{g}"/>' for i, t, g in rels)
        + "</Relationships>"
    )
    members.update(extra_members or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data.encode("utf-8") if isinstance(data, str) else data)
    return path


def rename_member(path: Path, old: str, new: str) -> None:
    with zipfile.ZipFile(path) as zf:
        data = {n: zf.read(n) for n in zf.namelist()}
    data[new] = data.pop(old)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, blob in data.items():
            zf.writestr(name, blob)


def values(sheet: xlsx.SheetCells) -> dict[str, object]:
    return {a1(r, c): cell.value for (r, c), cell in sorted(sheet.cells.items())}


def formulas(sheet: xlsx.SheetCells) -> dict[str, str]:
    return {a1(r, c): cell.formula for (r, c), cell in sorted(sheet.cells.items()) if cell.formula is not None}


def assert_matches_openpyxl(path: Path, wb: xlsx.WorkbookCells) -> None:
    """Values (cached, data_only=True) and formulas (data_only=False) agree with openpyxl."""
    ref_values = openpyxl.load_workbook(path, data_only=True)
    ref_formulas = openpyxl.load_workbook(path)
    assert list(wb.sheets) == ref_values.sheetnames
    for name, sheet in wb.sheets.items():
        wsv, wsf = ref_values[name], ref_formulas[name]
        assert sheet.state == wsv.sheet_state
        expected: dict[str, object] = {}
        expected_f: dict[str, str] = {}
        dates: set[str] = set()
        for row in wsf.iter_rows():
            for cell in row:
                cached = wsv[cell.coordinate].value
                if isinstance(cell.value, str) and cell.data_type == "f":
                    expected_f[cell.coordinate] = cell.value[1:]
                    expected[cell.coordinate] = cached
                elif cached is not None and cached != "":
                    expected[cell.coordinate] = cached
                if isinstance(cached, dt.datetime | dt.date | dt.time | dt.timedelta):
                    dates.add(cell.coordinate)  # openpyxl converts date-styled numbers; we keep the serial
        got = values(sheet)
        for ref, value in expected.items():
            if ref in dates:
                assert isinstance(got[ref], int | float), ref
                continue
            assert ref in got, ref
            if isinstance(value, float) and not math.isfinite(value):
                # no double (openpyxl rounded 1.7976931348623155e308 up to 16 digits): we keep the
                # text, so the validator says "not a number" instead of computing with infinity
                assert isinstance(got[ref], str) and not math.isfinite(float(got[ref])), (ref, got[ref])
                continue
            assert got[ref] == value and type(got[ref]) is type(value), (ref, got[ref], value)
        assert set(got) == set(expected)
        assert formulas(sheet) == expected_f
        assert sorted(sheet.merged) == sorted(
            (m.min_row, m.min_col, m.max_row, m.max_col) for m in wsf.merged_cells.ranges
        )


# --------------------------------------------------------------------------- A1 helpers


def test_a1_helpers():
    assert [col_letter(n) for n in (1, 2, 26, 27, 52, 53, 702, 703, 16384)] == [
        "A", "B", "Z", "AA", "AZ", "BA", "ZZ", "AAA", "XFD",
    ]  # fmt: skip
    assert a1(5, 4) == "D5"
    assert parse_a1("D5") == (5, 4)
    assert parse_a1("$AB$12") == (12, 28)
    assert parse_a1("xfd1048576") == (1_048_576, 16_384)
    for bad in ("", "5D", "A0", "XFE1", "A1048577", "A1:B2", "ABCD1"):
        with pytest.raises(ValueError):
            parse_a1(bad)
    with pytest.raises(ValueError):
        col_letter(0)
    with pytest.raises(ValueError):
        a1(0, 1)


@given(st.integers(1, 1_048_576), st.integers(1, 16_384))
def test_a1_round_trip(row, col):
    assert parse_a1(a1(row, col)) == (row, col)
    assert openpyxl.utils.get_column_letter(col) == col_letter(col)


# --------------------------------------------------------------------------- openpyxl-made


def report_workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表一 收到申请"
    ws["A1"] = "政府信息公开工作年度报告"
    ws.merge_cells("A1:D1")
    ws["A2"], ws["B2"], ws["C2"], ws["D2"] = "项目", 3, 3.5, -0.25
    ws["A3"], ws["B3"], ws["C3"] = "  前后空格  ", True, False
    ws["A4"] = "line1\nline2"
    ws["B4"] = 12345678901234
    ws["C4"] = 1e-7
    ws["D4"] = "=SUM(B2:C2)"
    ws["A5"] = CellRichText(["普通", TextBlock(InlineFont(b=True), "加粗")])
    ws["B6"] = '=IF(B2>1,"是","否")'
    ws["C6"] = 0
    ws.merge_cells("B7:C9")
    ws["E20"] = "far"
    hidden = wb.create_sheet("隐藏表")
    hidden.sheet_state = "hidden"
    hidden["A1"] = 1
    very = wb.create_sheet("Very")
    very.sheet_state = "veryHidden"
    very["B2"] = "x"
    wb.create_sheet("空表")
    wb.save(path)
    return path


def test_openpyxl_workbook_matches_openpyxl(tmp_path, path_mode):
    path = report_workbook(tmp_path / "report.xlsx")
    wb = read_workbook(path)
    assert wb.kind == "xlsx" and not wb.has_macros and wb.external_links == 0
    assert list(wb.sheets) == ["表一 收到申请", "隐藏表", "Very", "空表"]
    assert [s.state for s in wb.sheets.values()] == ["visible", "hidden", "veryHidden", "visible"]
    assert_matches_openpyxl(path, wb)
    s = wb.sheets["表一 收到申请"]
    assert s.cells[(2, 2)] == RawCell(3, None, "n", 0)
    assert s.cells[(2, 3)].value == 3.5 and isinstance(s.cells[(2, 3)].value, float)
    assert s.cells[(3, 1)].value == "  前后空格  "
    assert s.cells[(4, 1)].value == "line1\nline2"
    assert s.cells[(5, 1)].value == "普通加粗"
    assert s.cells[(3, 2)].value is True and s.cells[(3, 3)].value is False
    # a formula without a cached value still counts as a cell
    assert s.cells[(4, 4)].formula == "SUM(B2:C2)" and s.cells[(4, 4)].value is None
    assert s.cells[(6, 2)].formula == 'IF(B2>1,"是","否")'
    assert s.cells[(6, 3)].value == 0
    assert (1, 1, 1, 4) in s.merged and (7, 2, 9, 3) in s.merged
    assert s.dimension == "A1:E20"
    assert wb.sheets["空表"].cells == {}
    assert s.value(2, 2) == 3 and s.value(99, 99) is None


def test_sheet_selection(tmp_path):
    path = report_workbook(tmp_path / "report.xlsx")
    wb = read_workbook(path, sheets=["Very", "隐藏表", "no such sheet"])
    assert list(wb.sheets) == ["隐藏表", "Very"]  # workbook order, unknown names ignored


def test_extension_does_not_matter(tmp_path):
    path = report_workbook(tmp_path / "report.xlsx")
    renamed = path.rename(tmp_path / "报表.xls")
    assert read_workbook(renamed).sheets["隐藏表"].cells[(1, 1)].value == 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    grid=st.dictionaries(
        st.tuples(st.integers(1, 40), st.integers(1, 12)),
        st.one_of(
            st.integers(-(10**12), 10**12),
            st.floats(allow_nan=False, allow_infinity=False),
            st.booleans(),
            st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")), min_size=1, max_size=30).filter(
                lambda s: not s.startswith("=")
            ),
        ),
        max_size=40,
    )
)
@example(grid={(1, 1): 2.0**53 + 2, (1, 2): -(2.0**53) - 2, (2, 1): 1e15 + 1.0, (2, 2): 9.999999999999998e15, (3, 1): 1e16})
def test_random_grids_match_openpyxl(tmp_path_factory, grid):
    """Values and types agree with openpyxl, including integral doubles beyond 2**53 (ints in both)."""
    path = tmp_path_factory.mktemp("grid") / "g.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "数据"
    for (r, c), v in grid.items():
        ws.cell(r, c, v)
    wb.save(path)
    got = read_workbook(path)
    assert_matches_openpyxl(path, got)


# --------------------------------------------------------------------------- hand-built packages


def test_shared_strings_rich_text_and_phonetics(tmp_path, path_mode):
    shared = sst(
        "<t>plain</t>",
        '<r><t xml:space="preserve">rich </t></r><r><rPr><b/><sz val="11"/></rPr><t>bold</t></r>',
        '<t>漢字</t><rPh sb="0" eb="2"><t>かんじ</t></rPh><phoneticPr fontId="1"/>',
        '<t xml:space="preserve">  keep  spaces </t>',
        "<t>a_x000D__x000A_b _x005F_x000D_</t>",
        "<t/>",
        "<t>&lt;&amp;&gt; &#x4E2D;</t>",
    )
    body = "".join(f'<row r="{i + 1}"><c r="A{i + 1}" t="s"><v>{i}</v></c></row>' for i in range(7))
    path = build(tmp_path / "s.xlsx", [{"name": "S", "xml": worksheet(body)}], shared=shared)
    cells = read_workbook(path).sheets["S"].cells
    assert [cells[(i, 1)].value for i in (1, 2, 3, 4, 5, 7)] == [
        "plain",
        "rich bold",
        "漢字",
        "  keep  spaces ",
        "a\r\nb _x000D_",
        "<&> 中",
    ]
    assert (6, 1) not in cells  # empty string: not a value
    assert cells[(1, 1)].type == "s"
    ref = openpyxl.load_workbook(path)["S"]
    for r in (1, 2, 3, 4, 7):
        assert ref.cell(r, 1).value == cells[(r, 1)].value


def test_cached_values_types_and_errors(tmp_path, path_mode):
    body = (
        '<row r="1">'
        '<c r="A1"><v>3</v></c>'
        '<c r="B1" t="n"><v>3.5</v></c>'
        '<c r="C1"><v>1E3</v></c>'
        '<c r="D1"><v>3.0</v></c>'
        '<c r="E1" s="7"><v>-12</v></c>'
        "</row>"
        '<row r="2">'
        '<c r="A2"><f>1+2</f><v>3</v></c>'
        '<c r="B2" t="str"><f>"a"&amp;"b"</f><v>ab</v></c>'
        '<c r="C2" t="b"><f>A2&gt;1</f><v>1</v></c>'
        '<c r="D2" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
        '<c r="E2" t="e"><v>#REF!</v></c>'
        '<c r="F2"><f>NOW()</f></c>'
        '<c r="G2" t="str"><f>""</f><v></v></c>'
        '<c r="H2" t="b"><v>0</v></c>'
        "</row>"
        '<row r="3"><c r="A3" t="inlineStr"><is><t>inline</t></is></c>'
        '<c r="B3" t="inlineStr"><is><r><t>ri</t></r><r><rPr><i/></rPr><t>ch</t></r></is></c>'
        '<c r="C3" s="4"/><c r="D3" s="4"><v></v></c></row>'
    )
    path = build(tmp_path / "v.xlsx", [{"name": "V", "xml": worksheet(body)}])
    c = read_workbook(path).sheets["V"].cells
    assert c[(1, 1)] == RawCell(3, None, "", 0)
    assert c[(1, 2)] == RawCell(3.5, None, "n", 0)
    assert c[(1, 3)].value == 1000.0 and isinstance(c[(1, 3)].value, float)
    assert c[(1, 4)].value == 3.0 and isinstance(c[(1, 4)].value, float)
    assert c[(1, 5)] == RawCell(-12, None, "", 7)
    assert c[(2, 1)] == RawCell(3, "1+2", "", 0)
    assert c[(2, 2)] == RawCell("ab", '"a"&"b"', "str", 0)
    assert c[(2, 3)] == RawCell(True, "A2>1", "b", 0)
    assert c[(2, 4)] == RawCell("#DIV/0!", "1/0", "e", 0)
    assert c[(2, 5)] == RawCell("#REF!", None, "e", 0)
    assert c[(2, 6)] == RawCell(None, "NOW()", "", 0)
    assert c[(2, 7)] == RawCell(None, '""', "str", 0)
    assert c[(2, 8)] == RawCell(False, None, "b", 0)
    assert c[(3, 1)] == RawCell("inline", None, "inlineStr", 0)
    assert c[(3, 2)].value == "rich"
    assert (3, 3) not in c and (3, 4) not in c  # styled but empty
    # openpyxl needs a styles part for s=; compare on the same cells without styles
    plain = build(tmp_path / "plain.xlsx", [{"name": "V", "xml": worksheet(re.sub(r' s="\d+"', "", body))}])
    assert_matches_openpyxl(plain, read_workbook(plain))


def test_shared_formulas_are_expanded(tmp_path, path_mode):
    body = (
        '<row r="1"><c r="A1"><v>1</v></c>'
        '<c r="B1"><f t="shared" ref="B1:B4" si="0">A1*2+$A$1+SUM(A$1:A1)+Sheet2!A1+\'My Sheet\'!$B1</f><v>4</v></c>'
        '<c r="C1"><f t="shared" ref="C1:E1" si="1">C$5+"A1"&amp;A:A</f><v>0</v></c>'
        '<c r="D1"><f t="shared" si="1"/><v>0</v></c><c r="E1"><f t="shared" si="1"/><v>0</v></c></row>'
        '<row r="2"><c r="A2"><v>2</v></c><c r="B2"><f t="shared" si="0"/><v>7</v></c></row>'
        '<row r="3"><c r="A3"><v>3</v></c><c r="B3"><f t="shared" si="0"/><v>11</v></c></row>'
        '<row r="4"><c r="A4"><v>4</v></c><c r="B4"><f t="shared" si="0"/></c></row>'
    )
    path = build(
        tmp_path / "sf.xlsx", [{"name": "F", "xml": worksheet(body)}, {"name": "Sheet2", "xml": worksheet("")}]
    )
    sheet = read_workbook(path).sheets["F"]
    got = formulas(sheet)
    assert got["B3"] == "A3*2+$A$1+SUM(A$1:A3)+Sheet2!A3+'My Sheet'!$B3"
    assert got["E1"] == 'E$5+"A1"&C:C'
    assert sheet.cells[(4, 2)].value is None and not sheet.cells[(4, 2)].formula_untranslated
    # openpyxl translates shared formulas too: same text for every dependant
    ref = openpyxl.load_workbook(path)["F"]
    for coord, text in got.items():
        assert ref[coord].value == "=" + text, coord


def test_shared_formula_master_after_dependant_and_untranslatable(tmp_path, path_mode):
    body = (
        '<row r="1"><c r="B1"><f t="shared" si="3"/><v>1</v></c></row>'
        '<row r="2"><c r="B2"><f t="shared" ref="B1:B2" si="3">A2+1</f><v>2</v></c>'
        '<c r="C2"><f t="shared" ref="C2:C3" si="4">Table1[[#This Row],[x]]+A2</f><v>1</v></c></row>'
        '<row r="3"><c r="C3"><f t="shared" si="4"/><v>1</v></c>'
        '<c r="D3"><f t="shared" ref="D3:D4" si="5">"unbalanced</f><v>1</v></c></row>'
        '<row r="4"><c r="D4"><f t="shared" si="5"/><v>1</v></c><c r="E4"><f t="shared" si="9"/></c></row>'
    )
    path = build(tmp_path / "sf2.xlsx", [{"name": "F", "xml": worksheet(body)}])
    c = read_workbook(path).sheets["F"].cells
    assert c[(1, 2)].formula == "A1+1" and not c[(1, 2)].formula_untranslated
    assert c[(3, 3)].formula == "Table1[[#This Row],[x]]+A3"
    assert c[(4, 4)].formula == '"unbalanced' and c[(4, 4)].formula_untranslated
    assert (4, 5) not in c  # no master anywhere and no value


def test_shared_formula_expansion_is_budgeted(tmp_path, path_mode, monkeypatch):
    """A tiny <f t="shared" si="0"/> expands to a copy of the master: bounded per sheet."""
    monkeypatch.setattr(xlsx_sheet, "_SHIFT_BUDGET", 20)
    rows = '<row r="1"><c r="B1"><f t="shared" ref="B1:B10" si="0">A1*2</f><v>0</v></c></row>'
    rows += "".join(f'<row r="{r}"><c r="B{r}"><f t="shared" si="0"/><v>0</v></c></row>' for r in range(2, 11))
    cells = read_workbook(build(tmp_path / "budget.xlsx", [{"name": "B", "xml": worksheet(rows)}])).sheets["B"].cells
    got = [(cells[(r, 2)].formula, cells[(r, 2)].formula_untranslated) for r in range(1, 11)]
    assert got[:6] == [
        ("A1*2", False),
        ("A2*2", False),
        ("A3*2", False),
        ("A4*2", False),
        ("A5*2", False),
        ("A6*2", False),
    ]
    assert got[6:] == [("A1*2", True)] * 4  # budget spent: the master's text, flagged


def test_missing_r_attributes(tmp_path, path_mode):
    body = (
        '<row><c><v>1</v></c><c><v>2</v></c><c r="E1"><v>5</v></c><c><v>6</v></c></row>'
        "<row/>"
        '<row><c t="inlineStr"><is><t>r3</t></is></c></row>'
        '<row r="7"><c><v>7</v></c></row>'
        "<row><c/><c><v>8</v></c></row>"
    )
    path = build(tmp_path / "nor.xlsx", [{"name": "N", "xml": worksheet(body)}])
    sheet = read_workbook(path).sheets["N"]
    assert values(sheet) == {"A1": 1, "B1": 2, "E1": 5, "F1": 6, "A3": "r3", "A7": 7, "B8": 8}
    assert_matches_openpyxl(path, read_workbook(path))


@pytest.mark.parametrize("absolute", [False, True])
def test_sheet_parts_found_through_relationships(tmp_path, path_mode, absolute):
    # parts named unlike sheetN.xml, in another order than the tabs, in another folder
    sheets = [
        {
            "name": "第二",
            "xml": worksheet('<row r="1"><c r="A1"><v>2</v></c></row>'),
            "target": "ws/data-b.xml",
            "rid": "R9",
        },
        {
            "name": "第一",
            "xml": worksheet('<row r="1"><c r="A1"><v>1</v></c></row>'),
            "target": "worksheets/sheet1.xml",
        },
        {
            "name": "百分%",
            "xml": worksheet('<row r="1"><c r="A1"><v>3</v></c></row>'),
            "target": "worksheets/Sheet%203.xml",
        },
    ]
    path = build(tmp_path / "rels.xlsx", sheets, absolute=absolute)
    # the percent-encoded target names a part whose name has a space
    rename_member(path, "xl/worksheets/Sheet%203.xml", "xl/worksheets/Sheet 3.xml")
    wb = read_workbook(path)
    assert list(wb.sheets) == ["第二", "第一", "百分%"]
    assert [s.cells[(1, 1)].value for s in wb.sheets.values()] == [2, 1, 3]


def test_case_insensitive_part_names(tmp_path, path_mode):
    sheets = [
        {"name": "S", "xml": worksheet('<row r="1"><c r="A1"><v>1</v></c></row>'), "target": "Worksheets/SHEET1.xml"}
    ]
    path = build(tmp_path / "case.xlsx", sheets)
    rename_member(path, "xl/Worksheets/SHEET1.xml", "xl/worksheets/sheet1.xml")
    assert read_workbook(path).sheets["S"].cells[(1, 1)].value == 1


@pytest.mark.parametrize(("ns", "prefix"), [(MAIN, "x"), (STRICT, ""), (STRICT, "s")])
def test_prefixed_and_strict_namespaces(tmp_path, path_mode, ns, prefix):
    body = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><f>1+1</f><v>2</v></c></row>'
    shared = sst("<t>文字</t>").replace(MAIN, ns)
    sheet = worksheet(
        body,
        head='<dimension ref="A1:B1"/>',
        tail='<mergeCells><mergeCell ref="A3:B4"/></mergeCells>',
        ns=ns,
        prefix=prefix,
    )
    path = build(tmp_path / "ns.xlsx", [{"name": "N", "xml": sheet}], shared=shared, ns=ns)
    s = read_workbook(path).sheets["N"]
    assert values(s) == {"A1": "文字", "B1": 2}
    assert formulas(s) == {"B1": "1+1"}
    assert s.merged == [(3, 1, 4, 2)] and s.dimension == "A1:B1"


def test_other_namespaces_are_ignored(tmp_path, path_mode):
    body = '<row r="1" x14ac:dyDescent="0.25"><c r="A1"><v>1</v></c></row>'
    xml = (
        worksheet(body)
        .replace(
            f'xmlns:r="{REL}"',
            f'xmlns:r="{REL}" xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" '
            'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"',
        )
        .replace(
            "</worksheet>",
            '<extLst><ext uri="{x}"><xm:f>Sheet1!A1</xm:f><xm:sqref>A1</xm:sqref></ext></extLst></worksheet>',
        )
    )
    path = build(tmp_path / "ext.xlsx", [{"name": "E", "xml": xml}])
    assert values(read_workbook(path).sheets["E"]) == {"A1": 1}


def test_pretty_printed_xml(tmp_path, path_mode):
    xml = worksheet(
        '\n  <row r="1">\n    <c r="A1" t="inlineStr">\n      <is>\n        <t xml:space="preserve"> x </t>\n'
        '      </is>\n    </c>\n    <c r="B1">\n      <f>1+1</f>\n      <v>2</v>\n    </c>\n  </row>\n'
    )
    path = build(tmp_path / "pretty.xlsx", [{"name": "P", "xml": xml}])
    s = read_workbook(path).sheets["P"]
    assert values(s) == {"A1": " x ", "B1": 2} and formulas(s) == {"B1": "1+1"}


def test_macros_links_chartsheets_and_date1904(tmp_path, path_mode):
    sheets = [
        {"name": "Data", "xml": worksheet('<row r="1"><c r="A1"><v>1</v></c></row>')},
        {"name": "Chart1", "xml": "<chartsheet/>", "target": "chartsheets/sheet1.xml", "type": f"{REL}/chartsheet"},
        {
            "name": "Macro1",
            "xml": worksheet(""),
            "target": "macrosheets/sheet1.xml",
            "type": "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet",
        },
    ]
    path = build(
        tmp_path / "m.xlsm",
        sheets,
        extra_members={
            "xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 not really",
            "xl/externalLinks/externalLink1.xml": "<externalLink/>",
            "xl/externalLinks/externalLink2.xml": "<externalLink/>",
        },
        extra_rels=[("rIdE", f"{REL}/externalLink", "externalLinks/externalLink1.xml")],
        workbook_pr='<workbookPr date1904="1"/>',
        wb_content_type="application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    wb = read_workbook(path)
    assert wb.kind == "xlsm" and wb.has_macros
    assert wb.external_links == 2
    assert list(wb.sheets) == ["Data"]  # chart and macro sheets are not worksheets
    assert wb.date1904 is True


def test_text_is_capped_not_refused(tmp_path, path_mode):
    long = "长" * 40_000
    path = build(
        tmp_path / "long.xlsx",
        [{"name": "L", "xml": worksheet(f'<row r="1"><c r="A1" t="inlineStr"><is><t>{long}</t></is></c></row>')}],
    )
    assert read_workbook(path).sheets["L"].cells[(1, 1)].value == "长" * 32767
    short = read_workbook(path, limits=Limits(max_text_len=10)).sheets["L"].cells[(1, 1)].value
    assert short == "长" * 10


def test_workbooks_from_several_writers_agree(tmp_path, path_mode):
    """Same content written as openpyxl does (inline strings) and as Excel does (shared strings)."""
    inline = worksheet('<row r="1"><c r="A1" t="inlineStr"><is><t>名称</t></is></c><c r="B1" t="n"><v>5</v></c></row>')
    shared = worksheet('<row r="1" spans="1:2"><c r="A1" s="1" t="s"><v>0</v></c><c r="B1" s="1"><v>5</v></c></row>')
    a = read_workbook(build(tmp_path / "a.xlsx", [{"name": "S", "xml": inline}])).sheets["S"]
    b = read_workbook(build(tmp_path / "b.xlsx", [{"name": "S", "xml": shared}], shared=sst("<t>名称</t>"))).sheets["S"]
    assert values(a) == values(b) == {"A1": "名称", "B1": 5}


def test_corrupt_structure_is_reported(tmp_path, path_mode):
    cases = {
        "bad-sst-index": worksheet('<row r="1"><c r="A1" t="s"><v>5</v></c></row>'),
        "bad-ref": worksheet('<row r="1"><c r="1A"><v>5</v></c></row>'),
        "malformed": worksheet('<row r="1"><c r="A1"><v>5</v></row>'),
    }
    for name, xml in cases.items():
        path = build(tmp_path / f"{name}.xlsx", [{"name": "S", "xml": xml}], shared=sst("<t>x</t>"))
        with pytest.raises(LoadError) as err:
            read_workbook(path)
        assert err.value.kind == "corrupt", name
    path = build(tmp_path / "dup.xlsx", [{"name": "S", "xml": worksheet("")}, {"name": "s", "xml": worksheet("")}])
    with pytest.raises(LoadError, match="duplicate") as err:
        read_workbook(path)
    assert err.value.kind == "corrupt"


# --------------------------------------------------------------------------- LibreOffice-made


@pytest.mark.libreoffice
def test_libreoffice_saved_workbook_matches_openpyxl(tmp_path, path_mode):
    lo = pytest.importorskip("lo")
    if not lo.available():
        pytest.skip("LibreOffice (soffice) is not installed")
    src = report_workbook(tmp_path / "src.xlsx")
    out = lo.recalc(src, tmp_path / "lo")
    wb = read_workbook(out)
    assert_matches_openpyxl(out, wb)
    s = wb.sheets["表一 收到申请"]
    assert s.cells[(4, 4)].value == 6.5 and s.cells[(4, 4)].formula == "SUM(B2:C2)"  # cached by LibreOffice
    assert s.cells[(2, 1)].type == "s"  # LibreOffice writes shared strings


# --------------------------------------------------------------------------- formula translation


_refs = st.builds(
    lambda cabs, col, rabs, row: f"{'$' if cabs else ''}{col_letter(col)}{'$' if rabs else ''}{row}",
    st.booleans(), st.integers(10, 60), st.booleans(), st.integers(10, 500),
)  # fmt: skip
_terms = st.one_of(
    _refs,
    st.builds(
        lambda a, b, x, y: f"{'$' if x else ''}{col_letter(a)}:{'$' if y else ''}{col_letter(b)}",
        st.integers(10, 60),
        st.integers(10, 60),
        st.booleans(),
        st.booleans(),
    ),
    st.builds(
        lambda a, b, x, y: f"{'$' if x else ''}{a}:{'$' if y else ''}{b}",
        st.integers(10, 500),
        st.integers(10, 500),
        st.booleans(),
        st.booleans(),
    ),
    st.builds(lambda a, b: f"{a}:{b}", _refs, _refs),
    st.builds(lambda r: f"Sheet2!{r}", _refs),
    st.builds(lambda r: f"'其他 表'!{r}", _refs),
    st.builds(lambda a, b: f"SUM({a},{b})", _refs, _refs),
    st.integers(0, 999).map(str),
    st.just('"A1 text"'),
)


@given(
    parts=st.lists(_terms, min_size=1, max_size=5),
    ops=st.lists(st.sampled_from(["+", "-", "*", "/", "&"]), min_size=4, max_size=4),
    drow=st.integers(-5, 5),
    dcol=st.integers(-5, 5),
)
def test_shared_formula_translation_matches_openpyxl(parts, ops, drow, dcol):
    formula = "".join(p + (ops[i] if i < len(parts) - 1 else "") for i, p in enumerate(parts))
    origin, dest = "M50", a1(50 + drow, 13 + dcol)
    expected = Translator("=" + formula, origin=origin).translate_formula(dest)[1:]
    assert xlsx_sheet._shift_refs(formula, drow, dcol) == expected


def test_translation_out_of_range_gives_ref_error():
    assert xlsx_sheet._shift_refs("A1+B$2", -1, 0) == "#REF!+B$2"
    assert xlsx_sheet._shift_refs("LOG10(A1)+ATAN2(1,2)", 1, 1) == "LOG10(B2)+ATAN2(1,2)"
