"""The tests' independent arithmetic oracle: which equations given values break.

Plain Python over the spec's equations, not the validator's pandas/pandera code, so a test can state
which findings the rules predict without re-using what it tests. Sums are compared with the 1e-9
tolerance the validator documents (float noise of fractions must not become findings).
"""

from __future__ import annotations

from typing import Any

from gxsheet.core.layout import workbook_layout

#: a value this large is not a number the rules compute with (docs/safety.md: V-NUMBER "超出了合理范围",
#: left out of every sum): 15 digits is all Excel keeps of a typed number
TOO_LARGE = 10**15


def is_number(v: object) -> bool:
    """A number the equations use: an int or float (not a bool) below :data:`TOO_LARGE` in size."""
    return isinstance(v, int | float) and not isinstance(v, bool) and abs(v) < TOO_LARGE


def oracle(spec, values: dict[str, Any], meta: dict[str, Any]) -> set[tuple[str, tuple[str, ...]]]:
    """(rule, cells) of every equation the values break; equations with a non-number are skipped."""
    lay = workbook_layout(spec)
    out = set()
    for e in spec.equations:
        if not all(is_number(values.get(k)) for k in e.keys):
            continue
        if e.when and meta.get(e.when[0]) not in e.when[1]:
            continue
        lhs = sum(values[k] for k in e.lhs)
        rhs = sum(values[k] for k in e.rhs)
        ok = {"==": abs(lhs - rhs) < 1e-9, ">=": lhs >= rhs - 1e-9, "<=": lhs <= rhs + 1e-9}[e.op]
        if not ok:
            out.add((e.rule, tuple(lay.address(k) for k in e.keys)))
    return out
