"""Places in a report in words, for messages: a value cell, a row, a column, an imported location.

A finding names its cell twice — the address (表三!D5) and the words a clerk sees on the form
(表三 “一、本年新收政府信息公开申请数量”行 自然人列) — so that a reader can find it on paper too.
"""

from __future__ import annotations

import re

from gxsheet.core.spec import Grid, Node, Spec

__all__ = ["column_words", "describe", "location_en", "plural", "row_words"]


def describe(spec: Spec, key: str) -> tuple[str, str]:
    """A value cell in words (zh, en): 表三 “一、本年新收…”行 自然人列 / 表三, row “…”, column 自然人."""
    c = spec.cells[key]
    t = spec.table(c.table)
    g = spec.grid(c.grid)
    zh = [t.sheet]
    en = [t.sheet]
    if g.caption:
        zh.append(g.caption)
        en.append(g.caption)
    if c.row.label:
        zh.append(f"“{row_words(c.row)}”行")
        en.append(f"row “{row_words(c.row)}”")
    zh.append(column_words(g, c.column) + "列")
    en.append(f"column {column_words(g, c.column)}")
    return " ".join(zh), ", ".join(en)


def column_words(grid: Grid, node: Node) -> str:
    """A column's label path, without a root group that spans the whole grid (申请人情况)."""
    path = list(node.path)
    if len(grid.columns) == 1 and len(path) > 1:
        path = path[1:]
    return "·".join(path)


def row_words(node: Node) -> str:
    """A row's label: the leaf, with its group when the leaf alone is ambiguous (1.属于国家秘密)."""
    path = [p for p in node.path if p]
    return "·".join(path[-2:]) if len(path) > 2 else (path[-1] if path else "")



def location_en(text: str) -> str:
    """Locations in an English message, in English: 第57行 → line 57, 第12段 → paragraph 12,
    表格2 第5行第3列 → document table 2, row 5, column 3, 第2页 第5行 → page 2, line 5 (the importers write them in Chinese)."""
    t = re.sub(r"表格(\d+) 第(\d+)行第(\d+)列", r"document table \1, row \2, column \3", text)
    t = re.sub(r"第(\d+)页 ", r"page \1, ", t)
    t = re.sub(r"第(\d+)行", r"line \1", t)
    t = re.sub(r"第(\d+)段", r"paragraph \1", t)
    t = re.sub(r"第(\d+)个标题", r"heading \1", t)
    t = re.sub(r"表格(\d+)", r"document table \1", t)
    return t.replace("末尾缺格", " (missing cell at the end of the row)")


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``1 error``, ``2 errors``, ``0 errors``: English counts without "(s)"."""
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"


def years_words(spec: Spec, *, en: bool = False) -> str:
    """The report years an edition covers, in words: ``2019—2020 年度`` / ``2021 年度起``
    (``2019–2020`` / ``2021 on``). Template prompts, the template command's help and the add-in's
    message all say it this one way."""
    first, last = spec.first_year, spec.last_year
    if en:
        return f"{first}–{last}" if last else f"{first} on"
    return f"{first}—{last} 年度" if last else f"{first} 年度起"
