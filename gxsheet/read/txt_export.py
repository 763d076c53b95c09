"""Reading gxsheet's own txt export back, and the unit notes every export writes under a table.

The txt export (:mod:`gxsheet.render.txt`) lays tables out as aligned columns between rules of ``=``;
this module finds each table after its section heading, checks every label over its own columns and
reads each number from its column's display columns, so export → import is exact.
"""

from __future__ import annotations

import re

from gxsheet.core.display import slice_columns
from gxsheet.core.normalise import normalise_value
from gxsheet.core.record import Value
from gxsheet.core.spec import Grid, Spec, editions, load_spec

__all__ = ["TxtParseError", "parse_txt_export", "parse_txt_tables", "parse_unit_note"]

_NOTE = re.compile(r"^注：(?P<label>[^：]+)：(?P<value>.+)$")


def parse_unit_note(line: str, spec: Spec) -> tuple[str, str] | None:
    """(field key, value) of a line written by :func:`unit_notes`, else None (for importers)."""
    m = _NOTE.match(line.strip())
    if not m:
        return None
    for f in spec.metadata:
        if f.label == m.group("label"):
            return f.key, m.group("value").strip()
    return None



class TxtParseError(ValueError):
    """The text does not hold the tables where (or as) :func:`render_txt` writes them."""


def _is_rule(line: str, ch: str = "=") -> bool:
    s = line.strip()
    return bool(s) and set(s) <= {ch, " "} and ch * 2 in s


def _segments_of(line: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"=+", line)]


def _find(lines: list[str], start: int, pred, what: str) -> int:
    for i in range(start, len(lines)):
        if pred(lines[i]):
            return i
    raise TxtParseError(f"not found after line {start + 1}: {what}")


def _parse_grid(lines: list[str], at: int, grid: Grid) -> tuple[dict[str, Value], int]:
    """Values of one grid whose caption/top rule is at or after ``at``; returns (values, next)."""
    if grid.caption:
        at = _find(lines, at, lambda s: s.strip() == grid.caption, f"caption {grid.caption}") + 1
    top = _find(lines, at, _is_rule, f"top rule of {grid.key}")
    sep = _find(lines, top + 1, _is_rule, f"header rule of {grid.key}")
    bottom = _find(lines, sep + 1, _is_rule, f"bottom rule of {grid.key}")
    segs = _segments_of(lines[sep])
    labelled = grid.label_depth > 0
    leaves = grid.leaf_columns()
    if len(segs) != len(leaves) + (1 if labelled else 0):
        raise TxtParseError(f"{grid.key}: {len(segs)} columns, expected {len(leaves) + labelled}")
    value_segs = segs[1:] if labelled else segs
    header = lines[top + 1:sep]
    for node in grid.all_columns():  # every header label within its columns, top to bottom
        idx = [i for i, leaf in enumerate(leaves) if leaf in node.leaves()]
        a, b = value_segs[idx[0]][0], value_segs[idx[-1]][1]
        text = "".join(slice_columns(h, a, b).strip() for h in header)
        if node.label and node.label not in text:
            raise TxtParseError(f"{grid.key}: column label {node.label!r} not found over its columns")
    if grid.corner and labelled:
        text = "".join(slice_columns(h, 0, segs[0][1]).strip() for h in header)
        if grid.corner not in text:
            raise TxtParseError(f"{grid.key}: corner {grid.corner!r} not found")
    body = lines[sep + 1:bottom]
    values: dict[str, Value] = {}
    if not labelled:
        # one line per row, blank when every value is blank (a forced export of an empty table)
        data = body if len(body) == len(grid.leaf_rows()) else [b for b in body if b.strip()]
        if len(data) != len(grid.leaf_rows()):
            raise TxtParseError(f"{grid.key}: {len(data)} data lines, expected {len(grid.leaf_rows())}")
        for row, line in zip(grid.leaf_rows(), data, strict=True):
            for c, (a, b) in zip(leaves, value_segs, strict=True):
                values[grid.cell_key(row.key, c.key)] = normalise_value(slice_columns(line, a, b).strip())
        return values, bottom + 1
    i = 0
    for node in grid.all_rows():
        if not node.label:
            continue
        got, first = "", None
        while got != node.label:
            if i >= len(body):
                raise TxtParseError(f"{grid.key}: row label {node.label!r} not found")
            part = slice_columns(body[i], 0, segs[0][1]).strip()
            if first is None and not part:
                i += 1
                continue
            if first is None:
                first = i
            got += part
            i += 1
            if not node.label.startswith(got):
                raise TxtParseError(f"{grid.key}: expected row {node.label!r}, found {got!r}")
        if node.is_leaf:
            line = body[first]
            for c, (a, b) in zip(leaves, value_segs, strict=True):
                values[grid.cell_key(node.key, c.key)] = normalise_value(slice_columns(line, a, b).strip())
    return values, bottom + 1


def parse_txt_tables(text: str, edition: str) -> dict[str, Value]:
    """Every value cell of a text written by :func:`render_txt`, by key.

    Guided by the spec: each table is looked for after its section heading, each grid after its
    caption; every column label must stand over its own columns, every row label (joined across
    wrapped lines) must come in official order, and a number is read from the display columns of
    its own column on its row's first line. Raises :class:`TxtParseError` otherwise.
    """
    spec = load_spec(edition)
    lines = text.splitlines()
    values: dict[str, Value] = {}
    for t in spec.tables:
        sec = next(s for s in spec.sections if s.numeral == t.section_numeral)
        at = _find(lines, 0, lambda s, h=sec.heading: s.strip() == h, f"heading {sec.heading}") + 1
        for g in t.grids:
            got, at = _parse_grid(lines, at, g)
            values.update(got)
    return values


def parse_txt_export(text: str) -> tuple[str, dict[str, Value]] | None:
    """(edition, values) when ``text`` is a gxsheet txt export of some edition, else None.

    For the txt importer: our own export uses aligned simple tables, not the tab-separated cells
    of a report saved from Word, and is read exactly by :func:`parse_txt_tables`.
    """
    if not any(_is_rule(line) for line in text.splitlines()):
        return None
    for edition in reversed(editions()):
        try:
            return edition, parse_txt_tables(text, edition)
        except TxtParseError:
            continue
    return None
