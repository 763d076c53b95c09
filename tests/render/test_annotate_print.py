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
