"""Reports published as PDF, read from their text layer with pdfplumber.

Chosen after measuring the three maintained readers on real-layout PDFs (benchmarks/pdf_readers.py):
pypdfium2 is the fastest at plain text but knows nothing of tables; pdfminer.six gives characters
and ruling lines but leaves the grid to us; pdfplumber (pdfminer.six underneath) finds tables from
their ruling lines and gives every merged cell its bounding box — the one part that would otherwise
be hand-written infrastructure. Published reports draw the official tables with ruling lines, so
its "lines" strategy finds them.

What the page shows is turned into the blocks the shared core reads (:mod:`gxsheet.read.blocks`):

- **tables** in the collapsed shape Word stores: a merged cell appears once, in the row where it
  starts; in each row below that it covers it appears as one empty cell (a vertical continuation).
  The shape comes from pdfplumber's cell boxes, not from its expanded ``extract()`` grid, which
  cannot tell a horizontal merge from a vertical one. A cell's text wrapped onto several lines is
  joined back (a PDF has no paragraph marks inside a cell).
- **a table continued on the next page** (the last thing on one page, the first on the next, same
  left and right edges) is one table again; its header rows repeated at the top of the new page
  are dropped, and a row broken by the page end (its label on one page, the rest on the next) is
  joined.
- **running text** is lines joined into paragraphs: a line that reaches the right margin and is
  followed by a line that is not indented continues its paragraph, also across a page break.
- **page furniture** — page numbers (— 2 —, 第2页, 2/5) and running headers or footers repeated on
  most pages — is not report text and is dropped.

A PDF with no text layer (a scan) is refused with that reason, never guessed; so is an encrypted
one, and one whose text cannot be decoded (fonts without a character map give ``(cid:123)``).
Locations are given as a person sees them: 第2页 第5行 (the paragraph's first line on that page)
and 第2页 表格1 第5行第3列 (tables and their rows counted on the page the table starts on).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from gxsheet.core.errors import LoadError
from gxsheet.core.limits import DEFAULT_LIMITS, Limits
from gxsheet.core.record import Record
from gxsheet.read.blocks import Block, Cell, Imported, Para, TableBlock, ck, import_blocks, is_label

__all__ = ["import_pdf", "pdf_blocks", "read_pdf"]

#: gaps between characters narrower than this share of the font size are no space: CJK text set
#: with "autospace" (2021 年) has a quarter-em gap where the author typed none
_X_TOLERANCE_RATIO = 0.5
_TEXT = {"keep_blank_chars": True, "x_tolerance_ratio": _X_TOLERANCE_RATIO, "y_tolerance": 3}
#: page furniture: a page number alone on its line
_PAGE_NUMBER = re.compile(r"^[-—–－\s]*(?:第\s*)?\d{1,4}\s*(?:页)?(?:\s*[/／]\s*\d{1,4}|\s*共\s*\d{1,4}\s*页)?[-—–－\s]*$")
#: the share of the page height at its top and bottom where running headers and footers stand
_MARGIN_BAND = 0.1
_CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
_CID = re.compile(r"\(cid:\d+\)")
#: pages a report may have: real ones have 5 to 20; a PDF of hundreds of pages is not one report
MAX_PAGES = 100
#: drawn objects (characters, lines, rectangles, curves) one page may hold before the file is refused:
#: a page of a report has a few thousand; finding tables costs more than linear time in them
MAX_PAGE_OBJECTS = 60_000
#: bytes of drawing instructions one page may decompress to before they are parsed: a page of a
#: report has tens of KB; a few hundred KB of zeros can inflate to gigabytes that pdfminer would
#: decompress whole and then turn into millions of objects (MAX_PAGE_OBJECTS counts them too late)
MAX_PAGE_CONTENT_BYTES = 8 * 1024 * 1024


@dataclass
class _Line:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    page: int
    n: int  # line number on its page, counting text lines outside tables


@dataclass
class _Table:
    rows: list[list[Cell]]
    x0: float
    x1: float
    top: float
    bottom: float
    page: int
    where: str
    #: each merged or plain cell where its text stands: id(Cell) → (x0, x1, first row, last row)
    spans: dict[int, tuple[float, float, int, int]] = field(default_factory=dict)


def _error(source: str, code: str, zh: str, en: str) -> LoadError:
    return LoadError(source, code, f"{source}：{zh}", f"{source}: {en}")


def _join(lines: list[str]) -> str:
    """Lines of one cell or paragraph as one text: CJK text wraps anywhere, so no space is added
    where a line broke beside a CJK character; between two Latin words a space."""
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if out and not (_CJK.search(out[-1]) or _CJK.search(line[0])):
            out += " "
        out += line
    return out


def _cell_text(chars: list[dict]) -> str:
    from pdfplumber.utils import extract_text

    if not chars:
        return ""
    return _join(extract_text(chars, **_TEXT).split("\n"))


def _cluster(values: list[float], tol: float = 1.5) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > tol:
            out.append(v)
    return out


def _index(edges: list[float], v: float) -> int:
    return min(range(len(edges)), key=lambda i: abs(edges[i] - v))


def _collapse(table, chars: list[dict], page_no: int, t_no: int) -> _Table:
    """pdfplumber's cell boxes → rows in the collapsed shape, each cell with its text."""
    boxes = table.cells
    xs = _cluster([b[0] for b in boxes] + [b[2] for b in boxes])
    ys = _cluster([b[1] for b in boxes] + [b[3] for b in boxes])
    spans = []  # (row0, row1, col0, col1, box)
    for b in boxes:
        spans.append((_index(ys, b[1]), _index(ys, b[3]), _index(xs, b[0]), _index(xs, b[2]), b))
    texts: dict[int, list[dict]] = {i: [] for i in range(len(spans))}
    for ch in chars:
        cx, cy = (ch["x0"] + ch["x1"]) / 2, (ch["top"] + ch["bottom"]) / 2
        for i, (*_, b) in enumerate(spans):
            if b[0] <= cx <= b[2] and b[1] <= cy <= b[3]:
                texts[i].append(ch)
                break
    where_t = f"第{page_no}页 表格{t_no}"
    rows: list[list[Cell]] = []
    origin: dict[int, tuple[float, float, int, int]] = {}
    for r in range(len(ys) - 1):
        covering = sorted((s for s in enumerate(spans) if s[1][0] <= r < s[1][1]), key=lambda s: s[1][2])
        row: list[Cell] = []
        for i, (r0, r1, c0, _c1, b) in covering:
            cell = Cell(_cell_text(texts[i]) if r0 == r else "", f"{where_t} 第{r + 1}行第{c0 + 1}列")
            if r0 == r:
                origin[id(cell)] = (b[0], b[2], len(rows), len(rows) + r1 - r0 - 1)
            row.append(cell)
        if row:
            rows.append(row)
    x0, top, x1, bottom = table.bbox
    return _Table(rows, x0, x1, top, bottom, page_no, where_t, origin)


def _continues_table(a: _Table, b: _Table) -> bool:
    """Whether ``b``, first on its page, carries on ``a``, last on the page before."""
    return b.page == a.page + 1 and abs(a.x0 - b.x0) <= 3 and abs(a.x1 - b.x1) <= 3


def _texts(row: list[Cell]) -> tuple[str, ...]:
    return tuple(ck(c.text) for c in row)


#: how the label of a new row group starts (（四）无法提供, 四、, 2.): never the rest of a broken one
_NEW_LABEL = re.compile(r"^(?:[(（][一二三四五六七八九十]+[)）]|[一二三四五六七八九十]+、|\d+[.．、])")


def _merge_tables(a: _Table, b: _Table) -> None:
    """Append ``b``'s rows to ``a``: without the header rows repeated at the top of the page, with
    the rest of a merged cell that ran over the page end given back to that cell (a label, merged over
    several rows on either page, that does not start like a new one), and with a row the page break
    cut in two joined again."""
    rows = list(b.rows)
    k = 0
    while k < len(rows) and k < len(a.rows) and _texts(rows[k]) == _texts(a.rows[k]) and any(_texts(rows[k])):
        k += 1
    rows = rows[k:]
    if rows:
        last = len(a.rows) - 1
        running = [(x0, x1, r1 > r0, c) for row in a.rows for c in row if (sp := a.spans.get(id(c)))
                   for x0, x1, r0, r1 in [sp] if r1 == last]
        for cell in rows[0]:
            sp = b.spans.get(id(cell))
            text = ck(cell.text)
            if sp is None or not is_label(text) or _NEW_LABEL.match(text):
                continue
            above = next((c for x0, x1, tall, c in running
                          if abs(x0 - sp[0]) <= 2 and abs(x1 - sp[1]) <= 2 and (tall or sp[3] > sp[2])), None)
            if above is not None:  # 三、本年度办 | 理结果: one vertically merged cell cut by the page end
                above.text = _join([above.text, cell.text])
                cell.text = ""
    if rows and a.rows:
        last, first = a.rows[-1], rows[0]
        if len(last) == len(first):
            pairs = list(zip(_texts(last), _texts(first), strict=True))
            broken = (all(not (x and y) for x, y in pairs) and any(y for _, y in pairs)
                      and any(x and not y for x, y in pairs))
            if broken:
                for c_last, c_first in zip(last, first, strict=True):
                    if ck(c_first.text):
                        if ck(c_last.text):
                            c_last.text = _join([c_last.text, c_first.text])
                        else:
                            c_last.text, c_last.where = c_first.text, c_first.where
                rows = rows[1:]
    a.rows += rows
    a.page, a.bottom = b.page, b.bottom


def _furniture(pages_lines: list[list[_Line]], heights: list[float]) -> set[tuple[int, int]]:
    """(page, line) of page numbers and of running headers/footers: a line in the top or bottom
    band of the page whose text, digits aside, stands in that band on at least half the pages
    (and on two or more)."""
    out: set[tuple[int, int]] = set()
    seen: dict[str, set[int]] = {}
    band_lines: list[tuple[_Line, str]] = []
    for lines, h in zip(pages_lines, heights, strict=True):
        for ln in lines:
            if ln.top < h * _MARGIN_BAND or ln.bottom > h * (1 - _MARGIN_BAND):
                if _PAGE_NUMBER.match(ln.text):
                    out.add((ln.page, ln.n))
                    continue
                key = re.sub(r"\d+", "#", ck(ln.text))
                seen.setdefault(key, set()).add(ln.page)
                band_lines.append((ln, key))
    pages = len(pages_lines)
    for ln, key in band_lines:
        if len(seen[key]) >= max(2, (pages + 1) // 2):
            out.add((ln.page, ln.n))
    return out


def _paragraphs(lines: list[_Line], left: float, right: float) -> list[list[_Line]]:
    """Lines → paragraphs: a line continues the paragraph before when that one's last line reaches
    the right margin (within 1.5 characters), it is not indented (or is the centred rest of a title
    in the same size), and it follows closely (on the next line or at the top of the next page)."""
    out: list[list[_Line]] = []
    for ln in lines:
        if out:
            prev = out[-1][-1]
            size = max(prev.size, 1.0)
            full = prev.x1 >= right - 1.5 * size
            indented = ln.x0 > left + 0.5 * size
            close = ln.page != prev.page or ln.top - prev.bottom <= 1.2 * size
            # a centred title too long for one line: its rest is centred below, in the same size
            centred = abs((ln.x0 + ln.x1) / 2 - (left + right) / 2) <= size and abs(ln.size - prev.size) < 0.5
            if full and close and (not indented or centred):
                out[-1].append(ln)
                continue
        out.append([ln])
    return out


def _vet(path: Path, limits: Limits) -> None:
    source = str(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise _error(source, "unreadable", f"无法读取该文件（{e.strerror or e}）。", f"cannot read the file ({e.strerror or e}).") from None
    if size == 0:
        raise _error(source, "empty", "文件是空的（0 字节），请提供完整的年度报告。",
                     "the file is empty (0 bytes); provide the complete annual report.")
    if size > limits.max_file_bytes:
        mb = size // (1024 * 1024)
        raise _error(source, "too-large", f"PDF 文件过大（{mb} MB），不像是一份年度报告。",
                     f"the PDF is too large ({mb} MB) to be an annual report.")


def pdf_blocks(path: str | Path, limits: Limits | None = None) -> list[Block]:
    """Paragraphs and tables of a text-layer PDF, in reading order; LoadError for a PDF that has no
    text layer, is encrypted, damaged, or larger than a report can be."""
    import pdfplumber

    limits = limits or DEFAULT_LIMITS
    p = Path(path)
    source = str(p)
    _vet(p, limits)
    try:
        pdf = pdfplumber.open(str(p))
    except Exception as e:  # noqa: BLE001 - pdfminer raises many kinds on a damaged or encrypted file
        raise _open_error(source, e) from None
    with pdf:
        try:
            return _read(pdf, source)
        except LoadError:
            raise
        except Exception as e:  # noqa: BLE001 - the same, raised lazily while a page is parsed
            raise _open_error(source, e) from None


def _check_content_size(page, page_no: int, source: str) -> None:
    """Refuse a page whose drawing instructions decompress past MAX_PAGE_CONTENT_BYTES, inflating
    at most that much to find out (pdfminer would inflate the whole stream, then parse it).

    Only the usual single FlateDecode stream is measured here; anything rarer is left to the
    worker's time and memory bounds (:mod:`gxsheet.core.bounded`).
    """
    import zlib

    from pdfminer.pdftypes import LITERALS_FLATE_DECODE, PDFStream, resolve1

    left = MAX_PAGE_CONTENT_BYTES
    for stream in map(resolve1, page.page_obj.contents):
        if not isinstance(stream, PDFStream):
            continue
        if stream.data is not None:
            left -= len(stream.data)
        elif stream.rawdata is not None and not stream.decipher:
            filters = stream.get_filters()
            if len(filters) == 1 and filters[0][0] in LITERALS_FLATE_DECODE:
                try:
                    left -= len(zlib.decompressobj().decompress(stream.rawdata, max(left, 0) + 1))
                except zlib.error:
                    continue  # pdfminer's own recovery decides
            elif not filters:
                left -= len(stream.rawdata)
        if left < 0:
            raise _error(source, "too-large",
                         f"第{page_no}页的绘制内容解压后超过 {MAX_PAGE_CONTENT_BYTES // (1024 * 1024)} MB，不像是年度报告，已拒绝读取。",
                         f"page {page_no}'s drawing instructions decompress to more than "
                         f"{MAX_PAGE_CONTENT_BYTES // (1024 * 1024)} MB, far more than an annual report has; refused.")


def _open_error(source: str, e: Exception) -> LoadError:
    name = type(e).__name__
    if "Password" in name or "Encrypt" in name:
        return _error(source, "encrypted", "PDF 文件设置了密码，无法读取；请提供未加密的文件。",
                      "the PDF is password-protected and cannot be read; provide an unencrypted file.")
    return _error(source, "corrupt", f"PDF 文件已损坏，无法读取（{name}）；请重新导出或下载。",
                  f"the PDF is damaged and cannot be read ({name}); export or download it again.")


def _read(pdf, source: str) -> list[Block]:
    pages = pdf.pages
    max_pages = MAX_PAGES
    if len(pages) > max_pages:
        raise _error(source, "too-large", f"PDF 有{len(pages)}页，远多于一份年度报告（上限{max_pages}页），无法导入。",
                     f"the PDF has {len(pages)} pages, far more than an annual report (at most {max_pages}); not imported.")
    items: list[tuple[int, float, _Line | _Table]] = []
    pages_lines: list[list[_Line]] = []
    heights: list[float] = []
    chars_total = cid = 0
    for page_no, page in enumerate(pages, 1):
        _check_content_size(page, page_no, source)
        objects = sum(len(page.objects.get(k, ())) for k in ("char", "line", "rect", "curve"))
        if objects > MAX_PAGE_OBJECTS:
            raise _error(source, "too-large", f"第{page_no}页的图形元素过多（{objects}个），不像是年度报告，已拒绝读取。",
                         f"page {page_no} holds too many drawn objects ({objects}) to be an annual report; refused.")
        chars_total += len(page.chars)
        cid += sum(1 for c in page.chars if _CID.fullmatch(c["text"]) or c["text"] == "\ufffd")
        tables = [_collapse(t, [c for c in page.chars if _inside(c, t.bbox)], page_no, i)
                  for i, t in enumerate(page.find_tables(), 1)]
        boxes = [(t.x0, t.top, t.x1, t.bottom) for t in tables]
        free = page.filter(lambda o, boxes=boxes: o.get("object_type") != "char" or not any(_inside(o, b) for b in boxes))
        lines = []
        for n, ln in enumerate(free.extract_text_lines(**_TEXT), 1):
            sizes = [c["size"] for c in ln["chars"] if c["text"].strip()] or [10.0]
            lines.append(_Line(ln["text"], ln["x0"], ln["x1"], ln["top"], ln["bottom"], max(sizes), page_no, n))
        pages_lines.append(lines)
        heights.append(float(page.height))
        items += [(page_no, t.top, t) for t in tables]
        items += [(page_no, ln.top, ln) for ln in lines]
    if chars_total == 0:
        raise _error(source, "no-text-layer",
                     "PDF 没有文字层（是扫描件或图片），无法读取其中的文字和表格；请提供带文字的 PDF、Word 文档或网页版本。",
                     "the PDF has no text layer (it is a scan or an image), so its text and tables cannot be read; "
                     "provide a PDF with text, the Word document or the web page.")
    if cid > chars_total // 4:
        raise _error(source, "no-text-layer",
                     "PDF 的文字无法解码（字体缺少字符映射，提取出的是乱码），无法读取；请提供 Word 文档或网页版本。",
                     "the PDF's text cannot be decoded (its fonts lack a character map); provide the Word document or the web page.")
    furniture = _furniture(pages_lines, heights)
    items.sort(key=lambda it: (it[0], it[1]))
    ordered: list[_Line | _Table] = []
    for _page, _top, obj in items:
        if isinstance(obj, _Line) and (obj.page, obj.n) in furniture:
            continue
        ordered.append(obj)
    return _blocks(ordered, pages_lines, furniture)


def _inside(obj: dict, bbox: tuple[float, float, float, float]) -> bool:
    cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
    return bbox[0] <= cx <= bbox[2] and bbox[1] <= cy <= bbox[3]


def _blocks(ordered: list[_Line | _Table], pages_lines: list[list[_Line]], furniture: set[tuple[int, int]]) -> list[Block]:
    body = [ln for lines in pages_lines for ln in lines if (ln.page, ln.n) not in furniture]
    left = min((ln.x0 for ln in body), default=0.0)
    right = max((ln.x1 for ln in body), default=0.0)
    blocks: list[Block] = []
    run: list[_Line] = []

    def flush() -> None:
        for para in _paragraphs(run, left, right):
            first = para[0]
            blocks.append(Para(_join([ln.text for ln in para]), f"第{first.page}页 第{first.n}行"))
        run.clear()

    last_table: _Table | None = None
    for obj in ordered:
        if isinstance(obj, _Line):
            run.append(obj)
            last_table = None
            continue
        flush()
        if last_table is not None and _continues_table(last_table, obj):
            _merge_tables(last_table, obj)
            continue
        blocks.append(TableBlock(obj.rows, obj.where))
        last_table = obj
    flush()
    return blocks


def import_pdf(path: str | Path, *, limits: Limits | None = None, edition: str | None = None,
               year: int | None = None) -> Imported:
    """Import a PDF report; LoadError for a scan, an encrypted, damaged or oversized file."""
    blocks = pdf_blocks(path, limits)
    return import_blocks(blocks, source=str(path), kind="pdf", edition=edition, year=year)


def read_pdf(path: str | Path, *, limits: Limits | None = None, edition: str | None = None,
             year: int | None = None, **_: object) -> Record:
    """The importer registered for kind 'pdf'."""
    return import_pdf(path, limits=limits, edition=edition, year=year).record
