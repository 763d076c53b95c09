"""LibreOffice headless helpers for tests: recalculate, convert, render.

A workbook written by openpyxl has formulas but no cached results; opening it in LibreOffice with
"always recalculate on load" and saving it again gives a file whose cached values openpyxl can read
with ``data_only=True`` — the same numbers Excel or WPS would show. One private LibreOffice profile
is made per test process (a fresh profile is slow to initialise, and a shared one would clash with
a LibreOffice the developer has open), with the recalc options preset in its
``registrymodifications.xcu``.
"""

from __future__ import annotations

import atexit
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from lxml import html as lxml_html

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
TIMEOUT = 240

XLSX_FILTER = 'xlsx:Calc MS Excel 2007 XML'
ODS_FILTER = "ods"
PDF_FILTER = "pdf:calc_pdf_Export"
HTML_FILTER = "html:HTML (StarCalc)"

_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse">\
<value>false</value></prop></item>
</oor:items>
"""

requires_lo = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")


def available() -> bool:
    return SOFFICE is not None


@cache
def profile() -> Path:
    """A private LibreOffice user profile with recalc-on-load forced (removed at exit)."""
    root = Path(tempfile.mkdtemp(prefix="gxsheet-lo-"))
    user = root / "user"
    user.mkdir()
    (user / "registrymodifications.xcu").write_text(_XCU, encoding="utf-8")
    atexit.register(shutil.rmtree, root, True)
    return root


def convert(src: str | Path, target: str, outdir: str | Path) -> Path:
    """Convert ``src`` with ``soffice --convert-to target`` into ``outdir``; return the new file.

    ``target`` is ``ext`` or ``ext:Filter name`` (see the *_FILTER constants). Raises on failure,
    with LibreOffice's output, so a broken conversion is a test error rather than a silent skip.
    """
    if SOFFICE is None:
        raise RuntimeError("soffice not found")
    src, outdir = Path(src), Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    ext = target.split(":", 1)[0]
    out = outdir / f"{src.stem}.{ext}"
    if out.exists():
        out.unlink()
    cmd = [SOFFICE, f"-env:UserInstallation={profile().as_uri()}", "--headless", "--norestore",
           "--nologo", "--nodefault", "--nolockcheck", "--convert-to", target, "--outdir", str(outdir), str(src)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=TIMEOUT)
    if not out.exists():  # a CSV of one named sheet is written as <stem>-<sheet>.csv
        named = list(outdir.glob(f"{src.stem}-*.{ext}"))
        out = named[0] if len(named) == 1 else out
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"soffice failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    return out


def recalc(src: str | Path, outdir: str | Path) -> Path:
    """Open in LibreOffice (recalculating every formula) and save as .xlsx with cached values."""
    return convert(src, XLSX_FILTER, outdir)


def to_ods(src: str | Path, outdir: str | Path) -> Path:
    return convert(src, ODS_FILTER, outdir)


def to_pdf(src: str | Path, outdir: str | Path) -> Path:
    return convert(src, PDF_FILTER, outdir)


def to_html(src: str | Path, outdir: str | Path) -> Path:
    """HTML export: LibreOffice writes each cell's displayed background, conditional formats included."""
    return convert(src, HTML_FILTER, outdir)


def pdf_to_pngs(pdf: str | Path, outdir: str | Path, *, dpi: int = 60) -> list[Path]:
    """Render every page of ``pdf`` with pdftoppm; return the PNGs in page order."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise RuntimeError("pdftoppm not found")
    pdf, outdir = Path(pdf), Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    prefix = outdir / pdf.stem
    subprocess.run([exe, "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True, timeout=TIMEOUT)
    return sorted(outdir.glob(f"{pdf.stem}-*.png"))


def pdf_to_pgms(pdf: str | Path, outdir: str | Path, *, dpi: int = 60) -> list[Path]:
    """Render every page of ``pdf`` as greyscale PGM: trivially parsed without an imaging library."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise RuntimeError("pdftoppm not found")
    pdf, outdir = Path(pdf), Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    prefix = outdir / (pdf.stem + "-gray")
    subprocess.run([exe, "-r", str(dpi), "-gray", str(pdf), str(prefix)], check=True, timeout=TIMEOUT)
    return sorted(outdir.glob(f"{prefix.name}-*.pgm"))


@dataclass(frozen=True)
class Page:
    width: int
    height: int
    pixels: bytes  # one byte per pixel, 0 black .. 255 white

    def ink(self, threshold: int = 200) -> float:
        """Fraction of pixels darker than ``threshold``."""
        return sum(1 for b in self.pixels if b < threshold) / max(1, len(self.pixels))

    def ink_columns(self, threshold: int = 200) -> tuple[int, int]:
        """Leftmost and rightmost pixel column with ink (-1, -1 on a blank page)."""
        cols = [x for x in range(self.width)
                if any(self.pixels[y * self.width + x] < threshold for y in range(0, self.height, 2))]
        return (cols[0], cols[-1]) if cols else (-1, -1)


def read_pgm(path: str | Path) -> Page:
    """Parse a binary (P5, 8-bit) PGM as written by pdftoppm."""
    data = Path(path).read_bytes()
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    if not m:
        raise ValueError(f"{path}: not a binary PGM")
    w, h = int(m.group(1)), int(m.group(2))
    return Page(w, h, data[m.end():m.end() + w * h])


def pdf_pages(pdf: str | Path) -> list[str]:
    """The text of every page of ``pdf`` (pdftotext -layout), in page order."""
    exe = shutil.which("pdftotext")
    if exe is None:
        raise RuntimeError("pdftotext not found")
    out = subprocess.run([exe, "-layout", str(pdf), "-"], check=True, capture_output=True, timeout=TIMEOUT).stdout
    pages = out.decode("utf-8").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def pdf_text_raw(pdf: str | Path) -> str:
    """The text of ``pdf`` in content order (pdftotext -raw): a cell's wrapped lines stay together."""
    exe = shutil.which("pdftotext")
    if exe is None:
        raise RuntimeError("pdftotext not found")
    return subprocess.run([exe, "-raw", str(pdf), "-"], check=True, capture_output=True, timeout=TIMEOUT).stdout.decode()


def pdf_pages_raw(pdf: str | Path) -> list[str]:
    """The text of every page of ``pdf`` in content order (``pdftotext -raw``), in page order."""
    pages = pdf_text_raw(pdf).split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


@dataclass(frozen=True)
class TextLine:
    """One line of text on a PDF page, with its box in points (origin top left)."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


def _boxes(pdf: str | Path, option: str, element: str) -> list[TextLine]:
    """The ``element``s (line / word) of ``pdftotext option`` with their boxes, pages numbered from 1."""
    exe = shutil.which("pdftotext")
    if exe is None:
        raise RuntimeError("pdftotext not found")
    out = subprocess.run([exe, option, str(pdf), "-"], check=True, capture_output=True, timeout=TIMEOUT).stdout
    doc = lxml_html.fromstring(out.decode("utf-8"))
    return [TextLine(n, *(float(e.get(k)) for k in ("xmin", "ymin", "xmax", "ymax")),
                     " ".join(w.text_content() for w in e.xpath(".//word")) if element == "line" else e.text_content())
            for n, page in enumerate(doc.xpath("//page"), start=1) for e in page.xpath(f".//{element}")]


def pdf_lines(pdf: str | Path) -> list[TextLine]:
    """Every text line of ``pdf`` with its box (``pdftotext -bbox-layout``), pages numbered from 1."""
    return _boxes(pdf, "-bbox-layout", "line")


def pdf_words(pdf: str | Path) -> list[TextLine]:
    """Every word of ``pdf`` with its box (``pdftotext -bbox``): a cell's text, or a line of it."""
    return _boxes(pdf, "-bbox", "word")


def overlapping_lines(lines: list[TextLine], tolerance: float = 3.0) -> list[tuple[TextLine, TextLine]]:
    """Pairs of lines on one page whose boxes overlap: wrapped text in a row too short for it
    runs into the next row (LibreOffice draws it anyway, over the row below). Page by page, all
    pairs at once (a county's 汇总 prints ~100,000 lines)."""
    import numpy as np

    out = []
    by_page: dict[int, list[TextLine]] = {}
    for ln in lines:
        by_page.setdefault(ln.page, []).append(ln)
    for page in by_page.values():
        box = np.array([(ln.x0, ln.y0, ln.x1, ln.y1) for ln in page])
        dx = np.minimum.outer(box[:, 2], box[:, 2]) - np.maximum.outer(box[:, 0], box[:, 0])
        dy = np.minimum.outer(box[:, 3], box[:, 3]) - np.maximum.outer(box[:, 1], box[:, 1])
        hits = np.argwhere(np.triu((dx > tolerance) & (dy > tolerance), k=1))
        out += [(page[i], page[j]) for i, j in hits]
    return out


@dataclass(frozen=True)
class HtmlCell:
    text: str
    bgcolor: str | None  # "#RRGGBB" as LibreOffice displays it, conditional formats applied


def html_cells(path: str | Path) -> dict[str, dict[tuple[int, int], HtmlCell]]:
    """Cells of a LibreOffice HTML export: sheet -> (row, col) -> displayed text and background.

    LibreOffice's HTML export writes the background a cell shows on screen, with conditional
    formatting evaluated, which is the only reliable way to see from outside whether a rule fired.
    Rows and columns are 1-based sheet coordinates (the export starts at A1), merged spans are
    resolved from rowspan/colspan.
    """
    doc = lxml_html.fromstring(Path(path).read_bytes())
    names = [em.text_content() for em in doc.xpath("//h1/em")]
    tables = doc.xpath("//table[not(ancestor::table)]")
    if len(tables) > len(names):  # an overview table of links may precede the sheets
        tables = tables[len(tables) - len(names):]
    out: dict[str, dict[tuple[int, int], HtmlCell]] = {}
    for name, table in zip(names, tables, strict=False):
        cells: dict[tuple[int, int], HtmlCell] = {}
        taken: set[tuple[int, int]] = set()
        for r, tr in enumerate(table.xpath("./tr|./tbody/tr"), start=1):
            c = 1
            for td in tr.xpath("./td"):
                while (r, c) in taken:
                    c += 1
                rs, cs = int(td.get("rowspan", 1)), int(td.get("colspan", 1))
                for dr in range(rs):
                    for dc in range(cs):
                        taken.add((r + dr, c + dc))
                bg = td.get("bgcolor")
                cells[(r, c)] = HtmlCell(td.text_content().strip(), bg.upper() if bg else None)
                c += cs
        out[name] = cells
    return out


# ---------------------------------------------------------------------------------------------
# LibreOffice driven through Python-UNO (tests/uno_calc.py, run by the Python python3-uno is for)

UNO_PYTHON = "/usr/bin/python3"
UNO_SCRIPT = Path(__file__).with_name("uno_calc.py")
UNO_TIMEOUT = 480


def uno_available() -> bool:
    """soffice and Debian's python3-uno (the bridge is built for the system interpreter only)."""
    if SOFFICE is None or not Path(UNO_PYTHON).exists():
        return False
    probe = subprocess.run([UNO_PYTHON, "-c", "import uno"], capture_output=True, timeout=60, check=False)
    return probe.returncode == 0


requires_uno = pytest.mark.skipif(not uno_available(), reason="LibreOffice with python3-uno is not installed")


def run_uno(jobs: list[dict], workdir: str | Path) -> list[dict]:
    """Run ``jobs`` (see tests/uno_calc.py) in one LibreOffice session; one result per job.

    Bounded in time: the script ends its soffice in ``finally``; should the script itself hang,
    its whole process group (soffice included) is killed here.
    """
    import json
    import os
    import signal

    workdir = Path(workdir)
    spec, out = workdir / "uno-jobs.json", workdir / "uno-result.json"
    spec.write_text(json.dumps({"soffice": SOFFICE, "jobs": jobs}, ensure_ascii=False), encoding="utf-8")
    proc = subprocess.Popen([UNO_PYTHON, str(UNO_SCRIPT), str(spec), str(out)], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        log, _ = proc.communicate(timeout=UNO_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RuntimeError(f"LibreOffice (UNO) did not finish in {UNO_TIMEOUT} s") from None
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"uno_calc.py failed ({proc.returncode}):\n{log}")
    return json.loads(out.read_text(encoding="utf-8"))["results"]
