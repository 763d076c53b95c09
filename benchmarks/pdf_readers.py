"""Which PDF library reads published reports: pypdfium2, pdfminer.six or pdfplumber, measured in one run.

``python benchmarks/pdf_readers.py [PDF …]`` (default: the examples written as Word and rendered to
PDF by LibreOffice). For each library: the time to get the text of every page (as a ratio to the
fastest, measured in the same run), whether its text keeps the characters of the page (those poppler's
pdftotext sees, order and spaces aside), and how many ruled tables it gives with their cells. gxsheet uses
pdfplumber: the table cells, with the box of every merged cell, are what the importer needs, and the
other two leave the grid to be rebuilt by hand from lines and rectangles.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def _pdfium(path: Path) -> tuple[str, int]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    text = "".join(page.get_textpage().get_text_range() for page in doc)
    doc.close()
    return text, 0  # no table model


def _pdfminer(path: Path) -> tuple[str, int]:
    from pdfminer.high_level import extract_text

    return extract_text(str(path)), 0  # characters, lines and rectangles; tables are left to the caller


def _pdfplumber(path: Path) -> tuple[str, int]:
    import pdfplumber

    with pdfplumber.open(str(path)) as pdf:
        text, tables = "", 0
        for page in pdf.pages:
            text += page.extract_text() or ""
            tables += len(page.find_tables())
    return text, tables


READERS = {"pypdfium2": _pdfium, "pdfminer.six": _pdfminer, "pdfplumber": _pdfplumber}


def _examples(folder: Path) -> list[Path]:
    import lo

    from gxsheet.read.workbook import read_report
    from gxsheet.render.docx import write_docx

    docs = []
    for book in sorted((ROOT / "examples").glob("*.xlsx")):
        doc = folder / f"{book.stem}.docx"
        write_docx(read_report(book), doc)
        docs.append(doc)
    cmd = [lo.SOFFICE, f"-env:UserInstallation={lo.profile().as_uri()}", "--headless", "--convert-to", "pdf",
           "--outdir", str(folder), *map(str, docs)]
    subprocess.run(cmd, check=True, capture_output=True)
    return sorted(folder.glob("*.pdf"))


def _chars(text: str) -> Counter[str]:
    """The characters of a text, order and whitespace aside (readers order lines differently)."""
    return Counter(re.sub(r"\s", "", text))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pdfs = [Path(p) for p in sys.argv[1:]] or _examples(Path(tmp))
        truth = {p: _chars(subprocess.run(["pdftotext", str(p), "-"], capture_output=True, text=True).stdout)
                 for p in pdfs}
        times: dict[str, float] = {}
        rows = []
        for name, fn in READERS.items():
            fn(pdfs[0])  # warm up: imports
            start = time.perf_counter()
            same = tables = 0
            for p in pdfs:
                text, n = fn(p)
                same += _chars(text) == truth[p]
                tables += n
            times[name] = time.perf_counter() - start
            rows.append((name, same, tables))
        fastest = min(times.values())
        print(f"{len(pdfs)} PDFs")
        print(f"{'library':14} {'time':>8} {'text as pdftotext':>18} {'ruled tables':>13}")
        for name, same, tables in rows:
            print(f"{name:14} {times[name] / fastest:7.1f}x {same:>10}/{len(pdfs):<7} {tables:>13}")


if __name__ == "__main__":
    main()
