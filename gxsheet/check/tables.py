"""Validation: pandera schemas built from the spec, run over a frame of report records.

One row per report, so one workbook and ten thousand go through the same code. Value rules
(V-*) are column checks on every value key; arithmetic rules (T*-*) are frame checks generated
from the spec's relations, one named check per equation; metadata rules (S-EDITION, M-META,
N-PERIOD) are frame checks too. Failures come back from pandera as (check name, column, row
index) and are turned into Findings with the numbers and the cells of that record.

Blank or non-numeric cells make an equation "not computable" rather than failing it: the value
rule already names the cell, and a cascade of arithmetic errors would bury it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from gxsheet.check.pandera_import import SchemaErrors, pa
from gxsheet.core import findings as F
from gxsheet.core.layout import META_SHEET
from gxsheet.core.normalise import normalise_value, parse_amount
from gxsheet.core.record import META_PREFIX, Record
from gxsheet.core.spec import Cell, Equation, Spec, edition_for_year, load_spec
from gxsheet.core.wording import column_words, describe, row_words

VALUE_RULES = ("V-BLANK", "V-NUMBER", "V-INTEGER", "V-NEGATIVE")
#: how much of a cell's text a message quotes
QUOTE_MAX = 40
#: the largest magnitude a value cell may hold: beyond 15 digits Excel no longer keeps the number
#: typed, and no count or amount of a year's disclosure work comes near it (V-NUMBER, too-large)
MAX_MAGNITUDE = 1e15

# ------------------------------------------------------------------ value cells, analysed once per run

#: how a blank value cell appears in the validated frame. Not None/NaN: pandera drops NA values
#: from a frame-shaped check's failure cases, and a blank cell is exactly what V-BLANK must report.
BLANK = ""


def _is_num(v: object) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and v == v


def _as_float(v: int) -> float:
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def _blank(v: object) -> bool:
    return v is None or v == BLANK or (isinstance(v, float) and v != v)


def _number_bad(cell: Cell, v: object) -> bool:
    if not isinstance(v, str) or v == BLANK:
        return False
    return cell.type != "amount" or parse_amount(v) is None


def _integer_bad(cell: Cell, v: object) -> bool:
    return cell.type != "amount" and isinstance(v, float) and v == v and not v.is_integer()


def _negative_bad(cell: Cell, v: object) -> bool:
    if cell.type == "signed_count":
        return False
    if _is_num(v):
        return v < 0  # type: ignore[operator]
    if isinstance(v, str) and v != BLANK:
        a = parse_amount(v)
        return a is not None and a[0] < 0
    return False


#: rule → the test a value cell fails; one pandera check per rule runs it over every value cell
_VALUE_TESTS: dict[str, Callable[[Cell, object], bool]] = {
    "V-BLANK": lambda _cell, v: _blank(v),
    "V-NUMBER": _number_bad,
    "V-INTEGER": _integer_bad,
    "V-NEGATIVE": _negative_bad,
}
_type = np.frompyfunc(type, 1, 1)


@dataclass
class _Analysis:
    """Every value cell of a frame looked at once: its number (NaN if none) and the rules it breaks.

    Why once: the four value rules and the 45 equations all need the same per-cell facts, and
    looking at 300 workbooks × 200 cells in Python is the expensive part; the checks then only
    slice these arrays (rows × keys, in ``keys`` order).
    """

    index: pd.Index
    columns: pd.Index
    keys: list[str]
    col: dict[str, int]
    num: np.ndarray
    bad: dict[str, np.ndarray]

    def numbers(self, keys: Sequence[str]) -> np.ndarray:
        """The numeric values of ``keys`` (a key the frame lacks is a blank: NaN)."""
        out = np.full((len(self.index), len(keys)), np.nan)
        for n, k in enumerate(keys):
            j = self.col.get(k)
            if j is not None:
                out[:, n] = self.num[:, j]
        return out


def _analyse(df: pd.DataFrame, spec: Spec) -> _Analysis:
    keys = [k for k in spec.cells if k in df.columns]
    arr = df[keys].to_numpy(dtype=object) if keys else np.empty((len(df), 0), dtype=object)
    num = np.full(arr.shape, np.nan)
    bad = {rule: np.zeros(arr.shape, dtype=bool) for rule in VALUE_RULES}
    is_int = (_type(arr) == int).astype(bool) if arr.size else np.zeros(arr.shape, dtype=bool)  # noqa: E721 - elementwise
    try:
        num[is_int] = arr[is_int].astype(float)
    except OverflowError:  # an int beyond any double (a Record built by hand): too large, not a crash
        for i, j in zip(*np.nonzero(is_int), strict=True):
            num[i, j] = _as_float(arr[i, j])
    unsigned = np.array([spec.cells[k].type != "signed_count" for k in keys], dtype=bool)
    bad["V-NEGATIVE"] |= is_int & (num < 0) & unsigned
    cells = [spec.cells[k] for k in keys]
    for i, j in zip(*np.nonzero(~is_int), strict=True):  # the few cells that are not plain integers
        v, cell = arr[i, j], cells[j]
        if _is_num(v):
            num[i, j] = float(v)
        for rule, fails in _VALUE_TESTS.items():
            if fails(cell, v):
                bad[rule][i, j] = True
    with np.errstate(invalid="ignore"):
        huge = np.abs(num) >= MAX_MAGNITUDE
    if huge.any():  # reported on its cell, and left out of every sum it would swamp
        bad["V-NUMBER"] |= huge
        bad["V-NEGATIVE"] &= ~huge
        num[huge] = np.nan
    return _Analysis(df.index, df.columns, keys, {k: j for j, k in enumerate(keys)}, num, bad)


#: the analysis of the frame being validated, made once per run. pandera hands checks a copy of the
#: frame, so the run's analysis is found by index, not by object identity.
_CURRENT: dict[str, _Analysis] = {}


def _analysis(df: pd.DataFrame, spec: Spec) -> _Analysis:
    a = _CURRENT.get(spec.edition)
    if a is not None and a.index.equals(df.index) and a.columns.equals(df.columns):
        return a
    return _analyse(df, spec)


def _value_check(spec: Spec, rule: str) -> pa.Check:
    """One check per value rule over every value cell: False for a row with a cell that breaks it.

    Row-shaped, not frame-shaped: pandera would report the cells of a frame-shaped result itself,
    but collecting them costs ~40 ms per check on a county's frame even when nothing fails; the
    failing cells of a failing row are read back from the same analysis instead.
    """

    def check(df: pd.DataFrame) -> pd.Series:
        return pd.Series(~_analysis(df, spec).bad[rule].any(axis=1), index=df.index)

    return pa.Check(check, name=rule, ignore_na=False)


def equation_sides(a: _Analysis, eq: Equation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lhs, rhs, computable) of an equation for every row of the analysed frame.

    Takes the analysis, not the frame: the findings of a failing equation are built from the same
    analysis the check used, so a run looks at its cells once however many equations fail.
    Plain arrays, not Series: a check wraps one Series around its result, the findings index them.
    """
    lhs = a.numbers(eq.lhs)
    rhs = a.numbers(eq.rhs)
    computable = ~(np.isnan(lhs).any(axis=1) | np.isnan(rhs).any(axis=1))
    return np.nansum(lhs, axis=1), np.nansum(rhs, axis=1), computable


def _holds(lhs: np.ndarray, op: str, rhs: np.ndarray) -> np.ndarray:
    if op == "==":
        return np.abs(lhs - rhs) < 1e-9
    if op == ">=":
        return lhs >= rhs - 1e-9
    return lhs <= rhs + 1e-9


def _equation_check(spec: Spec, eq: Equation) -> pa.Check:
    def check(df: pd.DataFrame) -> pd.Series:
        lhs, rhs, applies = equation_sides(_analysis(df, spec), eq)
        if eq.when:
            col = META_PREFIX + eq.when[0]
            applies = applies & (df[col].isin(eq.when[1]).to_numpy(dtype=bool) if col in df else False)
        return pd.Series(~applies | _holds(lhs, eq.op, rhs), index=df.index)

    return pa.Check(check, name=eq.name, ignore_na=False)


def _unit_check(cell: Cell) -> pa.Check:
    def check(df: pd.DataFrame) -> pd.Series:
        return pd.Series([unit_problem(cell, v, u) is None for v, u in zip(
            df[cell.key].array, _unit_column(df, cell).array, strict=False)], index=df.index, dtype=bool)

    return pa.Check(check, name=f"V-UNIT@{cell.key}", ignore_na=False)


def _unit_column(df: pd.DataFrame, cell: Cell) -> pd.Series:
    col = META_PREFIX + cell.unit_field if cell.unit_field else None
    if col and col in df:
        return df[col]
    return pd.Series([None] * len(df), index=df.index)


def unit_problem(cell: Cell, v: object, stated_unit: object) -> tuple[str, dict[str, Any]] | None:
    """(V-UNIT case, its parameters) when an amount's scale is uncertain, else None."""
    official = cell.unit
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, str):
        a = parse_amount(v)
        if a is None:
            return None  # not a number at all: V-NUMBER speaks
        num, unit = a
        expected = official or (stated_unit if isinstance(stated_unit, str) and stated_unit else None)
        if expected is None:
            return "unit-in-cell", {"raw": v.strip()}
        if unit != expected:
            return "wrong-unit", {"raw": v.strip(), "unit": expected}
        return None
    if _is_num(v) and v != 0 and official is None and not (isinstance(stated_unit, str) and stated_unit):
        return "no-unit", {"raw": v}
    return None


def _edition_check(spec: Spec) -> pa.Check:
    col = META_PREFIX + spec.meta_key("year")

    def check(df: pd.DataFrame) -> pd.Series:
        years = df[col] if col in df else pd.Series([None] * len(df), index=df.index)
        return pd.Series([not _is_num(y) or edition_for_year(int(y)) == spec.edition for y in years.array],
                         index=df.index, dtype=bool)

    return pa.Check(check, name="S-EDITION", ignore_na=False)


def meta_problems(spec: Spec, meta: dict) -> list[tuple[str, str, dict[str, Any]]]:
    """(field key, M-META case, its parameters) for each missing or invalid metadata value."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for f in spec.metadata:
        v = meta.get(f.key)
        if v is None or v == "":
            if f.required:
                out.append((f.key, "missing", {}))
            continue
        if f.type == "choice" and v not in f.choices:
            out.append((f.key, "not-choice", {"value": v, "choices": "、".join(f.choices), "choices_en": ", ".join(f.choices)}))
        elif f.type == "year" and not isinstance(v, int):
            out.append((f.key, "not-year", {"value": v}))
        elif f.type == "date" and not _is_iso(v):
            out.append((f.key, "not-date", {"value": v}))
    start, end = spec.meta_field("period_start"), spec.meta_field("period_end")
    s, e = meta.get(start.key), meta.get(end.key)
    if _is_iso(s) and _is_iso(e) and s > e:
        out.append((end.key, "period-order", {"start": s, "end": e, "start_label": start.label, "end_label": end.label}))
    return out


def _is_iso(v: object) -> bool:
    if not isinstance(v, str):
        return False
    try:
        date.fromisoformat(v)
        return True
    except ValueError:
        return False


def period_problem(spec: Spec, meta: dict) -> dict[str, Any] | None:
    """N-PERIOD's parameters when the statistics period is not 1月1日–12月31日 of the report year."""
    y, s, e = (meta.get(spec.meta_key(r)) for r in ("year", "period_start", "period_end"))
    if not isinstance(y, int) or not (_is_iso(s) or _is_iso(e)):
        return None
    if (not _is_iso(s) or s == f"{y}-01-01") and (not _is_iso(e) or e == f"{y}-12-31"):
        return None

    def cn(d: object) -> str:
        if not _is_iso(d):
            return "（未写）"
        x = date.fromisoformat(d)  # type: ignore[arg-type]
        return f"{x.year}年{x.month}月{x.day}日"

    return {"start": cn(s), "start_en": s or "?", "end": cn(e), "end_en": e or "?", "year": y}


def _meta_check(spec: Spec) -> pa.Check:
    def check(df: pd.DataFrame) -> pd.Series:
        cols = [c for c in df.columns if c.startswith(META_PREFIX)]
        rows = df[cols].to_dict("records")
        return pd.Series([not meta_problems(spec, _meta(r)) for r in rows], index=df.index, dtype=bool)

    return pa.Check(check, name="M-META", ignore_na=False)


def _period_check(spec: Spec) -> pa.Check:
    def check(df: pd.DataFrame) -> pd.Series:
        cols = [c for c in df.columns if c.startswith(META_PREFIX)]
        return pd.Series([period_problem(spec, _meta(r)) is None for r in df[cols].to_dict("records")],
                         index=df.index, dtype=bool)

    return pa.Check(check, name="N-PERIOD", ignore_na=False)


def _meta(row: dict) -> dict:
    return {k[len(META_PREFIX):]: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}


@cache
def schema_for(edition: str) -> pa.DataFrameSchema:
    """The pandera schema of one edition, built once from its spec.

    All checks are frame checks: one per value rule over every value cell (frame-shaped, so each
    failing cell comes back with its row and column), one per equation, per amount's unit and per
    metadata rule. Not one check per cell and rule: pandera's fixed cost per check (~0.5 ms)
    times ~850 of them was most of a county merge's validation time, whatever the number of rows.
    """
    spec = load_spec(edition)
    checks = [_value_check(spec, rule) for rule in VALUE_RULES]
    checks += [_equation_check(spec, e) for e in spec.equations]
    checks += [_unit_check(c) for c in spec.cells.values() if c.type == "amount"]
    checks += [_edition_check(spec), _meta_check(spec), _period_check(spec)]
    return pa.DataFrameSchema(checks=checks, strict=False, name=f"gxsheet-{edition}")


def frame(records: Sequence[Record], spec: Spec) -> pd.DataFrame:
    """The frame a schema validates: one row per record, every value key a column, blanks as BLANK."""
    keys = list(spec.cells)
    index = pd.RangeIndex(len(records))
    values = np.array([[r.values.get(k) for k in keys] for r in records], dtype=object).reshape(len(records), len(keys))
    values[pd.isna(values)] = BLANK
    rest = [{k: v for k, v in r.to_row().items() if k not in spec.cells} for r in records]
    return pd.concat([pd.DataFrame.from_records(rest, index=index), pd.DataFrame(values, index=index, columns=keys)],
                     axis=1)


# ------------------------------------------------------------------ findings


def _loc(rec: Record, keys: Sequence[str]) -> list[str]:
    return rec.locate_all(keys)


def _sheet_of(cells: list[str]) -> str | None:
    return cells[0].split("!", 1)[0] if cells and "!" in cells[0] else None


def _value_finding(rule: str, rec: Record, key: str, v: object) -> F.Finding:
    zh, en = describe(rec.spec, key)
    cells = _loc(rec, [key])
    where_zh = f"{zh}（{cells[0]}）" if cells else zh

    raw = _quoted_number(v) if _is_num(v) else str(v)
    if len(raw) > QUOTE_MAX:  # a page pasted into a number cell is named, not reprinted
        raw = f"{raw[:QUOTE_MAX]}…（共{len(raw)}字）"
    if isinstance(v, str) and v.startswith("="):
        raw = f"{v if len(v) <= QUOTE_MAX else v[:QUOTE_MAX] + '…'}（公式没有计算结果）"
    case = "cell" if rule == "V-BLANK" else None  # V-BLANK's other case ("many") is a person's summary line
    if rule == "V-NUMBER":
        if _is_num(v):
            case = "too-large"
        elif isinstance(v, str) and _is_num(normalise_value(v)):
            case = "number-as-text"
        else:
            case = "not-a-number"
    return F.make(rule, case=case, keys=[key], cells=cells, sheet=_sheet_of(cells), source=rec.source,
                  where=where_zh, where_en=f"{en} ({cells[0]})" if cells else en, raw=raw)


def _quoted_number(v: object) -> str:
    """A number as a message quotes it; one too large to write out is given in scientific notation."""
    from gxsheet.core.findings import fmt_number

    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= MAX_MAGNITUDE:
        if v.bit_length() > 10_000:  # str() refuses such ints; no reader makes one
            return "-∞" if v < 0 else "∞"
        digits = str(abs(v))
        if len(digits) <= 20:
            return str(v)
        return f"{'-' if v < 0 else ''}{digits[0]}.{digits[1:6]}e+{len(digits) - 1}"
    if isinstance(v, (int, float)) and abs(v) >= MAX_MAGNITUDE:
        return f"{v:.6g}"
    return fmt_number(v)


def _equation_finding(rec: Record, eq: Equation, lhs: float, rhs: float) -> F.Finding:
    spec = rec.spec
    g = spec.grid(eq.grid)
    table = spec.table(g.table)
    along = (column_words(g, eq.along) if eq.over == "columns" else row_words(eq.along)) or eq.along.key
    params: dict[str, Any] = {"along": along, "lhs": lhs, "rhs": rhs, "diff": abs(lhs - rhs),
                              "table": table.sheet, "table_en": table.en,
                              "grid": g.caption or "", "grid_en": g.caption_en or g.caption or ""}
    # how the spec names the two sides (一+二, （七）总计+四 …) and other terms of the rule's message
    for lang, suffix in (("zh", ""), ("en", "_en")):
        for term, text in eq.words.get(lang, {}).items():
            params[(f"{term}_words" if term in ("lhs", "rhs") else term) + suffix] = text
    params["row"], params["row_en"] = params.get("lhs_words", ""), params.get("lhs_words_en", "")
    # the column group the equation sits in (表四: 行政复议 / 行政诉讼·复议后起诉), for rules that name it
    column = eq.along if eq.over == "columns" else g.column(eq.lhs[0].rsplit(".", 1)[-1])
    params["group"] = "·".join(column.path[:-1])
    if eq.when:
        params["level"] = rec.meta.get(eq.when[0])
    cells = _loc(rec, eq.keys)
    return F.make(eq.rule, keys=list(eq.keys), cells=cells, sheet=_sheet_of(cells), source=rec.source, **params)


def run_checks(edition: str, df: pd.DataFrame, recs: Sequence[Record]) -> dict[int, list[F.Finding]]:
    spec = load_spec(edition)
    schema = schema_for(edition)
    _CURRENT[edition] = analysis = _analyse(df, spec)
    try:
        schema.validate(df, lazy=True)
        return {}
    except SchemaErrors as err:
        cases = err.failure_cases
    finally:
        _CURRENT.pop(edition, None)
    # a check that raised is reported with no row: never let it pass as "no finding"
    broken = cases[cases["index"].isna()]
    if len(broken):
        check, case = broken.iloc[0]["check"], broken.iloc[0]["failure_case"]
        raise RuntimeError(f"validation check {check} could not run: {case}")
    # pandera reports a frame check once per column of the failing row: keep one per row
    cases = cases.drop_duplicates(["check", "index"])
    is_value = cases["check"].isin(VALUE_RULES)
    # a failing row of a value rule: its cells that break the rule, from the analysis the check used
    cells = [(check, idx, analysis.keys[c])
             for check, idx in cases.loc[is_value, ["check", "index"]].itertuples(index=False)
             for c in np.flatnonzero(analysis.bad[check][int(idx)])]
    rows = cases[~is_value]
    out: dict[int, list[F.Finding]] = {}
    eqs = {e.name: e for e in spec.equations}
    sides: dict[str, tuple[pd.Series, pd.Series, pd.Series]] = {}
    seen: set[tuple] = set()
    for check, idx, col in cells + [(c, i, None) for c, i in rows[["check", "index"]].itertuples(index=False)]:
        check = str(check)
        if idx is None or (isinstance(idx, float) and idx != idx):
            continue
        j = int(idx)
        rec = recs[j]
        sig = (j, check, col)
        if sig in seen:
            continue
        seen.add(sig)
        f: F.Finding | None = None
        if check in VALUE_RULES and col in spec.cells:
            if col in rec.missing:
                continue
            v = df.at[j, col]
            f = _value_finding(check, rec, col, None if _blank(v) else v)
        elif check in eqs:
            eq = eqs[check]
            if any(k in rec.missing for k in eq.keys):
                continue
            if check not in sides:
                sides[check] = equation_sides(analysis, eq)
            lhs, rhs, _ = sides[check]
            f = _equation_finding(rec, eq, float(lhs[j]), float(rhs[j]))
        elif check.startswith("V-UNIT@"):
            key = check.split("@", 1)[1]
            cell = spec.cells[key]
            prob = unit_problem(cell, df.at[j, key], rec.meta.get(cell.unit_field) if cell.unit_field else None)
            if prob and key not in rec.missing:
                case, params = prob
                zh, en = describe(spec, key)
                cells = _loc(rec, [key])
                if case == "no-unit":  # the units the clerk may choose from on the metadata sheet
                    choices = spec.field(cell.unit_field).choices if cell.unit_field else (spec.merge.unit,)
                    params |= {"choices": "还是".join(choices), "choices_en": " or ".join(choices)}
                f = F.make("V-UNIT", case=case, keys=[key], cells=cells, sheet=_sheet_of(cells), source=rec.source,
                           where=f"{zh}（{cells[0]}）" if cells else zh, where_en=en, meta_sheet=META_SHEET, **params)
        elif check == "S-EDITION":
            year_key = META_PREFIX + spec.meta_key("year")
            y = rec.meta.get(spec.meta_key("year"))
            want = _edition_for(y)
            cells = _loc(rec, [year_key])
            if want:
                f = F.make("S-EDITION", case="year", keys=[year_key], cells=cells, sheet=_sheet_of(cells),
                           source=rec.source, year=y, want=want.edition, want_issued=want.issued_with,
                           edition=spec.edition, issued=spec.issued_with)
            else:
                f = F.make("S-EDITION", case="no-edition", keys=[year_key], cells=cells, sheet=_sheet_of(cells),
                           source=rec.source, year=y)
        elif check == "M-META":
            for key, case, params in meta_problems(spec, rec.meta):
                label = spec.field(key).label
                cells = _loc(rec, [META_PREFIX + key])
                out.setdefault(j, []).append(F.make(
                    "M-META", case=case, keys=[META_PREFIX + key], cells=cells, sheet=_sheet_of(cells),
                    source=rec.source, where=f"{label}（{cells[0]}）" if cells else label, where_en=label, **params))
            continue
        elif check == "N-PERIOD":
            params = period_problem(spec, rec.meta)
            if params:
                keys = [META_PREFIX + spec.meta_key("period_start"), META_PREFIX + spec.meta_key("period_end")]
                cells = _loc(rec, keys)
                f = F.make("N-PERIOD", case="range", keys=keys, cells=cells, sheet=_sheet_of(cells), source=rec.source, **params)
        if f is not None:
            out.setdefault(j, []).append(f)
    return out


def _edition_for(year: object) -> Spec | None:
    if not _is_num(year):
        return None
    e = edition_for_year(int(year))  # type: ignore[arg-type]
    return load_spec(e) if e else None
