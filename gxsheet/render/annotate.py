"""Marking findings in a workbook: red/yellow cells, a comment on each, a 校验结果 sheet.

Written against ``BookPort`` so the CLI (``--annotate``, on a copy via openpyxl) and the Excel
add-in (the open workbook via xlwings) share it. A re-run first removes the previous marks: the
result sheet keeps, in hidden columns, every cell it coloured and that cell's original fill, so
clearing restores the workbook exactly instead of guessing.
"""

from __future__ import annotations

from collections import defaultdict

from gxsheet.core.display import LINE_PT, ROW_PAD_PT, cell_lines
from gxsheet.core.findings import SEVERITY_ZH, Finding, summary
from gxsheet.core.layout import RESULT_SHEET
from gxsheet.core.limits import Limits
from gxsheet.core.record import Record
from gxsheet.core.sanitise import page_header
from gxsheet.core.wording import plural
from gxsheet.render.book_port import AUTHOR, BookPort, PrintSetup
from gxsheet.render.findings_report import display_rows
from gxsheet.render.template import PAGE_FOOTER

ERROR_FILL = "FFC7CE"
WARNING_FILL = "FFEB9C"
HEADER = ("序号", "严重程度", "规则", "位置", "说明")
HEADER_EN = ("No.", "Severity", "Rule", "Cell", "Message")
#: hidden bookkeeping columns: marked cell, its original fill
MARK_COL, ORIG_COL = "G", "H"
FIRST_ROW = 4


def _split(ref: str) -> tuple[str, str] | None:
    if "!" not in ref:
        return None
    sheet, a1 = ref.rsplit("!", 1)
    return sheet.strip("'"), a1.replace("$", "")


def clear_marks(book: BookPort) -> int:
    """Remove a previous run's marks; returns how many cells were restored."""
    names = book.sheet_names()
    restored = 0
    if RESULT_SHEET in names:
        row = FIRST_ROW
        while True:
            ref = book.get_value(RESULT_SHEET, f"{MARK_COL}{row}")
            if not ref:
                if not book.get_value(RESULT_SHEET, f"A{row}"):
                    break
                row += 1
                continue
            target = _split(str(ref))
            if target and target[0] in names:
                orig = book.get_value(RESULT_SHEET, f"{ORIG_COL}{row}")
                _with_unprotected(book, target[0], lambda t=target, o=orig: (
                    book.set_fill(t[0], t[1], str(o) if o else None),
                    book.set_comment(t[0], t[1], None) if book.comment_author(t[0], t[1]) == AUTHOR else None))
                restored += 1
            row += 1
        book.delete_sheet(RESULT_SHEET)
    for name in book.sheet_names():  # comments from an interrupted run
        for a1 in book.commented_cells(name):
            if book.comment_author(name, a1) == AUTHOR:
                _with_unprotected(book, name, lambda n=name, a=a1: book.set_comment(n, a, None))
    return restored


def _with_unprotected(book: BookPort, sheet: str, action) -> None:
    was = book.is_protected(sheet)
    if was:
        book.protect(sheet, False)
    try:
        action()
    finally:
        if was:
            book.protect(sheet, True)


def annotate(book: BookPort, findings: list[Finding], lang: str = "zh", *, record: Record | None = None) -> None:
    """Mark every cell a finding names and write the 校验结果 sheet (previous marks cleared).

    ``record`` (the report the findings are about) names the unit and year on the sheet and its pages.
    """
    clear_marks(book)
    names = set(book.sheet_names())
    per_cell: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        for ref in f.cells:
            t = _split(ref)
            if t and t[0] in names:
                per_cell[t].append(f)
    originals: dict[tuple[str, str], str | None] = {}
    by_sheet: dict[str, list[tuple[str, list[Finding]]]] = defaultdict(list)
    for (sheet, a1), fs in per_cell.items():
        by_sheet[sheet].append((a1, fs))
    for sheet, cells in by_sheet.items():
        def mark(cells=cells, sheet=sheet) -> None:
            for a1, fs in cells:
                originals[(sheet, a1)] = book.get_fill(sheet, a1)
                error = any(f.severity == "error" for f in fs)
                book.set_fill(sheet, a1, ERROR_FILL if error else WARNING_FILL)
                text = "\n".join(f"[{f.rule}] {f.message(lang)}" for f in fs)
                book.set_comment(sheet, a1, text)
        _with_unprotected(book, sheet, mark)
    if record is not None:
        book.name_pages(record.role("unit_name"), record.role("year"))
    _result_sheet(book, findings, originals, lang, record)


#: column widths of 校验结果 (characters): 序号, 严重程度, 规则, 位置 (wrapped), 说明 (wrapped)
WIDTHS = {"A": 6.0, "B": 9.0, "C": 15.0, "D": 24.0, "E": 90.0}
def _who(record: Record | None, lang: str) -> str:
    """``王店镇 2019年度（2019版）`` — the unit and year this copy is about, for its title and page header."""
    if record is None:
        return ""
    unit, year = record.role("unit_name"), record.role("year")
    if lang == "en":
        return f"{unit or '(no name)'}{f' {year}' if year else ''} ({record.edition} edition)"
    return f"{unit or '（未填单位名称）'}{f' {year}年度' if year else ''}（{record.edition}版）"


def _result_sheet(book: BookPort, findings: list[Finding], originals: dict[tuple[str, str], str | None], lang: str,
                  record: Record | None = None) -> None:
    """The 校验结果 sheet: one row per finding — a sheet's many blank cells in one row, as on the screen —
    each linked to its cell; wrapped text in rows tall enough to show it; printable on A4 landscape
    with the header row repeated and the unit, year and page number on every page."""
    book.add_sheet(RESULT_SHEET, first=True)
    en = lang == "en"
    errors, warnings = summary(findings)
    who = _who(record, lang)
    if en:
        verdict = "passed: no problems found." if not findings else f"{plural(errors, 'error')}, {plural(warnings, 'warning')}."
        title = f"Validation {verdict}"
        hint = "Click a cell reference to jump to it; validate again after correcting."
    else:
        title = "校验通过：未发现问题。" if not findings else f"校验结果：{errors}个错误，{warnings}个疑问。"
        hint = "点击“位置”可跳到对应单元格（已标红/黄并加批注）；改正后请重新校验。"
    book.set_value(RESULT_SHEET, "A1", title, bold=True)
    book.set_value(RESULT_SHEET, "A2", f"{who} · {hint}" if who else hint)
    for i, h in enumerate(HEADER_EN if en else HEADER):
        book.set_value(RESULT_SHEET, f"{'ABCDE'[i]}3", h, bold=True)
    book.set_row_height(RESULT_SHEET, 1, LINE_PT + ROW_PAD_PT + 4)
    row = FIRST_ROW
    names = set(book.sheet_names())
    for n, (severity, rule, cells, message) in enumerate(display_rows(findings, lang), 1):
        book.set_value(RESULT_SHEET, f"A{row}", n)
        book.set_value(RESULT_SHEET, f"B{row}", severity if en else SEVERITY_ZH.get(severity, severity))
        book.set_value(RESULT_SHEET, f"C{row}", rule)
        target = next((t for t in (_split(c) for c in cells) if t and t[0] in names), None)
        if target:
            # LibreOffice does not wrap a cell holding a link: the link names one place, short enough
            # for its column; a finding about several cells lists them all under its message
            first = next(c for c in cells if _split(c) == target)
            others = len([c for c in cells if c != "…"]) - 1
            where = first + ((f" +{others}" if en else f" 等{others + 1}处") if others and "…" not in cells else "")
            book.set_link(RESULT_SHEET, f"D{row}", where, target[0], target[1])
            if others and "…" not in cells:
                message += ("\ncells: " if en else "\n单元格：") + " ".join(cells)
        else:
            where = " ".join(cells)  # a space between places: every program may break the line there
            book.set_value(RESULT_SHEET, f"D{row}", where)
        book.set_value(RESULT_SHEET, f"E{row}", message)
        lines = max(cell_lines(where, WIDTHS["D"]), cell_lines(message, WIDTHS["E"]))
        book.set_row_height(RESULT_SHEET, row, lines * LINE_PT + ROW_PAD_PT)
        row += 1
    last = row - 1
    if last >= FIRST_ROW:
        book.set_wrap(RESULT_SHEET, f"A{FIRST_ROW}:E{last}")
    # bookkeeping for the next run's clear_marks: one marked cell per row, from FIRST_ROW
    marked = list(originals.items())
    for i, ((sheet, a1), orig) in enumerate(marked):
        r = FIRST_ROW + i
        book.set_value(RESULT_SHEET, f"{MARK_COL}{r}", f"'{sheet}'!{a1}")
        book.set_value(RESULT_SHEET, f"{ORIG_COL}{r}", orig or "")
        if r >= row and not book.get_value(RESULT_SHEET, f"A{r}"):
            book.set_value(RESULT_SHEET, f"A{r}", " ")  # keeps clear_marks scanning to the end
    for col, width in WIDTHS.items():
        book.set_width(RESULT_SHEET, col, width)
    book.hide_column(RESULT_SHEET, MARK_COL)
    book.hide_column(RESULT_SHEET, ORIG_COL)
    book.set_print(RESULT_SHEET, PrintSetup(
        area=f"A1:E{max(last, 3)}", title_rows=(3, 3), landscape=True,
        header=(page_header(who), RESULT_SHEET, "政府信息公开工作年度报告" if not en else "annual disclosure report"),
        footer=PAGE_FOOTER if not en else "page &P of &N"))
    book.activate(RESULT_SHEET)


def annotate_file(source: str, findings: list[Finding], lang: str, dest: str, limits: Limits | None = None, *,
                  record: Record | None = None) -> int:
    """Write the annotated copy of the workbook ``source`` to ``dest``; returns the formulas neutralised.

    The copy is what a county passes around, so besides the marks it carries nothing live from the
    submission: no macros or external links (openpyxl drops them), and every formula that would
    reach outside the workbook (DDE, another workbook, HYPERLINK …) replaced by the value the file
    cached for it. Runs in a bounded worker (``gxsheet validate --annotate``).
    """
    from gxsheet.render.book_port import OpenpyxlBook
    from gxsheet.xlsx.workbook import read_workbook

    book = OpenpyxlBook(source, limits)
    cells = None

    def cached(sheet: str, row: int, col: int) -> object:
        nonlocal cells
        if cells is None:
            cells = read_workbook(source, limits)
        ws = cells.sheets.get(sheet)
        raw = ws.cells.get((row, col)) if ws is not None else None
        return raw.value if raw is not None else None

    n = book.neutralise(cached)
    annotate(book, findings, lang, record=record)
    book.save(dest)
    return n
