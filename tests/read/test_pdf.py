"""PDF import: reports as published — Word exported to PDF by a real office suite — read back cell by cell.

Every example and two samples of each edition are written as Word documents, rendered to PDF by
LibreOffice (headless, one batch), and imported: every value and every metadata field the document
carries comes back exactly, and validating the PDF reports the same rules as validating the Word
document. Three more PDFs imitate what published ones do to tables: a table split over two pages
with and without its header repeated (and page headers and footers with page numbers), and cells
wrapping onto two lines in a table whose rows may break across pages. A scan (no text layer) and a
damaged file are one clear line and exit 2.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import lo
import pdfplumber
import pytest
from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

from gxsheet.check.validate import validate_record
from gxsheet.cli.app import main
from gxsheet.read.pdf import _PAGE_NUMBER, pdf_blocks
from gxsheet.read.published import import_report
from gxsheet.read.workbook import read_report
from gxsheet.render.docx import write_docx
from gxsheet.render.samples import write_sample

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.xlsx"))

pytestmark = [lo.requires_lo, pytest.mark.libreoffice, pytest.mark.slow]


def to_pdfs(docs: list[Path], outdir: Path) -> dict[str, Path]:
    """All ``docs`` rendered to PDF by one LibreOffice run (a start costs seconds)."""
    cmd = [lo.SOFFICE, f"-env:UserInstallation={lo.profile().as_uri()}", "--headless", "--norestore", "--nologo",
           "--nodefault", "--nolockcheck", "--convert-to", "pdf", "--outdir", str(outdir), *map(str, docs)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=lo.TIMEOUT * 2)
    out = {d.stem: outdir / f"{d.stem}.pdf" for d in docs}
    assert all(p.exists() for p in out.values()), out
    return out


def _samples(folder: Path) -> list[Path]:
    out = []
    for edition in ("2019", "2021"):
        for seed in (3, 11):
            year = 2020 if edition == "2019" else 2022
            meta = {"unit_name": f"某县样例局{seed}", "parent": None, "filler": None, "phone": None, "year": year,
                    "period_start": f"{year}-01-01", "period_end": f"{year}-12-31"}
            out.append(write_sample(folder / f"sample-{edition}-{seed}.xlsx", edition, seed=seed, meta=meta))
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """(workbook, docx, pdf) of every example and of the samples."""
    folder = tmp_path_factory.mktemp("pdf")
    books = EXAMPLES + _samples(folder)
    docs = []
    for book in books:
        doc = folder / f"{book.stem}.docx"
        write_docx(read_report(book), doc)
        docs.append(doc)
    pdfs = to_pdfs(docs, folder)
    return [(b, d, pdfs[d.stem]) for b, d in zip(books, docs, strict=True)]


def _prose(text: str | None) -> str:
    """Prose as compared: without whitespace and without the 、 and ， LibreOffice leaves out of the
    PDF when one hangs at the end of a justified line (the rendered page shows none either)."""
    return re.sub(r"[\s、，]", "", text or "")


def test_every_example_and_sample_comes_back_cell_by_cell(rendered):
    assert len(rendered) == len(EXAMPLES) + 4
    for book, doc, pdf in rendered:
        original = read_report(book)
        word = import_report(doc).record
        back = import_report(pdf).record
        assert back.edition == original.edition, pdf.name
        assert back.values == original.values, pdf.name
        assert back.meta == word.meta, pdf.name  # what the document carries (not 填报人 or 电话)
        for key in ("unit_name", "year", "period_start", "period_end"):
            assert back.role(key) == original.role(key), (pdf.name, key)
        assert {k: _prose(v) for k, v in back.prose.items()} == {k: _prose(v) for k, v in word.prose.items()}, pdf.name
        assert back.headings_found == word.headings_found, pdf.name
        assert Counter(f.rule for f in validate_record(back)) == Counter(f.rule for f in validate_record(word)), pdf.name


def test_locations_are_pages_and_tables_as_a_person_sees_them(rendered):
    _book, _doc, pdf = next(r for r in rendered if r[0].name.startswith("示例-2021-某镇"))
    rec = import_report(pdf).record
    assert re.fullmatch(r"第\d+页 表格\d+ 第\d+行第\d+列", rec.where["t3.received.natural"])
    assert re.fullmatch(r"第\d+页 第\d+行", rec.where["prose.s3"])
    fs = validate_record(rec)
    assert all("page" in f.message_en for f in fs if f.cells and f.cells[0].startswith("第"))


# ------------------------------------------------------------------ published layouts


def _furnish(doc: Document) -> None:
    """A running header and a footer 第 N 页 共 M 页 with live page fields, as offices print them."""
    section = doc.sections[0]
    section.header.paragraphs[0].text = "某县人民政府信息公开专栏"
    p = section.footer.paragraphs[0]
    p.add_run("第 ")
    for field, tail in (("PAGE", " 页 共 "), ("NUMPAGES", " 页")):
        fld = OxmlElement("w:fldSimple")
        fld.set(qn("w:instr"), field)
        inner = OxmlElement("w:r")
        t = OxmlElement("w:t")
        t.text = "1"
        inner.append(t)
        fld.append(inner)
        p._p.append(fld)
        p.add_run(tail)


def _table_three(doc: Document):
    return next(t for t in doc.tables if "勾稽关系" in t.cell(0, 0).text)


def _push_down(doc: Document, table, n: int) -> None:
    """``n`` paragraphs of prose before the table, so the page ends inside it."""
    body = table._tbl
    for i in range(n):
        p = OxmlElement("w:p")
        r = OxmlElement("w:r")
        t = OxmlElement("w:t")
        t.text = f"（{i + 1}）本年度依申请公开工作按规定办理，答复规范，材料归档完整，确保每一件申请都在法定期限内办结并留存记录。"
        r.append(t)
        p.append(r)
        body.addprevious(p)


def _layouts(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    """(original workbook, PDF) of the three published layouts."""
    book = write_sample(tmp_path / "layout.xlsx", "2021", seed=17,
                        meta={"unit_name": "某县住房和城乡建设局", "parent": None, "filler": None, "phone": None,
                              "year": 2022, "period_start": "2022-01-01", "period_end": "2022-12-31"})
    base = tmp_path / "base.docx"
    write_docx(read_report(book), base)
    docs = []
    for name in ("repeated-header", "no-repeated-header", "wrapping-cells"):
        doc = Document(str(base))
        _furnish(doc)
        t3 = _table_three(doc)
        if name == "repeated-header":
            _push_down(doc, t3, 10)
        elif name == "no-repeated-header":
            _push_down(doc, t3, 12)
            for el in t3._tbl.iter(qn("w:tblHeader")):
                el.getparent().remove(el)
        else:
            _push_down(doc, t3, 4)
            for table in doc.tables:
                for el in list(table._tbl.iter(qn("w:cantSplit"))):
                    el.getparent().remove(el)
                for row in table.rows:
                    for cell in row.cells:
                        for para in cell.paragraphs:
                            for run in para.runs:
                                run.font.size = Pt(13)
        path = tmp_path / f"{name}.docx"
        doc.save(str(path))
        docs.append(path)
    pdfs = to_pdfs(docs, tmp_path)
    return {d.stem: (book, pdfs[d.stem]) for d in docs}


def _t3_pages(pdf: Path) -> list[int]:
    with pdfplumber.open(str(pdf)) as doc:
        return [i for i, page in enumerate(doc.pages, 1)
                if any(any(c and "结转" in c for row in t.extract() for c in row) or
                       any(c and "予以公开" in c for row in t.extract() for c in row) or
                       any(c and "不予处理" in c for row in t.extract() for c in row) for t in page.find_tables())]


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    return _layouts(tmp_path_factory.mktemp("layouts"))


def test_published_layouts_come_back_cell_by_cell(layouts):
    for name, (book, pdf) in layouts.items():
        pages = _t3_pages(pdf)
        assert len(pages) >= 2, (name, pages)  # 表三 really is split over pages
        with pdfplumber.open(str(pdf)) as doc:
            second = doc.pages[pages[1] - 1].extract_text()
            footer = doc.pages[0].extract_text().splitlines()[-1]
        assert re.search(r"第\s*1\s*页\s*共\s*\d+\s*页", footer), footer  # page furniture is there …
        if name == "repeated-header":
            assert "勾稽关系" in second
        if name == "no-repeated-header":
            assert "勾稽关系" not in second
        imported = import_report(pdf)
        rec = imported.record
        original = read_report(book)
        assert rec.values == original.values, name
        assert rec.role("unit_name") == original.role("unit_name"), name
        assert rec.structure == [] and rec.missing == set(), name
        assert not [n for n in imported.notes if "未识别" in n.zh or "再次出现" in n.zh], (name, imported.notes)
        texts = " ".join(p.text for p in pdf_blocks(pdf) if hasattr(p, "text"))
        assert "信息公开专栏" not in texts and not re.search(r"第\s*\d+\s*页\s*共", texts)  # … and is not report text


def test_wrapped_cells_are_joined(layouts):
    _book, pdf = layouts["wrapping-cells"]
    with pdfplumber.open(str(pdf)) as doc:
        wrapped = [c for page in doc.pages for t in page.find_tables() for row in t.extract() for c in row if c and "\n" in c]
    assert len(wrapped) > 10  # the labels do wrap on the page
    labels = [c.text for b in pdf_blocks(pdf) if not hasattr(b, "text") for row in b.rows for c in row]
    assert "（二）部分公开（区分处理的，只计这一情形，不计其他情形）" in labels


# ------------------------------------------------------------------ what is not a text-layer PDF


def test_a_scan_has_no_text_layer_exit_2(tmp_path, capsys):
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (800, 1100), "white")
    ImageDraw.Draw(img).rectangle((100, 200, 700, 900), outline="black", width=3)
    scan = tmp_path / "扫描件.pdf"
    img.save(scan, "PDF", resolution=100)
    out = tmp_path / "扫描件.xlsx"
    assert main(["import", str(scan), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "没有文字层" in err and "扫描件.pdf" in err and len(err.splitlines()) == 1
    assert not out.exists()
    assert main(["validate", str(scan)]) == 2
    assert main(["import", str(scan), "-o", str(out), "--lang", "en"]) == 2
    assert "no text layer" in capsys.readouterr().err


def test_a_damaged_pdf_is_one_line_exit_2(tmp_path, capsys, layouts):
    _book, pdf = layouts["repeated-header"]
    broken = tmp_path / "损坏.pdf"
    broken.write_bytes(pdf.read_bytes()[:2000])
    assert main(["import", str(broken), "-o", str(tmp_path / "x.xlsx")]) == 2
    err = capsys.readouterr().err.strip()
    assert "损坏.pdf" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("text,furniture", [("— 2 —", True), ("- 12 -", True), ("第 3 页", True), ("2/5", True),
                                            ("第3页 共9页", True), ("2021年", False), ("三、收到和处理", False)])
def test_page_numbers_are_furniture(text, furniture):
    assert bool(_PAGE_NUMBER.match(text)) is furniture
