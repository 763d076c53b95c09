"""Reading a filled standard workbook into a Record.

Cells are located through the layout's labels, not fixed addresses: each table sheet's rows are
aligned to the expected row labels and each grid's columns to its header labels (see align.py),
so a moved or inserted row is one S-LAYOUT finding and every value is still read from where its
label is. The edition is detected from the tables themselves and compared with the declared one.
Values are normalised (normalise.py); anything doubtful is kept as text for the validator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from gxsheet.core import findings as F
from gxsheet.core.a1 import col_letter
from gxsheet.core.align import align, moved
from gxsheet.core.errors import LoadError
from gxsheet.core.layout import (
    CHECK_PREFIX,
    EDITION_KEY,
    META_SHEET,
    PROSE_SHEET,
    SUMMARY_KEY,
    Box,
    SheetLayout,
    WorkbookLayout,
    a1,
    workbook_layout,
)
from gxsheet.core.limits import Limits
from gxsheet.core.normalise import clean_text, label_key, normalise_value, parse_date, parse_year, similarity
from gxsheet.core.record import Record
from gxsheet.core.spec import Spec, all_specs, load_spec
from gxsheet.read.carried import SHEET as CARRIED_SHEET
from gxsheet.read.carried import restore
from gxsheet.xlsx.workbook import RawCell, SheetCells, WorkbookCells, read_workbook


class NotAReport(LoadError):
    """A readable workbook that is not a gxsheet report (no 基本信息 / 表二 / 表三 / 表四)."""

    def __init__(self, path: str, *_ignored: object):
        tables = all_specs()[-1].tables  # the sheets a report workbook has, as the newest spec names them
        super().__init__(
            path, "not-a-report",
            f"{path}：不是政府信息公开年报工作簿（找不到“{META_SHEET}”和{'/'.join(t.sheet for t in tables)}工作表），"
            f"请使用 gxsheet 标准模板填写。",
            f"{path}: not an annual-report workbook (no {META_SHEET} sheet and no tables "
            f"{'/'.join(t.sheet.removeprefix('表') for t in tables)}); fill in the gxsheet standard template.",
        )


def read_report(path: str | Path, *, limits: Limits | None = None) -> Record:
    """Read one workbook (guarded by the loader) into a Record."""
    wb = read_workbook(path, limits)
    return read_cells(wb, source=str(path))


# ---------------------------------------------------------------------------------------------
#: Cell references the formulas of one sheet that have no cached value may follow in all. Each
#: formula cell is computed once (memoised), so a chain ``Z1=Z2+Z2, Z2=Z3+Z3, …`` costs one step per
#: link, not 2**depth; past the budget (or deeper than FORMULA_DEPTH) a cell is not computed and
#: keeps its formula text, which the validator reports as a number missing (V-NUMBER).
FORMULA_STEPS = 20_000
FORMULA_DEPTH = 100



@dataclass
class _Sheet:
    """A sheet's cells with a text view for label matching."""

    cells: SheetCells
    _labels: set[str] | None = None
    _shape: tuple | None = None
    #: formulas without a cached value computed so far (position → number, None: cannot be), and
    #: what is left of the sheet's budget for computing them (see ``FORMULA_STEPS``)
    _computed: dict[tuple[int, int], int | float | None] = field(default_factory=dict)
    _steps_left: int = FORMULA_STEPS
    _first_column: dict[str, int] | None = None

    def value(self, r: int, c: int) -> RawCell | None:
        return self.cells.cells.get((r, c))

    def text(self, r: int, c: int) -> str:
        cell = self.cells.cells.get((r, c))
        if cell is None or cell.value is None or not isinstance(cell.value, str):
            return ""
        return cell.value

    def label_row(self, target: str) -> int | None:
        """The first row (in the sheet's order) whose column-A text has label key ``target``.

        One pass over the sheet builds the index for every label: the metadata and prose
        readers look up ~20 labels per file, each used to scan the whole sheet.
        """
        if self._first_column is None:
            index: dict[str, int] = {}
            for (r, c), cell in self.cells.cells.items():
                if c == 1 and isinstance(cell.value, str):
                    index.setdefault(label_key(cell.value), r)
            self._first_column = index
        return self._first_column.get(target)

    def rows(self) -> list[int]:
        return sorted({r for r, _ in self.cells.cells})

    def labels(self) -> set[str]:
        """Every text in the sheet as a label key (computed once per sheet)."""
        if self._labels is None:
            self._labels = {label_key(c.value) for c in self.cells.cells.values() if isinstance(c.value, str)}
        return self._labels

    def shape(self) -> tuple:
        """Everything the layout matching looks at, and nothing else: each cell's position, its
        text (numbers are not text) and whether it holds a formula.

        Towns fill the same template, so their sheets share a shape and the label alignment of
        one holds for all of them: it is computed once per shape (see ``_read_table``).
        """
        if self._shape is None:
            self._shape = (self.cells.name, tuple(
                (pos, v if type(v) is str else None, c.formula is not None)
                for pos, c in self.cells.cells.items() for v in (c.value,)))
        return self._shape

    @property
    def max_col(self) -> int:
        return max((c for _, c in self.cells.cells), default=0)


def _row_signature(sheet: _Sheet, r: int, label_cols: int, width: int) -> str:
    texts = [label_key(sheet.text(r, c)) for c in range(1, label_cols + 1)]
    texts = [t for t in texts if t]
    if not texts:
        texts = [label_key(sheet.text(r, c)) for c in range(1, width + 1)]
        texts = [t for t in texts if t]
    return "|".join(texts)


_EXPECTED_ROWS: dict[int, dict[int, str]] = {}
_EXPECTED_LABELS: dict[int, frozenset[str]] = {}


def _expected_rows(lay: SheetLayout) -> dict[int, str]:
    """Layout row → signature, built exactly as _row_signature reads a file (cached per layout:
    layouts are built once per edition and never change)."""
    got = _EXPECTED_ROWS.get(id(lay))
    if got is None:
        got = _EXPECTED_ROWS[id(lay)] = _compute_expected_rows(lay)
    return got


def _compute_expected_rows(lay: SheetLayout) -> dict[int, str]:
    starts: dict[int, list[tuple[int, str]]] = {}
    for b in lay.boxes:
        starts.setdefault(b.row, []).append((b.col, b.text))
    for r in {r for r, _ in lay.inputs.values()}:
        starts.setdefault(r, [])
    out: dict[int, str] = {}
    for r, items in sorted(starts.items()):
        items.sort()
        texts = [label_key(t) for c, t in items if c <= lay.label_cols and t]
        if not texts:
            texts = [label_key(t) for c, t in items if c <= lay.width and t]
        out[r] = "|".join(texts)
    return out


@dataclass
class _TableRead:
    rowmap: dict[int, int] = field(default_factory=dict)  # layout row → file row
    colmap: dict[str, dict[int, int]] = field(default_factory=dict)  # grid → layout col → file col
    findings: list[F.Finding] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)
    score: float = 0.0
    plan: list[tuple[str, tuple[int, int] | None, str]] = field(default_factory=list)


def _score_table(sheet: _Sheet, lay: SheetLayout) -> float:
    """How well a sheet matches a table layout: labels found minus labels missing."""
    found = sheet.labels()
    expected = _EXPECTED_LABELS.get(id(lay))
    if expected is None:
        expected = _EXPECTED_LABELS[id(lay)] = frozenset(
            label_key(b.text) for b in lay.boxes if b.text and b.role in ("label", "header", "corner", "caption"))
    hit = len(expected & found)
    return hit - (len(expected) - hit)


#: (layout, sheet shape) → how that sheet's rows and columns map onto the layout. Only clean
#: matches (no finding) are kept: they are the common case and hold nothing of the file's own.
_MATCHED: dict[tuple[int, tuple], _TableRead] = {}
_MATCHED_MAX = 64


def _read_table(sheet: _Sheet, lay: SheetLayout, spec: Spec, source: str) -> _TableRead:
    """The sheet matched onto its layout; a shape seen before (same template, same labels) is not
    aligned again: at 300 towns per merge, label alignment was a third of reading."""
    key = (id(lay), sheet.shape())
    hit = _MATCHED.get(key)
    if hit is not None:
        return _TableRead(hit.rowmap, hit.colmap, [], set(hit.missing), hit.score, hit.plan)
    out = _match_table(sheet, lay, spec, source)
    out.plan = _plan(sheet.cells.name, lay, spec, out)
    if not out.findings:
        if len(_MATCHED) >= _MATCHED_MAX:
            _MATCHED.pop(next(iter(_MATCHED)))
        _MATCHED[key] = out
        out = _TableRead(out.rowmap, out.colmap, [], set(out.missing), out.score, out.plan)
    return out


def _plan(name: str, lay: SheetLayout, spec: Spec, tr: _TableRead) -> list[tuple[str, tuple[int, int] | None, str]]:
    """(key, file position or None when missing, address) of every value cell of the sheet."""
    plan = []
    for key, (r, c) in lay.inputs.items():
        if key in tr.missing:
            plan.append((key, None, ""))
            continue
        pos = (tr.rowmap[r], tr.colmap[spec.cells[key].grid][c])
        plan.append((key, pos, f"{name}!{a1(*pos)}"))
    return plan


def _match_table(sheet: _Sheet, lay: SheetLayout, spec: Spec, source: str) -> _TableRead:
    out = _TableRead()
    sheet_name = sheet.cells.name
    exp = _expected_rows(lay)
    exp_rows = list(exp)
    file_rows = [r for r in sheet.rows() if _row_signature(sheet, r, lay.label_cols, lay.width)]
    # rows holding only numbers (no label) are candidates too: an inserted data row
    value_only = [r for r in sheet.rows() if r not in file_rows
                  and any(c <= lay.width for (rr, c) in sheet.cells.cells if rr == r)]
    file_rows = sorted(file_rows + value_only)
    fsig = [_row_signature(sheet, r, lay.label_cols, lay.width) for r in file_rows]
    esig = [exp[r] for r in exp_rows]
    pairs = align(esig, fsig)
    out.rowmap = {exp_rows[i]: file_rows[j] for i, j in pairs.items()}
    _fill_blank_rows(out.rowmap, exp_rows, set(file_rows))
    # a row cut and pasted elsewhere: found by its label, read from where it is now (added to the
    # row map after the in-order checks below, which would otherwise see a gap where it was)
    moves = {exp_rows[i]: file_rows[j] for i, j in moved(esig, fsig, pairs).items()
             if exp_rows[i] not in out.rowmap and file_rows[j] not in out.rowmap.values()}
    matched_file = set(out.rowmap.values()) | set(moves.values())
    last_table_row = max((r for r, _ in lay.inputs.values()), default=lay.last_row)
    first = out.rowmap.get(min(exp_rows), 1)
    last = out.rowmap.get(last_table_row, max(file_rows, default=0))
    for r in file_rows:
        if r not in matched_file and first <= r <= max(last, first):
            txt = fsig[file_rows.index(r)]
            out.findings.append(F.make(
                "S-LAYOUT", case="row-inserted" if txt else "row-inserted-unlabelled", sheet=sheet_name,
                cells=[f"{sheet_name}!A{r}"], source=source, row=r, label=txt))

    reported = {f.cells[0] for f in out.findings}
    for fr in _empty_gaps(out.rowmap, first, max(last, first)):
        where = f"{sheet_name}!A{fr}"
        if where not in reported and fr not in matched_file:
            out.findings.append(F.make("S-LAYOUT", case="row-inserted-empty", sheet=sheet_name, cells=[where],
                                       source=source, row=fr))

    out.rowmap.update(moves)
    for er, fr in sorted(moves.items(), key=lambda m: m[1]):
        b = _deepest_label(lay, er)
        col = b.col if b is not None else 1
        out.findings.append(F.make(
            "S-LAYOUT", case="row-moved", sheet=sheet_name, cells=[f"{sheet_name}!{a1(fr, col)}"], source=source,
            row=fr, label=b.text if b is not None else exp[er], official=er))

    # columns, per grid, from its header rows
    for gkey, hrows in lay.header_rows.items():
        leaf_cols = lay.value_cols[gkey]
        exp_cols = sorted(set(leaf_cols.values()))
        col_label = {}
        for b in lay.boxes:
            if b.grid == gkey and b.role == "header" and b.col in exp_cols and b.key in leaf_cols:
                col_label[b.col] = label_key(b.text)
        frows = [out.rowmap[r] for r in hrows if r in out.rowmap]
        max_c = max(sheet.max_col, lay.width)
        fcols = []
        fsigs = []
        for c in range(lay.label_cols + 1, max_c + 1):
            texts = [label_key(sheet.text(r, c)) for r in frows]
            texts = [t for t in texts if t]
            if texts and not texts[-1].startswith(label_key(CHECK_PREFIX)):
                fcols.append(c)
                fsigs.append(texts[-1])
        ecsig = [col_label.get(c, "") for c in exp_cols]
        cp = align(ecsig, fsigs)
        out.colmap[gkey] = {exp_cols[i]: fcols[j] for i, j in cp.items()}
        col_moves = {exp_cols[i]: fcols[j] for i, j in moved(ecsig, fsigs, cp).items()}
        # a column present in the file between matched ones but unknown to the form
        matched = set(out.colmap[gkey].values())
        if matched:
            lo, hi = min(matched), max(matched)
            for c, s in zip(fcols, fsigs, strict=False):
                if c not in matched and c not in col_moves.values() and lo < c < hi:
                    out.findings.append(F.make(
                        "S-LAYOUT", case="column-inserted", sheet=sheet_name, cells=[f"{sheet_name}!{a1(frows[-1], c)}"],
                        source=source, cell=a1(frows[-1], c), label=s))
        if frows:
            named = {c for c in fcols if c not in matched}
            for fc in _empty_gaps(out.colmap[gkey]):
                if fc not in named:
                    where = f"{sheet_name}!{a1(frows[-1], fc)}"
                    out.findings.append(F.make("S-LAYOUT", case="column-inserted-empty", sheet=sheet_name,
                                               cells=[where], source=source, cell=a1(frows[-1], fc)))
            out.colmap[gkey].update(col_moves)
            for ec, fc in sorted(col_moves.items(), key=lambda m: m[1]):
                out.findings.append(F.make(
                    "S-LAYOUT", case="column-moved", sheet=sheet_name, cells=[f"{sheet_name}!{a1(frows[-1], fc)}"],
                    source=source, cell=a1(frows[-1], fc), label=_column_label(lay, gkey, ec), official=col_letter(ec)))
        for c in exp_cols:
            if c not in out.colmap[gkey]:
                out.findings.append(F.make(
                    "S-LAYOUT", case="column-missing", sheet=sheet_name, cells=[f"{sheet_name}!{a1(hrows[-1], c)}"],
                    source=source, label=_column_label(lay, gkey, c)))

    # removed rows: one finding per row, naming its deepest label (a group label such as
    # 三、本年度办理结果 sits in its first sub-row and goes with it)
    for b in (d for r in sorted({b.row for b in lay.boxes if b.role == "label" and b.row not in out.rowmap})
              if (d := _deepest_label(lay, r)) is not None):
        out.findings.append(F.make(
            "S-LAYOUT", case="row-missing", sheet=sheet_name, cells=[f"{sheet_name}!{a1(b.row, b.col)}"],
            source=source, label=b.text))

    # labels changed (compare exact text, whitespace aside)
    for b in lay.boxes:
        if b.role not in ("label", "header", "corner", "caption") or not b.text:
            continue
        fr = out.rowmap.get(b.row)
        if fr is None:
            continue
        fc = b.col
        if b.role == "header" and b.grid:
            cm = out.colmap.get(b.grid, {})
            if b.key in lay.value_cols.get(b.grid, {}) and b.col not in cm:
                continue  # a removed column: already an S-LAYOUT finding
            # a group header stands over its leaves: at the first text above them, wherever they
            # moved (Calc keeps a merge where it was when a column is cut out of it or into it)
            spanned = [cm[c] for c in range(b.col, b.col2 + 1) if c in cm]
            fc = b.col + _shift(cm)
            if spanned:
                fc = next((c for c in range(min(spanned), max(spanned) + 1) if sheet.text(fr, c)), min(spanned))
        found = sheet.text(fr, fc)
        if clean_text(found) == clean_text(b.text) or _same_text(found, b.text):
            continue
        where = f"{sheet_name}!{a1(fr, fc)}"
        out.findings.append(F.make(
            "S-LABEL", sheet=sheet_name, cells=[where], source=source,
            where=where, found=found.strip() or "（空）", official=b.text))

    # value cells
    for key, (r, c) in lay.inputs.items():
        cell = spec.cells[key]
        fr = out.rowmap.get(r)
        fc = out.colmap.get(cell.grid, {}).get(c)
        if fr is None or fc is None:
            out.missing.add(key)
    # check formulas overwritten (a check column is where its label is: it moves with the columns)
    check_cols = _check_columns(sheet, lay, out.rowmap)
    for chk in lay.checks:
        fr = out.rowmap.get(chk.row)
        cm = out.colmap.get(chk.equation.grid, {})
        fc = check_cols.get(chk.col) or cm.get(chk.col, chk.col + _shift(cm))
        if fr is None:
            continue
        raw = sheet.value(fr, fc)
        if raw is None or raw.formula is None:
            where = f"{sheet_name}!{a1(fr, fc)}"
            out.findings.append(F.make("S-LAYOUT", case="check-formula", sheet=sheet_name, cells=[where], source=source,
                                       where=where))
    return out


def _deepest_label(lay: SheetLayout, row: int) -> Box | None:
    """The row's own label: the right-most label box on it (a group label such as 三、本年度办理结果
    sits in the first sub-row and names the group, not the row)."""
    return max((b for b in lay.boxes if b.role == "label" and b.row == row), key=lambda b: b.col, default=None)


def _column_label(lay: SheetLayout, grid: str, col: int) -> str:
    """The leaf header naming value column ``col`` of ``grid`` in the layout."""
    leaves = lay.value_cols[grid]
    return next((b.text for b in lay.boxes if b.grid == grid and b.role == "header" and b.col == col and b.key in leaves), "")


def _empty_gaps(mapping: dict[int, int], lo: int = 1, hi: int | None = None) -> list[int]:
    """File rows (or columns) inserted between two matched neighbours that the template has next
    to each other: the first of each such gap (one finding per insertion, not per row)."""
    out = []
    pairs = sorted((e, f) for e, f in mapping.items() if lo <= f and (hi is None or f <= hi))
    for (e1, f1), (e2, f2) in zip(pairs, pairs[1:], strict=False):
        if f2 - f1 > e2 - e1 and f2 > f1:
            out.append(f1 + (e2 - e1))
    return out


def _check_columns(sheet: _Sheet, lay: SheetLayout, rowmap: dict[int, int]) -> dict[int, int]:
    """Layout column → file column of each check column right of a grid, found by its label.

    A spacer column deleted (or a column inserted) left of the checks moves them; they are still
    the template's formulas, not deleted ones. Columns with the same label pair up in order.
    """
    out: dict[int, int] = {}
    by_row: dict[int, list[tuple[int, str]]] = {}
    for b in lay.boxes:
        if b.role == "check_label" and b.row in rowmap and b.col > lay.label_cols:
            by_row.setdefault(b.row, []).append((b.col, label_key(b.text)))
    for r, wanted in by_row.items():
        fr = rowmap[r]
        found = sorted((c, label_key(cell.value)) for (rr, c), cell in sheet.cells.cells.items()
                       if rr == fr and isinstance(cell.value, str))
        pos = 0
        for col, text in sorted(wanted):
            while pos < len(found) and found[pos][1] != text:
                pos += 1
            if pos == len(found):
                break
            out[col] = found[pos][0]
            pos += 1
    return out


def _fill_blank_rows(rowmap: dict[int, int], exp_rows: list[int], used_rows: set[int]) -> None:
    """An expected row with no label and nothing in it (表四's data row left blank) cannot be
    matched by label; it is where its matched neighbours put it, provided that row of the file has
    no label and no value inside the form (check cells beside it may exist) and the neighbours agree on the offset (a deleted row shifts them, and stays missing)."""
    for i, e in enumerate(exp_rows):
        if e in rowmap:
            continue
        prev = next(((exp_rows[k], rowmap[exp_rows[k]]) for k in range(i - 1, -1, -1) if exp_rows[k] in rowmap), None)
        nxt = next(((exp_rows[k], rowmap[exp_rows[k]]) for k in range(i + 1, len(exp_rows)) if exp_rows[k] in rowmap), None)
        if prev is None:
            continue
        offset = prev[1] - prev[0]
        if nxt is not None and nxt[1] - nxt[0] != offset:
            continue
        f = e + offset
        if f not in used_rows and f not in rowmap.values():
            rowmap[e] = f


def _shift(colmap: dict[int, int]) -> int:
    """How far a grid's columns moved (right-most matched column), for cells right of the form."""
    if not colmap:
        return 0
    c = max(colmap)
    return colmap[c] - c


def _same_text(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


# ---------------------------------------------------------------------------------------------
def _wrap(wb: WorkbookCells, name: str) -> _Sheet:
    """One _Sheet per sheet of a workbook, so label sets are computed once per read."""
    cache = _WRAPPED.setdefault(id(wb), {})
    if name not in cache:
        cache[name] = _Sheet(wb.sheets[name])
    return cache[name]


_WRAPPED: dict[int, dict[str, _Sheet]] = {}


def _find_sheet(wb: WorkbookCells, name: str, claimed: set[str], layout_title: str | None) -> tuple[_Sheet | None, bool]:
    """A sheet by name, else (renamed) by its title cell; returns (sheet, renamed)."""
    if name in wb.sheets:
        return _wrap(wb, name), False
    if layout_title:
        for sname, sc in wb.sheets.items():
            if sname in claimed:
                continue
            titles = [v.value for (r, _), v in sc.cells.items() if r <= 2 and isinstance(v.value, str)]
            if any(similarity(label_key(t), label_key(layout_title)) > 0.8 for t in titles):
                return _wrap(wb, sname), True
    return None, False


def detect_edition(wb: WorkbookCells, declared: str | None = None) -> tuple[str | None, dict[str, str]]:
    """The edition whose tables fit best overall, and the best edition per table sheet.

    In a mix (some tables of one edition, some of another) the declared edition wins when some
    table really is of that edition: the report is of that edition with a foreign table in it.
    """
    totals: dict[str, float] = {}
    scores: dict[str, dict[str, float]] = {}
    for spec in all_specs():
        lay = workbook_layout(spec)
        total = 0.0
        for t in spec.tables:
            s, _ = _find_sheet(wb, t.sheet, set(), t.title)
            if s is None:
                continue
            sc = _score_table(s, lay.table_sheet(t.key))
            total += sc
            scores.setdefault(t.key, {})[spec.edition] = sc
        totals[spec.edition] = total
    if not scores or not totals or max(totals.values()) <= -50:
        return None, {}  # no table sheet at all, or nothing like the official tables
    best = max(totals, key=lambda e: (totals[e], e))
    tops = {max(by_ed, key=lambda e: by_ed[e]) for by_ed in scores.values() if len(set(by_ed.values())) > 1}
    if declared in tops and declared in totals:
        best = declared
    # a table fits another edition only when it fits it strictly better (表四 is the same in all)
    per_table = {}
    for tkey, by_ed in scores.items():
        top = max(by_ed, key=lambda e: (by_ed[e], e == best))
        per_table[tkey] = top if by_ed[top] > by_ed.get(best, float("-inf")) else best
    return best, per_table


#: id(layout) → (the layout, kept so its id is never reused; key → label text)
_BOX_LABELS: dict[int, tuple[SheetLayout, dict[str, str]]] = {}


def _box_labels(lay: SheetLayout) -> dict[str, str]:
    """Key → the text of its first label box in ``lay`` (cached per layout, like _expected_rows)."""
    got = _BOX_LABELS.get(id(lay))
    if got is None:
        labels: dict[str, str] = {}
        for b in lay.boxes:
            if b.key is not None:
                labels.setdefault(b.key, b.text)
        got = _BOX_LABELS[id(lay)] = (lay, labels)
    return got[1]


def _meta_value(sheet: _Sheet | None, lay: SheetLayout, key: str) -> tuple[object, str | None]:
    """A metadata/prose cell found by its label in column A (fallback: its layout address)."""
    if sheet is None:
        return None, None
    label = _box_labels(lay).get(key)
    r0, c0 = lay.inputs[key]
    row = sheet.label_row(label_key(label)) if label is not None else None
    if row is None:
        row = r0
    raw = sheet.value(row, c0)
    if raw is None:
        return None, f"{sheet.cells.name}!{a1(row, c0)}"
    return raw.value if raw.value is not None else (("=" + raw.formula) if raw.formula else None), f"{sheet.cells.name}!{a1(row, c0)}"


def read_cells(wb: WorkbookCells, source: str) -> Record:
    """Build a Record from a workbook's cells (no file access: usable on any cell source)."""
    try:
        return _read_cells(wb, source)
    finally:
        _WRAPPED.pop(id(wb), None)


def _read_cells(wb: WorkbookCells, source: str) -> Record:
    meta_sheet = _wrap(wb, META_SHEET) if META_SHEET in wb.sheets else None
    prose_sheet = _wrap(wb, PROSE_SHEET) if PROSE_SHEET in wb.sheets else None
    declared_raw = None
    if meta_sheet is not None:
        lay0 = workbook_layout(all_specs()[-1]).sheet(META_SHEET)
        declared_raw, _ = _meta_value(meta_sheet, lay0, EDITION_KEY)
    declared = str(normalise_value(declared_raw)) if declared_raw is not None else None
    structural, per_table = detect_edition(wb, declared)
    if structural is None:
        if meta_sheet is None:
            raise NotAReport(source)
        structural = declared if declared in {s.edition for s in all_specs()} else all_specs()[-1].edition
    spec = load_spec(structural)
    layout = workbook_layout(spec)
    rec = Record(edition=spec.edition, source=source, kind=wb.kind if hasattr(wb, "kind") else "xlsx")
    _read_meta(rec, spec, layout, meta_sheet, prose_sheet, date1904=getattr(wb, "date1904", False))
    if declared and declared != spec.edition:
        where = rec.where.get(EDITION_KEY, META_SHEET)
        rec.structure.append(F.make(
            "S-EDITION", case="declared", sheet=META_SHEET, cells=[where], source=source, where=where,
            declared=declared, edition=spec.edition, issued=spec.issued_with))
    mixed = {t: e for t, e in per_table.items() if e != spec.edition}
    claimed: set[str] = set()
    for t in spec.tables:
        lay = layout.table_sheet(t.key)
        sheet, renamed = _find_sheet(wb, t.sheet, claimed, t.title)
        if sheet is None:
            rec.structure.append(F.make(
                "S-LAYOUT", case="sheet-missing", sheet=t.sheet, cells=[t.sheet], source=source, title=t.title))
            for k in lay.inputs:
                rec.values[k] = None
            rec.missing.update(lay.inputs)
            continue
        claimed.add(sheet.cells.name)
        if renamed:
            rec.structure.append(F.make(
                "S-LABEL", sheet=sheet.cells.name, cells=[sheet.cells.name], source=source,
                where=f"工作表“{sheet.cells.name}”", found=sheet.cells.name, official=t.sheet))
        tr = _read_table(sheet, lay, spec, source)
        if t.key in mixed:
            other = load_spec(mixed[t.key])
            rec.structure.append(F.make(
                "S-EDITION", case="mixed-sheet", sheet=sheet.cells.name, cells=[sheet.cells.name], source=source,
                other=other.edition, other_issued=other.issued_with, edition=spec.edition))
            # the edition finding explains the differences; nothing in a foreign table can be trusted
            tr.findings = []
            tr.missing |= set(lay.inputs)
        rec.structure += tr.findings
        rec.missing.update(tr.missing)
        _read_values(rec, spec, lay, sheet, tr, trust_cache=not getattr(wb, "full_calc_on_load", False))
    _check_summary(rec, layout, meta_sheet, source)
    if CARRIED_SHEET in wb.sheets:  # an imported report: what the import found that cells cannot say
        restore(rec, wb.sheets[CARRIED_SHEET])
    return rec


def _read_meta(rec: Record, spec: Spec, layout: WorkbookLayout, meta_sheet: _Sheet | None, prose_sheet: _Sheet | None,
               *, date1904: bool = False) -> None:
    mlay = layout.sheet(META_SHEET)
    raw, where = _meta_value(meta_sheet, mlay, EDITION_KEY)
    if where:
        rec.where[EDITION_KEY] = where
    for f in spec.metadata:
        raw, where = _meta_value(meta_sheet, mlay, "meta." + f.key)
        if where:
            rec.where["meta." + f.key] = where
        if f.type == "year":
            y = parse_year(raw)
            rec.meta[f.key] = y if y is not None else (None if raw is None else str(raw))
        elif f.type == "date":
            d = parse_date(raw, date1904=date1904)
            rec.meta[f.key] = d if d is not None else (None if raw is None else str(raw))
        else:
            rec.meta[f.key] = None if raw is None else (clean_text(str(raw)) if f.type == "choice" else str(raw).strip() or None)
    plag = layout.sheet(PROSE_SHEET)
    for s in spec.sections:
        raw, where = _meta_value(prose_sheet, plag, "prose." + s.key)
        if where:
            rec.where["prose." + s.key] = where
        rec.prose[s.key] = None if raw is None else str(raw).strip() or None


def _read_values(rec: Record, spec: Spec, lay: SheetLayout, sheet: _Sheet, tr: _TableRead, *,
                 trust_cache: bool = True) -> None:
    """Each value cell's content. A formula's cached result is used unless the workbook asks for a
    full recalculation on load (``trust_cache`` False): generators such as XlsxWriter then store
    a placeholder (``<f>90+7</f><v>0</v>``), so the formula is computed, or reported when it cannot be."""
    cells = sheet.cells.cells
    values, where, missing = rec.values, rec.where, tr.missing
    for key, pos, address in tr.plan:
        if pos is None or key in missing:
            values[key] = None
            continue
        where[key] = address
        raw = cells.get(pos)
        if raw is None:
            values[key] = None
        elif raw.formula and (raw.value is None or not trust_cache):
            v = _evaluate(raw.formula, sheet, (), trust_cache)
            values[key] = v if v is not None else "=" + raw.formula
        else:
            v = raw.value
            values[key] = v if type(v) is int else _cell_value(v)


def _cell_value(v: object) -> object:
    """A value cell as the validator sees it. A number stored as *text* stays text: every
    spreadsheet program's SUM skips it, so the workbook's own totals and live checks do not count
    it, and reading it as a number would give a verdict opposite to the one the clerk sees."""
    n = normalise_value(v)
    if isinstance(v, str) and isinstance(n, (int, float)):
        return v.strip(" \t\r\n\u3000\u00a0")
    return n


class _NotComputable(ValueError):
    """A formula that cannot be computed here: text, a cycle, too deep or over the budget."""


def _evaluate(formula: str, sheet: _Sheet, seen: tuple[tuple[int, int], ...],
              trust_cache: bool = True) -> int | float | None:
    """Compute a simple formula with no (trustworthy) cached value (=3+4, =SUM(D5:D9), =D5+D6) or give up (None)."""
    from gxsheet.xlsx.formula import evaluate

    try:
        v = evaluate(formula, lambda r, c: _cell_number(sheet, r, c, seen, trust_cache))
        float(v)  # no double holds it (=1 followed by 400 zeros): no number Excel would have cached
    except (ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return None
    return v if math.isfinite(v) else None


def _cell_number(sheet: _Sheet, r: int, c: int, seen: tuple[tuple[int, int], ...],
                 trust_cache: bool = True) -> int | float | None:
    sheet._steps_left -= 1
    if sheet._steps_left < 0:
        raise _NotComputable("over budget")
    cell = sheet.value(r, c)
    if cell is None:
        return 0
    if cell.formula and (cell.value is None or not trust_cache):
        pos = (r, c)
        if pos in sheet._computed:
            v = sheet._computed[pos]
        elif pos in seen or len(seen) >= FORMULA_DEPTH:
            raise _NotComputable("circular or too deep")
        else:
            v = sheet._computed[pos] = _evaluate(cell.formula, sheet, (*seen, pos), trust_cache)
        if v is None:
            raise _NotComputable("not computable")
        return v
    v = normalise_value(cell.value)
    if v is None:
        return 0
    if isinstance(v, str):
        raise _NotComputable("text")
    return v


def _check_summary(rec: Record, layout: WorkbookLayout, meta_sheet: _Sheet | None, source: str) -> None:
    if meta_sheet is None:
        rec.structure.append(F.make(
            "S-LAYOUT", case="meta-sheet-missing", sheet=META_SHEET, cells=[META_SHEET], source=source))
        return
    mlay = layout.sheet(META_SHEET)
    label = next(b.text for b in mlay.boxes if b.key == SUMMARY_KEY)
    for (r, c), cell in meta_sheet.cells.cells.items():
        if c == 1 and isinstance(cell.value, str) and label_key(cell.value) == label_key(label):
            v = meta_sheet.value(r, 2)
            if v is None or v.formula is None:
                where = f"{META_SHEET}!B{r}"
                rec.structure.append(F.make(
                    "S-LAYOUT", case="summary-formula", sheet=META_SHEET, cells=[where], source=source, where=where))
            return
