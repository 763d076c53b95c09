"""Plain-text reports: the text a Word report becomes when it is saved or converted as text.

The shape (see examples/seeds/, real published reports): running text is one paragraph per line; a table cell is a line
that starts with a tab; a blank line ends a table row. A cell's text may wrap onto following lines
without a tab (``\\t本年新`` + ``制作数量``), and a cell that began with an empty paragraph even
shows up after a blank line (``\\t`` · ```` · ``（四）无法提供``). Vertically merged continuation cells
are empty tab lines, horizontally merged cells appear once — the collapsed shape the shared core
expects. Every cell and paragraph keeps its line number (第57行) so findings point into the file.

gxsheet's own txt export (``gxsheet export --to txt``) is recognised too: its tables are aligned
text, read exactly by the exporter's parser, and the rest goes through the same core.
"""

from __future__ import annotations

import re
from pathlib import Path

from gxsheet.core.errors import LoadError
from gxsheet.core.limits import DEFAULT_LIMITS, Limits
from gxsheet.core.record import Record
from gxsheet.read.blocks import Block, Cell, Imported, Para, TableBlock, _caption_key, ck, import_blocks, read_bounded
from gxsheet.read.headings import classify_heading
from gxsheet.read.txt_export import parse_txt_export

__all__ = ["decode_text", "export_prose", "import_txt", "read_txt", "txt_blocks"]


def decode_text(data: bytes, source: str) -> str:
    """Text from bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (Chinese Windows)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise LoadError(source, "not-a-report", f"{source}：无法识别文件的文字编码，请另存为 UTF-8 文本后再导入。",
                        f"{source}: the text encoding cannot be recognised; save it as UTF-8 text and import again.")
    bad = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\t\r\n\f")
    if bad > 8:
        raise LoadError(source, "not-a-report", f"{source}：这不是文本文件，无法作为年度报告导入。",
                        f"{source}: this is not a text file and cannot be imported as an annual report.")
    return text


def _continues(line: str) -> bool:
    """A non-tab line right after a cell is that cell's wrapped text unless it is a heading,
    a caption or a sentence of running text."""
    t = ck(line)
    return bool(t) and len(t) <= 30 and "。" not in t and classify_heading(line) is None and not _caption_key(line)


def txt_blocks(text: str) -> list[Block]:
    """Paragraphs and tables of a text report, with line numbers."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[Block] = []
    rows: list[list[Cell]] | None = None
    table_where = ""
    row: list[Cell] | None = None
    last = "start"  # cell / blank / text
    blanks = 0

    def end_row() -> None:
        nonlocal row
        if rows is not None and row:
            rows.append(row)
        row = None

    def end_table() -> None:
        nonlocal rows
        end_row()
        if rows:
            blocks.append(TableBlock(rows, table_where))
        rows = None

    for n, line in enumerate(lines, 1):
        where = f"第{n}行"
        if line.startswith("\t"):
            if rows is None:
                rows, table_where = [], where
            if row is None:
                row = []
            for part in line[1:].split("\t"):
                row.append(Cell(part, where))
            last, blanks = "cell", 0
            continue
        if not line.strip():
            end_row()
            last, blanks = "blank", blanks + 1
            continue
        if rows is not None:
            if last == "cell" and row and _continues(line):
                row[-1].text += "\n" + line
                if not ck(row[-1].text.split("\n", 1)[0]):
                    row[-1].where = where
                continue
            nxt = lines[n] if n < len(lines) else ""
            if (last == "blank" and blanks == 1 and rows and nxt.startswith("\t")
                    and all(not ck(c.text) for c in rows[-1]) and _continues(line)):
                # a cell whose text began with an empty paragraph: the blank line is inside it
                row = rows.pop()
                row[-1].text += "\n" + line
                row[-1].where = where
                last, blanks = "cell", 0
                continue
            end_table()
        blocks.append(Para(line, where))
        last, blanks = "text", 0
    end_table()
    return blocks


_RULE = re.compile(r"^=+(?: +=+)*\s*$")
_DASHES = re.compile(r"^-{20,}\s*$")


def export_prose(text: str) -> str:
    """gxsheet's own txt export without its tables and without the findings appended to a draft:
    what is left is the title, the headings and the prose, one paragraph per line."""
    lines = text.splitlines()
    out: list[str] = []
    rules = 0
    for i, line in enumerate(lines):
        if _DASHES.match(line) and i + 1 < len(lines) and lines[i + 1].strip() in ("校验结果", "Validation findings"):
            break
        if _RULE.match(line):
            rules += 1
            out.append("")
            continue
        out.append("" if rules % 3 else line)  # inside a table: between its 1st and 3rd rule line
    return "\n".join(out)


def import_txt(path: str | Path, *, limits: Limits | None = None, edition: str | None = None,
               year: int | None = None) -> Imported:
    """Import a text report; LoadError for an empty, oversized or unrelated file."""
    source = str(path)
    limits = limits or DEFAULT_LIMITS
    data = read_bounded(path, limits, "{source}：文件过大（{kb} KB），不像是一份年度报告。",
                        "{source}: the file is too large ({kb} KB) to be an annual report.")
    text = decode_text(data, source)
    if not text.strip():
        raise LoadError(source, "empty", f"{source}：文件是空的，请提供完整的年度报告。",
                        f"{source}: the file is empty; provide the complete annual report.")
    own = parse_txt_export(text)
    if own is not None:  # gxsheet's own txt export: aligned tables, read exactly by the exporter's parser
        return import_blocks(txt_blocks(export_prose(text)), source=source, kind="txt", edition=edition, year=year,
                             tables=own)
    return import_blocks(txt_blocks(text), source=source, kind="txt", edition=edition, year=year)


def read_txt(path: str | Path, *, limits: Limits | None = None, edition: str | None = None,
             year: int | None = None, **_: object) -> Record:
    """The importer registered for kind 'txt'."""
    return import_txt(path, limits=limits, edition=edition, year=year).record
