"""The annotated copy's 校验结果 sheet as a clerk prints it: rendered by LibreOffice to PDF and read back.

Budget (README, 打印): 校验结果 prints on A4 landscape, the header row and the unit/year on every
page; up to 20 findings rows fit on one page (a blank form's hundreds of empty cells are one row per
sheet); no row's wrapped text runs into the next, no column is cut off.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import lo
import pytest

from gxsheet.check.validate import validate_record
from gxsheet.core.layout import RESULT_SHEET
from gxsheet.read.workbook import read_report
from gxsheet.render.annotate import annotate, clear_marks
from gxsheet.render.book_port import OpenpyxlBook
from gxsheet.render.findings_report import display_rows
from gxsheet.render.samples import write_sample
from gxsheet.render.template import template_file

pytestmark = [pytest.mark.libreoffice, lo.requires_lo]

ROWS_PER_PAGE = 20


def _annotated(src: Path, out: Path) -> tuple[Path, list]:
    rec = read_report(src)
    findings = validate_record(rec)
    book = OpenpyxlBook(src)
    annotate(book, findings, "zh", record=rec)
    book.save(out)
    return out, findings


def _result_pages(pdf: Path) -> list[tuple[int, str]]:
    """(page number, text) of the pages printed from 校验结果 (its name is the header's centre)."""
    return [(n, text) for n, text in enumerate(lo.pdf_pages(pdf), start=1)
            if RESULT_SHEET in text.strip().splitlines()[0]]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _printed_rows(xlsx: Path) -> list[tuple[str, str]]:
    """(位置, 说明) of every findings row of 校验结果, as written."""
    from openpyxl import load_workbook

    ws = load_workbook(xlsx)[RESULT_SHEET]
    return [(str(ws.cell(r, 4).value or ""), str(ws.cell(r, 5).value)) for r in range(4, ws.max_row + 1)
            if ws.cell(r, 5).value]


def _check(xlsx: Path, pdf: Path, unit: str, rows: list) -> list[tuple[int, str]]:
    pages = _result_pages(pdf)
    assert pages, "校验结果 printed nothing"
    assert len(pages) <= max(1, math.ceil(len(rows) / ROWS_PER_PAGE)), f"{len(rows)} rows on {len(pages)} pages"
    total = len(lo.pdf_pages(pdf))
    for n, text in pages:
        head = text.strip().splitlines()[0]
        assert unit in head, head  # who the page is about, on every page
        assert "序号" in text and "说明" in text  # the header row repeats
        assert f"第 {n} 页，共 {total} 页" in text
    numbers = {n for n, _ in pages}
    lines = [ln for ln in lo.pdf_lines(pdf) if ln.page in numbers]
    assert lo.overlapping_lines(lines) == [], "wrapped text runs into the next row (row too short) or a column is cut"
    raw = _squash(lo.pdf_text_raw(pdf))
    printed = _printed_rows(xlsx)
    assert len(printed) == len(rows)
    for where, message in printed:  # every location and message printed in full
        assert _squash(where) in raw, where
        assert _squash(message) in raw, message
    return pages


def test_six_findings_print_on_one_page(tmp_path):
    src = write_sample(tmp_path / "乙镇.xlsx", "2021", seed=2, meta={"unit_name": "乙镇人民政府"},
                       values={"t3.received.natural": "无", "t4.cases.review_total": 99, "t2_8.fees.amount": "300元",
                               "t3.received.business": 2.5, "t3.carried.natural": -1})
    out, findings = _annotated(src, tmp_path / "乙镇.校验.xlsx")
    rows = display_rows(findings, "zh")
    assert len(rows) >= 6
    pages = _check(out, lo.to_pdf(out, tmp_path / "pdf"), "乙镇人民政府", rows)
    assert len(pages) == 1


def test_blank_template_is_a_few_rows_not_fifteen_pages(tmp_path):
    out, findings = _annotated(template_file("2021"), tmp_path / "空白.校验.xlsx")
    rows = display_rows(findings, "zh")
    assert len(findings) > 150 and len(rows) <= 15  # one row per sheet's blank cells
    pages = _check(out, lo.to_pdf(out, tmp_path / "pdf"), "（未填单位名称）", rows)
    assert len(pages) == 1
    text = pages[0][1]
    assert "表三 有 175 个单元格未填写" in text and "○" not in text.split("\n")[0]


def test_many_findings_repeat_the_header_on_every_page(tmp_path):
    from gxsheet.core.spec import load_spec

    spec = load_spec("2019")
    keys = [k for k, c in spec.cells.items() if c.type == "count"][:45]
    src = write_sample(tmp_path / "丙乡.xlsx", "2019", seed=4, meta={"unit_name": "丙乡人民政府"},
                       values={k: "无" for k in keys})
    out, findings = _annotated(src, tmp_path / "丙乡.校验.xlsx")
    rows = display_rows(findings, "zh")
    assert len(rows) > ROWS_PER_PAGE
    pages = _check(out, lo.to_pdf(out, tmp_path / "pdf"), "丙乡人民政府", rows)
    assert len(pages) >= 2


def test_rerun_clears_the_collapsed_marks(tmp_path):
    """A blank sheet's cells are one row on 校验结果 but each is marked; clearing restores every one."""
    src = template_file("2021")
    book = OpenpyxlBook(src)
    rec = read_report(src)
    annotate(book, validate_record(rec), "zh", record=rec)
    assert clear_marks(book) > 150
    assert RESULT_SHEET not in book.sheet_names()
    fresh = OpenpyxlBook(src)
    for name in fresh.sheet_names():
        for row in fresh.wb[name].iter_rows():
            for cell in row:
                assert book.get_fill(name, cell.coordinate) == fresh.get_fill(name, cell.coordinate)
                assert book.wb[name][cell.coordinate].comment is None


def _typed_into_template(path: Path, unit: str) -> Path:
    """The 2021 template as a clerk fills it in a spreadsheet program: values and 基本信息 typed in,
    the page headers left as the template has them (a line to write the unit on)."""
    from openpyxl import load_workbook

    from gxsheet.core.layout import workbook_layout
    from gxsheet.core.spec import load_spec
    from gxsheet.render.samples import default_meta, default_prose, valid_values

    spec = load_spec("2021")
    layout = workbook_layout(spec)
    wb = load_workbook(template_file("2021"))
    values = dict(valid_values(spec, 7))
    values["t3.received.natural"] += 1  # a relation broken: 校验结果 has rows
    values["t4.cases.review_upheld"] = "无"
    typed = {**values, **{f"meta.{k}": v for k, v in default_meta(spec, unit_name=unit, level="镇").items()},
             **{f"prose.{k}": v for k, v in default_prose(spec).items()}}
    for key, v in typed.items():
        sheet, r, c = layout.position(key)
        wb[sheet].cell(r, c).value = v
    wb.save(path)
    return path


def test_the_whole_annotated_copy_prints(tmp_path):
    """Every sheet of the annotated copy: the unit named on every page (the template's blank line
    filled in), each form on one page with all its labels, 校验结果 after them, no text over text."""
    from gxsheet.core.layout import workbook_layout
    from gxsheet.core.spec import load_spec
    from gxsheet.render.template import BLANK_UNIT

    src = _typed_into_template(tmp_path / "丁镇.xlsx", "丁镇人民政府")
    out, findings = _annotated(src, tmp_path / "丁镇.校验.xlsx")
    pdf = lo.to_pdf(out, tmp_path / "pdf")
    pages = lo.pdf_pages(pdf)
    raw = [_squash(t) for t in lo.pdf_pages_raw(pdf)]
    layout = workbook_layout(load_spec("2021"))
    rows = display_rows(findings, "zh")
    assert len(pages) == len(layout.sheets) + max(1, math.ceil(len(rows) / ROWS_PER_PAGE))
    by_sheet: dict[str, int] = {}
    for n, text in enumerate(pages, start=1):
        head = text.strip().splitlines()[0]
        assert "丁镇人民政府" in head and BLANK_UNIT not in head, head  # whose report, on every page
        assert "###" not in text
        by_sheet[next(s.name for s in layout.sheets if s.name in head) if RESULT_SHEET not in head else RESULT_SHEET] = n
    for sheet in layout.sheets:  # every form prints whole on its page: no label cut off
        if sheet.kind == "table":
            labels = [b.text for b in sheet.boxes if b.role in ("label", "header", "caption") and b.text]
            missing = [t for t in labels if _squash(t) not in raw[by_sheet[sheet.name] - 1]]
            assert not missing, (sheet.name, missing)
    assert lo.overlapping_lines(lo.pdf_words(pdf)) == []
