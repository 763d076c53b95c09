"""``BookPort`` over a workbook open in Excel, through xlwings — the only module that imports xlwings.

The add-in's logic (:mod:`gxsheet.excel.addin`) and the annotator (:mod:`gxsheet.render.annotate`) talk only to
the small ``BookPort`` interface; this module maps it onto xlwings' object model (``book.sheets``,
``sheet.range(a1)``, ``range.color``, ``range.note`` …) and, where xlwings has no portable call,
onto Excel's own object model via ``.api`` (COM on Windows, AppleScript on macOS). xlwings itself is
imported lazily, in :meth:`ExcelApp.from_caller`, so this module can be imported — and tested with
fake Book/Sheet/Range objects — without Excel.

Excel differs from a file on disk in three ways that matter here, each handled below:

* Text typed into a cell is *interpreted* (``=…`` is a formula, ``'x`` loses its apostrophe,
  ``2021/3`` becomes a date), so strings are written behind Excel's text prefix ``'``.
* A legacy comment ("note") records the Windows user as its author, not ``gxsheet``; our notes
  therefore start with a visible marker line that identifies them. A clerk's own note on a cell
  we mark is kept inside ours and put back when the marks are cleared.
* Unprotecting a sheet and protecting it again resets its "allow formatting columns …" options,
  so they are remembered and restored (the templates allow resizing rows and columns).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gxsheet.core.sanitise import cell as cell_text
from gxsheet.excel.result import AddinError, ExcelUnreachable, Level
from gxsheet.render.book_port import AUTHOR, PrintSetup

#: first line of every note gxsheet writes: how its notes are told apart from a clerk's own
NOTE_MARK = f"【{AUTHOR} 校验】\n"
#: separates our text from the clerk's own note that was on the cell before (restored on clear)
NOTE_KEPT = "\n\n—— 原批注 ——\n"
#: note box size in points (Excel's default box is too small for a finding's message)
NOTE_SIZE = (270, 120)
#: Excel constants (XlPageOrientation, XlPaperSize, XlVAlign)
XL_PORTRAIT, XL_LANDSCAPE, XL_PAPER_A4, XL_TOP = 1, 2, 9, -4160
#: Worksheet.Protection flags Excel forgets on Unprotect/Protect; names are Protect()'s arguments
_ALLOW = (
    "AllowFormattingCells", "AllowFormattingColumns", "AllowFormattingRows", "AllowInsertingColumns",
    "AllowInsertingRows", "AllowInsertingHyperlinks", "AllowDeletingColumns", "AllowDeletingRows",
    "AllowSorting", "AllowFiltering", "AllowUsingPivotTables",
)


def rgb_to_hex(color: Any) -> str | None:
    """xlwings' ``Range.color`` (an RGB tuple, or None for no fill) → ``"FFC7CE"``."""
    if color is None:
        return None
    if isinstance(color, int):  # Excel's BGR integer
        color = (color & 0xFF, (color >> 8) & 0xFF, (color >> 16) & 0xFF)
    r, g, b = (int(x) for x in color)
    return f"{r:02X}{g:02X}{b:02X}"


def hex_to_rgb(rgb: str) -> tuple[int, int, int]:
    """``"FFC7CE"`` (or ``"FFFFC7CE"`` with alpha) → ``(255, 199, 206)``."""
    h = rgb[-6:]
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def as_cell_text(value: Any) -> Any:
    """What to assign to ``Range.value`` so Excel stores ``value`` literally.

    Excel strips a leading ``'`` (it marks text) and interprets everything else, so every string
    is written with that prefix: ``"'表三'!D5"`` stays ``'表三'!D5``, ``"=1"`` is not a formula.
    Controls and invisible marks are escaped (:func:`gxsheet.core.sanitise.cell`).
    """
    if isinstance(value, str) and value:
        return "'" + cell_text(value)
    return value


def _kept_note(text: str) -> str | None:
    """The clerk's own note kept inside one of ours, if any."""
    if text.startswith(NOTE_MARK) and NOTE_KEPT in text:
        return text.split(NOTE_KEPT, 1)[1] or None
    return None


class XlwingsBook:
    """``BookPort`` over an ``xlwings.Book`` (the workbook the clerk has open in Excel).

    ``mac`` selects AppleScript instead of COM for the few calls xlwings does not wrap
    (protection, SaveCopyAs, internal hyperlinks); it defaults to the platform we run on.
    """

    def __init__(self, book: Any, *, mac: bool | None = None) -> None:
        self.book = book
        self.mac = sys.platform == "darwin" if mac is None else mac
        self._protection: dict[str, dict[str, Any]] = {}

    # -- sheets ------------------------------------------------------------------------------
    def _sheet(self, name: str) -> Any:
        return self.book.sheets[name]

    def _cell(self, sheet: str, a1: str) -> Any:
        return self._sheet(sheet).range(a1)

    def sheet_names(self) -> list[str]:
        return [s.name for s in self.book.sheets]

    def _structure_protected(self) -> bool:
        try:
            api = self.book.api
            return bool(api.protect_structure.get() if self.mac else api.ProtectStructure)
        except Exception:  # noqa: BLE001 - unknown means "try": Excel will refuse if it must
            return False

    def add_sheet(self, name: str, first: bool = True) -> None:
        if self._structure_protected():
            raise AddinError(f"工作簿结构受保护，无法添加“{name}”工作表。\n"
                             "请在“审阅 → 保护工作簿”中撤销保护后再点一次。")
        sheets = self.book.sheets
        if first:
            sheets.add(name, before=sheets[0])
        else:
            sheets.add(name, after=sheets[len(sheets) - 1])

    def delete_sheet(self, name: str) -> None:
        if self._structure_protected():
            raise AddinError(f"工作簿结构受保护，无法删除上次校验留下的“{name}”工作表。\n"
                             "请在“审阅 → 保护工作簿”中撤销保护后再点一次。")
        self._sheet(name).delete()  # xlwings turns Excel's "really delete?" prompt off around it

    def activate(self, sheet: str) -> None:
        self._sheet(sheet).activate()

    # -- values and formats ------------------------------------------------------------------
    def get_value(self, sheet: str, a1: str) -> Any:
        return self._cell(sheet, a1).value

    def set_value(self, sheet: str, a1: str, value: Any, bold: bool = False) -> None:
        rng = self._cell(sheet, a1)
        rng.value = as_cell_text(value)
        if bold:
            rng.font.bold = True

    def get_fill(self, sheet: str, a1: str) -> str | None:
        return rgb_to_hex(self._cell(sheet, a1).color)

    def set_fill(self, sheet: str, a1: str, rgb: str | None) -> None:
        self._cell(sheet, a1).color = hex_to_rgb(rgb) if rgb else None

    def set_width(self, sheet: str, column: str, width: float) -> None:
        self._sheet(sheet).range(f"{column}:{column}").column_width = width

    def hide_column(self, sheet: str, column: str) -> None:
        self._sheet(sheet).range(f"{column}:{column}").columns.hidden = True

    def set_link(self, sheet: str, a1: str, text: str, target_sheet: str, target_a1: str) -> None:
        rng = self._cell(sheet, a1)
        sub = f"'{target_sheet}'!{target_a1}"
        text, tip = cell_text(text), cell_text(f"跳到 {target_sheet}!{target_a1}")  # a sheet's name is the workbook's text
        if self.mac:
            rng.add_hyperlink(f"#{sub}", text, tip)
        else:  # a link inside the workbook is a SubAddress with an empty Address (Excel's VBA docs)
            rng.api.Hyperlinks.Add(Anchor=rng.api, Address="", SubAddress=sub, ScreenTip=tip,
                                   TextToDisplay=text)

    # -- a sheet a person prints (校验结果) ---------------------------------------------------
    def set_wrap(self, sheet: str, ref: str) -> None:
        rng = self._cell(sheet, ref)
        try:
            if self.mac:
                rng.api.wrap_text.set(True)
            else:
                rng.api.WrapText = True
                rng.api.VerticalAlignment = XL_TOP
        except Exception:  # noqa: BLE001 - cosmetic: the text is there, only not wrapped
            pass

    def set_row_height(self, sheet: str, row: int, points: float) -> None:
        self._sheet(sheet).range(f"{row}:{row}").row_height = points

    def set_print(self, sheet: str, setup: PrintSetup) -> None:
        """Page setup through Excel's PageSetup object (Windows). Mac Excel's AppleScript page setup is
        slow and differs by version, so there the sheet prints with Excel's defaults — the findings are
        on the sheet either way."""
        if self.mac:
            return
        try:
            ps = self._sheet(sheet).api.PageSetup
            ps.PrintArea = setup.area
            ps.PrintTitleRows = f"${setup.title_rows[0]}:${setup.title_rows[1]}" if setup.title_rows else ""
            ps.Orientation = XL_LANDSCAPE if setup.landscape else XL_PORTRAIT
            ps.PaperSize = XL_PAPER_A4
            ps.Zoom = False
            ps.FitToPagesWide = 1
            ps.FitToPagesTall = False
            ps.CenterHorizontally = True
            ps.PrintGridlines = setup.gridlines
            font = f'&"{setup.font}"&9'
            ps.LeftHeader, ps.CenterHeader, ps.RightHeader = (font + t if t else "" for t in setup.header)
            ps.CenterFooter = font + setup.footer
        except Exception:  # noqa: BLE001 - a printer-less PC can refuse PageSetup; printing is not the finding
            pass

    def name_pages(self, unit: object, year: object) -> None:
        """Nothing: this is the clerk's own workbook open in Excel, and its page setup is theirs (a
        page header cannot follow the 单位名称 cell, so naming it here would go stale as they edit)."""

    # -- notes (legacy comments) -------------------------------------------------------------
    def set_comment(self, sheet: str, a1: str, text: str | None) -> None:
        rng = self._cell(sheet, a1)
        note = rng.note
        if text is None:
            if note is None:
                return
            kept = _kept_note(note.text or "")
            note.delete()
            if kept:
                rng.add_note(kept)
            return
        own: str | None = None
        if note is not None:
            old = note.text or ""
            own = _kept_note(old) if old.startswith(NOTE_MARK) else (old or None)
            note.delete()
        new = rng.add_note(NOTE_MARK + cell_text(text) + (NOTE_KEPT + own if own else ""))
        if not self.mac:
            try:
                new.api.Shape.Width, new.api.Shape.Height = NOTE_SIZE
            except Exception:  # noqa: BLE001 - cosmetic: a small box still holds the text
                pass

    def comment_author(self, sheet: str, a1: str) -> str | None:
        note = self._cell(sheet, a1).note
        if note is None:
            return None
        if (note.text or "").startswith(NOTE_MARK):
            return AUTHOR
        try:
            return note.author  # "gxsheet" for a copy annotated by the CLI, else the Windows user
        except Exception:  # noqa: BLE001 - an unreadable author is simply not ours
            return None

    def commented_cells(self, sheet: str) -> list[str]:
        return [n.location.address.replace("$", "") for n in self._sheet(sheet).notes]

    # -- protection --------------------------------------------------------------------------
    def is_protected(self, sheet: str) -> bool:
        api = self._sheet(sheet).api
        return bool(api.protect_contents.get() if self.mac else api.ProtectContents)

    def protect(self, sheet: str, on: bool) -> None:
        api = self._sheet(sheet).api
        if self.mac:
            if on:
                api.protect_worksheet()
            else:
                self._unprotect(sheet, api.unprotect)
            return
        if not on:
            options: dict[str, Any] = {}
            try:
                flags = api.Protection
                options = {k: bool(getattr(flags, k)) for k in _ALLOW}
                options["DrawingObjects"] = bool(api.ProtectDrawingObjects)
                options["Scenarios"] = bool(api.ProtectScenarios)
            except Exception:  # noqa: BLE001 - then Excel's defaults apply when re-protecting
                options = {}
            self._protection[sheet] = options
            self._unprotect(sheet, api.Unprotect)
        else:
            api.Protect(Contents=True, **self._protection.pop(sheet, {}))

    @staticmethod
    def _unprotect(sheet: str, call: Any) -> None:
        try:
            call()
        except Exception as e:
            raise AddinError(f"工作表“{sheet}”设有密码保护，无法在上面标注。\n"
                             "请在“审阅 → 撤销工作表保护”中输入密码撤销保护后，再点一次。") from e

    # -- the workbook as a file --------------------------------------------------------------
    def full_name(self) -> str:
        """Excel's FullName: a path, a bare ``Book1`` if never saved, or a URL on OneDrive."""
        try:
            return str(self.book.fullname)
        except Exception:  # noqa: BLE001 - xlwings' OneDrive URL→path mapping can fail
            return str(self.book.api.FullName if not self.mac else self.book.name)

    def save_copy(self, path: str | Path) -> None:
        """Snapshot the open workbook, unsaved edits included, without changing the open one.

        Windows: Excel's ``SaveCopyAs``. Mac Excel has no SaveCopyAs in its AppleScript
        dictionary, so there the saved file is copied, which needs the workbook saved first.
        """
        if not self.mac:
            self.book.api.SaveCopyAs(str(path))
            return
        full = self.full_name()
        saved = bool(self.book.api.saved.get())
        if not saved or not Path(full).is_file():
            raise AddinError("在 Mac 版 Excel 中，请先保存工作簿（⌘S），再点一次。")
        shutil.copyfile(full, path)


class ExcelApp:
    """The Excel instance that called us: finds the clerk's workbook and talks to the clerk."""

    def __init__(self, app: Any, *, mac: bool | None = None, caller_name: str | None = None) -> None:
        self.app = app
        self.mac = sys.platform == "darwin" if mac is None else mac
        self.caller_name = caller_name

    @classmethod
    def from_caller(cls) -> ExcelApp:
        """The Excel that ran ``RunPython``: ``Book.caller()`` is the add-in, its app is ours.

        On Windows, in xlwings' default mode (a new Python per click), ``Book.caller()`` reaches
        Excel through the ``--hwnd`` it was given: it looks for a workbook window (XLDESK →
        EXCEL7) under it and asks that window for Excel's object model. With no workbook open
        there is no such window and the call fails (an OSError from AccessibleObjectFromWindow).
        In UDF-server mode the VBA hands the add-in over directly and no window is needed.
        Any failure to attach is :class:`ExcelUnreachable`; a missing xlwings stays ImportError.
        """
        import xlwings

        try:
            caller = xlwings.Book.caller()
            return cls(caller.app, caller_name=caller.name)
        except Exception as e:  # noqa: BLE001 - whatever xlwings/COM raise, the clerk needs one message
            raise ExcelUnreachable(f"xlwings 无法连接到 Excel（{type(e).__name__}）") from e

    def active_book(self) -> XlwingsBook | None:
        """The workbook active in Excel, or None when no (ordinary) workbook is open.

        ``Book.caller()`` cannot be used for this: from an add-in it is the add-in itself.
        """
        try:
            book = self.app.books.active
        except Exception:  # noqa: BLE001 - no workbook open: Excel has no ActiveWorkbook
            return None
        if book is None or getattr(book, "api", None) is None:
            return None
        name = str(book.name)
        if self.caller_name and name == self.caller_name and name.lower().endswith(".xlam"):
            return None
        return XlwingsBook(book, mac=self.mac)

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """No screen redraw while marking hundreds of cells; always switched back on."""
        try:
            before = self.app.screen_updating
            self.app.screen_updating = False
        except Exception:  # noqa: BLE001 - only a speed-up
            before = None
        try:
            yield
        finally:
            if before is not None:
                try:
                    self.app.screen_updating = before
                except Exception:  # noqa: BLE001
                    pass

    def alert(self, text: str, title: str, level: Level = "info") -> None:
        self.app.alert(text, title=title, buttons="ok", mode="info" if level == "info" else "critical")

    def default_folder(self) -> Path | None:
        """Excel's "default local file location" (Options → Save), usually Documents."""
        try:
            raw = self.app.api.default_file_path.get() if self.mac else self.app.api.DefaultFilePath
            folder = Path(str(raw))
            return folder if raw and folder.is_dir() else None
        except Exception:  # noqa: BLE001 - then gxsheet.excel.addin.documents_dir() decides
            return None

    def open(self, path: str | Path) -> bool:
        """Open a workbook in this Excel; False (not an error) if Excel refuses."""
        try:
            self.app.books.open(str(path))
            return True
        except Exception:  # noqa: BLE001 - the message still says where the file is
            return False


__all__ = ["ExcelApp", "XlwingsBook", "as_cell_text", "hex_to_rgb", "rgb_to_hex"]
