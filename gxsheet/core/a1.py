"""A1 references and their column letters, for every layer that names cells (layout, reader, writers).

Here rather than borrowed from openpyxl: ``openpyxl.utils`` imports the whole of openpyxl (~60 ms
of a cold start) for a five-line function.
"""

from __future__ import annotations

MAX_ROW = 1_048_576
MAX_COL = 16_384


def col_letter(n: int) -> str:
    """1 -> ``"A"``, 27 -> ``"AA"``, 16384 -> ``"XFD"``."""
    if not 1 <= n <= MAX_COL:
        raise ValueError(f"column out of range: {n}")
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def a1(row: int, col: int) -> str:
    """``(5, 4)`` -> ``"D5"``."""
    if not 1 <= row <= MAX_ROW:
        raise ValueError(f"row out of range: {row}")
    return f"{col_letter(col)}{row}"
