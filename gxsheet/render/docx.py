"""The report as a Word document: the file a town publishes.

The document follows the house style of Chinese official documents (GB/T 9704): A4 with the
standard margins, a 宋体 title, 黑体 section headings, 仿宋 body text at 三号 with a fixed 28 pt
line pitch and two-character first-line indents, page numbers as "— 1 —".

Tables 二/三/四 are real Word tables merged exactly like the official form. The merges come from
the workbook layout (``layout.workbook_layout``), which is itself derived from the spec and *is*
the official form's layout: every label box becomes one (merged) cell holding only that label,
so the docx importer can anchor on the labels just as the workbook reader does, and every value
sits in its own cell. Nothing about the tables is hard-coded here.

Chinese fonts need the East-Asian font slot (``w:rFonts/@w:eastAsia``): setting only
``run.font.name`` would leave Chinese text in the theme's font. Because 仿宋_GB2312 is missing on
current Windows, the font table gives it the alternate name 仿宋, which Word uses instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Emu, Pt, RGBColor
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from lxml import etree

from gxsheet.core import sanitise
from gxsheet.core.display import display_width
from gxsheet.core.findings import SEVERITY_ZH, Finding, finding_text, summary
from gxsheet.core.layout import Box, SheetLayout, workbook_layout
from gxsheet.core.record import Record
from gxsheet.core.spec import Table
from gxsheet.render.txt import format_value, report_title, tables_of_section, unit_notes

# ------------------------------------------------------------------ house style
TITLE_FONT = "宋体"
HEADING_FONT = "黑体"
BODY_FONT = "仿宋_GB2312"
BODY_FONT_ALT = "仿宋"  # what Word substitutes when 仿宋_GB2312 is not installed
LATIN_FONT = "Times New Roman"

TITLE_SIZE = Pt(22)  # 二号
HEADING_SIZE = Pt(16)  # 三号
BODY_SIZE = Pt(16)  # 三号
TABLE_SIZE = Pt(10.5)  # 五号
DENSE_TABLE_SIZE = Pt(9)  # 小五: tables of more than DENSE_COLUMNS columns (表三, 表四)
DENSE_COLUMNS = 6
NOTE_SIZE = Pt(12)  # 小四
LINE_PITCH = Pt(28)

PAGE_WIDTH, PAGE_HEIGHT = Cm(21.0), Cm(29.7)
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = Cm(3.7), Cm(3.5), Cm(2.8), Cm(2.6)

HEADER_FILL = "E7E6E6"
CELL_MARGIN = Cm(0.1)
#: how many characters a label column may need before its text wraps
LEAF_LABEL_CHARS = 10  # the innermost label column (1.属于国家秘密)
INNER_GROUP_CHARS = 7  # the group column next to it: （三）不予公开 on one line
OUTER_GROUP_CHARS = 2  # further out: 三、本年度办理结果 runs down a narrow column
MAX_VALUE_COL = Cm(4.0)
#: rows kept together at the top (after the header) and bottom of a table block
GLUE_HEAD, GLUE_TAIL = 3, 2

LABEL_ROLES = ("caption", "corner", "header", "label")
HEADER_ROLES = ("caption", "corner", "header")


# ------------------------------------------------------------------ fonts
def set_run_font(run: Run, east_asian: str, size: Pt | None = None, *, bold: bool | None = None,
                 latin: str = LATIN_FONT) -> None:
    """Latin and East-Asian font of a run (python-docx's ``font.name`` sets only the Latin slots)."""
    run.font.name = latin
    rpr = run._element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    rfonts.set(qn("w:eastAsia"), east_asian)
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    if size is not None:
        run.font.size = size
    if bold is not None:
        run.font.bold = bold


def _style_fonts(style, east_asian: str, size: Pt, *, bold: bool = False) -> None:
    """A style's fonts, with theme fonts removed (they would override the named fonts)."""
    style.font.name = LATIN_FONT
    style.font.size = size
    style.font.bold = bold
    style.font.italic = False
    style.font.color.rgb = RGBColor(0, 0, 0)
    rpr = style.element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    rfonts.set(qn("w:ascii"), LATIN_FONT)
    rfonts.set(qn("w:hAnsi"), LATIN_FONT)
    rfonts.set(qn("w:eastAsia"), east_asian)
    rfonts.set(qn("w:cs"), LATIN_FONT)


def _defaults(doc: DocxDocument) -> None:
    """Document defaults: 仿宋, Chinese language (so Word applies Chinese line breaking)."""
    styles = doc.styles.element
    rpr_default = styles.find(qn("w:docDefaults") + "/" + qn("w:rPrDefault") + "/" + qn("w:rPr"))
    if rpr_default is not None:
        lang = rpr_default.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr_default.append(lang)
        lang.set(qn("w:val"), "en-US")
        lang.set(qn("w:eastAsia"), "zh-CN")
        rfonts = rpr_default.find(qn("w:rFonts"))
        if rfonts is not None:
            for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
                rfonts.attrib.pop(qn(attr), None)
            rfonts.set(qn("w:ascii"), LATIN_FONT)
            rfonts.set(qn("w:hAnsi"), LATIN_FONT)
            rfonts.set(qn("w:eastAsia"), BODY_FONT)


_FONT_TABLE_ENTRIES = {
    # name: (altName, panose, charset 86 = GB2312, family, pitch)
    BODY_FONT: (BODY_FONT_ALT, "02010609030101010101", "modern", "fixed"),
    HEADING_FONT: ("SimHei", "02010609060101010101", "modern", "fixed"),
    TITLE_FONT: ("SimSun", "02010600030101010101", "auto", "variable"),
}


def _font_table(doc: DocxDocument) -> None:
    """Declare the Chinese fonts with GB2312 charset and alternates, so Word finds a substitute."""
    part = next((r.target_part for r in doc.part.rels.values() if r.reltype.endswith("/fontTable")), None)
    if part is None:
        return
    root = etree.fromstring(part.blob)
    ns = root.nsmap.get("w") or "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

    def w(tag: str) -> str:
        return f"{{{ns}}}{tag}"

    existing = {f.get(w("name")) for f in root.findall(w("font"))}
    for name, (alt, panose, family, pitch) in _FONT_TABLE_ENTRIES.items():
        if name in existing:
            continue
        font = etree.SubElement(root, w("font"))
        font.set(w("name"), name)
        for tag, val in (("altName", alt), ("panose1", panose), ("charset", "86"), ("family", family),
                         ("pitch", pitch)):
            etree.SubElement(font, w(tag)).set(w("val"), val)
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _styles(doc: DocxDocument) -> None:
    normal = doc.styles["Normal"]
    _style_fonts(normal, BODY_FONT, TABLE_SIZE)
    pf = normal.paragraph_format
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    pf.line_spacing = 1.0

    title = doc.styles["Title"]
    _style_fonts(title, TITLE_FONT, TITLE_SIZE, bold=True)
    tpf = title.paragraph_format
    tpf.alignment = WD_ALIGN_PARAGRAPH.CENTER
    tpf.space_before = Pt(0)
    tpf.space_after = Pt(24)
    tpf.line_spacing_rule = WD_LINE_SPACING.AT_LEAST
    tpf.line_spacing = Pt(36)
    tppr = title.element.get_or_add_pPr()
    for tag in ("w:pBdr",):  # the default template underlines its Title
        el = tppr.find(qn(tag))
        if el is not None:
            tppr.remove(el)
    title.font.character_spacing = Pt(0)

    heading = doc.styles["Heading 1"]
    _style_fonts(heading, HEADING_FONT, HEADING_SIZE)
    hpf = heading.paragraph_format
    hpf.space_before = Pt(6)
    hpf.space_after = Pt(0)
    hpf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    hpf.line_spacing = LINE_PITCH
    hpf.first_line_indent = Pt(32)
    hpf.keep_with_next = True
    _first_line_chars(heading.element.get_or_add_pPr(), 200)

    body = doc.styles.add_style("GX Body", WD_STYLE_TYPE.PARAGRAPH)
    body.base_style = normal
    _style_fonts(body, BODY_FONT, BODY_SIZE)
    bpf = body.paragraph_format
    bpf.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    bpf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    bpf.line_spacing = LINE_PITCH
    bpf.first_line_indent = Pt(32)
    _first_line_chars(body.element.get_or_add_pPr(), 200)

    cell = doc.styles.add_style("GX Table", WD_STYLE_TYPE.PARAGRAPH)
    cell.base_style = normal
    _style_fonts(cell, BODY_FONT, TABLE_SIZE)
    cpf = cell.paragraph_format
    cpf.alignment = WD_ALIGN_PARAGRAPH.CENTER
    cpf.line_spacing = 1.0

    note = doc.styles.add_style("GX Note", WD_STYLE_TYPE.PARAGRAPH)
    note.base_style = normal
    _style_fonts(note, BODY_FONT, NOTE_SIZE)
    npf = note.paragraph_format
    npf.space_before = Pt(3)
    npf.space_after = Pt(6)


def _first_line_chars(ppr, hundredths: int) -> None:
    """Indent in characters (w:firstLineChars), which Word and WPS scale with the font size."""
    ind = ppr.find(qn("w:ind"))
    if ind is None:
        ind = OxmlElement("w:ind")
        ppr.append(ind)
    ind.set(qn("w:firstLineChars"), str(hundredths))


def _page(doc: DocxDocument) -> None:
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = PAGE_WIDTH, PAGE_HEIGHT
    sec.top_margin, sec.bottom_margin = MARGIN_TOP, MARGIN_BOTTOM
    sec.left_margin, sec.right_margin = MARGIN_LEFT, MARGIN_RIGHT
    sec.footer_distance = Cm(2.0)
    footer = sec.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for text in ("— ", None, " —"):
        if text is None:
            fld = parse_xml(f'<w:fldSimple {nsdecls("w")} w:instr=" PAGE "><w:r><w:t>1</w:t></w:r></w:fldSimple>')
            footer._p.append(fld)
            set_run_font(Run(fld.find(qn("w:r")), footer), BODY_FONT, Pt(14))
        else:
            set_run_font(footer.add_run(text), BODY_FONT, Pt(14))


def text_width(doc: DocxDocument) -> Emu:
    sec = doc.sections[0]
    return Emu(sec.page_width - sec.left_margin - sec.right_margin)


# ------------------------------------------------------------------ tables
def _table_rows(lay: SheetLayout) -> tuple[int, int]:
    """First and last sheet row of the form itself (no title row, no live checks)."""
    boxes = [b for b in lay.boxes if b.role in LABEL_ROLES]
    rows = [b.row for b in boxes] + [r for r, _ in lay.inputs.values()]
    last = max([b.row2 for b in boxes] + [r for r, _ in lay.inputs.values()])
    return min(rows), last


def table_font_size(lay: SheetLayout) -> Pt:
    """五号 for the small blocks of 表二, 小五 for the wide forms (表三's ten columns, 表四's 15)."""
    return DENSE_TABLE_SIZE if lay.width > DENSE_COLUMNS else TABLE_SIZE


def column_widths(lay: SheetLayout, total: Emu, size: Pt | None = None) -> list[Emu]:
    """Widths of the form's columns: label columns sized for their labels, values share the rest.

    Of the label columns, the group column beside the leaf labels gets room for its group labels
    on one line (（三）不予公开); further-out group columns two characters (三、本年度办理结果 runs
    down a tall merged cell, as on the printed form); the leaf-label column gets the rest. Value
    columns share what the labels leave when that fits their headers unwrapped (表二); otherwise
    they are cut to a whole even number of characters (商业/企业, 社会/公益/组织 wrap evenly
    instead of 商业企/业) and the spare width goes to the leaf labels.
    """
    size = size or table_font_size(lay)
    char, pad = size.cm, 2 * CELL_MARGIN.cm + 0.12
    n_labels = lay.label_cols
    n_values = lay.width - n_labels
    groups: list[float] = []
    leaf_need = 0.0
    for c in range(1, n_labels + 1):
        confined = [b for b in lay.boxes if b.role == "label" and b.col == c and b.col2 == c]
        longest = max((len(b.text) for b in confined), default=2)
        if c == n_labels:
            leaf_need = min(longest, LEAF_LABEL_CHARS) * char + pad
        elif c == n_labels - 1:
            groups.append(min(longest, INNER_GROUP_CHARS) * char + pad)
        else:
            groups.append(OUTER_GROUP_CHARS * char + pad)
    if not n_values:
        return [Emu(int(Cm(w))) for w in groups + [total.cm - sum(groups)]]
    if not n_labels:
        return [Emu(int(total / n_values))] * n_values
    headers = [b for b in lay.boxes if b.role == "header" and b.col == b.col2]
    longest_header = max((len(b.text) for b in headers), default=2)
    share = (total.cm - sum(groups) - leaf_need) / n_values
    if share >= longest_header * char + pad:
        value = min(share, MAX_VALUE_COL.cm)
    else:
        chars = max(2, int((share - pad) / char) // 2 * 2)
        value = chars * char + pad
    leaf = total.cm - sum(groups) - value * n_values
    return [Emu(int(Cm(w))) for w in groups + [leaf] + [value] * n_values]


def _shade(cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = tcpr.find(qn("w:shd"))
    if shd is None:
        shd = OxmlElement("w:shd")
        tcpr.append(shd)
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)


def _cell_text(cell, text: str, size: Pt, *, bold: bool = False) -> None:
    para = cell.paragraphs[0]
    para.style = "GX Table"
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for extra in cell.paragraphs[1:]:  # merging leaves the swallowed cells' empty paragraphs
        extra._element.getparent().remove(extra._element)
    if text:
        set_run_font(para.add_run(text), BODY_FONT, size, bold=bold)
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def _table_props(table: DocxTable) -> None:
    tblpr = table._tbl.tblPr
    mar = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(CELL_MARGIN.twips))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    tblpr.append(mar)


def _repeat_header(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    trpr.append(el)


def _cant_split(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:cantSplit"))


def _glued_rows(lay: SheetLayout, table: Table, *, keep_last: bool) -> list[int]:
    """Sheet rows that must stay on the page of the row below them.

    A page may break inside a long table (表三 repeats its header), but never leaves a caption or
    a header without data under it, nor orphans the last rows of a block: each grid keeps its
    caption, header and first ``GLUE_HEAD`` data rows together, and its last ``GLUE_TAIL`` rows
    with the row before them. Between 表二's blocks a break is allowed.
    """
    out: set[int] = set()
    grids = list(table.grids)
    for i, g in enumerate(grids):
        data = lay.data_rows[g.key]
        start = lay.header_rows[g.key][0] - (1 if g.caption else 0)
        end = data[-1]
        out.update(range(start, min(data[0] + GLUE_HEAD, end)))
        out.update(range(max(data[0], end - GLUE_TAIL), end))
        if i == len(grids) - 1 and keep_last:
            out.add(end)
    return sorted(out)


def add_form_table(doc: DocxDocument, record: Record, table: Table, *, keep_with_next: bool = False) -> DocxTable:
    """One official table as a Word table, merged box by box like the workbook (= the form).

    ``keep_with_next`` keeps the last row with what follows (a unit note under the table).
    """
    lay = workbook_layout(record.spec).table_sheet(table.key)
    first, last = _table_rows(lay)
    ncols = lay.width
    size = table_font_size(lay)
    widths = column_widths(lay, text_width(doc), size)
    t = doc.add_table(rows=last - first + 1, cols=ncols)
    t.style = doc.styles["Table Grid"]
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False
    _table_props(t)
    for i, w in enumerate(widths):
        t.columns[i].width = w
        for cell in t.columns[i].cells:
            cell.width = w
    for row in t.rows:
        _cant_split(row)
    boxes: list[Box] = [b for b in lay.boxes if b.role in LABEL_ROLES]
    header_rows = {r for b in boxes if b.role in HEADER_ROLES for r in range(b.row, b.row2 + 1)}
    for b in boxes:
        cell = t.cell(b.row - first, b.col - 1)
        if b.merged:
            cell = cell.merge(t.cell(b.row2 - first, b.col2 - 1))
        _cell_text(cell, b.text, size, bold=b.role == "caption")
        if b.role in HEADER_ROLES:
            _shade(cell, HEADER_FILL)
    for key, (r, c) in lay.inputs.items():
        cell = t.cell(r - first, c - 1)
        span = lay.input_span.get(key)
        if span and span > c:
            cell = cell.merge(t.cell(r - first, span - 1))
        _cell_text(cell, format_value(record.values.get(key)), size)
    for r in _glued_rows(lay, table, keep_last=keep_with_next):
        for cell in t.rows[r - first].cells:
            for para in cell.paragraphs:
                para.paragraph_format.keep_with_next = True
    if len(table.grids) == 1:  # one header at the top: repeat it when the table runs onto a new page
        data_start = min(r for r, _ in lay.inputs.values())
        for r in range(first, data_start):
            if r in header_rows:
                _repeat_header(t.rows[r - first])
    return t


# ------------------------------------------------------------------ document
def _paragraphs(text: str | None) -> list[str]:
    if not text:
        return []
    parts = re.split(r"\r\n|\r|\n", str(text))
    return [p.strip(" \t\u3000\u00a0") for p in parts if p.strip(" \t\u3000\u00a0")]


def _body(doc: DocxDocument, text: str, style: str = "GX Body") -> Paragraph:
    p = doc.add_paragraph(style=style)
    set_run_font(p.add_run(text), BODY_FONT)
    return p


def _findings(doc: DocxDocument, findings: Sequence[Finding]) -> None:
    errors, warnings = summary(list(findings))
    p = doc.add_paragraph(style="GX Body")
    set_run_font(p.add_run("附：校验结果"), HEADING_FONT)
    _body(doc, f"本文档按 --force 导出，仍有错误 {errors} 项、疑问 {warnings} 项，发布前请更正。")
    for i, f in enumerate(findings, 1):
        p = doc.add_paragraph(style="GX Note")
        cells = [c for c in f.cells if c not in f.message_zh]
        where = f"（{'、'.join(cells[:6])}{'…' if len(cells) > 6 else ''}）" if cells else ""
        run = p.add_run(f"{i}.【{SEVERITY_ZH.get(f.severity, f.severity)}】{f.rule} {f.message_zh}{where}")
        set_run_font(run, BODY_FONT, NOTE_SIZE)
        if f.severity == "error":
            run.font.color.rgb = RGBColor(0xC0, 0, 0)


def title_lines(record: Record, width: Emu) -> list[str]:
    """The title, broken after the unit name when it does not fit on one line.

    Official titles break at a meaningful point (the body's name / the year's report), never in
    the middle of a word as automatic wrapping would.
    """
    title = report_title(record)
    unit = str(record.role("unit_name") or "").strip()
    if display_width(title) / 2 * TITLE_SIZE.cm <= width.cm or not unit or not title.startswith(unit):
        return [title]
    return [unit, title[len(unit):]]


def build_docx(record: Record, findings: Sequence[Finding] | None = None) -> DocxDocument:
    """The python-docx Document of a report (see :func:`write_docx`).

    Submission text passes :func:`gxsheet.core.sanitise.docx`: runs of plain text only (no field,
    no hyperlink), no control character (python-docx would refuse the document).
    """
    record = record.with_text(sanitise.docx)
    findings = [finding_text(f, sanitise.docx) for f in findings] if findings else findings
    spec = record.spec
    doc = Document()
    _page(doc)
    _defaults(doc)
    _styles(doc)
    _font_table(doc)
    title = report_title(record)
    doc.core_properties.title = title
    doc.core_properties.language = "zh-CN"
    p = doc.add_paragraph(style="Title")
    for i, line in enumerate(title_lines(record, text_width(doc))):
        run = p.add_run()
        if i:
            run.add_break()  # a soft line break: the title stays one paragraph
        run.add_text(line)
        set_run_font(run, TITLE_FONT, TITLE_SIZE, bold=True)
    for sec in spec.sections:
        h = doc.add_paragraph(style="Heading 1")
        set_run_font(h.add_run(sec.heading), HEADING_FONT, HEADING_SIZE, bold=False)
        last = None
        for para in _paragraphs(record.prose.get(sec.key)):
            last = _body(doc, para)
        tables = tables_of_section(spec, sec.numeral)
        if last is not None and tables:
            last.paragraph_format.keep_with_next = True  # the sentence introducing a table stays with it
        for t in tables:
            notes = unit_notes(record, t)
            add_form_table(doc, record, t, keep_with_next=bool(notes))
            for n in notes:
                _body(doc, n, "GX Note")
            if not notes:
                doc.add_paragraph(style="GX Note")  # breathing room before the next heading
    if findings:
        _findings(doc, findings)
    return doc


def write_docx(record: Record, path: str | Path, findings: Sequence[Finding] | None = None) -> Path:
    """Write the report as .docx at ``path`` (the caller makes it atomic via ``atomic.write_with``)."""
    doc = build_docx(record, findings)
    doc.save(str(path))
    return Path(path)


__all__ = ["add_form_table", "build_docx", "column_widths", "set_run_font", "write_docx"]
