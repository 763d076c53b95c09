"""The standard workbook: reproducible, faithful to the spec's layout, and live in LibreOffice.

The structural tests read the template with openpyxl. The LibreOffice tests fill a template with
consistent numbers, break one relation of each rule, let LibreOffice recalculate and check what a
person would see: the check cells, the summary, and (through the HTML export, which carries the
displayed background colours) the conditional formatting.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import fill
import lo
import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from gxsheet.core import atomic
from gxsheet.core.layout import (
    BAD_MARK,
    EDITION_KEY,
    EMPTY_MARK,
    OK_MARK,
    PARTLY_MARK,
    SUMMARY_KEY,
    Check,
    WorkbookLayout,
    summary_formula,
    workbook_layout,
)
from gxsheet.core.spec import Equation, Spec, editions, load_spec
from gxsheet.render.template import (
    BAD_FILL,
    BLANK_FILL,
    INPUT_FILL,
    absolute,
    template_bytes,
    template_name,
    templates_dir,
    write_template,
)

EDITIONS = editions()
libreoffice = [pytest.mark.libreoffice, lo.requires_lo]


def _hex(fill) -> str:
    return "#" + fill.start_color.rgb[-6:].upper()


RED, BLANK, YELLOW = _hex(BAD_FILL), _hex(BLANK_FILL), _hex(INPUT_FILL)


@pytest.fixture(scope="module", params=EDITIONS)
def ed(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def spec(ed: str) -> Spec:
    return load_spec(ed)


@pytest.fixture(scope="module")
def layout(spec: Spec) -> WorkbookLayout:
    return workbook_layout(spec)


@pytest.fixture(scope="module")
def committed(ed: str) -> Path:
    return templates_dir() / template_name(ed)


@pytest.fixture(scope="module")
def wb(committed: Path):
    return load_workbook(committed)


# ---------------------------------------------------------------------------------------------
# reproducibility and output


def test_committed_template_equals_fresh_build(spec: Spec, committed: Path) -> None:
    assert committed.is_file(), f"run python workbook_templates/build.py to create {committed.name}"
    assert committed.read_bytes() == template_bytes(spec), \
        f"{committed.name} is stale: run python workbook_templates/build.py"


def test_build_is_deterministic(spec: Spec) -> None:
    a, b = template_bytes(spec), template_bytes(spec)
    assert a == b
    z = zipfile.ZipFile(io.BytesIO(a))
    assert {i.date_time for i in z.infolist()} == {(2019, 1, 1, 0, 0, 0)}
    core = z.read("docProps/core.xml").decode()
    assert "2019-01-01T00:00:00Z" in core and "gxsheet" in core


def test_write_template_is_atomic_and_refuses_overwrite(ed: str, spec: Spec, tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    assert write_template(ed, out) == out
    assert out.read_bytes() == template_bytes(spec)
    out.write_bytes(b"user's work")
    with pytest.raises(atomic.OutputError):
        write_template(ed, out)
    assert out.read_bytes() == b"user's work"
    write_template(ed, out, force=True)
    assert out.read_bytes() == template_bytes(spec)
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]  # no temp file left behind


def test_workbook_properties(wb, spec: Spec, layout: WorkbookLayout) -> None:
    assert wb.sheetnames == [s.name for s in layout.sheets]
    assert wb.properties.title == spec.name
    assert wb.properties.creator == "gxsheet"


# ---------------------------------------------------------------------------------------------
# structure: labels, merges, protection, validation, formats


def _box(layout: WorkbookLayout, sheet: str, grid: str | None, key: str | None, roles: tuple[str, ...]):
    hits = [b for b in layout.sheet(sheet).boxes if b.grid == grid and b.key == key and b.role in roles]
    assert len(hits) == 1, (sheet, grid, key, roles, hits)
    return hits[0]


def test_every_official_label_at_its_layout_position(wb, spec: Spec, layout: WorkbookLayout) -> None:
    expected: list[tuple[str, int, int, str]] = []
    for f in spec.metadata:
        b = _box(layout, layout.sheets[0].name, None, "meta." + f.key, ("meta_label",))
        expected.append((layout.sheets[0].name, b.row, b.col, f.label))
    for sec in spec.sections:
        sheet, r, c = layout.position("prose." + sec.key)
        b = _box(layout, sheet, None, "prose." + sec.key, ("heading",))
        assert (b.row, b.col + 1) == (r, c)
        expected.append((sheet, b.row, b.col, sec.heading))
    for t in spec.tables:
        s = layout.table_sheet(t.key)
        title = next(b for b in s.boxes if b.role == "title")
        expected.append((s.name, title.row, title.col, t.title))
        for g in t.grids:
            if g.caption:
                b = _box(layout, s.name, g.key, None, ("caption",))
                expected.append((s.name, b.row, b.col, g.caption))
            if g.corner:
                b = _box(layout, s.name, g.key, None, ("corner",))
                expected.append((s.name, b.row, b.col, g.corner))
            for n in g.all_columns():
                b = _box(layout, s.name, g.key, n.key, ("header",))
                expected.append((s.name, b.row, b.col, n.label or ""))
            for n in g.all_rows():
                if n.label:
                    b = _box(layout, s.name, g.key, n.key, ("label",))
                    expected.append((s.name, b.row, b.col, n.label))
    assert len(expected) > 60
    for sheet, r, c, text in expected:
        assert wb[sheet].cell(r, c).value == text, (sheet, r, c, text)
    # and nothing the layout does not know about: every box text, exactly
    for s in layout.sheets:
        for b in s.boxes:
            assert wb[s.name].cell(b.row, b.col).value == b.text


def test_merges_match_layout(wb, layout: WorkbookLayout) -> None:
    for s in layout.sheets:
        want = {b.ref for b in s.boxes if b.merged}
        for key, last in s.input_span.items():
            r, c = s.inputs[key]
            want.add(f"{wb[s.name].cell(r, c).coordinate}:{wb[s.name].cell(r, last).coordinate}")
        got = {str(m) for m in wb[s.name].merged_cells.ranges}
        assert got == want, s.name


def test_protection_inputs_unlocked_labels_and_formulas_locked(wb, spec: Spec, layout: WorkbookLayout) -> None:
    for s in layout.sheets:
        ws: Worksheet = wb[s.name]
        assert ws.protection.sheet is True
        assert not ws.protection.password
        assert ws.protection.formatColumns is False and ws.protection.formatRows is False
        for b in s.boxes:
            assert ws.cell(b.row, b.col).protection.locked, (s.name, b.ref)
        for key, (r, c) in s.inputs.items():
            locked = ws.cell(r, c).protection.locked
            if key in (EDITION_KEY, SUMMARY_KEY):
                assert locked, key
            else:
                assert not locked, key
                for cc in range(c + 1, s.input_span.get(key, c) + 1):
                    assert not ws.cell(r, cc).protection.locked, key
        for chk in s.checks:
            cell = ws.cell(chk.row, chk.col)
            assert cell.value == chk.formula and cell.protection.locked
    meta = layout.sheets[0]
    ws = wb[meta.name]
    assert ws.cell(*meta.inputs[EDITION_KEY]).value == spec.edition
    note = ws.cell(meta.inputs[EDITION_KEY][0], meta.width).value
    assert spec.name in note and spec.issued_with in note
    assert ws.cell(*meta.inputs[SUMMARY_KEY]).value == summary_formula(layout)


def _validation(ws: Worksheet, coord: str):
    hits = [dv for dv in ws.data_validations.dataValidation if coord in dv.sqref]
    assert len(hits) == 1, (ws.title, coord, hits)
    return hits[0]


EXPECTED_DV = {
    "count": ("whole", "greaterThanOrEqual", "0", "0"),
    "signed_count": ("whole", "between", "-999999999", "0"),
    "amount": ("decimal", "greaterThanOrEqual", "0", "0.00##"),
}


def test_every_input_cell_has_validation_of_its_type(wb, spec: Spec, layout: WorkbookLayout) -> None:
    for s in layout.sheets:
        ws = wb[s.name]
        for key, (r, c) in s.inputs.items():
            cell = ws.cell(r, c)
            if key in (EDITION_KEY, SUMMARY_KEY):
                continue
            dv = _validation(ws, cell.coordinate)
            assert dv.showErrorMessage and dv.error and dv.prompt
            if key.startswith("meta."):
                f = spec.field(key[5:])
                want = {"choice": "list", "year": "whole", "date": "date"}.get(f.type, "textLength")
                assert dv.type == want, key
                if f.type == "choice":
                    assert dv.formula1 == '"' + ",".join(f.choices) + '"'
                if f.type == "year":  # the years this edition is for: a 2021 report needs the 2021 template
                    assert (dv.formula1, dv.formula2) == (str(spec.first_year), str(spec.last_year or 2100))
                    hint = ws.cell(cell.row, ws.max_column).value
                    assert f"如 {spec.last_year or spec.first_year}" in hint and f"如 {spec.first_year - 1}" not in hint
                    assert spec.covers_year(spec.last_year or spec.first_year)
                if f.type == "date":
                    assert cell.number_format == "yyyy-mm-dd"
            elif key.startswith("prose."):
                assert dv.type == "textLength"
                assert cell.alignment.wrap_text
            else:
                t, op, f1, fmt = EXPECTED_DV[spec.cells[key].type]
                assert (dv.type, dv.operator, dv.formula1) == (t, op, f1), key
                assert cell.number_format == fmt, key
                assert cell.fill.start_color.rgb == INPUT_FILL.start_color.rgb


def _rules_for(ws: Worksheet, coord: str) -> list[str]:
    out = []
    for cf in ws.conditional_formatting:
        if coord in cf.sqref:
            out += [f for rule in cf.rules for f in rule.formula]
    return out


def test_conditional_formats(wb, spec: Spec, layout: WorkbookLayout) -> None:
    for s in layout.sheets:
        if s.kind != "table":
            continue
        ws = wb[s.name]
        for chk in s.checks:
            want = f"NOT({absolute(chk.ok)})"
            assert "$" in want and want in _rules_for(ws, ws.cell(chk.row, chk.col).coordinate)
            for k in chk.equation.lhs:
                assert want in _rules_for(ws, ws.cell(*s.inputs[k]).coordinate)
        for key, (r, c) in s.inputs.items():
            rules = " ".join(_rules_for(ws, ws.cell(r, c).coordinate))
            assert "ISTEXT(" in rules and "ISBLANK(" in rules, key
            kind = spec.cells[key].type
            assert ("<0" in rules) == (kind != "signed_count"), key
            assert ("INT(" in rules) == (kind == "count"), key


def test_absolute_references() -> None:
    assert absolute("SUM(D5,D6)=SUM(D26,AB27)") == "SUM($D$5,$D$6)=SUM($D$26,$AB$27)"
    assert absolute("OR(NOT(OR('基本信息'!$B$5=\"镇\")),SUM(B4)<=0)") == \
        "OR(NOT(OR('基本信息'!$B$5=\"镇\")),SUM($B$4)<=0)"


def test_print_setup(wb, layout: WorkbookLayout) -> None:
    for s in layout.sheets:
        ws = wb[s.name]
        ps = ws.page_setup
        assert int(ps.paperSize) == int(ws.PAPERSIZE_A4)
        assert (ps.fitToWidth, ps.fitToHeight) == (1, 0)
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_options.horizontalCentered
        if s.kind != "table":
            last_title = 2
        elif len(s.header_rows) == 1:
            last_title = next(iter(s.header_rows.values()))[-1]
        else:
            last_title = 1
        assert ws.print_title_rows == f"$1:${last_title}"
        assert ws.freeze_panes
        if s.kind != "table":
            assert ps.orientation == "portrait"
    assert wb[layout.table_sheet("t4").name].page_setup.orientation == "landscape"


# ---------------------------------------------------------------------------------------------
# LibreOffice: recalculated checks, conditional formatting, rendering


def _eval(e: Equation, values: dict, meta: dict) -> tuple[bool, float]:
    lhs = sum(values[k] for k in e.lhs)
    rhs = sum(values[k] for k in e.rhs)
    if e.when and meta.get(e.when[0]) not in e.when[1]:
        return True, lhs - rhs
    return {"==": lhs == rhs, ">=": lhs >= rhs, "<=": lhs <= rhs}[e.op], lhs - rhs


def _expected_text(e: Equation, values: dict, meta: dict) -> str:
    ok, diff = _eval(e, values, meta)
    if ok:
        return OK_MARK
    return f"{BAD_MARK} 差{diff:g}" if e.op == "==" else f"{BAD_MARK} 请核实"


def _recalc(layout: WorkbookLayout, tmp: Path, values: dict, meta: dict, name: str):
    spec = layout.spec
    src = templates_dir() / template_name(spec.edition)
    filled = fill.fill_workbook(src, tmp / f"{name}.xlsx", values, meta, fill.default_prose(spec))
    out = lo.recalc(filled, tmp / "recalc")
    return load_workbook(out, data_only=True)


def _checks_shown(layout: WorkbookLayout, wb) -> list[tuple[Check, str]]:
    return [(c, wb[s.name].cell(c.row, c.col).value) for s, c in layout.checks()]


def _summary(layout: WorkbookLayout, wb) -> str:
    sheet, r, c = layout.position(SUMMARY_KEY)
    return wb[sheet].cell(r, c).value


def _break(spec: Spec, values: dict, meta: dict, rule: str) -> tuple[dict, dict, Equation]:
    """Break the first equation of ``rule`` by a small change (activating its ``when``)."""
    e = next(e for e in spec.equations if e.rule == rule)
    v, m = dict(values), dict(meta)
    if e.when:
        m[e.when[0]] = e.when[1][0]
    lhs, rhs = sum(v[k] for k in e.lhs), sum(v[k] for k in e.rhs)
    if e.op == "==":
        v[e.lhs[0]] += 3
    elif e.op == ">=":
        v[e.rhs[0]] += lhs - rhs + 1
    else:
        v[e.lhs[0]] += rhs - lhs + 1
    assert not _eval(e, v, m)[0]
    return v, m, e


@pytest.mark.libreoffice
@lo.requires_lo
def test_lo_consistent_values_pass_every_check(layout: WorkbookLayout, tmp_path: Path) -> None:
    spec = layout.spec
    values = fill.valid_values(spec, 1)
    meta = fill.default_meta(spec)
    wb = _recalc(layout, tmp_path, values, meta, "valid")
    shown = _checks_shown(layout, wb)
    assert len(shown) == len(spec.equations)
    assert {v for _, v in shown} == {OK_MARK}
    assert _summary(layout, wb).startswith(OK_MARK)
    # the numbers survived the round trip, at the layout's positions
    for key in list(values)[:: max(1, len(values) // 20)]:
        sheet, r, c = layout.position(key)
        assert wb[sheet].cell(r, c).value == values[key]


def _rule_cases() -> list:
    cases = []
    for ed in EDITIONS:
        for rule in dict.fromkeys(e.rule for e in load_spec(ed).equations):
            cases.append(pytest.param(ed, rule, id=f"{ed}-{rule}", marks=libreoffice))
    return cases


@pytest.mark.parametrize(("edition", "rule"), _rule_cases())
def test_lo_broken_rule_shows_cross_and_difference(edition: str, rule: str, tmp_path: Path) -> None:
    spec = load_spec(edition)
    layout = workbook_layout(spec)
    values = fill.valid_values(spec, 2)
    v, m, broken = _break(spec, values, fill.default_meta(spec), rule)
    wb = _recalc(layout, tmp_path, v, m, "broken")
    shown = _checks_shown(layout, wb)
    bad = 0
    for chk, text in shown:
        want = _expected_text(chk.equation, v, m)
        assert text == want, (chk.equation.name, chk.equation.along.key, text, want)
        bad += text != OK_MARK
    assert bad >= 1
    assert any(c.equation is broken and t.startswith(BAD_MARK) for c, t in shown)
    summary = _summary(layout, wb)
    assert summary.startswith(BAD_MARK) and f"有{bad}处" in summary, summary


@pytest.mark.libreoffice
@lo.requires_lo
def test_lo_town_rule_only_applies_to_towns(tmp_path: Path) -> None:
    spec = load_spec(EDITIONS[-1])
    layout = workbook_layout(spec)
    v, m, e = _break(spec, fill.valid_values(spec, 3), fill.default_meta(spec), "T2-TOWN-RULES")
    level = next(c for c in spec.field(e.when[0]).choices if c not in e.when[1])
    m[e.when[0]] = level  # a county department may well make 规章
    wb = _recalc(layout, tmp_path, v, m, "county")
    assert {t for _, t in _checks_shown(layout, wb)} == {OK_MARK}


def _free_cells(spec: Spec, kind: str) -> list[str]:
    """Value cells of ``kind`` that take part in no relation: bad input there breaks no check."""
    used = {k for e in spec.equations for k in e.keys}
    return [k for k, c in spec.cells.items() if c.type == kind and k not in used]


@pytest.mark.libreoffice
@lo.requires_lo
def test_lo_conditional_formatting_fires(layout: WorkbookLayout, tmp_path: Path) -> None:
    spec = layout.spec
    values = fill.valid_values(spec, 4)
    meta = fill.default_meta(spec)

    ok_file = fill.fill_workbook(templates_dir() / template_name(spec.edition), tmp_path / "ok.xlsx",
                                 values, meta, fill.default_prose(spec))
    ok_cells = lo.html_cells(lo.to_html(ok_file, tmp_path / "ok"))
    red = [(s, rc) for s, cells in ok_cells.items() for rc, cell in cells.items() if cell.bgcolor == RED]
    assert red == [], "a consistent workbook shows red cells"

    v, m, broken = _break(spec, values, meta, "T3-IDENTITY")
    text_cell, neg_cell, frac_cell, blank_cell, plain_cell = _free_cells(spec, "count")[:5]
    v.update({text_cell: "无", neg_cell: -1, frac_cell: 2.5, blank_cell: None})
    bad_file = fill.fill_workbook(templates_dir() / template_name(spec.edition), tmp_path / "bad.xlsx",
                                  v, m, fill.default_prose(spec))
    cells = lo.html_cells(lo.to_html(bad_file, tmp_path / "bad"))

    def colour(key: str) -> str | None:
        sheet, r, c = layout.position(key)
        return cells[sheet][(r, c)].bgcolor

    sheet = next(s for s, c in layout.checks() if c.equation is broken)
    chk = next(c for c in sheet.checks if c.equation is broken)
    assert cells[sheet.name][(chk.row, chk.col)].text.startswith(BAD_MARK)
    assert cells[sheet.name][(chk.row, chk.col)].bgcolor == RED
    for k in broken.lhs:
        assert colour(k) == RED, k
    # a relation that still holds: neither its check nor its totals are red
    fine = next(c for c in sheet.checks if c.equation.rule == broken.rule and _eval(c.equation, v, m)[0])
    assert cells[sheet.name][(fine.row, fine.col)].text == OK_MARK
    assert cells[sheet.name][(fine.row, fine.col)].bgcolor != RED
    for k in fine.equation.lhs:
        assert colour(k) == YELLOW, k
    # bad input
    assert colour(text_cell) == RED
    assert colour(neg_cell) == RED
    assert colour(frac_cell) == RED
    assert colour(blank_cell) == BLANK
    assert colour(plain_cell) == YELLOW
    summary = layout.position(SUMMARY_KEY)
    assert cells[summary[0]][summary[1:]].bgcolor == RED


@pytest.mark.libreoffice
@lo.requires_lo
def test_lo_renders_templates_to_pdf(ed: str, layout: WorkbookLayout, committed: Path, tmp_path: Path) -> None:
    pdf = lo.to_pdf(committed, tmp_path)
    pngs = lo.pdf_to_pngs(pdf, tmp_path / "png", dpi=60)
    # every sheet's form fits on one page across (fit to width) and down
    assert len(pngs) == len(layout.sheets)
    assert all(p.stat().st_size > 2000 for p in pngs)
    for pgm in lo.pdf_to_pgms(pdf, tmp_path / "pgm", dpi=60):
        page = lo.read_pgm(pgm)
        assert page.ink() > 0.005, f"{pgm.name} is blank"
        left, right = page.ink_columns()
        assert 0 < left and right < page.width - 1, f"{pgm.name}: the form touches the page edge"
    # every page: the header (a line for the unit, the sheet, the edition) and 第 N 页，共 M 页
    pages = lo.pdf_pages(pdf)
    assert len(pages) == len(layout.sheets)
    for n, (text, sheet) in enumerate(zip(pages, layout.sheets, strict=True), start=1):
        head = text.strip().splitlines()[0]
        assert "单位：" in head and sheet.name in head and f"政府信息公开工作年度报告（{ed}版）" in head, head
        assert f"第 {n} 页，共 {len(pages)} 页" in text
    # no clipped columns: every label of each form is on its page; no text drawn over other text
    raw = [re.sub(r"\s+", "", t) for t in lo.pdf_pages_raw(pdf)]
    for sheet, text in zip(layout.sheets, raw, strict=True):
        labels = [b.text for b in sheet.boxes if b.role in ("label", "header", "caption", "meta_label") and b.text]
        assert labels and not [t for t in labels if re.sub(r"\s+", "", t) not in text], sheet.name
    assert lo.overlapping_lines(lo.pdf_words(pdf)) == []
    spec = layout.spec
    years = f"如 {spec.last_year or spec.first_year}（本模板用于"
    assert years in pages[0]
    assert "○ 尚未填写" in pages[0] and OK_MARK + " 表内勾稽关系全部相符" not in pages[0]  # a blank form is not "all fine"


@pytest.mark.libreoffice
@lo.requires_lo
def test_lo_summary_of_a_blank_and_a_partly_filled_form(layout: WorkbookLayout, tmp_path: Path) -> None:
    """Blank: ○ 尚未填写; three cells left blank: △ with the count; complete and consistent: √ (above)."""
    spec = layout.spec
    meta = fill.default_meta(spec)
    wb = _recalc(layout, tmp_path, {}, meta, "blank")
    assert _summary(layout, wb).startswith(EMPTY_MARK)
    values = fill.valid_values(spec, 5)
    for k in list(_free_cells(spec, "count"))[:3]:
        values[k] = None
    wb = _recalc(layout, tmp_path, values, meta, "partly")
    summary = _summary(layout, wb)
    assert summary.startswith(PARTLY_MARK) and "还有3个单元格未填写" in summary, summary
