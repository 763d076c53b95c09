"""The rules only a county merge can see (X-*): a file of another year or edition, the same body
twice, an amount of unknown unit, and this year's carry-over against last year's report.

They are checks like the others — each takes Records and returns Findings with the values its
message template in ``schemas/rules.json`` names — but over several reports at once; the merge
(:mod:`gxsheet.merge.county`) decides what to do with a file that breaks them (not counted in 合计).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gxsheet.core import findings as F
from gxsheet.core.layout import EDITION_KEY
from gxsheet.core.record import META_PREFIX, Record
from gxsheet.core.spec import Spec, load_spec
from gxsheet.core.wording import column_words, describe

__all__ = ["carry_findings", "duplicate_findings", "mixed_finding", "unit_finding"]


def _finding(rule: str, rec: Record, keys: Sequence[str], case: str | None = None, **params: Any) -> F.Finding:
    cells = rec.locate_all(keys)
    sheet = cells[0].split("!", 1)[0] if cells and "!" in cells[0] else None
    return F.make(rule, case=case, keys=list(keys), cells=cells, sheet=sheet, source=rec.source, **params)


def mixed_finding(rec: Record, merge_year: int | None, spec: Spec) -> tuple[str, F.Finding] | None:
    """X-MIXED when ``rec`` is of another year, or its tables of another edition, than the merge
    (``spec`` is the merge year's edition): (why it is not counted — "year" / "edition", the finding)."""
    if merge_year is None:
        return None
    y = rec.year
    if y is not None and y != merge_year:
        return "year", _finding("X-MIXED", rec, [META_PREFIX + rec.spec.meta_key("year")], case="year",
                                year=merge_year, edition=spec.edition, its_year=y, its_edition=rec.edition)
    if rec.edition != spec.edition:
        return "edition", _finding("X-MIXED", rec, [EDITION_KEY], case="edition", year=merge_year,
                                   edition=spec.edition, its_edition=rec.edition,
                                   its_issued=load_spec(rec.edition).issued_with)
    return None


#: file names an X-DUPLICATE message lists: each file of the group gets the finding, so a message
#: naming all of them would make the problem list grow with the square of the group (4,000 copies
#: of one town: 16 million names)
SHOWN_FILES = 5


def duplicate_findings(group: Sequence[tuple[str, Record]], kept: int, year: int | None) -> list[F.Finding]:
    """X-DUPLICATE for every file of a group that reports the same body for the same year; ``group``
    holds (file name, record) and ``kept`` indexes the one counted in 合计."""
    names = sorted(name for name, _ in group)
    files, files_en = "、".join(names[:SHOWN_FILES]), ", ".join(names[:SHOWN_FILES])
    if len(names) > SHOWN_FILES:  # every file of the group has its own finding: name a few, count the rest
        files, files_en = f"{files} 等", f"{files_en} and {len(names) - SHOWN_FILES} more"
    kept_name = group[kept][0]
    out = []
    for i, (_, rec) in enumerate(group):
        name = rec.meta.get(rec.spec.meta_key("unit_name"))
        out.append(_finding("X-DUPLICATE", rec, [META_PREFIX + rec.spec.meta_key("unit_name")],
                            case="counted" if i == kept else "not-counted", name=name,
                            year=year if year is not None else "", count=len(group), files=files, files_en=files_en, kept=kept_name))
    return out


def unit_finding(rec: Record, key: str, value: object, unit: str) -> F.Finding:
    """X-UNIT: an amount whose unit nobody stated, counted as written in the merge's ``unit`` column."""
    cells = rec.locate_all([key])
    where = describe(rec.spec, key)[0] + (f"（{cells[0]}）" if cells else "")
    return _finding("X-UNIT", rec, [key], where=where, raw=value, unit=unit)


def carry_findings(rec: Record, prev: Record, prev_name: str | None = None) -> list[F.Finding]:
    """X-CARRY per column of the spec's ``carry_over`` grid: this year's carried-over row must equal
    last year's carried-forward row (表三 二、上年结转 = 四、结转下年度继续办理 in both editions).

    Compared only where both editions have the cell and both values are numbers: a blank or text
    cell is reported by the value rules, not twice here.
    """
    spec, pspec = rec.spec, prev.spec
    now, then = spec.carry_over, pspec.carry_over  # each year's rows in its own edition
    grid = spec.grid(now.grid)
    table = spec.table(grid.table)
    prev_grid = next((g for g in pspec.grids() if g.key == then.grid), None)
    this_row = grid.row(now.this_year_row).label or now.this_year_row
    last_row = prev_grid.row(then.last_year_row).label if prev_grid else None
    out = []
    for col in grid.leaf_columns():
        k_now = grid.cell_key(now.this_year_row, col.key)
        k_prev = prev_grid.cell_key(then.last_year_row, col.key) if prev_grid else ""
        if k_now not in spec.cells or k_prev not in pspec.cells:
            continue
        a, b = rec.numeric(k_now), prev.numeric(k_prev)
        if a is None or b is None or abs(a - b) < 1e-9:
            continue
        f = _finding("X-CARRY", rec, [k_now], table=table.sheet, table_en=table.en, along=column_words(grid, col),
                     this_row=this_row, last_row=last_row or then.last_year_row, lhs=a, rhs=b, diff=abs(a - b))
        prev_cell = prev.locate_all([k_prev])
        if prev_cell:
            f.cells.append(f"上年 {prev_name or prev.source}：{prev_cell[0]}")
        out.append(f)
    return out
