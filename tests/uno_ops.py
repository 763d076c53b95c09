"""Operations for tests/uno_calc.py built from the layout: rows named by their labels, never by address.

A clerk finds "2.重复申请" on screen, not row 21; the operations say the same, so a test keeps
working when the template gains a row, and a deleted row is the one with that label.
"""

from __future__ import annotations

from collections.abc import Mapping

from gxsheet.core.layout import EDITION_KEY, SUMMARY_KEY, SheetLayout, WorkbookLayout

Op = dict[str, object]


def row_anchor(s: SheetLayout, row: int) -> dict[str, object]:
    """``{"label", "offset"}`` naming layout row ``row`` of sheet ``s`` by a label that is unique
    in the sheet: the deepest label on the row itself, else the nearest unique text above it."""
    counts: dict[str, int] = {}
    for b in s.boxes:
        if b.text:
            counts[b.text] = counts.get(b.text, 0) + 1
    for r in range(row, 0, -1):
        here = sorted((b for b in s.boxes if b.row == r and b.text and counts[b.text] == 1
                       and b.role in ("label", "meta_label", "heading", "header", "caption", "corner")),
                      key=lambda b: -b.col)
        if here:
            return {"label": here[0].text, "offset": row - r}
    raise LookupError(f"{s.name}: no label above row {row}")


def key_place(layout: WorkbookLayout, key: str) -> tuple[str, dict[str, object], int]:
    """(sheet, row anchor, column) of a value, ``meta.<field>`` or ``prose.<section>`` key."""
    sheet, r, c = layout.position(key)
    return sheet, row_anchor(layout.sheet(sheet), r), c


def type_op(layout: WorkbookLayout, key: str, text: str, *, as_text: bool = False) -> Op:
    sheet, row, col = key_place(layout, key)
    return {"op": "text" if as_text else "type", "sheet": sheet, "row": row, "col": col, "text": text}


def typed(v: object) -> str:
    """What a person types for a value: digits for numbers, ISO for dates, the text itself."""
    if hasattr(v, "isoformat"):
        return v.isoformat()  # type: ignore[union-attr]
    return str(v)


def fill_ops(layout: WorkbookLayout, values: Mapping[str, object], meta: Mapping[str, object],
             prose: Mapping[str, str]) -> list[Op]:
    """Type every value, metadata field and prose section into the template, as a clerk would.

    Prose is stored as text (a paragraph pasted in); everything else goes through the input line.
    """
    ops = [type_op(layout, k, typed(v)) for k, v in values.items() if v is not None]
    for k, v in meta.items():
        key = k if k.startswith("meta.") else "meta." + k
        if key not in (EDITION_KEY, SUMMARY_KEY) and v is not None:
            ops.append(type_op(layout, key, typed(v)))
    for k, v in prose.items():
        ops.append(type_op(layout, k if k.startswith("prose.") else "prose." + k, v, as_text=True))
    return ops


def row_op(layout: WorkbookLayout, op: str, key: str, **extra: object) -> Op:
    """``delete_row``/``insert_row`` at the row holding ``key``."""
    sheet, row, _ = key_place(layout, key)
    return {"op": op, "sheet": sheet, "row": row, **extra}
