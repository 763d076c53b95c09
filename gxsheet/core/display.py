"""Display width of text: in monospace CJK layouts, and wrapped in a spreadsheet cell.

Monospace: a Chinese character takes two columns. Shared by the txt export, which lays tables out
in columns, and the reader of that export, which finds each number by the display columns of its
column.

A spreadsheet cell: how many lines a text takes wrapped in a column of a given width (in Excel's
unit, the width of a digit), so the rows of a printed sheet are as tall as their text in Excel,
WPS and LibreOffice — the annotated copy's 校验结果 and every sheet of the county workbook.
"""

from __future__ import annotations

import math
import unicodedata

__all__ = ["LINE_PT", "ROW_PAD_PT", "cell_lines", "cell_units", "char_width", "display_width", "pad",
           "slice_columns"]

#: a wrapped line of 11 pt text, in points, as the tallest of Excel, WPS and LibreOffice (Noto CJK) draws it
LINE_PT = 15.5
#: a row's padding above and below its text, points
ROW_PAD_PT = 4.0


def cell_units(text: str) -> float:
    """Width of ``text`` in column units: a CJK character is two, anything else about one."""
    return sum(2.0 if ord(ch) > 0x2E7F else 1.1 for ch in text)


def cell_lines(text: str, width: float) -> int:
    """Lines ``text`` takes when wrapped in a column ``width`` characters wide (explicit breaks count)."""
    usable = max(width - 1.5, 1.0)
    return sum(max(1, math.ceil(cell_units(part) / usable)) for part in text.split("\n"))


def char_width(ch: str) -> int:
    """Display columns of one character in a monospace CJK context (ambiguous counts as wide)."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F", "A") else 1


def display_width(text: str) -> int:
    """Display columns of a string (CJK counts double)."""
    return sum(char_width(c) for c in text)


def pad(text: str, width: int, align: str = "left") -> str:
    """``text`` padded with spaces to ``width`` display columns (left / right / center)."""
    gap = max(0, width - display_width(text))
    if align == "right":
        return " " * gap + text
    if align == "center":
        left = gap // 2
        return " " * left + text + " " * (gap - left)
    return text + " " * gap


def slice_columns(line: str, start: int, end: int) -> str:
    """The characters of ``line`` whose display columns fall in [start, end)."""
    out = []
    col = 0
    for ch in line:
        w = char_width(ch)
        if col >= start and col + w <= end:
            out.append(ch)
        col += w
        if col >= end:
            break
    return "".join(out)
