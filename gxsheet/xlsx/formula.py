"""A tiny, safe evaluator for the simple formulas clerks type into value cells.

A workbook saved by a program that does not store computed values (some converters, scripts)
leaves formulas without a cached result. Reading those as blank would lose data, so simple
arithmetic (+ - * / parentheses, numbers, cell references, ranges and SUM) is computed here; anything
else raises ValueError and the caller keeps the formula text for the validator to report.
Nothing is ever executed: this is a recursive-descent parser over a fixed grammar.

Arithmetic is in doubles, as in Excel: a formula of 4000-digit literals multiplied together
must not build an unbounded Python int (it overflows to infinity, which is no number, and the
formula text is kept), and the result is what Excel would have cached.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from gxsheet.xlsx.cells import integral, parse_a1

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?|\.\d+)|(\$?[A-Z]{1,3}\$?\d+(?::\$?[A-Z]{1,3}\$?\d+)?)|(SUM)\s*\(|([-+*/(),]))", re.I)
Number = int | float


def _ref(text: str) -> tuple[int, int]:
    return parse_a1(text)  # ValueError for anything that is not one cell on a sheet


def evaluate(formula: str, cell: Callable[[int, int], Number | None], max_cells: int = 10_000) -> Number:
    """Value of ``formula`` (without '='); ``cell(row, col)`` gives referenced values."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    f = formula.strip().lstrip("=")
    while pos < len(f):
        m = _TOKEN.match(f, pos)
        if not m or m.end() == pos:
            raise ValueError(f"unsupported formula: {formula}")
        num, ref, fn, op = m.groups()
        tokens.append(("num", num) if num else ("ref", ref) if ref else ("sum", fn) if fn else ("op", op))
        pos = m.end()
    i = 0

    def peek() -> tuple[str, str] | None:
        return tokens[i] if i < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal i
        if i >= len(tokens):
            raise ValueError("unexpected end")
        i += 1
        return tokens[i - 1]

    def values_of(ref: str) -> list[Number]:
        if ":" in ref:
            (r1, c1), (r2, c2) = (_ref(p) for p in ref.split(":"))
            if (abs(r2 - r1) + 1) * (abs(c2 - c1) + 1) > max_cells:
                raise ValueError("range too large")
            return [float(cell(r, c) or 0) for r in range(min(r1, r2), max(r1, r2) + 1) for c in range(min(c1, c2), max(c1, c2) + 1)]
        return [float(cell(*_ref(ref)) or 0)]

    def expr() -> Number:
        v = term()
        while peek() in (("op", "+"), ("op", "-")):
            op = take()[1]
            v = v + term() if op == "+" else v - term()
        return v

    def term() -> Number:
        v = unary()
        while peek() in (("op", "*"), ("op", "/")):
            op = take()[1]
            r = unary()
            v = v * r if op == "*" else v / r
        return v

    def unary() -> Number:
        if peek() in (("op", "-"), ("op", "+")):
            op = take()[1]
            v = unary()
            return -v if op == "-" else v
        return atom()

    def atom() -> Number:
        kind, text = take()
        if kind == "num":
            return float(text)
        if kind == "ref":
            vals = values_of(text)
            if len(vals) != 1:
                raise ValueError("range outside SUM")
            return vals[0]
        if kind == "sum":
            total = 0.0
            while True:
                t = peek()
                if t and t[0] == "ref":
                    take()
                    total += sum(values_of(t[1]))
                else:
                    total += expr()
                t = take()
                if t == ("op", ")"):
                    return total
                if t != ("op", ","):
                    raise ValueError("bad SUM")
        if (kind, text) == ("op", "("):
            v = expr()
            if take() != ("op", ")"):
                raise ValueError("missing )")
            return v
        raise ValueError(f"unexpected {text}")

    v = expr()
    if i != len(tokens):
        raise ValueError("trailing input")
    if not math.isfinite(v):
        raise ValueError("no finite number")
    return integral(v)
