"""Display width of text in monospace CJK layouts: a Chinese character takes two columns.

Shared by the txt export, which lays tables out in columns, and the reader of that export, which
finds each number by the display columns of its column.
"""

from __future__ import annotations

import unicodedata

__all__ = ["char_width", "display_width", "pad", "slice_columns"]


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
