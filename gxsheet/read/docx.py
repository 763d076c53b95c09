"""Word reports (.docx): paragraphs and real tables, read with python-docx.

Word stores a merged table compactly: a cell spanning columns is one ``w:tc`` with ``w:gridSpan``,
and a cell spanning rows is a ``w:tc`` with ``w:vMerge="restart"`` followed, in each row below, by
an empty continuation ``w:tc`` with a bare ``w:vMerge``. Reading the ``w:tc`` elements directly
(not python-docx's ``row.cells``, which repeats a merged cell once per grid column) gives exactly
the collapsed shape the shared core expects — the same shape a text export of the document has —
so the official form's merged headers need no special casing. Locations are given as a person
sees them in Word: 表格2 第5行第3列 (the column counted on the grid), paragraphs as 第12段.

The package is vetted before python-docx opens it: its size, then the workbook loader's checks, its
refusals reworded for Word (central directory, member count, declared sizes and compression ratios,
then every part inflated once in bounded steps: exact declared size, CRC, no DOCTYPE) — python-docx
inflates a part in one call and would believe an understated size — then its XML elements counted.
python-docx itself parses XML without resolving entities.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from gxsheet.core.errors import LoadError
from gxsheet.core.limits import DEFAULT_LIMITS, Limits
from gxsheet.core.record import Record
from gxsheet.read.blocks import Block, Cell, Imported, Para, TableBlock, import_blocks
from gxsheet.xlsx.loader import verify_package

__all__ = ["docx_blocks", "import_docx", "read_docx"]

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _vet(path: Path, limits: Limits) -> None:
    source = str(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise LoadError(source, "unreadable", f"{source}：无法读取该文件（{e.strerror or e}）。",
                        f"{source}: cannot read the file ({e.strerror or e}).") from None
    if size == 0:
        raise LoadError(source, "empty", f"{source}：文件是空的（0 字节），请提供完整的年度报告。",
                        f"{source}: the file is empty (0 bytes); provide the complete annual report.")
    if size > limits.max_file_bytes:
        raise LoadError(source, "too-large", f"{source}：文件过大（{size // (1024 * 1024)} MB），请删除多余的图片后再导入。",
                        f"{source}: the file is too large ({size // (1024 * 1024)} MB); remove surplus pictures and import again.")
    try:  # the loader's vetting: central directory, member count, declared sizes and ratios, then every
        # part inflated once in bounded steps (exact size, CRC, no DOCTYPE), all before zipfile or python-docx
        verify_package(path, limits)
    except LoadError as e:
        raise _reworded(source, e) from None
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if "word/document.xml" not in {i.filename for i in infos}:
            raise LoadError(source, "not-a-report", f"{source}：这不是 Word 文档 (.docx)。",
                            f"{source}: this is not a Word document (.docx).")
        _count_elements(zf, infos, limits, source)  # then count what python-docx would build a tree of


def _reworded(source: str, e: LoadError) -> LoadError:
    """The loader's refusal in a Word document's terms (its own wording speaks of Excel and .xlsx)."""
    d = e.detail
    if e.kind == "xml-entities":
        return LoadError(source, e.kind,
                         f"{source}：Word 文档内含 XML 实体声明（DOCTYPE，位于 {d}），Word 不会生成这种内容，出于安全考虑已拒绝读取；"
                         "请在 Word/WPS 中另存为新的 .docx 后再导入。",
                         f"{source}: the Word document contains an XML DOCTYPE/entity declaration (in {d}), which Word "
                         "never writes, so it was refused for safety; save it as a new .docx in Word/WPS and import again.", d)
    if e.kind == "too-many-members":
        return LoadError(source, e.kind, f"{source}：Word 文档内部部件过多（{d}），已拒绝读取。",
                         f"{source}: the Word document has too many internal parts ({d}); refused.", d)
    if e.kind == "zip-bomb":
        return LoadError(source, e.kind, f"{source}：文件内部数据解压后异常膨胀（{d}），已拒绝读取。",
                         f"{source}: the file inflates abnormally ({d}); refused.", d)
    if e.kind == "corrupt-zip":
        return LoadError(source, e.kind, f"{source}：Word 文档已损坏（{d}），请在 Word/WPS 中打开后重新另存为 .docx。",
                         f"{source}: the Word document is damaged ({d}); open it in Word/WPS and save it again as .docx.", d)
    return e


def _count_elements(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: Limits, source: str) -> None:
    """Refuse a document with more XML elements than ``limits.max_elements`` before python-docx
    builds a tree of them (a 1.4-million-row table: 27 s and 1.85 GB). Counted as start tags in
    1 MB steps of inflated text, so this costs a pass over the bytes and no memory; a report
    exported by Word has some ten thousand."""
    elements = 0
    for info in infos:
        if not info.filename.lower().endswith((".xml", ".rels")):
            continue
        with zf.open(info) as stream:
            while chunk := stream.read(1024 * 1024):
                elements += chunk.count(b"<") - chunk.count(b"</") - chunk.count(b"<?") - chunk.count(b"<!")
                if elements > limits.max_elements:
                    raise LoadError(source, "too-large",
                                    f"{source}：Word 文档内容过多（超过 {limits.max_elements} 个 XML 元素，位于 {info.filename}），"
                                    "不像一份年度报告，已拒绝读取。",
                                    f"{source}: the Word document holds too much (more than {limits.max_elements} XML "
                                    f"elements, in {info.filename}); not like an annual report, so it was refused.")


def _para_text(p) -> str:
    """A paragraph's text: its runs, with tabs and line breaks kept."""
    parts = []
    for node in p.iter():
        if node.tag == f"{W}t" and node.text:
            parts.append(node.text)
        elif node.tag in (f"{W}br", f"{W}cr"):
            parts.append("\n")
        elif node.tag == f"{W}tab":
            parts.append("\t")
    return "".join(parts)


def _text(el) -> str:
    """A cell's text: its paragraphs on separate lines (a header typed 本年新 / 制作数量)."""
    return "\n".join(_para_text(p) for p in el.iter(f"{W}p"))


def _children(el, tag: str):
    """Direct children with ``tag``, looking through content controls and custom XML wrappers."""
    for child in el:
        if child.tag == f"{W}{tag}":
            yield child
        elif child.tag == f"{W}sdt":
            content = child.find(f"{W}sdtContent")
            if content is not None:
                yield from _children(content, tag)
        elif child.tag == f"{W}customXml":
            yield from _children(child, tag)


def _table(tbl, t_index: int) -> TableBlock:
    rows: list[list[Cell]] = []
    for r_i, tr in enumerate(_children(tbl, "tr"), 1):
        row: list[Cell] = []
        col = 1
        trpr = tr.find(f"{W}trPr")
        if trpr is not None:
            before = trpr.find(f"{W}gridBefore")
            if before is not None:
                col += int(before.get(f"{W}val", "0") or 0)
        for tc in _children(tr, "tc"):
            tcpr = tc.find(f"{W}tcPr")
            span, continuation = 1, False
            if tcpr is not None:
                gs = tcpr.find(f"{W}gridSpan")
                if gs is not None:
                    span = max(1, int(gs.get(f"{W}val", "1") or 1))
                vm = tcpr.find(f"{W}vMerge")
                if vm is not None and vm.get(f"{W}val", "continue") != "restart":
                    continuation = True
            where = f"表格{t_index} 第{r_i}行第{col}列"
            row.append(Cell("" if continuation else _text(tc), where))
            col += span
        rows.append(row)
    return TableBlock(rows, f"表格{t_index}")


def docx_blocks(path: str | Path) -> list[Block]:
    """Paragraphs and tables of the document body, in order."""
    from docx import Document

    doc = Document(str(path))
    body = doc.element.body
    blocks: list[Block] = []
    n_para = n_table = 0
    for el in _body_items(body):
        if el.tag == f"{W}p":
            n_para += 1
            blocks.append(Para(_para_text(el), f"第{n_para}段"))
        elif el.tag == f"{W}tbl":
            n_table += 1
            blocks.append(_table(el, n_table))
    return blocks


def _body_items(body):
    for child in body:
        if child.tag in (f"{W}p", f"{W}tbl"):
            yield child
        elif child.tag in (f"{W}sdt", f"{W}customXml"):
            content = child.find(f"{W}sdtContent")
            yield from _body_items(content if content is not None else child)


def import_docx(path: str | Path, *, limits: Limits | None = None, edition: str | None = None,
                year: int | None = None) -> Imported:
    p = Path(path)
    _vet(p, limits or DEFAULT_LIMITS)
    try:
        blocks = docx_blocks(p)
    except LoadError:
        raise
    except Exception as e:  # noqa: BLE001 - python-docx raises many kinds on a broken package
        raise LoadError(str(p), "corrupt", f"{p}：无法读取这个 Word 文档（{type(e).__name__}），请在 Word/WPS 中打开后重新另存为 .docx。",
                        f"{p}: this Word document cannot be read ({type(e).__name__}); open it in Word/WPS and save it again as .docx.") from None
    return import_blocks(blocks, source=str(p), kind="docx", edition=edition, year=year)


def read_docx(path: str | Path, *, limits: Limits | None = None, edition: str | None = None,
              year: int | None = None, **_: object) -> Record:
    """The importer registered for kind 'docx'."""
    return import_docx(path, limits=limits, edition=edition, year=year).record
