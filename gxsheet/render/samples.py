"""Sample data: consistent values generated from a spec's relations, and filling a template.

Used by the tests, the bundled examples and the benchmarks (so it lives in the package).

``valid_values`` draws random leaf values and then derives every total from the spec's relations
(never from hard-coded table knowledge), so a new edition gets consistent test data for free and a
test can break exactly one relation on purpose. ``fill_workbook`` writes values into a copy of a
template by layout position, the way a clerk would type them (through the one Record writer,
:mod:`gxsheet.render.workbook`).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from pathlib import Path

from gxsheet.core.atomic import write_bytes
from gxsheet.core.record import Record
from gxsheet.core.spec import Equation, Spec, load_spec
from gxsheet.render.workbook import layout_of, record_workbook, template_path, write_record

__all__ = ["default_meta", "default_prose", "fill_workbook", "layout_of", "template_path", "valid_values",
           "write_sample"]

Number = int | float


def _draw(rng: random.Random, kind: str) -> Number:
    if kind == "signed_count":
        return rng.randint(-5, 5)
    if kind == "amount":
        return round(rng.uniform(0, 50000), 2)
    return rng.randint(0, 9)


def _sum(values: Mapping[str, Number], keys: tuple[str, ...]) -> Number:
    total: Number = sum(values[k] for k in keys)
    return round(total, 2) if isinstance(total, float) else total


def _holds(values: Mapping[str, Number], e: Equation) -> bool:
    lhs, rhs = _sum(values, e.lhs), _sum(values, e.rhs)
    return {"==": lhs == rhs, ">=": lhs >= rhs, "<=": lhs <= rhs}[e.op]


def valid_values(spec: Spec, seed: int = 0) -> dict[str, Number]:
    """A value for every cell of ``spec`` such that every relation holds.

    Leaves are random; then each equation's first lhs cell is set to make it hold (a total becomes
    the sum of its parts, 一 becomes 七+四−二), repeated until nothing changes. Conditional
    relations (``when``) are satisfied unconditionally, so the values are valid whatever the
    metadata says (a town's 规章 row is 0). Counts stay non-negative; a draw that cannot satisfy
    that is redrawn.
    """
    for attempt in range(100):
        rng = random.Random(seed * 1000 + attempt)
        values: dict[str, Number] = {k: _draw(rng, c.type) for k, c in spec.cells.items()}
        for _ in range(20):
            changed = False
            for e in spec.equations:
                if _holds(values, e):
                    continue
                target = e.lhs[0]
                rest = _sum(values, e.lhs[1:])
                need = _sum(values, e.rhs) - rest
                if e.op == ">=":
                    need += rng.randint(0, 5)
                values[target] = round(need, 2) if isinstance(need, float) else need
                changed = True
            if not changed:
                break
        ok = all(_holds(values, e) for e in spec.equations)
        signs = all(values[k] >= 0 for k, c in spec.cells.items() if c.type != "signed_count")
        if ok and signs:
            return values
    raise AssertionError(f"no consistent values for edition {spec.edition} from seed {seed}")


def default_meta(spec: Spec, **overrides: object) -> dict[str, object]:
    """Plausible metadata for ``spec`` (a county department, the edition's first year)."""
    year = spec.first_year
    meta: dict[str, object] = {}
    for f in spec.metadata:
        if f.type == "choice":
            meta[f.key] = "县级部门" if "县级部门" in f.choices else f.choices[0]
        elif f.type == "year":
            meta[f.key] = year
        elif f.type == "date":
            meta[f.key] = dt.date(year, 12, 31) if f.role == "period_end" else dt.date(year, 1, 1)
        else:
            meta[f.key] = f"测试{f.label}"
    meta.update(overrides)
    return meta


def default_prose(spec: Spec) -> dict[str, str]:
    """Prose that satisfies the narrative rules (section 六 states the 信息处理费, 五 is not empty)."""
    prose = {s.key: f"{s.heading}：测试正文。" for s in spec.sections}
    last = spec.sections[-1].key
    prose[last] += "本年度未收取信息处理费。"
    return prose


def fill_workbook(path_in: str | Path, path_out: str | Path, values: Mapping[str, object],
                  meta: Mapping[str, object] | None = None, prose: Mapping[str, str] | None = None) -> Path:
    """Copy the template ``path_in`` to ``path_out`` with values, metadata and prose typed in.

    ``values`` maps cell keys to what goes in the cell (numbers, or text to test bad input — a
    string starting with ``=`` is a formula, as when a clerk types it; None leaves it blank);
    ``meta`` maps field keys (``level`` or ``meta.level``) and ``prose`` section keys (``s1`` or
    ``prose.s1``). Written by the one Record writer, as typed.
    """
    layout = layout_of(path_in)
    rec = Record(edition=layout.spec.edition, meta=dict(meta or {}), prose=dict(prose or {}), values=dict(values),
                 source=str(path_out), kind="sample")
    return write_bytes(path_out, record_workbook(rec, layout, path_in, as_typed=True))


def write_sample(path_out: str | Path, edition: str, *, seed: int = 0, values: Mapping[str, object] | None = None,
                 meta: Mapping[str, object] | None = None, prose: Mapping[str, str] | None = None) -> Path:
    """A filled, valid workbook (then ``values``/``meta``/``prose`` override what they name)."""
    spec = load_spec(edition)
    vals: dict[str, object] = dict(valid_values(spec, seed))
    vals.update(values or {})
    m = default_meta(spec)
    m.update(meta or {})
    p = default_prose(spec)
    p.update(prose or {})
    return write_record(Record(edition=spec.edition, meta=m, prose=p, values=vals, source=str(path_out), kind="sample"),
                        path_out, as_typed=True)
