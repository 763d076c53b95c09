"""The Python side of the Excel add-in's ribbon buttons: 校验, 导出文本, 新建模板.

Why it is shaped this way
-------------------------
Each button is a plain function over :class:`~gxsheet.render.book_port.BookPort` that returns a
:class:`Result` (what happened and the Chinese message to show). Excel is only one way to get a
``BookPort``: the VBA ribbon calls the thin entry points at the bottom of this module
(:func:`validate_active`, :func:`export_active`, :func:`new_template` without arguments), which
wrap the workbook open in Excel in ``XlwingsBook`` and show the message in a message box. The
tests call the very same functions with an ``OpenpyxlBook`` on Linux, so what runs behind the
ribbon is what the test suite checks.

Nothing here imports xlwings: :mod:`gxsheet.excel.xlwings_book` is imported lazily by the entry points,
so this module (and the CLI) work where xlwings is not installed.

The promise to a clerk: every outcome, including every failure, ends as a short Chinese message
in Excel — never a Python traceback. The entry points therefore catch *every* exception and turn
it into a message (:func:`failure_message`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gxsheet.core.findings import Finding, summary
from gxsheet.core.layout import RESULT_SHEET
from gxsheet.core.wording import years_words
from gxsheet.excel.result import AddinError, ExcelUnreachable, Result
from gxsheet.render.book_port import BookPort

if TYPE_CHECKING:
    from gxsheet.core.record import Record
    from gxsheet.excel.xlwings_book import ExcelApp


TITLE = "政务公开年报"
#: the buttons' labels, as on the ribbon (macros/customUI.xml): messages name the button to press
VALIDATE, EXPORT, TEMPLATE = "校验", "导出文本", "新建模板"
#: how many findings a message box quotes; the 校验结果 sheet lists all of them
SHOWN_FINDINGS = 3
#: longest finding text quoted in a message box (the full text is in the cell's comment)
SHOWN_CHARS = 90


# ---------------------------------------------------------------------------------------------
# helpers shared by the buttons
# ---------------------------------------------------------------------------------------------


def display_name(book: BookPort) -> str:
    """The workbook's file name as Excel shows it (``Book1`` for a never-saved workbook)."""
    full = book.full_name() or ""
    return re.split(r"[\\/]", full)[-1] or "当前工作簿"


def local_folder(full_name: str) -> Path | None:
    """The folder a saved workbook lives in, or None (never saved, or only on OneDrive/SharePoint).

    Excel reports a never-saved workbook as a bare name (``Book1``) and a cloud one as a URL;
    neither has a folder we can write next to.
    """
    if not full_name or "://" in full_name:
        return None
    if not (os.path.isabs(full_name) or re.match(r"^[A-Za-z]:[\\/]|^\\\\", full_name)):
        return None
    folder = Path(full_name).parent
    return folder if folder.is_dir() else None


def _no_folder_message(book: BookPort, doing: str) -> str:
    full = book.full_name() or ""
    if "://" in full:
        return (f"“{display_name(book)}”保存在 OneDrive/SharePoint 网址上，无法在它旁边{doing}。\n"
                "请用“文件 → 另存为”把它保存到本机文件夹，再点一次。")
    return f"“{display_name(book)}”还没有保存过，无法在它旁边{doing}。\n请先保存工作簿（Ctrl+S），再点一次。"


def snapshot_record(book: BookPort) -> Record:
    """Read the workbook *as it is on screen* (unsaved edits included) into a Record.

    The reader works on files, so the workbook is saved as a copy into a private temporary folder
    (Excel's SaveCopyAs leaves the open workbook, its name and its "unsaved" state untouched).
    Messages about the copy name the clerk's workbook, not the temporary file.
    """
    from gxsheet.core.config import ConfigError, load_settings
    from gxsheet.core.errors import LoadError
    from gxsheet.read.workbook import read_report

    try:  # the same config file as the command line (found in the user's config folder)
        limits = load_settings().limits
    except ConfigError as e:
        raise AddinError(e.message_zh) from e
    full = book.full_name() or ""
    suffix = Path(display_name(book)).suffix.lower() or ".xlsx"
    with tempfile.TemporaryDirectory(prefix="gxsheet-", ignore_cleanup_errors=True) as tmp:
        copy = Path(tmp) / f"workbook{suffix}"
        book.save_copy(copy)
        try:
            record = read_report(copy, limits=limits)
        except LoadError as e:
            name = display_name(book)
            raise AddinError(e.message_zh.replace(str(copy), name)) from e
    record.source = full or display_name(book)
    return record


def _quote(findings: Sequence[Finding], severity: str | None = None) -> list[str]:
    chosen = [f for f in findings if severity is None or f.severity == severity][:SHOWN_FINDINGS]
    lines = []
    for f in chosen:
        text = f.message_zh if len(f.message_zh) <= SHOWN_CHARS else f.message_zh[: SHOWN_CHARS - 1] + "…"
        lines.append(f"· {text}")
    return lines


# ---------------------------------------------------------------------------------------------
# 校验
# ---------------------------------------------------------------------------------------------


def validate_book(book: BookPort) -> Result:
    """校验: read the open workbook, mark every finding in it, say what was found.

    Marking is :func:`gxsheet.render.annotate.annotate` — the same code as ``gxsheet validate
    --annotate`` — so a re-run first removes the previous run's colours and comments, and the
    校验结果 sheet lists every finding with a link to its cell.
    """
    from gxsheet.check.validate import validate_record
    from gxsheet.render.annotate import annotate

    record = snapshot_record(book)
    findings = validate_record(record)
    annotate(book, findings, "zh", record=record)
    errors, warnings = summary(findings)
    name = display_name(book)
    if not findings:
        message = (f"“{name}”校验通过：未发现问题。\n\n"
                   f"上次校验的标记已清除；“{RESULT_SHEET}”工作表记录了本次结果。")
        return Result(VALIDATE, True, message, "info")
    lines = [f"“{name}”校验完成：{errors}个错误，{warnings}个疑问。", ""]
    lines.append("错误的单元格已标红、疑问标黄，并加了批注说明；"
                 f"全部问题列在最前面的“{RESULT_SHEET}”工作表中，点击“位置”一栏可跳到对应单元格。")
    quoted = _quote(findings, "error" if errors else None)
    if quoted:
        lines += ["", "前几项：", *quoted]
    lines += ["", "改正后请再点一次“校验”，旧的标记会自动清除。"]
    return Result(VALIDATE, True, "\n".join(lines), "warning", errors=errors, warnings=warnings)


# ---------------------------------------------------------------------------------------------
# 导出文本
# ---------------------------------------------------------------------------------------------


def export_paths(book: BookPort) -> tuple[Path, Path]:
    """``<stem>.txt`` and ``<stem>.docx`` beside the workbook (AddinError if it has no folder)."""
    folder = local_folder(book.full_name() or "")
    if folder is None:
        raise AddinError(_no_folder_message(book, "导出文件"))
    stem = Path(display_name(book)).stem
    return folder / f"{stem}.txt", folder / f"{stem}.docx"


def _write_or_explain(path: Path, writer: Callable[[Path], object]) -> None:
    """Write atomically; a locked target (open in Word/Notepad) becomes a message saying so."""
    from gxsheet.core.atomic import OutputError, write_with

    try:
        write_with(path, writer)
    except OutputError as e:  # the writer names the output; a lock is the usual cause here
        if isinstance(e.__cause__, PermissionError):
            raise AddinError(f"无法写入“{path}”：这个文件可能正在 Word 或其他程序中打开，"
                             "或文件夹不允许写入。请关闭该文件后再点一次“导出文本”。") from e
        raise AddinError(e.message_zh) from e


def export_book(book: BookPort) -> Result:
    """导出文本: write the report as ``<stem>.txt`` and ``<stem>.docx`` next to the workbook.

    A report with validation errors is refused — publishing a wrong table is the mistake this
    tool exists to prevent — and the message says how many and that 校验 marks them. Warnings do
    not block the export. Both files are written atomically (a temp file, then a rename), and a
    previous export of the same workbook is replaced: clicking again after a fix is the normal use.
    """
    from gxsheet.check.validate import validate_record
    from gxsheet.render.docx import write_docx
    from gxsheet.render.txt import render_txt

    txt, docx = export_paths(book)
    record = snapshot_record(book)
    findings = validate_record(record)
    errors, warnings = summary(findings)
    name = display_name(book)
    if errors:
        lines = [f"“{name}”有 {errors} 项错误" + (f"（另有 {warnings} 项疑问）" if warnings else "") + "，未导出。",
                 "", "请先点“校验”：出错的单元格会标红、加批注，并全部列在“校验结果”工作表中。"
                 "改正后再点“导出文本”。", "", "前几项错误：", *_quote(findings, "error")]
        return Result(EXPORT, False, "\n".join(lines), "warning", errors=errors, warnings=warnings)
    replaced = [p.name for p in (txt, docx) if p.exists()]
    text = render_txt(record, None, "zh")
    # the .docx first: it is the one likely to be locked (open in Word), and then nothing is written
    _write_or_explain(docx, lambda tmp: write_docx(record, tmp))
    _write_or_explain(txt, lambda tmp: tmp.write_bytes(text.encode("utf-8")))
    lines = [f"已导出“{name}”的年报全文：", str(txt), str(docx), "",
             ".txt 可直接粘贴到网站发布，.docx 可用 Word 打开排版。"]
    if replaced:
        lines.append(f"（已替换上次导出的 {'、'.join(replaced)}。）")
    if warnings:
        lines += ["", f"另有 {warnings} 项疑问（不影响导出），发布前请点“校验”查看并核对。"]
    return Result(EXPORT, True, "\n".join(lines), "info", warnings=warnings, files=[txt, docx])


# ---------------------------------------------------------------------------------------------
# 新建模板
# ---------------------------------------------------------------------------------------------


def book_year(book: BookPort) -> int | None:
    """The report year typed in an open report workbook (基本信息's 年度 cell), else None.

    Read straight from the cell (no snapshot): any workbook may be open when 新建模板 is
    clicked, and a non-report simply has no year.
    """
    from gxsheet.core.layout import workbook_layout
    from gxsheet.core.normalise import parse_year
    from gxsheet.core.spec import editions, load_spec

    names = set(book.sheet_names())
    for ed in editions():
        sheet, r, c = workbook_layout(load_spec(ed)).position("meta." + load_spec(ed).meta_key("year"))
        if sheet in names:
            from openpyxl.utils import get_column_letter

            year = parse_year(book.get_value(sheet, f"{get_column_letter(c)}{r}"))
            if year is not None:
                return year
    return None


def documents_dir() -> Path:
    """The user's Documents folder (where Windows' own dialogs save), else the home folder.

    On Windows the registry knows where Documents really is (it is often redirected to OneDrive
    or another drive); elsewhere ``~/Documents`` is the convention.
    """
    if sys.platform.startswith("win"):
        try:
            import winreg

            key = r"Software\Microsoft\Windows\CurrentVersion\Explorer\User Shell Folders"
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as k:
                raw, _ = winreg.QueryValueEx(k, "Personal")
            folder = Path(os.path.expandvars(raw))
            if folder.is_dir():
                return folder
        except OSError:
            pass
    home = Path.home()
    docs = home / "Documents"
    return docs if docs.is_dir() else home


def template_filename(edition: str) -> str:
    return f"政府信息公开工作年度报告（{edition}版模板）.xlsx"


def free_path(folder: Path, filename: str) -> Path:
    """``folder/filename``, or ``name (2).xlsx``, ``(3)``, ... — the first that does not exist yet."""
    first = folder / filename
    if not first.exists():
        return first
    stem, suffix = Path(filename).stem, Path(filename).suffix
    n = 2
    while (folder / f"{stem} ({n}){suffix}").exists():
        n += 1
    return folder / f"{stem} ({n}){suffix}"


class _FromExcel:
    """Marker default of :func:`new_template`: called with no book means "called by the ribbon"."""

    def __repr__(self) -> str:
        return "<the workbook active in Excel>"


FROM_EXCEL = _FromExcel()


def new_template(book: BookPort | None | _FromExcel = FROM_EXCEL, edition: str | None = None, *,
                 folder: Path | None = None, today: dt.date | None = None) -> Result:
    """新建模板: write a fresh standard template of the right edition, never over an existing file.

    The edition follows the open workbook's report year when it has one (a 2020 report needs the
    2019 edition), else the current year; ``edition`` overrides both. The file goes next to the
    open workbook when it is saved in a folder, else into ``folder`` (default: the user's
    Documents), as ``政府信息公开工作年度报告（2021版模板）.xlsx`` or ``… (2).xlsx`` etc.

    Called with *no* book argument — as the ribbon's VBA does, ``new_template()`` — it runs as an
    Excel entry point instead: it takes the workbook active in Excel, opens the new template
    there and shows the message box (see :func:`_run_in_excel`).
    """
    if isinstance(book, _FromExcel):
        return _run_in_excel(TEMPLATE, _template_in_excel, need_book=False)
    book_or_none: BookPort | None = book
    from gxsheet.core.spec import edition_for_year, editions, load_spec
    from gxsheet.render.template import write_template

    today = today or dt.date.today()
    year = book_year(book_or_none) if book_or_none is not None else None
    if edition is not None:
        if edition not in editions():
            raise AddinError(f"没有“{edition}”版的年报格式；可用的版本：{'、'.join(editions())}。")
        why = f"按指定的 {edition} 版。"
    elif year is not None and edition_for_year(year):
        edition = edition_for_year(year)
        why = f"当前工作簿是 {year} 年度的年报，{year} 年度应使用 {edition} 版。"
    else:
        edition = edition_for_year(today.year) or editions()[-1]
        why = f"按今年（{today.year}年）选用 {edition} 版。"
    assert edition is not None
    place = local_folder(book_or_none.full_name() or "") if book_or_none is not None else None
    target_dir = Path(place or folder or documents_dir()).absolute()
    path = free_path(target_dir, template_filename(edition))
    try:
        write_template(edition, path)
    except PermissionError as e:
        raise AddinError(f"无法在“{target_dir}”中新建文件：文件夹不允许写入。") from e
    spec = load_spec(edition)
    message = (f"已新建 {edition} 版年报模板（适用于 {years_words(spec)}）：\n{path}\n\n{why}\n"
               "模板自带实时校验：勾稽关系不符的单元格会变红。填好后可点“校验”。")
    return Result(TEMPLATE, True, message, "info", files=[path], edition=edition)


# ---------------------------------------------------------------------------------------------
# Excel entry points (called by macros/gxsheet_ribbon.bas through xlwings' RunPython)
# ---------------------------------------------------------------------------------------------


def validate_active() -> Result:
    """Ribbon 校验 on the workbook active in Excel."""
    return _run_in_excel(VALIDATE, _on_book(validate_book), need_book=True)


def export_active() -> Result:
    """Ribbon 导出文本 on the workbook active in Excel."""
    return _run_in_excel(EXPORT, _on_book(export_book), need_book=True)


def _on_book(button: Callable[[BookPort], Result]) -> Callable[[BookPort | None, ExcelApp | None], Result]:
    def run(book: BookPort | None, _excel: ExcelApp | None) -> Result:
        if book is None:  # _run_in_excel(need_book=True) answers this case before calling
            raise AddinError("没有打开的工作簿。")
        return button(book)

    return run


def _template_in_excel(book: BookPort | None, excel: ExcelApp | None) -> Result:
    """新建模板 from the ribbon; ``excel`` is None when xlwings could not attach to Excel.

    That happens in xlwings' default mode when no workbook is open (see
    :meth:`ExcelApp.from_caller`) — exactly when a clerk is most likely to want a new template —
    so the template is still written, into the Documents folder, and the message says how to
    open it instead of Excel opening it.
    """
    if excel is None:
        result = new_template(None, folder=documents_dir())
        result.message += "\n\n请在 Excel 中用“文件 → 打开”打开它。"
        return result
    result = new_template(book, folder=excel.default_folder() or documents_dir())
    if result.files and excel.open(result.files[0]):
        result.message += "\n\n模板已在 Excel 中打开。"
    return result


def unreachable_message(action: str) -> str:
    """What to do when xlwings cannot attach to Excel (:class:`ExcelUnreachable`)."""
    return (f"没能连接到 Excel，“{action}”没有进行。\n\n"
            f"最常见的原因是 Excel 中没有打开的工作簿：请先打开要{action}的年报工作簿并切换到它，"
            f"再点“{action}”。\n"
            "如果工作簿已经打开：请按 Enter 或 Esc 结束单元格编辑、关闭打开的对话框后再点一次；"
            "仍不行就关闭 Excel 重新打开。")


def failure_message(action: str, exc: BaseException) -> str:
    """One Chinese message for anything that went wrong — never a traceback.

    Known failures carry their own Chinese text (gxsheet's LoadError/OutputError/AddinError);
    the usual system ones get an explanation and what to do; anything else is named in one line
    so the clerk can pass it on.
    """
    message_zh = getattr(exc, "message_zh", None)
    if isinstance(message_zh, str) and message_zh:
        return message_zh
    head = f"“{action}”没有完成："
    if isinstance(exc, ImportError):
        what = getattr(exc, "name", None) or str(exc)
        return (f"{head}找不到 Python 组件 {what}。\n\n"
                "请在命令提示符中运行：pip install \"gxsheet[addin]\"，然后再点一次。")
    if isinstance(exc, PermissionError):
        where = f"“{exc.filename}”" if exc.filename else "文件"
        return f"{head}无法写入{where}：它可能正在其他程序中打开，或文件夹不允许写入。请关闭后再试。"
    if isinstance(exc, FileNotFoundError):
        where = f"“{exc.filename}”" if exc.filename else "所需的文件或文件夹"
        return f"{head}找不到{where}。"
    if isinstance(exc, OSError):
        return f"{head}读写文件时出错（{exc.strerror or exc}）。"
    if type(exc).__name__ == "com_error":  # pywintypes.com_error: Excel refused or was busy
        return (f"{head}Excel 拒绝了操作或正忙。\n\n"
                "请先结束单元格编辑（按 Enter 或 Esc）、关闭打开的对话框，再点一次。")
    detail = " ".join(str(exc).split())[:200]
    return (f"{head}内部错误（{type(exc).__name__}{'：' + detail if detail else ''}）。\n\n"
            "请把这条信息和工作簿发给维护者。")


def _run_in_excel(action: str, button: Callable[[BookPort | None, ExcelApp | None], Result], *,
                  need_book: bool) -> Result:
    """Run one button on the workbook active in Excel and show its message; never raise.

    The VBA's ``RunPython`` makes ``xlwings.Book.caller()`` the add-in itself (the .xlam is
    ``ThisWorkbook``), so the clerk's workbook is the *active* workbook of the calling Excel.
    Any exception — from xlwings, Excel, the file system or gxsheet — becomes a Chinese message
    box: xlwings would otherwise show the Python traceback in a dialog. When xlwings cannot
    attach to Excel at all, a button that needs a workbook says what to do and one that does
    not (新建模板) runs without Excel.
    """
    excel: ExcelApp | None = None
    try:
        from gxsheet.excel.xlwings_book import ExcelApp

        try:
            excel = ExcelApp.from_caller()
        except ExcelUnreachable:
            if need_book:
                result = Result(action, False, unreachable_message(action), "warning")
            else:
                result = button(None, None)
        else:
            book = excel.active_book()
            if book is None and need_book:
                result = Result(action, False, f"请先打开要{action}的年报工作簿，并切换到它，再点“{action}”。", "warning")
            else:
                with excel.quiet():
                    result = button(book, excel)
    except Exception as exc:  # noqa: BLE001 - the promise: a Chinese message, never a traceback
        result = Result(action, False, failure_message(action, exc), "error")
    show(excel, result)
    return result


def show(excel: ExcelApp | None, result: Result) -> None:
    """Show ``result.message`` in a message box by whatever means still work; never raise.

    Through Excel when possible (the box belongs to Excel's window); if xlwings itself failed,
    through the Windows API directly; as a last resort on stderr (xlwings' console, if shown).
    """
    title = f"{TITLE} · {result.action}"
    if excel is not None:
        try:
            excel.alert(result.message, title, result.level)
            return
        except Exception:  # noqa: BLE001 - fall through to the next way of telling the clerk
            pass
    if sys.platform.startswith("win"):
        try:
            import ctypes

            icon = {"info": 0x40, "warning": 0x30, "error": 0x10}[result.level]
            # MB_SETFOREGROUND | MB_TOPMOST: without an owner window the box must not open behind Excel
            ctypes.windll.user32.MessageBoxW(None, result.message, title, icon | 0x10000 | 0x40000)
            return
        except Exception:  # noqa: BLE001
            pass
    try:
        print(f"{title}: {result.message}", file=sys.stderr)
    except Exception:  # noqa: BLE001
        pass


__all__ = [
    "AddinError", "ExcelUnreachable", "Result", "documents_dir", "export_active", "export_book", "failure_message",
    "free_path", "new_template", "show", "snapshot_record", "validate_active", "validate_book",
]
