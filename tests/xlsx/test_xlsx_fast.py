"""gxsheet.xlsx.plain fast path: plain worksheet parts read without a tree give exactly the tree path's results.

Every comparison reads the same file twice, once as shipped (``FAST_PATH`` on) and once with the
fast path switched off, and requires the same :class:`WorkbookCells` - values compared with their
types, formulas, cell types, styles, merged ranges, dimensions - or the same ``LoadError`` (kind,
message and detail).  A spy on ``_read_plain`` records which sheets the fast path actually read, so
the tests fail if it silently always fell back: plain writer output must take it, anything unusual
must fall back, and refusals (limits, damage) must be the same whichever path gets there first.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from test_xlsx import MAIN, build

from gxsheet.core.errors import LoadError
from gxsheet.core.limits import Limits
from gxsheet.xlsx import loader
from gxsheet.xlsx import plain as xlsx_plain
from gxsheet.xlsx import workbook as xlsx
from gxsheet.xlsx.loader import open_package

ROOT = Path(__file__).resolve().parents[2]
X14AC = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# --------------------------------------------------------------------------- helpers


def outcome(path: Path, limits: Limits | None = None) -> Any:
    """What read_workbook gives, in a form where equal means identical (types included)."""
    try:
        wb = xlsx.read_workbook(path, limits)
    except LoadError as exc:
        return ("error", exc.kind, str(exc), exc.detail)
    except Exception as exc:  # noqa: BLE001 - a crash must at least be the same crash
        return ("crash", type(exc).__name__, str(exc))
    sheets = {
        name: (
            {
                pos: (type(c.value).__name__, c.value, c.formula, c.type, c.style, c.formula_untranslated)
                for pos, c in sorted(sheet.cells.items())
            },
            sheet.merged,
            sheet.dimension,
            sheet.state,
        )
        for name, sheet in wb.sheets.items()
    }
    return ("ok", list(wb.sheets), sheets, wb.kind, wb.external_links, wb.has_macros, wb.date1904)


class Spy:
    """Wraps ``xlsx_plain._read_plain``: per sheet part, True (read), False (fell back) or 'raised'."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[bool | str] = []
        self.monkeypatch = monkeypatch
        real = xlsx_plain._read_plain

        def spy(*args: Any) -> bool:
            try:
                taken = real(*args)
            except LoadError:
                self.calls.append("raised")
                raise
            self.calls.append(taken)
            return taken

        monkeypatch.setattr(xlsx_plain, "_read_plain", spy)

    def both(self, path: Path, limits: Limits | None = None) -> tuple[Any, list[bool | str]]:
        """Read ``path`` with and without the fast path; assert the same outcome."""
        self.calls = []
        self.monkeypatch.setattr(xlsx_plain, "FAST_PATH", True)
        fast = outcome(path, limits)
        calls = self.calls
        self.monkeypatch.setattr(xlsx_plain, "FAST_PATH", False)
        self.calls = []
        tree = outcome(path, limits)
        assert self.calls == []  # the switch really turns the fast path off
        self.monkeypatch.setattr(xlsx_plain, "FAST_PATH", True)
        assert fast == tree
        return fast, calls


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(monkeypatch)


def package(path: Path, sheets: list[str | bytes], shared: str | None = None) -> Path:
    """A minimal .xlsx holding the given worksheet parts (sheets S1, S2 ...) and shared strings."""
    return build(path, [{"name": f"S{i}", "xml": xml} for i, xml in enumerate(sheets, 1)], shared=shared)


HEAD = '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr><dimension ref="A1:D9"/><cols><col min="1" max="2" width="9"/></cols>'
TAIL = (
    '<mergeCells count="2"><mergeCell ref="A8:B8"/><mergeCell ref="C8:D9"/></mergeCells>'
    '<dataValidations count="1"><dataValidation sqref="B2" type="whole" prompt="&#35831;&gt;"><formula1>0</formula1>'
    "</dataValidation></dataValidations><headerFooter><oddFooter>&amp;P / &amp;N</oddFooter></headerFooter>"
)


def sheet(body: str, head: str = HEAD, tail: str = TAIL, root: str = f'<worksheet xmlns="{MAIN}">') -> str:
    """A worksheet part as openpyxl lays it out: ``body`` inside <sheetData>, layout around it."""
    end = "</" + root[1:].split()[0].rstrip(">") + ">"
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n{root}{head}<sheetData>{body}</sheetData>{tail}{end}'
    )


def row(r: int | None, *cells: str, attrs: str = "") -> str:
    ref = f' r="{r}"' if r is not None else ""
    return f"<row{ref}{attrs}>{''.join(cells)}</row>"


PLAIN_BODY = (
    row(
        1,
        '<c r="A1" s="1" t="inlineStr"><is><t>&#31532;&#19968;&lt;&amp;&gt;</t></is></c>',
        '<c r="B1" s="2" t="n"></c>',
    )
    + row(2, '<c r="A2" s="3" t="n"><v>12</v></c>', '<c r="B2" s="11"/>', '<c r="C2" t="n"><v>-1.5e3</v></c>')
    + row(3, '<c r="A3" s="4"><f>IF(A2&gt;1,"&#8730;","&#10007;")</f><v></v></c>', '<c r="B3" t="b"><v>1</v></c>')
    + row(4, '<c r="A4" t="str"><f>A1&amp;"x"</f><v>&#31532;x</v></c>', '<c r="B4" t="e"><v>#DIV/0!</v></c>')
    + row(
        5,
        '<c r="A5"><f t="shared" ref="A5:A7" si="0">SUM(B5:C5)</f><v>3</v></c>',
        '<c r="B5" t="inlineStr"><is><t xml:space="preserve"> lead and trail </t></is></c>',
    )
    + row(6, '<c r="A6"><f t="shared" si="0"/><v>4</v></c>', '<c r="B6" t="inlineStr"><is><t>a_x000D_b</t></is></c>')
    + row(7, '<c r="A7"><f t="shared" si="0"/></c>', '<c r="B7" t="d"><v>2021-12-31</v></c>')
)


# --------------------------------------------------------------------------- every workbook we have


def _repo_workbooks() -> list[Path]:
    found = []
    for folder in ("tests", "examples", "workbook_templates"):
        found += [p for p in sorted((ROOT / folder).rglob("*")) if p.suffix.lower() in (".xlsx", ".xlsm")]
    return found


REPO_WORKBOOKS = _repo_workbooks()


def test_repository_has_workbooks_to_compare():
    assert len(REPO_WORKBOOKS) >= 20
    assert any("bad_inputs" in p.parts for p in REPO_WORKBOOKS)


@pytest.mark.parametrize("path", REPO_WORKBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_workbook_reads_the_same(spy, path):
    result, calls = spy.both(path)
    if "bad_inputs" not in path.parts:
        # examples and templates are written by the project's own openpyxl-based builders: plain
        assert result[0] == "ok"
        assert calls and all(c is True for c in calls), calls


@pytest.mark.parametrize("path", REPO_WORKBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_parts_kept_at_open_are_the_zip_bytes(path):
    """open_package keeps the XML parts its verifying inflate produced; reading them gives the same bytes."""
    try:
        pkg = open_package(path)
    except LoadError:
        return  # refused at open: nothing kept, nothing read
    with pkg, zipfile.ZipFile(path) as zf:
        kept = pkg._kept
        assert any("worksheets/" in name for name in kept)
        for name in pkg.names():
            assert (name in kept) == name.lower().endswith((".xml", ".rels")), name
            assert pkg.read(name) == zf.read(name), name


def test_parts_not_kept_are_read_as_before(monkeypatch):
    path = ROOT / "workbook_templates" / "gxsheet-2021.xlsx"
    expected = outcome(path)
    monkeypatch.setattr(loader, "_KEEP_TOTAL_BYTES", 3000)  # room for the small parts only
    with open_package(path) as pkg:
        assert pkg._kept and not any("worksheets/" in name for name in pkg._kept)
    assert outcome(path) == expected


# --------------------------------------------------------------------------- openpyxl output


def _tricky_openpyxl(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表一"
    texts = [
        "<", "&", "]]>", "a\r\nb", "a\rb", "a\nb", " lead", "trail ", "_x000D_", "x_x0041_y", "&amp;", "&#65;",
        '"quoted" \'single\'', "第一部分（二）", "tab\there", "", "=not a formula?", "x" * 40_000, "😀 astral",
    ]  # fmt: skip
    for i, text in enumerate(texts, 1):
        ws.cell(row=i, column=1, value=text)
    numbers = [0, -0.0, 1, -7, 2**53, 2**53 + 1, 2**60, 1e308, -1.5e-300, 0.1, 1 / 3, 123456789012345678, 12.0]
    for i, n in enumerate(numbers, 1):
        ws.cell(row=i, column=2, value=n)
    ws["C1"] = True
    ws["C2"] = False
    ws["C3"] = dt.datetime(2021, 12, 31, 13, 30)
    ws["C4"] = dt.date(2019, 1, 1)
    ws["C5"] = "=SUM(B1:B5)"
    ws["C6"] = '=IF(A1="<","&lt;",A2&"]]>")'
    ws["C7"] = "=C5*2"
    ws["C8"] = "#N/A"
    ws["C8"].data_type = "e"
    ws["C9"] = "=#REF!+1"
    ws.merge_cells("D1:E2")
    ws.merge_cells("D4:D9")
    ws["F3"].style = "Percent"  # styled, empty
    ws2 = wb.create_sheet("表二")
    for r in range(1, 60):
        for c in range(1, 12):
            ws2.cell(row=r, column=c, value=(r * c if (r + c) % 3 else f"r{r}c{c}"))
    ws2.cell(row=61, column=1, value="=SUM(A1:A59)")
    ws3 = wb.create_sheet("空表")
    ws3.sheet_state = "hidden"
    wb.save(path)
    return path


def test_openpyxl_workbook_takes_the_fast_path(spy, tmp_path):
    result, calls = spy.both(_tricky_openpyxl(tmp_path / "tricky.xlsx"))
    assert result[0] == "ok"
    assert calls == [True, True, True]
    cells = result[2]["表一"][0]
    assert cells[(4, 1)][1] == "a\r\nb"  # openpyxl writes CR as _x000D_
    assert cells[(18, 1)][1] == "x" * 32767  # capped, not refused


def test_rich_text_from_openpyxl_falls_back(spy, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = CellRichText("plain ", TextBlock(InlineFont(b=True), "bold"))
    ws["A2"] = 5
    wb.save(tmp_path / "rich.xlsx")
    result, calls = spy.both(tmp_path / "rich.xlsx")
    assert result[2]["Sheet"][0][(1, 1)][1] == "plain bold"
    assert calls == [False]


def test_benchmark_style_workbooks_take_the_fast_path(spy, tmp_path):
    """Workbooks written like the county benchmark (inline strings as character references)."""
    ws = sheet(PLAIN_BODY)
    result, calls = spy.both(package(tmp_path / "plain.xlsx", [ws, ws.replace("A1:D9", "A1:B2")]))
    assert calls == [True, True]
    cells = result[2]["S1"][0]
    assert cells[(1, 1)][1] == "第一<&>"
    assert cells[(6, 1)][2] == "SUM(B6:C6)"  # shared formula translated
    assert cells[(7, 1)][2] == "SUM(B7:C7)"
    assert cells[(6, 2)][1] == "a\rb"
    assert result[2]["S1"][1:3] == ([(8, 1, 8, 2), (8, 3, 9, 4)], "A1:D9")


# --------------------------------------------------------------------------- hand-written variants

R1 = '<c r="A1" s="1" t="inlineStr"><is><t>x</t></is></c>'

#: (label, worksheet part, whether the fast path reads it - None: refused when the package is
#: opened, before any sheet is read).  The tree path's result is the reference.
VARIANTS: list[tuple[str, str | bytes, bool | None]] = [
    ("plain", sheet(PLAIN_BODY), True),
    ("no layout at all", f'<worksheet xmlns="{MAIN}"><sheetData>{row(1, R1)}</sheetData></worksheet>', True),
    ("empty sheetData", sheet(""), True),
    ("self-closing sheetData", sheet("").replace("<sheetData></sheetData>", "<sheetData/>"), True),
    ("no XML declaration", sheet(PLAIN_BODY).split("\n", 1)[1], True),
    ("UTF-8 BOM", "\ufeff" + sheet(PLAIN_BODY), True),
    (
        "attributes in other orders",
        sheet(row(1, '<c t="n" s="3" r="A1"><v>5</v></c>', attrs=' ht="20" spans="1:1"')),
        True,
    ),
    (
        "cells without r",
        sheet(row(2, '<c s="1"><v>1</v></c>', "<c><v>2</v></c>", '<c r="E2"><v>5</v></c>', "<c><v>6</v></c>")),
        True,
    ),
    (
        "rows without r",
        sheet(row(None, R1) + row(None, "<c><v>2</v></c>") + row(7, "<c/>") + row(None, "<c><v>8</v></c>")),
        True,
    ),
    ("empty rows", sheet('<row r="1"/><row r="2"></row>' + row(3, R1) + '<row r="4" ht="9"/>'), True),
    ("no namespace at all", sheet(row(1, R1), root="<worksheet>"), True),
    ("empty default namespace", sheet(row(1, R1), root='<worksheet xmlns="">'), True),
    (
        "strict namespace",
        sheet(row(1, R1), root='<worksheet xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main">'),
        True,
    ),
    ("prefixed root, unprefixed children", sheet(row(1, R1), root=f'<x:worksheet xmlns:x="{MAIN}">'), True),
    (
        "Excel's row attributes",
        sheet(
            row(1, R1, attrs=' spans="1:3" x14ac:dyDescent="0.25"'),
            root=f'<worksheet xmlns="{MAIN}" xmlns:x14ac="{X14AC}">',
        ),
        True,
    ),
    (
        "references everywhere",
        sheet(row(1, '<c r="A1" t="str"><f>"&quot;&apos;&#x41;&#65;&#13;"</f><v>&#x1F600;&#xd;</v></c>')),
        True,
    ),
    (
        "raw CR and CRLF",
        sheet(row(1, '<c r="A1" t="inlineStr"><is><t>a\r\nb\rc\n</t></is></c>', '<c r="B1" t="str"><v>\r</v></c>')),
        True,
    ),
    (
        "shared strings",
        sheet(row(1, '<c r="A1" t="s"><v>0</v></c>', '<c r="B1" t="s"><v>1</v></c>', '<c r="C1" t="s"><v> 0</v></c>')),
        True,
    ),
    ("negative shared-string index", sheet(row(1, '<c r="A1" t="s"><v>-1</v></c>')), True),
    ("bad shared-string index", sheet(row(1, '<c r="A1" t="s"><v>9</v></c>')), True),
    (
        "odd numbers",
        sheet(
            row(
                1,
                *(
                    f'<c r="{c}1"><v>{v}</v></c>'
                    for c, v in zip(
                        "ABCDEFG", ["1e400", "NaN", " 7 ", "1_0", "0x1F", "99999999999999999999", "٣"], strict=True
                    )
                ),
            )
        ),
        True,
    ),
    (
        "odd styles",
        sheet(row(1, '<c r="A1" s="x"><v>1</v></c>', '<c r="B1" s=""><v>2</v></c>', '<c r="C1" s="+4"><v>3</v></c>')),
        True,
    ),
    (
        "inline string without t",
        sheet(row(1, '<c r="A1"><is><t>no t</t></is></c>', '<c r="B1" t="str"><is><t>str</t></is></c>')),
        True,
    ),
    (
        "value and inline string",
        sheet(
            row(
                1,
                '<c r="A1" t="inlineStr"><v>5</v><is><t></t></is></c>',
                '<c r="B1" t="inlineStr"><v>6</v><is><t>y</t></is></c>',
            )
        ),
        True,
    ),
    (
        "formula without value",
        sheet(row(1, '<c r="A1"><f>1+1</f></c>', '<c r="B1"><f/><v/></c>', '<c r="C1"><f></f><v>3</v></c>')),
        True,
    ),
    (
        "shared formula master later",
        sheet(
            row(1, '<c r="A1"><f t="shared" si="4"/><v>1</v></c>')
            + row(2, '<c r="A2"><f t="shared" ref="A1:A2" si="4">B2*2</f></c>')
        ),
        True,
    ),
    (
        "shared formula never mastered",
        sheet(row(1, '<c r="A1"><f t="shared" si="7"/></c>', '<c r="B1"><f t="shared" si="7"/><v>2</v></c>')),
        True,
    ),
    ("array formula", sheet(row(1, '<c r="A1"><f t="array" ref="A1:A1">{1,2}</f><v>1</v></c>')), True),
    (
        "Excel escapes in text",
        sheet(
            row(
                1,
                '<c r="A1" t="inlineStr"><is><t>_x000D__x000a__xD800_</t></is></c>',
                '<c r="B1" t="str"><v>_x0041_</v></c>',
            )
        ),
        True,
    ),
    ("no dimension, no merges", sheet(PLAIN_BODY, head="", tail=""), True),
    ("malformed dimension", sheet(row(1, R1), head='<dimension ref="A1:"/>'), True),
    ("empty mergeCells", sheet(row(1, R1), tail='<mergeCells count="0"></mergeCells>'), True),
    ("bad merged range", sheet(row(1, R1), tail='<mergeCells><mergeCell ref="A1:ZZZZ9"/></mergeCells>'), True),
    ("bad cell reference", sheet(row(1, '<c r="A0"><v>1</v></c>')), True),
    ("bad row number", sheet(row(None, R1, attrs=' r="x"')), True),
    (
        "cell before its row's number",
        sheet(row(5, '<c r="B2"><v>1</v></c>', "<c><v>2</v></c>") + row(None, "<c><v>3</v></c>")),
        True,
    ),
    # not plain: the tree path reads them
    ("single quotes", sheet(row(1, "<c r='A1'><v>1</v></c>")), False),
    (
        "prefixed elements",
        sheet(row(1, R1).replace("<", "<x:").replace("<x:/", "</x:"), root=f'<worksheet xmlns:x="{MAIN}">')
        .replace("sheetData>", "x:sheetData>")
        .replace("<x:sheetData>", "<x:sheetData>"),
        False,
    ),
    ("whitespace between elements", sheet("\n  " + row(1, "\n    " + R1 + "\n  ") + "\n"), False),
    ("pretty-printed cell", sheet(row(1, '<c r="A1">\n<v>1</v>\n</c>')), False),
    ("space before />", sheet(row(1, '<c r="A1" />', R1)), False),
    (
        "rich text inline string",
        sheet(row(1, '<c r="A1" t="inlineStr"><is><r><t>a</t></r><r><rPr><b/></rPr><t>b</t></r></is></c>')),
        False,
    ),
    (
        "phonetic run",
        sheet(row(1, '<c r="A1" t="inlineStr"><is><t>漢字</t><rPh sb="0" eb="2"><t>カンジ</t></rPh></is></c>')),
        False,
    ),
    ("comment in sheetData", sheet(row(1, R1) + "<!-- note -->"), False),
    ("comment in the layout", sheet(row(1, R1), head="<!-- <sheetData> -->"), False),
    ("CDATA", sheet(row(1, '<c r="A1" t="str"><v><![CDATA[<a & b>]]></v></c>')), False),
    ("processing instruction", sheet(row(1, R1) + "<?gx keep?>"), False),
    ("extLst in a cell", sheet(row(1, '<c r="A1"><v>1</v><extLst><ext uri="x"/></extLst></c>')), False),
    ("entity in an attribute", sheet(row(1, '<c r="A1" s="&#49;"><v>1</v></c>')), False),
    ("tab in an attribute", sheet(row(1, '<c r="A1" t="n\t"><v>1</v></c>')), False),
    ("> in an attribute", sheet(row(1, '<c r="A1" cm="a>b"><v>1</v></c>')), False),
    ("elements out of order", sheet(row(1, '<c r="A1"><v>1</v><f>2</f></c>')), False),
    ("cell outside a row", sheet('<c r="A1"><v>1</v></c>' + row(2, R1)), False),
    ("row inside a row", sheet('<row r="1"><row r="2"></row></row>'), False),
    ("default namespace redeclared in a row", sheet(f'<row r="1" xmlns="{MAIN}">{R1}</row>'), False),
    ("other default namespace", sheet(row(1, R1), root='<worksheet xmlns="urn:other">'), False),
    (
        "sheetData nested deeper",
        f'<worksheet xmlns="{MAIN}"><x><sheetData>{row(1, R1)}</sheetData></x></worksheet>',
        False,
    ),
    ("two sheetData", sheet(row(1, R1), tail=f"<sheetData>{row(2, R1)}</sheetData>"), False),
    ("dimension after sheetData", sheet(row(1, R1), head="", tail='<dimension ref="A1:A1"/>'), False),
    (
        "mergeCells before sheetData",
        sheet(row(1, R1), head='<mergeCells><mergeCell ref="A1:B1"/></mergeCells>', tail=""),
        False,
    ),
    (
        "two mergeCells",
        sheet(
            row(1, R1),
            tail='<mergeCells><mergeCell ref="A1:B1"/></mergeCells><mergeCells><mergeCell ref="C1:D1"/></mergeCells>',
        ),
        False,
    ),
    (
        "mergeCells nested deeper",
        sheet(row(1, R1), tail='<x><mergeCells><mergeCell ref="A1:B1"/></mergeCells></x>'),
        False,
    ),
    ("dimension nested deeper", sheet(row(1, R1), head='<x><dimension ref="A1:XFD1048576"/></x>'), False),
    (
        "sheetData after an element with > in a value",
        sheet(row(1, R1), head='<x a="/>"><y/></x><dimension ref="A1"/>'),
        True,
    ),
    ("other encoding", sheet(row(1, R1)).replace("UTF-8", "ISO-8859-1").encode("latin-1"), False),
    ("UTF-16", sheet(row(1, R1)).replace("UTF-8", "UTF-16").encode("utf-16"), False),
    # damage: the same refusal either way
    ("DOCTYPE", sheet(row(1, R1)).replace("\n", '\n<!DOCTYPE worksheet [<!ENTITY e "x">]>'), None),
    ("undeclared prefix in a row", sheet(row(1, R1, attrs=' x14ac:dyDescent="0.25"')), False),
    ("duplicate attribute", sheet(row(1, '<c r="A1" r="A2"><v>1</v></c>')), False),
    (
        "same attribute through two prefixes",
        sheet(row(1, R1, attrs=' a:x="1" b:x="2"'), root=f'<worksheet xmlns="{MAIN}" xmlns:a="urn:a" xmlns:b="urn:a">'),
        False,
    ),
    ("character reference to NUL", sheet(row(1, '<c r="A1" t="str"><v>&#0;</v></c>')), False),
    ("character reference to a surrogate", sheet(row(1, '<c r="A1" t="str"><v>&#xD800;</v></c>')), False),
    ("character reference past Unicode", sheet(row(1, '<c r="A1" t="str"><v>&#x110000;</v></c>')), False),
    ("character reference with capital X", sheet(row(1, '<c r="A1" t="str"><v>&#X41;</v></c>')), False),
    ("undefined entity", sheet(row(1, '<c r="A1" t="str"><v>&nbsp;</v></c>')), False),
    ("bare ampersand", sheet(row(1, '<c r="A1" t="str"><v>a & b</v></c>')), False),
    ("control character", sheet(row(1, '<c r="A1" t="str"><v>a\x01b</v></c>')), False),
    ("U+FFFF", sheet(row(1, '<c r="A1" t="str"><v>a\uffffb</v></c>')), False),
    ("]]> in text", sheet(row(1, '<c r="A1" t="str"><v>a]]>b</v></c>')), False),
    ("invalid UTF-8", sheet(row(1, '<c r="A1" t="str"><v>@@</v></c>')).encode().replace(b"@@", b"\xc3\x28"), False),
    ("row left open", sheet('<row r="1">' + R1), False),
    ("stray row end", sheet(row(1, R1) + "</row>"), False),
    ("malformed layout", sheet(row(1, R1), tail="<mergeCells>"), False),
    ("undefined entity before sheetData", sheet(row(1, R1), head="<sheetPr>&bad;</sheetPr>"), False),
    ("mismatched tags before sheetData", sheet(row(1, R1), head="<sheetPr></sheetViews>"), False),
    ("duplicate root attribute", sheet(row(1, R1), root=f'<worksheet xmlns="{MAIN}" a="1" a="2">'), False),
    ("undefined entity after sheetData", sheet(row(1, R1), tail="<headerFooter>&bad;</headerFooter>"), False),
    ("mismatched tags after sheetData", sheet(row(1, R1), tail="<headerFooter></sheetViews>"), False),
]


@pytest.mark.parametrize(("label", "xml", "plain"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_variant_reads_the_same(spy, tmp_path, label, xml, plain):
    shared = f'<sst xmlns="{MAIN}"><si><t>first</t></si><si><t>second</t></si></sst>'
    result, calls = spy.both(package(tmp_path / "v.xlsx", [xml], shared=shared))
    if plain is None:
        assert result[0] == "error" and calls == []
    elif plain:
        assert calls in ([True], ["raised"]), calls
    else:
        assert calls == [False], calls


def test_damage_is_reported_as_the_tree_path_reports_it(spy, tmp_path):
    for label, xml, _ in VARIANTS[VARIANTS.index(next(v for v in VARIANTS if v[0] == "DOCTYPE")) :]:
        result, _ = spy.both(package(tmp_path / "d.xlsx", [xml]))
        assert result[0] == "error" and result[1] in ("corrupt", "xml-entities"), label


def test_layout_memo_is_only_a_cache(spy, tmp_path):
    """Verdicts on the bytes before and after <sheetData> are memoised on them; never on anything else."""
    tail = '<extLst><x14:ext xmlns:x14="urn:x14"/><y:z/></extLst>'
    root = f'<worksheet xmlns="{MAIN}" xmlns:y="urn:y">'
    good = sheet(row(1, R1), tail=TAIL + tail, root=root)
    cases = [
        (good, "ok", True),
        (good.replace("<headerFooter>", "<headerFooter><x>"), "corrupt", False),  # broken after sheetData
        (good.replace("<cols>", "<cols><x>"), "corrupt", False),  # broken before it
        (good.replace(">x<", ">&bad;<"), "corrupt", False),  # broken inside
        (good.replace(' xmlns:y="urn:y"', ""), "corrupt", False),  # same suffix, prefix y no longer declared
        (good.replace('<pageSetUpPr fitToPage="1"/>', "<pageSetUpPr/>"), "ok", True),  # other prefix, same suffix
        (good, "ok", True),
    ]
    for xml, expected, taken in cases * 2:
        result, calls = spy.both(package(tmp_path / "m.xlsx", [xml]))
        assert result[0] == "ok" if expected == "ok" else result[:2] == ("error", expected)
        assert calls == [taken]


# --------------------------------------------------------------------------- limits


def _grid(rows: int, cols: int, tail: str = "") -> str:
    body = "".join(
        row(r, *(f'<c r="{xlsx.a1(r, c)}" s="1"><v>{r * c}</v></c>' for c in range(1, cols + 1)))
        for r in range(1, rows + 1)
    )
    return sheet(body, head="", tail=tail)


@pytest.mark.parametrize(
    ("limits", "xml"),
    [
        (Limits(max_rows=3), sheet(row(9, '<c r="A9" s="2"/>'), head="", tail="")),
        (Limits(max_cols=3), sheet(row(1, '<c r="A1"/><c/><c/><c s="2"/>'), head="", tail="")),
        (Limits(max_rows=5), sheet(row(1, R1), head='<dimension ref="A1:B6"/>', tail="")),
    ],
    ids=["empty-row", "empty-col", "dimension"],
)
def test_empty_far_cells_are_not_content_on_either_path(spy, tmp_path, limits, xml):
    """Formatting, empty rows and the declared dimension are not content (LibreOffice writes them
    to the sheet's end); both paths read the sheet the same way and keep no cell for them."""
    result, _ = spy.both(package(tmp_path / "far.xlsx", [xml]), limits)
    assert result[0] not in ("error", "crash"), result


@pytest.mark.parametrize(
    ("limits", "xml", "kind"),
    [
        (Limits(max_cells=11), _grid(3, 4), "too-many-cells"),
        (Limits(max_rows=2), _grid(3, 2), "sheet-too-large"),
        (Limits(max_cols=3), _grid(2, 4), "sheet-too-large"),
        (Limits(max_rows=3), sheet(row(9, '<c r="A9" s="2"><v>1</v></c>'), head="", tail=""), "sheet-too-large"),
        (Limits(max_cols=3), sheet(row(1, '<c r="A1"/><c/><c/><c s="2"><v>1</v></c>'), head="", tail=""),
         "sheet-too-large"),
        (
            Limits(max_cells=3),
            _grid(1, 1, '<mergeCells><mergeCell ref="A1:A2"/><mergeCell ref="B1:B2"/></mergeCells>'),
            "too-many-cells",
        ),
        (
            Limits(max_cells=2),
            _grid(1, 1, "<mergeCells>" + '<mergeCell ref="A1"/>' * 3 + "</mergeCells>"),
            "too-many-cells",
        ),
        (Limits(max_rows=4), _grid(1, 1, '<mergeCells><mergeCell ref="A1:A9"/></mergeCells>'), "sheet-too-large"),
    ],
    ids=[
        "cells",
        "rows",
        "cols",
        "far-row",
        "far-col",
        "merged-cells",
        "merged-ranges",
        "merged-extent",
    ],
)
def test_limits_are_the_same_on_the_fast_path(spy, tmp_path, limits, xml, kind):
    result, calls = spy.both(package(tmp_path / "big.xlsx", [xml]), limits)
    assert result[:2] == ("error", kind)
    assert calls == ["raised"]  # refused by the fast path itself, not by a fallback


def test_merged_ranges_at_the_limits(spy, tmp_path):
    merges = '<mergeCells><mergeCell ref="A1:A2"/><mergeCell ref="B1:B2"/><mergeCell ref=""/></mergeCells>'
    path = package(tmp_path / "m.xlsx", [_grid(1, 1, merges)])
    for limits, ok in [
        (Limits(max_cells=4), True),
        (Limits(max_cells=3), False),
        (Limits(max_rows=2), True),
        (Limits(max_rows=1), False),
    ]:
        result, calls = spy.both(path, limits)
        assert (result[0] == "ok") == ok and calls == ([True] if ok else ["raised"])
        if ok:
            assert result[2]["S1"][1] == [(1, 1, 2, 1), (1, 2, 2, 2)]


def test_element_budget_is_charged_the_same(spy, tmp_path):
    xml = _grid(10, 10)  # 10 rows + 100 cells per sheet
    path = package(tmp_path / "b.xlsx", [xml, xml])
    outcomes = {budget: spy.both(path, Limits(max_elements=budget)) for budget in range(200, 260)}
    enough = min(b for b, (result, _) in outcomes.items() if result[0] == "ok")
    assert 220 < enough < 259  # both sheets (220) and the metadata parts
    assert outcomes[enough][1] == [True, True]
    result, calls = outcomes[enough - 1]
    assert result[:2] == ("error", "too-many-cells") and "XML elements" in result[3]
    assert calls == [True, False]  # the second sheet would overrun: the tree path says where


def test_memoised_metadata_is_charged_the_same(tmp_path):
    """workbook.xml and its relationships are scanned once per distinct content; every read charges them."""
    path = package(tmp_path / "m.xlsx", [_grid(2, 2)])

    def fresh(budget: int) -> Any:
        xlsx._SCAN_MEMO.clear()
        return outcome(path, Limits(max_elements=budget))

    enough = next(b for b in range(1, 100) if fresh(b)[0] == "ok")
    assert enough > 6  # 2 rows + 4 cells, and the metadata parts
    for budget in (enough, enough - 1, 3):
        expected = fresh(budget)
        assert outcome(path, Limits(max_elements=budget)) == expected  # memoised now
    assert fresh(enough - 1)[:2] == ("error", "too-many-cells")
    assert fresh(3)[:2] == ("error", "too-large")  # the metadata alone overran


def test_a_limit_never_hides_damage_further_on(spy, tmp_path):
    """Stopped by a limit, the fast path still reports a part that is not well-formed as damage."""
    xml = _grid(3, 3).replace("</sheetData>", row(9, '<c r="A9" t="str"><v>&#0;</v></c>') + "</sheetData>")
    result, calls = spy.both(package(tmp_path / "x.xlsx", [xml]), Limits(max_cells=2))
    assert result[:2] == ("error", "corrupt") and calls == [False]
    xml = _grid(3, 3).replace("</sheetData>", row(9, '<c r="A9" x:y="1"><v>1</v></c>') + "</sheetData>")
    result, calls = spy.both(package(tmp_path / "y.xlsx", [xml]), Limits(max_cells=2))
    assert result[:2] == ("error", "corrupt") and calls == [False]


# --------------------------------------------------------------------------- properties

_VALID = st.one_of(
    st.sampled_from(list("<>&\"' \r\n\t;#x]_") + ["\r\n", "_x000D_", "_x0041_", "&amp;", "第", "😀"]),
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"),
)


def _escape(text: str, how: list[int]) -> str:
    """``text`` as XML character data, each character raw or as some reference (or left invalid)."""
    named = {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;"}
    out = []
    for i, ch in enumerate(text):
        mode = how[i % len(how)] if how else 0
        if mode == 1:
            out.append(f"&#{ord(ch)};")
        elif mode == 2:
            out.append(f"&#x{ord(ch):X};")
        elif ch in "<&":
            out.append(named[ch])
        elif mode == 3 and ch in named:
            out.append(named[ch])
        else:
            out.append(ch)
    return "".join(out)


_CELL = st.tuples(
    st.sampled_from(["n", "", "s", "inlineStr", "str", "b", "e", "d", "f", "shared", "empty", "none"]),
    st.lists(_VALID, max_size=12).map("".join),
    st.lists(st.integers(0, 3), max_size=5),
    st.sampled_from(["", ' s="3"', ' s="x"', ' xml:space="preserve"']),
)


@SETTINGS
@given(
    rows=st.lists(st.lists(_CELL, max_size=6), min_size=1, max_size=6),
    skip_refs=st.booleans(),
    damage=st.none()
    | st.tuples(st.integers(0, 10**6), st.sampled_from(["]]>", "\x01", "\x00", "\uffff", "&#1;", "&#xFFFE;"])),
)
def test_random_cells_read_the_same(spy, tmp_path, rows, skip_refs, damage):
    body = []
    for r, cells in enumerate(rows, 1):
        xml_cells = []
        for c, (kind, text, how, extra) in enumerate(cells, 1):
            ref = "" if skip_refs and c % 2 else f' r="{xlsx.a1(r, c)}"'
            style = extra if extra.startswith(" s") else ""
            value = _escape(text, how)
            if kind == "none":
                xml_cells.append(f"<c{ref}{style}/>")
            elif kind == "empty":
                xml_cells.append(f'<c{ref}{style} t="n"></c>')
            elif kind == "inlineStr":
                space = extra if extra.startswith(" xml") else ""
                xml_cells.append(f'<c{ref}{style} t="inlineStr"><is><t{space}>{value}</t></is></c>')
            elif kind == "f":
                xml_cells.append(f"<c{ref}{style}><f>{value}</f><v>{value}</v></c>")
            elif kind == "shared":
                master = ' ref="A1:A9"' if c == 1 else ""
                xml_cells.append(f'<c{ref}><f t="shared" si="0"{master}>{value if c == 1 else ""}</f></c>')
            elif kind == "s":
                xml_cells.append(f'<c{ref} t="s"><v>{len(text) % 3}</v></c>')
            else:
                t = f' t="{kind}"' if kind else ""
                xml_cells.append(f"<c{ref}{style}{t}><v>{value}</v></c>")
        body.append(row(r, *xml_cells))
    text = "".join(body)
    if damage is not None:  # one character that is no XML character, somewhere in the cells
        at = damage[0] % (len(text) + 1)
        text = text[:at] + damage[1] + text[at:]
    shared = f'<sst xmlns="{MAIN}"><si><t>a</t></si><si><t/></si></sst>'
    result, calls = spy.both(package(tmp_path / "p.xlsx", [sheet(text)], shared=shared))
    if damage is None and result[0] == "ok":
        assert calls == [True]


_EDITS = st.sampled_from(
    list("<>/&;\"'= \r\n\t#x]!?-")
    + ["&#0;", "&amp;", "<!--", "-->", "<c>", "</c>", "<row>", "</row>", "<v>", "\x00", "\xff"]
)


@SETTINGS
@given(
    edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 3), _EDITS), min_size=1, max_size=3), in_body=st.booleans()
)
def test_damaged_sheets_are_refused_the_same(spy, tmp_path, edits, in_body):
    """Random edits in a plain part (or only inside its <sheetData>, where the fast path checks
    well-formedness itself): it reads the part, falls back, or refuses it exactly as before."""
    data = sheet(PLAIN_BODY).encode()
    for where, cut, text in edits:
        start, end = (data.find(b"<sheetData>") + 11, data.find(b"</sheetData>")) if in_body else (0, len(data))
        at = start + int(where * max(end - start, 0))
        data = data[:at] + text.encode("utf-8", "surrogateescape") + data[at + cut :]
    data = data.replace(b"\xc3\xbf", b"\xff")  # keep the invalid byte invalid
    spy.both(package(tmp_path / "m.xlsx", [data], shared=f'<sst xmlns="{MAIN}"><si><t>a</t></si></sst>'))
