"""Submission text into openpyxl cells: always a string cell, and submission formulas made inert.

openpyxl decides a cell's type from the value: a ``str`` starting with ``=`` becomes a live formula,
and a control character raises in the middle of a save. Every openpyxl writer (the annotated copy,
the filled template of an import or a county report) puts submission text in through
:func:`put_text`, the openpyxl side of :func:`gxsheet.core.sanitise.cell`.

The annotated copy also carries the submission's *own* formulas. Those the template's checks use
(arithmetic, SUM, IF, …) stay live; anything else — a DDE call (``=cmd|' /C calc'!A0``), a
reference into another workbook (``[1]Sheet1!A1``), HYPERLINK, WEBSERVICE, INDIRECT — is replaced
by :func:`neutralise` with the value the file had cached for it (or, without one, its text), so
opening the copy can neither run nor fetch anything, nor show a link the town planted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from openpyxl.formula.tokenizer import Token, Tokenizer

from gxsheet.core.sanitise import cell as cell_text
from gxsheet.core.sanitise import formula_like

__all__ = ["SAFE_FUNCTIONS", "inert_formula", "neutralise", "put_text"]

#: Functions a formula of a submission may keep in the annotated copy: pure arithmetic, logic,
#: text and lookups within the workbook (what report templates use). Not here, and therefore
#: neutralised: anything that reaches outside the workbook or the machine (HYPERLINK, WEBSERVICE,
#: FILTERXML, IMAGE, RTD, DDE, CALL, REGISTER, EXEC, INFO, CELL) or builds references from text
#: (INDIRECT, OFFSET), which could name another workbook.
SAFE_FUNCTIONS = frozenset("""
    ABS AND AVERAGE AVERAGEA AVERAGEIF AVERAGEIFS CEILING CHOOSE CONCAT CONCATENATE COUNT COUNTA
    COUNTBLANK COUNTIF COUNTIFS DATE DAY EXACT FALSE FIND FLOOR HLOOKUP IF IFERROR IFNA IFS INDEX INT
    ISBLANK ISERR ISERROR ISEVEN ISLOGICAL ISNA ISNONTEXT ISNUMBER ISODD ISTEXT LEFT LEN LOWER MATCH MAX
    MAXA MAXIFS MID MIN MINA MINIFS MOD MONTH N NOT OR PRODUCT PROPER REPT RIGHT ROUND ROUNDDOWN ROUNDUP
    SEARCH SIGN SUBSTITUTE SUBTOTAL SUM SUMIF SUMIFS SUMPRODUCT SWITCH T TEXT TRIM TRUE TRUNC UPPER
    VALUE VLOOKUP XOR YEAR
""".split())


def put_text(cell: Any, text: str) -> None:
    """Write ``text`` into an openpyxl cell as a string cell, however it starts.

    Text Excel would take for a formula if retyped gets the quote prefix (Excel shows it as typed
    and keeps it text when the cell is edited); controls and invisible marks are escaped.
    """
    cell.value = cell_text(text)
    cell.data_type = "s"
    if formula_like(cell.value):
        cell.quotePrefix = True


def inert_formula(formula: str) -> bool:
    """Whether ``formula`` (with or without '=') only computes within the workbook.

    False for anything the tokenizer cannot read, a reference with a workbook part (``[1]``,
    ``'C:\\\\[x.xlsx]S'``) or a DDE channel (``app|topic!item``), and any function not in
    :data:`SAFE_FUNCTIONS`.
    """
    text = formula if formula.startswith("=") else "=" + formula
    try:
        tokens = Tokenizer(text).items
    except Exception:  # noqa: BLE001 - openpyxl's tokenizer raises plain errors on odd text
        return False
    for t in tokens:
        if t.type == Token.FUNC and t.subtype == Token.OPEN:
            name = t.value[:-1].upper().removeprefix("_XLFN.").removeprefix("_XLWS.")
            if name not in SAFE_FUNCTIONS:
                return False
        elif t.type == Token.OPERAND and t.subtype == Token.RANGE and ("[" in t.value or "|" in t.value):
            return False
        elif t.type == Token.OPERAND and t.subtype not in (Token.RANGE, Token.NUMBER, Token.TEXT, Token.LOGICAL,
                                                           Token.ERROR):
            return False
    return True


#: how a workbook stores a character XML cannot hold (``_x001B_``); openpyxl keeps it as written
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _decoded(text: str) -> str:
    """Cell text as Excel will show it: ``_xHHHH_`` escapes decoded (``_x005F_`` is an underscore)."""
    return _OOXML_ESCAPE.sub(lambda m: chr(int(m[1], 16)), text) if "_x" in text else text


def _cells(wb: Any) -> Iterator[tuple[Any, Any]]:
    """Every cell of ``wb`` that holds something: the cells openpyxl holds, never ``iter_rows()``,
    which walks every row and column up to the furthest formatted cell (LibreOffice formats rows to
    1,048,576: a billion empty cells made, memory and time bounds hit, for a perfectly good report)."""
    for ws in wb.worksheets:
        for c in list(ws._cells.values()):
            if c.value is not None:
                yield ws, c


def neutralise(wb: Any, cached: Callable[[str, int, int], object]) -> int:
    """Make every formula of ``wb`` that is not :func:`inert_formula` inert, and every text safe;
    returns how many cells, names and rules were changed.

    A formula cell gets ``cached(sheet, row, col)`` — the value the file stored for it — or, when
    there is none, the formula's text as a string cell. A text cell holding controls or invisible
    marks (raw, or as Excel's ``_x001B_``) gets them escaped (:func:`gxsheet.core.sanitise.cell`).
    Defined names, data validations and conditional formats with outside-reaching formulas are
    removed (they have no value to keep).
    """
    n = 0
    for ws, c in _cells(wb):
        if c.data_type == "s" and isinstance(c.value, str):
            shown = cell_text(_decoded(c.value))
            if shown != c.value and shown != _decoded(c.value):
                put_text(c, shown)
                n += 1
            continue
        if c.data_type != "f" and not (isinstance(c.value, str) and c.value.startswith("=")):
            continue
        text = c.value if isinstance(c.value, str) else getattr(c.value, "text", None)
        if isinstance(text, str) and inert_formula(text):
            continue
        value = cached(ws.title, c.row, c.column)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            c.value = value
        else:
            put_text(c, str(value) if isinstance(value, str) and value else str(text or ""))
        n += 1
    scopes = [wb.defined_names, *(ws.defined_names for ws in wb.worksheets)]
    for names in scopes:
        for key in [k for k, d in names.items() if not inert_formula(d.attr_text or "")]:
            del names[key]
            n += 1
    for ws in wb.worksheets:
        kept = [dv for dv in ws.data_validations.dataValidation
                if all(inert_formula(f) for f in (dv.formula1, dv.formula2) if f)]
        n += len(ws.data_validations.dataValidation) - len(kept)
        ws.data_validations.dataValidation = kept
        cf = ws.conditional_formatting
        for rng in list(cf._cf_rules):
            rules = cf._cf_rules[rng]
            keep = [r for r in rules if all(inert_formula(f) for f in (r.formula or []))]
            n += len(rules) - len(keep)
            if keep:
                cf._cf_rules[rng] = keep
            else:
                del cf._cf_rules[rng]
    return n
