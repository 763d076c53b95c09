"""Reports published as web pages (.html / .htm), read with BeautifulSoup over lxml.

A government site wraps the report in navigation, scripts and often a layout table; the report
itself is paragraphs and data tables with ``rowspan``/``colspan`` as published. Data tables are
turned into the collapsed shape the shared core expects — the shape Word stores: a cell spanning
columns appears once, and every position covered by a cell spanning rows from above appears as an
empty cell — so the official form's merged headers read exactly like the .docx and .txt versions.
A table that contains other tables is layout, not data: its cells are read as running text.
Locations are 表格2 第5行第3列 (columns counted on the expanded grid) and 第12段.
"""

from __future__ import annotations

import re
from pathlib import Path

from gxsheet.core.errors import LoadError
from gxsheet.core.limits import DEFAULT_LIMITS, Limits
from gxsheet.core.record import Record
from gxsheet.read.blocks import Block, Cell, Imported, Para, TableBlock, import_blocks, read_bounded
from gxsheet.read.txt import decode_text

__all__ = ["html_blocks", "import_html", "read_html"]

#: elements whose boundaries break running text into paragraphs
BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "header", "footer", "aside", "nav", "li", "ul", "ol", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "center", "form", "fieldset", "address", "figure",
    "figcaption", "caption", "tr", "td", "th", "tbody", "thead", "tfoot", "body", "html",
}
SKIP_TAGS = {"script", "style", "noscript", "template", "head", "title", "meta", "link", "iframe", "object", "svg",
             "button", "select", "option", "input", "textarea"}
_SPACE = re.compile(r"[ \t\r\n\f\v]+")


def _int_attr(tag, name: str) -> int:
    try:
        return max(1, min(int(str(tag.get(name, "1")).strip() or 1), 1000))
    except ValueError:
        return 1


def _children_events(root, layout: set[int]):
    """(kind, node) events of a depth-first walk without recursion — a page may nest thousands of
    elements: ("text", string), ("start", tag) and ("end", tag). ``layout`` holds the ids of the
    tables that contain tables (walked into, not read as data: :func:`_layout_tables`)."""
    stack = [(root, iter(root.children))]
    while stack:
        node, it = stack[-1]
        child = next(it, None)
        if child is None:
            stack.pop()
            if node is not root:
                yield "end", node
            continue
        name = getattr(child, "name", None)
        if name is None:
            if type(child).__name__ not in ("Comment", "Doctype", "Declaration", "ProcessingInstruction", "CData"):
                yield "text", child
            continue
        if name in SKIP_TAGS:
            continue
        yield "start", child
        if name == "table" and id(child) not in layout:
            yield "end", child  # a data table is read as a whole; do not walk into it
            continue
        stack.append((child, iter(child.children)))


def _layout_tables(soup) -> set[int]:
    """Ids of the tables that contain another table, found in one pass.

    Each table marks only its nearest enclosing table (that one marks the next, and so on), so the
    cost is linear in the page; asking every table whether it contains one was quadratic in the
    nesting (20,000 nested tables: minutes).
    """
    out: set[int] = set()
    for t in soup.find_all("table"):
        outer = t.parent
        while outer is not None and outer.name != "table":
            outer = outer.parent
        if outer is not None:
            out.add(id(outer))
    return out


def _cell_text(td) -> str:
    """A cell's text, its own paragraphs and <br> as line breaks (a header cell 本年新<br>制作数量)."""
    parts: list[str] = []
    for kind, node in _children_events(td, set()):
        if kind == "text":
            parts.append(_SPACE.sub(" ", str(node)))
        elif node.name == "br":
            if kind == "start":
                parts.append("\n")
        elif node.name in BLOCK_TAGS:
            parts.append("\n")
    lines = [ln.strip(" \u00a0") for ln in "".join(parts).split("\n")]
    return "\n".join(ln for ln in lines if ln)


def _rows_of(table) -> list:
    """The table's own rows (not those of tables nested in its cells), in order."""
    out = []
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is table:
            out.append(tr)
    return out


def _data_table(table, t_index: int, max_cells: int, source: str) -> TableBlock:
    """The table in the collapsed shape, ``rowspan``s clamped to the rows the table has (as browsers
    do) and refused past ``max_cells`` cells (256 KB of ``rowspan=1000`` cells would be millions)."""
    rows: list[list[Cell]] = []
    trs = _rows_of(table)
    produced = 0
    covering: dict[int, list[int]] = {}  # start column → [colspan, rows still covered]
    for r_i, tr in enumerate(trs, 1):
        tds = [c for c in tr.find_all(["td", "th"], recursive=False)]
        row: list[Cell] = []
        col, ci = 1, 0
        covered, k = sorted(covering), 0  # columns covered from rows above; k: the next one at or after col
        while True:
            while k < len(covered) and covered[k] < col:
                k += 1
            if k < len(covered) and covered[k] == col:
                row.append(Cell("", f"表格{t_index} 第{r_i}行第{col}列"))
                col += covering[col][0]
                continue
            if ci < len(tds):
                td = tds[ci]
                ci += 1
                cs, rs = _int_attr(td, "colspan"), min(_int_attr(td, "rowspan"), len(trs) - r_i + 1)
                row.append(Cell(_cell_text(td), f"表格{t_index} 第{r_i}行第{col}列"))
                if rs > 1:
                    covering[col] = [cs, rs]  # decremented below, including this row
                col += cs
                continue
            if k < len(covered):
                col = covered[k]
                continue
            break
        for c in list(covering):
            covering[c][1] -= 1
            if covering[c][1] <= 0:
                del covering[c]
        produced += len(row)
        if produced > max_cells:
            raise LoadError(source, "too-large",
                            f"{source}：网页中的表格{t_index}过大（超过 {max_cells} 个单元格），不是年度报告的表格，已拒绝读取。",
                            f"{source}: table {t_index} of the web page is too large (more than {max_cells} cells); "
                            "not a report's table, so it was refused.")
        rows.append(row)
    return TableBlock(rows, f"表格{t_index}")


def html_blocks(text: str, *, max_cells: int = DEFAULT_LIMITS.max_cells, source: str = "<html>") -> list[Block]:
    """Paragraphs and data tables of a web page, in document order."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "lxml")
    for tag in soup.find_all(SKIP_TAGS):
        tag.decompose()
    layout = _layout_tables(soup)
    blocks: list[Block] = []
    buf: list[str] = []
    counters = {"p": 0, "t": 0}

    def flush() -> None:
        joined = re.sub(r"[ \t\r\f\v]+", " ", "".join(buf)).strip(" \u00a0")
        buf.clear()
        for line in joined.split("\n"):
            line = line.strip(" \u00a0")
            if line:
                counters["p"] += 1
                blocks.append(Para(line, f"第{counters['p']}段"))

    for kind, node in _children_events(soup.body or soup, layout):
        if kind == "text":
            buf.append(str(node).replace("\n", " "))
        elif node.name == "br":
            if kind == "start":
                buf.append("\n")
        elif node.name == "table":
            flush()
            if kind == "start" and id(node) not in layout:
                counters["t"] += 1
                blocks.append(_data_table(node, counters["t"], max_cells, source))
        elif node.name in BLOCK_TAGS:
            flush()
    flush()
    return blocks


def import_html(path: str | Path, *, limits: Limits | None = None, edition: str | None = None,
                year: int | None = None) -> Imported:
    source = str(path)
    limits = limits or DEFAULT_LIMITS
    data = read_bounded(path, limits, "{source}：网页文件过大（{kb} KB）。", "{source}: the web page is too large ({kb} KB).")
    m = re.search(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-]+)", data[:4096], re.IGNORECASE)
    text = None
    if m:
        enc = m.group(1).decode("ascii", "replace").lower()
        enc = "gb18030" if enc in ("gb2312", "gbk", "gb18030") else enc
        try:
            text = data.decode(enc)
        except (LookupError, UnicodeDecodeError):
            text = None
    if text is None:
        text = decode_text(data, source)
    if not text.strip():
        raise LoadError(source, "empty", f"{source}：文件是空的，请提供完整的年度报告。",
                        f"{source}: the file is empty; provide the complete annual report.")
    return import_blocks(html_blocks(text, max_cells=limits.max_cells, source=source), source=source, kind="html", edition=edition, year=year)


def read_html(path: str | Path, *, limits: Limits | None = None, edition: str | None = None,
              year: int | None = None, **_: object) -> Record:
    """The importer registered for kind 'html'."""
    return import_html(path, limits=limits, edition=edition, year=year).record
