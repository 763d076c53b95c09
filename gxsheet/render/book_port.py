"""A small workbook interface: what annotating and the add-in need from a spreadsheet.

Two implementations: ``OpenpyxlBook`` here (files on disk: the CLI's ``--annotate`` and the tests)
and ``XlwingsBook`` in ``gxsheet/xlwings_book.py`` (the workbook open in Excel — the only module
that imports xlwings). The add-in's logic is written once against this protocol, so the exact code
that runs behind the Excel ribbon runs in the Linux tests through the openpyxl implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.hyperlink import Hyperlink

from gxsheet.core.limits import Limits
from gxsheet.core.sanitise import cell as cell_text
from gxsheet.render.xlsx_text import neutralise, put_text
from gxsheet.xlsx.loader import open_package

AUTHOR = "gxsheet"


@dataclass(frozen=True)
class PrintSetup:
    """How a sheet prints: A4, fitted to the page width, title rows repeated on every page.

    Header and footer texts may use the codes every spreadsheet program knows (``&P`` page, ``&N``
    pages, ``&A`` sheet); a literal ``&`` in them must be doubled by the caller.
    """

    area: str  # A1:E20
    title_rows: tuple[int, int] | None = None  # first, last (1-based)
    landscape: bool = False
    header: tuple[str, str, str] = ("", "", "")  # left, centre, right
    footer: str = "第 &P 页，共 &N 页"
    font: str = "宋体"
    gridlines: bool = True  # a list without borders reads as a table on paper


class BookPort(Protocol):
    def sheet_names(self) -> list[str]: ...
    def add_sheet(self, name: str, first: bool = True) -> None: ...
    def delete_sheet(self, name: str) -> None: ...
    def get_value(self, sheet: str, a1: str) -> Any: ...
    def set_value(self, sheet: str, a1: str, value: Any, bold: bool = False) -> None: ...
    def get_fill(self, sheet: str, a1: str) -> str | None: ...
    def set_fill(self, sheet: str, a1: str, rgb: str | None) -> None: ...
    def set_comment(self, sheet: str, a1: str, text: str | None) -> None: ...
    def comment_author(self, sheet: str, a1: str) -> str | None: ...
    def commented_cells(self, sheet: str) -> list[str]: ...
    def set_link(self, sheet: str, a1: str, text: str, target_sheet: str, target_a1: str) -> None: ...
    def set_width(self, sheet: str, column: str, width: float) -> None: ...
    def hide_column(self, sheet: str, column: str) -> None: ...
    def is_protected(self, sheet: str) -> bool: ...
    def protect(self, sheet: str, on: bool) -> None: ...
    def activate(self, sheet: str) -> None: ...
    # A sheet a person prints (校验结果): wrapped text, row heights that show it, a page setup.
    def set_wrap(self, sheet: str, ref: str) -> None: ...
    def set_row_height(self, sheet: str, row: int, points: float) -> None: ...
    def set_print(self, sheet: str, setup: PrintSetup) -> None: ...
    def name_pages(self, unit: object, year: object) -> None: ...
    # The add-in reads the workbook the clerk has open, unsaved edits included, by snapshotting it
    # to a temporary file for the reader, and writes exports next to it.
    def full_name(self) -> str: ...
    def save_copy(self, path: str | Path) -> None: ...


class OpenpyxlBook:
    """BookPort over an openpyxl workbook loaded from a file (formulas kept, not values).

    The file goes through the guarded loader first, including :meth:`Package.vet_shape`: openpyxl
    builds objects for every part, recursively, so what it must not see is refused before.
    """

    def __init__(self, path: str | Path, limits: Limits | None = None):
        from gxsheet.xlsx.strict import is_strict, transitional

        self.path = Path(path)
        with open_package(self.path, limits) as pkg:  # once, under the caller's limits
            pkg.vet_shape()
            # openpyxl knows only Transitional names: a Strict workbook is renamed for it first
            source = transitional(pkg) if is_strict(pkg) else self.path
        self.wb = load_workbook(source, keep_vba=False, keep_links=False)

    def neutralise(self, cached: Callable[[str, int, int], object]) -> int:
        """Make the submission's formulas that reach outside the workbook inert (see :mod:`xlsx_text`)."""
        return neutralise(self.wb, cached)

    def save(self, path: str | Path) -> None:
        self.wb.save(path)

    def sheet_names(self) -> list[str]:
        return list(self.wb.sheetnames)

    def add_sheet(self, name: str, first: bool = True) -> None:
        self.wb.create_sheet(name, 0 if first else None)

    def delete_sheet(self, name: str) -> None:
        del self.wb[name]

    def get_value(self, sheet: str, a1: str) -> Any:
        return self.wb[sheet][a1].value

    def set_value(self, sheet: str, a1: str, value: Any, bold: bool = False) -> None:
        cell = self.wb[sheet][a1]
        if isinstance(value, str):
            put_text(cell, value)  # a message quoting "=HYPERLINK(…)" stays text
        else:
            cell.value = value
        if bold:
            cell.font = Font(bold=True)

    def get_fill(self, sheet: str, a1: str) -> str | None:
        f = self.wb[sheet][a1].fill
        if f is None or f.fill_type != "solid":
            return None
        rgb = f.fgColor.rgb if f.fgColor is not None and f.fgColor.type == "rgb" else None
        return rgb[-6:] if isinstance(rgb, str) else None

    def set_fill(self, sheet: str, a1: str, rgb: str | None) -> None:
        cell = self.wb[sheet][a1]
        cell.fill = PatternFill(fill_type="solid", fgColor="FF" + rgb) if rgb else PatternFill(fill_type=None)

    def set_comment(self, sheet: str, a1: str, text: str | None) -> None:
        cell = self.wb[sheet][a1]
        if text is None:
            cell.comment = None
        else:
            c = Comment(cell_text(text), AUTHOR)
            c.width, c.height = 360, 160
            cell.comment = c

    def comment_author(self, sheet: str, a1: str) -> str | None:
        c = self.wb[sheet][a1].comment
        return c.author if c is not None else None

    def commented_cells(self, sheet: str) -> list[str]:
        ws = self.wb[sheet]
        # the cells openpyxl holds, not iter_rows(): that walks every row and column up to the
        # furthest formatted cell, and LibreOffice formats rows to 1,048,576
        return [c.coordinate for c in ws._cells.values() if c.comment is not None]

    def set_link(self, sheet: str, a1: str, text: str, target_sheet: str, target_a1: str) -> None:
        cell = self.wb[sheet][a1]
        # a place in this workbook (no relationship, no target outside it), the sheet name quoted
        cell.hyperlink = Hyperlink(ref=a1, location="'" + target_sheet.replace("'", "''") + f"'!{target_a1}")
        put_text(cell, text)
        cell.font = Font(color="0563C1", underline="single")

    def set_width(self, sheet: str, column: str, width: float) -> None:
        self.wb[sheet].column_dimensions[column].width = width

    def hide_column(self, sheet: str, column: str) -> None:
        self.wb[sheet].column_dimensions[column].hidden = True

    def is_protected(self, sheet: str) -> bool:
        return bool(self.wb[sheet].protection.sheet)

    def protect(self, sheet: str, on: bool) -> None:
        self.wb[sheet].protection.sheet = on

    def activate(self, sheet: str) -> None:
        self.wb.active = self.wb.sheetnames.index(sheet)

    def set_wrap(self, sheet: str, ref: str) -> None:
        for row in self.wb[sheet][ref]:
            for cell in row if isinstance(row, tuple) else (row,):
                cell.alignment = Alignment(wrap_text=True, vertical="top")

    def set_row_height(self, sheet: str, row: int, points: float) -> None:
        self.wb[sheet].row_dimensions[row].height = round(points, 1)

    def set_print(self, sheet: str, setup: PrintSetup) -> None:
        from gxsheet.render.template import fit_to_width, header_footer

        ws = self.wb[sheet]
        fit_to_width(ws, setup.area, "landscape" if setup.landscape else "portrait", setup.title_rows)
        ws.print_options.gridLines = setup.gridlines
        header_footer(ws, *setup.header, footer=setup.footer, font=setup.font)

    def name_pages(self, unit: object, year: object) -> None:
        """The unit and year in the page header of every sheet that leaves a line for them (a copy
        printed for review says on every page whose report it is)."""
        from gxsheet.render.template import name_pages

        name_pages(self.wb, unit, year)

    def full_name(self) -> str:
        """The workbook's absolute file path (what Excel calls FullName)."""
        return str(self.path.absolute())

    def save_copy(self, path: str | Path) -> None:
        """Write the workbook as it is now to ``path``; ``self.path`` and later saves are unaffected."""
        self.wb.save(path)
