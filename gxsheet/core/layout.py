"""Where every element of a spec sits in a standard workbook.

The layout is computed from the spec alone, so the template writer, the reader (which compares
what it finds against it), the annotator and the add-in agree on every address without any
hard-coded cell. Tables are laid out like the official form: a column-label tree over the values
(merged header cells), a row-label tree to the left (a group row spans its sub-rows and carries no
numbers), table 二's blocks stacked with their captions. Live checks derived from the spec's
relations sit beside the form: one check row per column relation below the table, one check column
per row relation to its right.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from gxsheet.core.a1 import a1, col_letter
from gxsheet.core.findings import rules
from gxsheet.core.spec import Equation, Grid, Node, Spec, Table

META_SHEET = "基本信息"
PROSE_SHEET = "正文"
RESULT_SHEET = "校验结果"
EDITION_KEY = "edition"
SUMMARY_KEY = "summary"
META_TITLE = "政府信息公开工作年度报告 基本信息"
PROSE_TITLE = "政府信息公开工作年度报告 正文"
EDITION_LABEL = "表格版本"
SUMMARY_LABEL = "表内校验"
CHECK_PREFIX = "校验："
OK_MARK = "√"
BAD_MARK = "✗"


@dataclass(frozen=True)
class Box:
    """A label cell (merged over row..row2, col..col2)."""

    text: str
    row: int
    col: int
    row2: int
    col2: int
    role: str  # title / caption / corner / header / label / check_label / meta_label / heading
    key: str | None = None
    grid: str | None = None

    @property
    def merged(self) -> bool:
        return self.row2 > self.row or self.col2 > self.col

    @property
    def ref(self) -> str:
        a = f"{col_letter(self.col)}{self.row}"
        return a if not self.merged else f"{a}:{col_letter(self.col2)}{self.row2}"


@dataclass(frozen=True)
class Check:
    """A live check cell: shows √ or ✗ 差N for one equation."""

    row: int
    col: int
    equation: Equation
    formula: str  # with leading '='
    ok: str  # boolean expression (no '='): true when the equation holds


@dataclass
class SheetLayout:
    name: str
    kind: str  # meta / prose / table
    width: int
    table: Table | None = None
    boxes: list[Box] = field(default_factory=list)
    inputs: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (row, col)
    input_span: dict[str, int] = field(default_factory=dict)  # key -> last column when merged wider
    checks: list[Check] = field(default_factory=list)
    header_rows: dict[str, list[int]] = field(default_factory=dict)  # grid -> header row numbers
    data_rows: dict[str, list[int]] = field(default_factory=dict)  # grid -> data row numbers
    value_cols: dict[str, dict[str, int]] = field(default_factory=dict)  # grid -> leaf col key -> column
    label_cols: int = 0
    last_row: int = 0


def quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


@dataclass
class WorkbookLayout:
    spec: Spec
    sheets: list[SheetLayout]

    def sheet(self, name: str) -> SheetLayout:
        for s in self.sheets:
            if s.name == name:
                return s
        raise KeyError(name)

    def position(self, key: str) -> tuple[str, int, int]:
        """(sheet, row, col) of a value key, ``meta.<field>``, ``prose.<section>``, ``edition``."""
        for s in self.sheets:
            if key in s.inputs:
                r, c = s.inputs[key]
                return s.name, r, c
        raise KeyError(key)

    def address(self, key: str) -> str:
        sheet, r, c = self.position(key)
        return f"{sheet}!{a1(r, c)}"

    def table_sheet(self, table_key: str) -> SheetLayout:
        for s in self.sheets:
            if s.table is not None and s.table.key == table_key:
                return s
        raise KeyError(table_key)

    def checks(self) -> list[tuple[SheetLayout, Check]]:
        return [(s, c) for s in self.sheets for c in s.checks]


def _meta_sheet(spec: Spec) -> SheetLayout:
    s = SheetLayout(META_SHEET, "meta", width=3)
    s.boxes.append(Box(META_TITLE, 1, 1, 1, 3, "title"))
    s.boxes += [Box("项目", 2, 1, 2, 1, "header"), Box("填写内容", 2, 2, 2, 2, "header"), Box("说明", 2, 3, 2, 3, "header")]
    s.boxes.append(Box(EDITION_LABEL, 3, 1, 3, 1, "meta_label", key=EDITION_KEY))
    s.inputs[EDITION_KEY] = (3, 2)
    row = 4
    for f in spec.metadata:
        s.boxes.append(Box(f.label, row, 1, row, 1, "meta_label", key="meta." + f.key))
        s.inputs["meta." + f.key] = (row, 2)
        row += 1
    row += 1
    s.boxes.append(Box(SUMMARY_LABEL, row, 1, row, 1, "meta_label", key=SUMMARY_KEY))
    s.inputs[SUMMARY_KEY] = (row, 2)  # a formula cell, not user input
    s.last_row = row
    return s


def _prose_sheet(spec: Spec) -> SheetLayout:
    s = SheetLayout(PROSE_SHEET, "prose", width=2)
    s.boxes.append(Box(PROSE_TITLE, 1, 1, 1, 2, "title"))
    s.boxes += [Box("部分", 2, 1, 2, 1, "header"), Box("内容", 2, 2, 2, 2, "header")]
    for i, sec in enumerate(spec.sections):
        s.boxes.append(Box(sec.heading, 3 + i, 1, 3 + i, 1, "heading", key="prose." + sec.key))
        s.inputs["prose." + sec.key] = (3 + i, 2)
    s.last_row = 2 + len(spec.sections)
    return s


def _place_columns(nodes: tuple[Node, ...], s: SheetLayout, grid: Grid, top: int, depth: int,
                   col: int, width_end: int) -> int:
    """Header boxes for a column tree; returns the next free column."""
    for i, n in enumerate(nodes):
        leaves = n.leaves()
        start = col
        if n.is_leaf:
            end = col
            if i == len(nodes) - 1 and n.depth == 0 and col < width_end:
                end = width_end  # a block narrower than the sheet: last column fills the width
            s.boxes.append(Box(n.label or "", top + n.depth, start, top + depth - 1, end, "header", n.key, grid.key))
            s.value_cols[grid.key][n.key] = col
            col += 1
        else:
            col = _place_columns(n.children, s, grid, top, depth, col, width_end)
            s.boxes.append(Box(n.label or "", top + n.depth, start, top + n.depth, col - 1, "header", n.key, grid.key))
        del leaves
    return col


def _place_rows(nodes: tuple[Node, ...], s: SheetLayout, grid: Grid, row: int) -> int:
    """Row-label boxes for a row tree; returns the next free row."""
    depth = grid.label_depth
    for n in nodes:
        if n.is_leaf:
            if depth:
                s.boxes.append(Box(n.label or "", row, 1 + n.depth, row, depth, "label", n.key, grid.key))
            s.data_rows[grid.key].append(row)
            row += 1
        else:
            start = row
            row = _place_rows(n.children, s, grid, row)
            s.boxes.append(Box(n.label or "", start, 1 + n.depth, row - 1, 1 + n.depth, "label", n.key, grid.key))
    return row


def _sum(refs: list[str]) -> str:
    return f"SUM({','.join(refs)})" if refs else "0"


def _table_sheet(spec: Spec, table: Table, meta: SheetLayout) -> SheetLayout:
    label_cols = max(g.label_depth for g in table.grids)
    value_width = max(len(g.leaf_columns()) for g in table.grids)
    width = label_cols + value_width
    s = SheetLayout(table.sheet, "table", width=width, table=table, label_cols=label_cols)
    s.boxes.append(Box(table.title, 1, 1, 1, width, "title"))
    row = 2
    rowmap: dict[str, dict[str, int]] = {}
    for g in table.grids:
        s.value_cols[g.key] = {}
        s.data_rows[g.key] = []
        if g.caption:
            s.boxes.append(Box(g.caption, row, 1, row, width, "caption", grid=g.key))
            row += 1
        hd = g.header_depth
        s.header_rows[g.key] = list(range(row, row + hd))
        if label_cols:
            s.boxes.append(Box(g.corner or "", row, 1, row + hd - 1, label_cols, "corner", grid=g.key))
        _place_columns(g.columns, s, g, row, hd, label_cols + 1, width)
        row += hd
        end = _place_rows(g.rows, s, g, row)
        rowmap[g.key] = dict(zip([n.key for n in g.leaf_rows()], s.data_rows[g.key], strict=False))
        leaf_cols = g.leaf_columns()
        for rkey, r in rowmap[g.key].items():
            for i, c in enumerate(leaf_cols):
                k = g.cell_key(rkey, c.key)
                col = s.value_cols[g.key][c.key]
                s.inputs[k] = (r, col)
                if i == len(leaf_cols) - 1 and col < width:
                    s.input_span[k] = width
        row = end
    s.last_row = row - 1

    # live checks from the relations of this sheet's grids
    grids = {g.key: g for g in table.grids}
    eqs = [e for e in spec.equations if e.grid in grids]
    by_rule_over: dict[tuple[str, str, str], list[Equation]] = {}
    for e in eqs:
        by_rule_over.setdefault((e.rule, e.grid, e.over), []).append(e)
    check_row = s.last_row + 2
    check_col = width + 2
    for (rule, gkey, over), group in by_rule_over.items():
        title = CHECK_PREFIX + rules()[rule].title_zh
        g = grids[gkey]
        if over == "columns":
            if label_cols:
                s.boxes.append(Box(title, check_row, 1, check_row, label_cols, "check_label", rule, gkey))
            for e in group:
                col = s.value_cols[gkey][e.along.key]
                s.checks.append(_check(s, meta, e, check_row, col))
            s.last_row = check_row
            check_row += 1
        else:
            # several relations of one rule on one row (表四's three groups) need a column each,
            # or their checks would land in the same cell
            hr = s.header_rows[gkey]
            used: set[int] = set()
            s.boxes.append(Box(title, hr[0], check_col, hr[-1], check_col, "check_label", rule, gkey))
            for e in group:
                r = rowmap[gkey][e.along.key]
                if r in used:
                    check_col += 1
                    used.clear()
                    s.boxes.append(Box(title, hr[0], check_col, hr[-1], check_col, "check_label", rule, gkey))
                used.add(r)
                s.checks.append(_check(s, meta, e, r, check_col))
            check_col += 1
    del g
    return s


def _check(s: SheetLayout, meta: SheetLayout, e: Equation, row: int, col: int) -> Check:
    lhs = _sum([a1(*s.inputs[k]) for k in e.lhs])
    rhs = _sum([a1(*s.inputs[k]) for k in e.rhs])
    op = {"==": "=", ">=": ">=", "<=": "<="}[e.op]
    ok = f"{lhs}{op}{rhs}"
    if e.when:
        fr, fc = meta.inputs["meta." + e.when[0]]
        ref = f"{quote_sheet(META_SHEET)}!${col_letter(fc)}${fr}"
        cond = ",".join(f'{ref}="{v}"' for v in e.when[1])
        ok = f"OR(NOT(OR({cond})),{ok})"
    if e.op == "==":
        formula = f'=IF({ok},"{OK_MARK}","{BAD_MARK} 差"&({lhs}-{rhs}))'
    else:  # an inequality: the gap is not a "difference" a clerk should add somewhere
        formula = f'=IF({ok},"{OK_MARK}","{BAD_MARK} 请核实")'
    return Check(row, col, e, formula, ok)


@cache
def workbook_layout(spec: Spec) -> WorkbookLayout:
    meta = _meta_sheet(spec)
    sheets = [meta, _prose_sheet(spec)] + [_table_sheet(spec, t, meta) for t in spec.tables]
    return WorkbookLayout(spec, sheets)


def rects(cells: Iterable[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Cover a set of (row, col) cells with rectangles (r1, c1, r2, c2): runs down each column, then
    merged across — so a formula or a format names a table's inputs in a few ranges, not hundreds of cells."""
    by_col: dict[int, list[int]] = {}
    for r, c in cells:
        by_col.setdefault(c, []).append(r)
    runs: list[tuple[int, int, int]] = []  # (col, r1, r2)
    for c in sorted(by_col):
        rows = sorted(by_col[c])
        start = prev = rows[0]
        for r in rows[1:]:
            if r != prev + 1:
                runs.append((c, start, prev))
                start = r
            prev = r
        runs.append((c, start, prev))
    out: list[list[int]] = []  # [r1, c1, r2, c2]
    for c, r1, r2 in runs:
        for rect in out:
            if rect[0] == r1 and rect[2] == r2 and rect[3] == c - 1:
                rect[3] = c
                break
        else:
            out.append([r1, c, r2, c])
    return [(r1, c1, r2, c2) for r1, c1, r2, c2 in out]


def rect_ref(rect: tuple[int, int, int, int]) -> str:
    """``D5`` or ``D5:J27``."""
    r1, c1, r2, c2 = rect
    return a1(r1, c1) if (r1, c1) == (r2, c2) else f"{a1(r1, c1)}:{a1(r2, c2)}"


#: the summary's first character in its three states besides √ and ✗: nothing entered yet, partly entered
EMPTY_MARK = "○"
PARTLY_MARK = "△"


def summary_formula(layout: WorkbookLayout) -> str:
    """The 基本信息 summary cell: whether the tables are filled in, and how many checks are broken.

    A blank form must not say "√ 表内勾稽关系全部相符" (0 = 0 holds for every check of an empty
    table): with nothing entered it says so (○), with cells still blank it counts them (△), and
    only a complete form whose checks all hold gets the √.
    """
    parts = []
    inputs: list[str] = []
    n_inputs = 0
    for s in layout.sheets:
        for c in s.checks:
            parts.append(f'--(LEFT({quote_sheet(s.name)}!{a1(c.row, c.col)},1)="{BAD_MARK}")')
        if s.kind == "table":
            cells = list(s.inputs.values())
            n_inputs += len(cells)
            inputs += [f"{quote_sheet(s.name)}!{rect_ref(r)}" for r in rects(cells)]
    if not parts:
        return f'="{OK_MARK}"'
    n = "+".join(parts)
    filled = f"COUNTA({','.join(inputs)})"
    broken = f'"{BAD_MARK} 有"&({n})&"处勾稽关系不符，见各表红色单元格"'
    return (f'=IF({filled}=0,"{EMPTY_MARK} 尚未填写：各表还没有数据",IF(({n})>0,{broken},'
            f'IF({filled}<{n_inputs},"{PARTLY_MARK} 还有"&({n_inputs}-{filled})&"个单元格未填写（黄色），已填部分勾稽关系相符",'
            f'"{OK_MARK} 表内勾稽关系全部相符")))')
