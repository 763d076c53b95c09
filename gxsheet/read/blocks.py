"""Shared core of the report importers: paragraphs and tables → Record.

A report published as text, Word or a web page reduces to one thing: a sequence of *blocks* —
paragraphs, and tables given as rows of cell texts — each piece with a location a person can find
(第57行, 表格3 第5行第2列). Every importer produces that sequence in the *collapsed* shape Word
itself stores: a horizontally merged cell appears once, a vertically merged continuation appears as
an empty cell. From there one code path finds the title, the body, the year, the statistics
period, the six sections and the tables, so a .txt, a .docx and an .html of one report give the
same Record.

Tables are recognised by their anchors, all taken from the spec: a grid's caption, 第二十条第（五）项;
for a grid without one, its header — the 勾稽关系 corner cell, or its column groups (申请人情况;
行政复议 beside 行政诉讼) — not by where they sit; rows and columns are matched to the official ones
by label with :func:`gxsheet.core.align.align`, so a misspelt or renamed label still finds its row and
becomes an S-LABEL finding with both texts. Messages name a table as the spec does (表二, table 2).
The edition is decided by the tables themselves. Whatever cannot be placed is reported — a structural finding when it
changes what the report says, a note in the import summary otherwise — and never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from gxsheet.core import findings as F
from gxsheet.core.align import align
from gxsheet.core.errors import LoadError
from gxsheet.core.limits import Limits
from gxsheet.core.normalise import clean_text, edit_distance, label_key, normalise_value, parse_amount, similarity
from gxsheet.core.record import Record, Value
from gxsheet.core.spec import Grid, Node, Spec, SpecError, all_specs, edition_for_year, load_spec
from gxsheet.core.wording import location_en
from gxsheet.read.headings import EN_COUNT, classify_heading, cn_number, cn_numeral, sections
from gxsheet.read.txt_export import parse_unit_note

__all__ = [
    "Cell",
    "Imported",
    "Note",
    "Para",
    "TableBlock",
    "import_blocks",
    "strip_markers",
]

# ------------------------------------------------------------------ blocks


@dataclass
class Cell:
    """One table cell as published: its text and where a person finds it."""

    text: str
    where: str


@dataclass
class Para:
    """One paragraph of running text."""

    text: str
    where: str


@dataclass
class TableBlock:
    """One table: rows of cells in the collapsed shape (merged cells once, continuations empty)."""

    rows: list[list[Cell]]
    where: str


Block = Para | TableBlock


@dataclass
class Note:
    """Something the import assumed or left out: shown in the import summary, not a rule finding."""

    zh: str
    en: str


@dataclass
class Imported:
    """An imported report: the Record plus what the summary tells the person who imported it."""

    record: Record
    notes: list[Note] = field(default_factory=list)
    #: (table label, location) of each table recognised, in document order
    tables: list[tuple[str, str]] = field(default_factory=list)
    title: str | None = None


_MARKER = re.compile(r"\[(?:bookmark|anchor|comment)[^\]]*\]", re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u9fff]")
_CN_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千万]+")
_COUNT_TEXT = re.compile(r"[+\-−]?[\d.,]+\s*(余|多)?\s*[件个条项次宗起人份]?")
_VALUE_WORDS = {"暂无", "没有", "空白", "不适用", "无数据", "未发生", "不涉及"}
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_DATE = r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"
_PERIOD = re.compile(_DATE + r"\s*(?:起)?\s*(?:至|到|—|－|-|~|～|―)+\s*(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_UNIT_IN_LABEL = re.compile(r"[(（]\s*(?:单位\s*[:：]\s*)?(万元|元|千元)\s*[)）]$")
_SIGNATURE = re.compile(r"^(.{2,30}(人民政府|政府办公室|办公室|办事处|委员会|局|政府))$|^" + _DATE + r"$")

_APPENDIX = re.compile(r"^附(?:[:：]|件\d*[:：]?$|件\d*[:：]|录[:：]?)")
_PAGE_INFO = re.compile(r"^(发布时间|发布日期|发布机构|来源|信息来源|作者|浏览次数|点击|字号|【|索引号|发文机关|主题分类|分类|文号|成文日期|生效日期|打印|关闭)")
#: rows one official grid may span before the document is refused (表三 has 30 with its header)
MAX_GRID_ROWS = 200
#: grids a document may hold, per grid of the largest edition, before it is refused (a 2019 report
#: has 7: five blocks of 表二, 表三, 表四; a document with eight times that is not a report)
GRIDS_PER_OFFICIAL = 8


@cache
def official_grids() -> int:
    """The most grids a report has in any edition (the spec's own count, 7 in 2019)."""
    return max(len(s.grids()) for s in all_specs())


@cache
def table_names() -> tuple[str, str]:
    """The statistical tables as a message names them, from the newest spec: (表二、表三、表四, 2, 3, 4)."""
    spec = all_specs()[-1]
    return "、".join(t.sheet for t in spec.tables), ", ".join(t.en.split()[-1] for t in spec.tables)


def strip_markers(text: str) -> str:
    """Remove conversion debris ([bookmark: _GoBack]) that is not part of the report."""
    return _MARKER.sub("", text)


def ck(text: str) -> str:
    """A cell's comparison text: markers gone, NFKC, no whitespace."""
    return clean_text(strip_markers(text))


def is_label(text: str) -> bool:
    """Whether a cell reads as a row/column label rather than a value.

    Values include what clerks type into value cells: numbers, 288.79万元, 无, 十, 1200余, 暂无.
    """
    t = ck(text)
    if len(_CJK.findall(t)) < 2:
        return False
    if t in _VALUE_WORDS or parse_amount(t) is not None or _CN_NUMERAL.fullmatch(t) or _COUNT_TEXT.fullmatch(t):
        return False
    return True


def _grid_name(spec: Spec, grid: Grid) -> tuple[str, str]:
    """A grid in a message: its table as the spec names it (表二, table 2), with its caption."""
    table = spec.table(grid.table)
    zh, en = table.sheet, table.en
    if grid.caption:
        return f"{zh} {grid.caption}", f"{en} {grid.caption}"
    return zh, en


def _bfs(nodes: Sequence[Node]) -> list[Node]:
    """Column nodes in the order a header is read: row by row, left to right."""
    out: list[Node] = []
    level = list(nodes)
    while level:
        out += [n for n in level if n.label]
        level = [c for n in level for c in n.children]
    return out


# ------------------------------------------------------------------ rows


@dataclass
class Row:
    cells: list[Cell]
    block: int  # index of the table block
    last_in_doc: bool = False

    @property
    def where(self) -> str:
        for c in self.cells:
            if ck(c.text):
                return c.where
        return self.cells[0].where if self.cells else ""

    def split(self, width: int) -> tuple[list[Cell], list[Cell]]:
        """(label cells, value cells): values are the trailing cells that do not read as labels.

        Empty cells before the values are label positions (a vertically merged group label)
        when there are more trailing non-labels than value columns.
        """
        i = len(self.cells)
        while i > 0 and not is_label(self.cells[i - 1].text):
            i -= 1
        labels, values = list(self.cells[:i]), list(self.cells[i:])
        extra = len(values) - width
        if extra > 0 and all(not ck(c.text) for c in values[:extra]):
            labels += values[:extra]
            values = values[extra:]
        return labels, values

    def is_blank(self) -> bool:
        return all(not ck(c.text) for c in self.cells)


@dataclass
class Instance:
    """The rows of one official grid as found in the document."""

    kind: str  # grid key of the spec: t2_1 … t2_9, t3, t4
    where: str
    rows: list[Row] = field(default_factory=list)
    guessed: bool = False  # recognised by its row labels, no anchor


def read_bounded(path: str | Path, limits: Limits, too_large_zh: str, too_large_en: str) -> bytes:
    """The bytes of a text-like report (txt, web page), refused above ``Limits.max_text_bytes``.

    ``too_large_*`` are templates with ``{source}`` and ``{kb}``: each importer says what it reads.
    """
    source = str(path)
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > min(limits.max_file_bytes, limits.max_text_bytes):
            raise LoadError(source, "too-large", too_large_zh.format(source=source, kb=size // 1024),
                            too_large_en.format(source=source, kb=size // 1024))
        return p.read_bytes()
    except OSError as e:
        raise LoadError(source, "unreadable", f"{source}：无法读取该文件（{e.strerror or e}）。",
                        f"{source}: cannot read the file ({e.strerror or e}).") from None


def _caption_form(text: str) -> str:
    """A caption as compared: :func:`ck` (NFKC, so （五） is (五); no whitespace) with each Chinese
    numeral written as its value (第二十条第（五）项 → 第20条第(5)项, as is 第20条第(5)项)."""
    def value(m: re.Match[str]) -> str:
        n = cn_number(m.group())
        return m.group() if n is None else str(n)

    return _CN_NUMERAL.sub(value, ck(text))


@cache
def _captions() -> tuple[re.Pattern[str], dict[str, str]]:
    """A pattern finding any grid caption of any edition, and each caption's grid key, both in
    :func:`_caption_form`. Captions are read before the edition is known (the tables decide it), so
    a caption must name the same grid in every edition that has it."""
    keys: dict[str, str] = {}
    for spec in all_specs():
        for g in spec.grids():
            if g.caption:
                form = _caption_form(g.caption)
                if keys.setdefault(form, g.key) != g.key:
                    raise SpecError(f"spec {spec.edition!r}: the caption {g.caption} names grid {g.key} here and grid "
                                    f"{keys[form]} elsewhere; the importer finds a grid by its caption, so a caption must "
                                    f"name one grid in every edition")

    def alone(form: str) -> str:  # a number at either end must not be part of a longer one
        return (r"(?<!\d)" if form[0].isdigit() else "") + re.escape(form) + (r"(?!\d)" if form[-1].isdigit() else "")

    forms = sorted(keys, key=len, reverse=True)  # the longest caption where one is part of another
    return re.compile("|".join(map(alone, forms)) or r"(?!)"), keys


@lru_cache(maxsize=4096)
def _caption_key(text: str) -> str | None:
    """The grid a caption names, or None when ``text`` is no caption: a short text (≤ 16 characters)
    holding one of the spec's grid captions, both compared in :func:`_caption_form` (cached: every
    cell of every table row is asked)."""
    t = ck(text)
    if len(t) > 16:
        return None
    pattern, keys = _captions()
    m = pattern.search(_caption_form(t))
    return keys[m.group()] if m else None


@cache
def _captioned() -> frozenset[str]:
    """The grids a caption introduces (表二's five), in any edition."""
    return frozenset(_captions()[1].values())


#: the word by which a corner cell stating its column's arithmetic (本列数据的勾稽关系为：…) is known,
#: however the rest of it is worded: language; which grid has such a corner is the spec's
_CORNER_WORD = "勾稽关系"


@dataclass(frozen=True)
class _HeaderAnchor:
    """How a header row starts a grid without a caption: a cell holding :data:`_CORNER_WORD` when the
    grid's corner holds it (``corner``), or a cell that is the grid's first column group (``first``),
    alone when that group spans the whole grid (申请人情况: ``beside`` is None), else with another of
    its column groups in the row (行政复议 beside 行政诉讼, 未经复议直接起诉 or 复议后起诉)."""

    grid: str
    corner: bool
    first: str
    beside: frozenset[str] | None


@cache
def _header_anchors() -> tuple[_HeaderAnchor, ...]:
    """The header anchors of every grid without a caption, of every edition, in spec order. Like a
    caption, a header is read before the edition is known, so it must start one grid in every edition."""
    out: dict[_HeaderAnchor, None] = {}
    for spec in all_specs():
        for g in spec.grids():
            if g.caption:
                continue
            first = g.columns[0]
            groups = frozenset(ck(n.label) for n in g.all_columns() if n.label and not n.is_leaf and n is not first)
            out[_HeaderAnchor(g.key, _CORNER_WORD in ck(g.corner or ""), ck(first.label or ""),
                              None if len(g.columns) == 1 else groups)] = None
    anchors = tuple(out)
    for a in anchors:
        for b in anchors:
            if a.grid != b.grid and (a.first == b.first or (a.corner and b.corner)):
                raise SpecError(f"grids {a.grid} and {b.grid} have the same header anchor "
                                f"({_CORNER_WORD if a.corner and b.corner else a.first}); the importer finds a grid "
                                f"without a caption by its header, so a header must start one grid in every edition")
    return anchors


def _row_anchor(row: Row) -> tuple[str, Row | None] | None:
    """(grid kind, the row's remaining header content or None) when a row starts a grid: a caption
    in one of its cells, or the header of a grid without a caption (:func:`_header_anchors`)."""
    texts = [ck(c.text) for c in row.cells]
    for i, c in enumerate(row.cells):
        key = _caption_key(c.text)
        if key:
            rest = [x for j, x in enumerate(row.cells) if j != i]
            return key, (Row(rest, row.block) if any(ck(x.text) for x in rest) else None)
    present = set(texts)
    corner = any(_CORNER_WORD in t for t in texts)
    for a in _header_anchors():
        if (a.corner and corner) or (a.first in present and (a.beside is None or a.beside & present)):
            return a.grid, row
    return None


@dataclass(frozen=True)
class _RowLabel:
    kind: str
    score: float


def _grams(s: str) -> frozenset[str]:
    return frozenset(s[i:i + 2] for i in range(len(s) - 1)) or frozenset({s})


@cache
def _all_row_labels() -> tuple[tuple[str, str, frozenset[str]], ...]:
    """(grid kind, label key, its bigrams) for every labelled row of every edition."""
    return tuple((g.key, label_key(n.label), _grams(label_key(n.label)))
                 for spec in all_specs() for g in spec.grids() for n in g.all_rows() if n.label)


@lru_cache(maxsize=4096)
def _kind_of_label(lab: str) -> _RowLabel | None:
    """The grid whose row label is most like ``lab`` (similarity ≥ 0.7, as gxsheet.core.normalise
    measures it), cached: a long document repeats its labels."""
    mine = _grams(lab)
    best: _RowLabel | None = None
    for kind, key, grams in _all_row_labels():
        s = 1.0 if lab == key else 2 * len(mine & grams) / (len(mine) + len(grams))
        if s >= 0.7 and (best is None or s > best.score):
            best = _RowLabel(kind, s)
    return best


def _guess_kind(row: Row) -> _RowLabel | None:
    """The grid a row without an anchor belongs to, judged by its label (a table published
    without its header or caption)."""
    labels = [ck(c.text) for c in row.cells if is_label(c.text)]
    if not labels:
        return None
    return _kind_of_label(label_key(labels[-1]))


@cache
def _unlabelled() -> frozenset[str]:
    """The grids whose rows have no label (表四's one data row), in any edition."""
    return frozenset(g.key for spec in all_specs() for g in spec.grids() if g.label_depth == 0)


def _row_fits(kind: str, row: Row) -> bool:
    """Whether a row continues a grid across a table break (a page break in Word)."""
    if row.is_blank():
        return True
    guess = _guess_kind(row)
    if guess is not None:
        return guess.kind == kind
    if kind in _unlabelled():
        return not any(is_label(c.text) for c in row.cells)
    return False


# ------------------------------------------------------------------ reading one grid


@dataclass
class GridRead:
    """What one grid instance gave for one edition's grid."""

    grid: Grid
    inst: Instance
    values: dict[str, Value] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    findings: list[F.Finding] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    score: float = 0.0
    unit: str | None = None
    #: the grid's official rows or cells stop early and nothing follows in the document
    truncated: str | None = None


def _header_and_data(inst: Instance, grid: Grid) -> tuple[list[Row], list[Row]]:
    """Leading rows with labels but no numbers and no row label are the header."""
    row_labels = [label_key(n.label) for n in grid.all_rows() if n.label]
    header: list[Row] = []
    rows = inst.rows
    for i, row in enumerate(rows):
        texts = [ck(c.text) for c in row.cells]
        has_label = any(is_label(c.text) for c in row.cells)
        numeric = any(t and not isinstance(normalise_value(t), str) for t in texts)
        matches_row = any(similarity(label_key(t), rl) >= 0.6 for t in texts if t for rl in row_labels)
        if has_label and not numeric and not matches_row:
            header.append(row)
            continue
        return header, list(rows[i:])
    return header, []


def read_grid(spec: Spec, grid: Grid, inst: Instance, *, source: str, strict: bool = False) -> GridRead:
    """Match one found grid to ``grid``: header labels, row labels, value cells.

    ``strict`` (the grid is of another edition than the report's tables): only rows and columns
    whose labels really match are read; positional pairing of unrecognisable labels is dropped so
    nothing lands in the wrong cell.
    """
    out = GridRead(grid, inst)
    name_zh, name_en = _grid_name(spec, grid)
    header, data = _header_and_data(inst, grid)
    leaves = grid.leaf_columns()
    width = len(leaves)

    # -- header labels
    expected_nodes: list[tuple[str, Node | None]] = []
    if grid.corner:
        expected_nodes.append((grid.corner, None))
    expected_nodes += [(n.label or "", n) for n in _bfs(grid.columns)]
    found_cells = [c for r in header for c in r.cells if ck(c.text)]
    found_texts = []
    for c in found_cells:
        t = ck(c.text)
        m = _UNIT_IN_LABEL.search(t)
        if m and not any(_UNIT_IN_LABEL.search(ck(lab)) for lab, _ in expected_nodes):
            out.unit = m.group(1)
            t = t[:m.start()]
        found_texts.append(t)
    hpairs = align([label_key(lab) for lab, _ in expected_nodes], [label_key(t) for t in found_texts])
    leaf_ok: dict[str, bool] = {}
    for i, (lab, node) in enumerate(expected_nodes):
        j = hpairs.get(i)
        sim = similarity(label_key(lab), label_key(found_texts[j])) if j is not None else 0.0
        out.score += sim if j is not None else -1.0
        if node is not None and node.is_leaf:
            leaf_ok[node.key] = j is not None and (sim >= 0.5 or not strict)
        if j is not None and found_texts[j] != ck(lab) and not strict:
            out.findings.append(F.make(
                "S-LABEL", cells=[found_cells[j].where], source=source,
                where=f"{name_zh} {found_cells[j].where}", where_en=f"{name_en}, {found_cells[j].where}",
                found=strip_markers(found_cells[j].text).strip(), official=lab))
    out.score -= 0.5 * sum(1 for j in range(len(found_texts)) if j not in hpairs.values())
    if header and len(hpairs) < len(expected_nodes) // 2:
        out.notes.append(Note(f"{name_zh}（{header[0].where}起）的表头与官方表格差别较大，已按列的位置读取数据。",
                              f"{name_en} (from {header[0].where}): the header differs a lot from the official one; "
                              f"values were read by column position."))

    # -- data rows
    if grid.label_depth == 0:
        _read_unlabelled(out, spec, grid, data, width, source, name_zh, name_en)
        return out
    entries: list[tuple[Row, list[Cell], list[Cell], str]] = []
    shown_label: dict[int, str] = {}
    groups = {label_key(n.label): n for n in grid.all_rows() if n.label and not n.is_leaf}
    leaf_labels = [label_key(n.label or "") for n in grid.leaf_rows()]
    for row in data:
        if row.is_blank():
            continue
        labels, values = row.split(width)
        texts = [ck(c.text) for c in labels if ck(c.text)]
        leaf = texts[-1] if texts else ""
        shown = next((strip_markers(c.text).strip().replace("\n", "") for c in reversed(labels) if ck(c.text)), "")
        has_values = any(ck(c.text) for c in values)
        if not has_values and leaf:
            g_sim = max((similarity(label_key(leaf), g) for g in groups), default=0.0)
            l_sim = max((similarity(label_key(leaf), x) for x in leaf_labels), default=0.0)
            if g_sim >= 0.6 and g_sim > l_sim:
                continue  # a group row of its own (三、本年度办理结果 on a line by itself)
        entries.append((row, labels, values, leaf))
        shown_label[id(row)] = shown
    expected = grid.leaf_rows()
    if not entries:
        out.score -= 1.0
        out.missing.update(grid.cell_key(r.key, c.key) for r in expected for c in leaves)
        last = inst.rows[-1] if inst.rows else None
        if last is not None and last.last_in_doc:
            out.truncated = last.cells[-1].where if last.cells else last.where
        out.findings.append(F.make("S-LAYOUT", case="table-no-rows", cells=[inst.where], source=source,
                                   table=name_zh, table_en=name_en, where=inst.where))
        return out
    rpairs = align(leaf_labels, [label_key(e[3]) for e in entries])
    paired_found = set(rpairs.values())
    reported_labels: set[tuple[str, str]] = set()
    last_seen = max(rpairs, default=-1)
    for i, node in enumerate(expected):
        j = rpairs.get(i)
        sim = similarity(leaf_labels[i], label_key(entries[j][3])) if j is not None else 0.0
        if j is None or (strict and sim < 0.5):
            if i < last_seen:
                out.score -= 1.0  # rows after the last one seen (a truncated table) say nothing about the edition
            for col in leaves:
                out.missing.add(grid.cell_key(node.key, col.key))
            continue
        out.score += sim
        row, labels, values, leaf = entries[j]
        if not strict:
            _label_findings(out, node, labels, leaf, source, name_zh, name_en, reported_labels)
        if len(values) > width and any(ck(c.text) for c in values[:len(values) - width]):
            out.score -= 0.5
            out.findings.append(F.make("S-LAYOUT", case="row-too-wide", cells=[row.where], source=source,
                                       table=name_zh, table_en=name_en, where=row.where, label=leaf,
                                       count=len(values), width=width))
            for col in leaves:
                out.missing.add(grid.cell_key(node.key, col.key))
            continue
        if len(values) != width:
            out.score -= 0.5
        for c_i, col in enumerate(leaves):
            key = grid.cell_key(node.key, col.key)
            if strict and not leaf_ok.get(col.key, True):
                out.missing.add(key)
                continue
            if c_i < len(values):
                cell = values[c_i]
                out.values[key] = normalise_value(strip_markers(cell.text))
                out.where[key] = cell.where
            else:
                out.values[key] = None
                out.where[key] = f"{row.cells[-1].where}末尾缺格"
                if row.last_in_doc:
                    out.truncated = row.cells[-1].where
        if len(values) < width and not row.last_in_doc:
            absent = "、".join(f"“{col.label}”" for col in leaves[len(values):])
            out.notes.append(Note(
                f"{name_zh} {row.where}：“{leaf}”行只有{len(values)}个数据格，缺少的{absent}按空白处理。",
                f"{name_en}, {row.where}: the row \"{leaf}\" has only {len(values)} value cells; the missing "
                f"{', '.join(col.label or '' for col in leaves[len(values):])} are taken as blank."))
    for j, (row, _labels, values, leaf) in enumerate(entries):
        if j in paired_found and not (strict and all(
                similarity(leaf_labels[i], label_key(entries[j][3])) < 0.5 for i, jj in rpairs.items() if jj == j)):
            continue
        if strict:
            continue
        shown = shown_label.get(id(row), leaf)
        if any(ck(c.text) for c in values):
            out.score -= 0.5
            out.findings.append(F.make("S-LAYOUT", case="row-unknown", cells=[row.where], source=source,
                                       table=name_zh, table_en=name_en, where=row.where,
                                       label=shown or "（无标签）", label_en=shown or "(no label)"))
        else:
            out.notes.append(Note(f"{name_zh} {row.where}：未识别的表格内容“{shown}”，未导入。",
                                  f"{name_en}, {row.where}: unrecognised table content \"{shown}\", not imported."))
    missing_rows = [n for i, n in enumerate(expected) if i not in rpairs]
    if missing_rows and not strict:
        last_paired = max(rpairs, default=-1)
        tail = [n for i, n in enumerate(expected) if i > last_paired]
        ends_doc = bool(inst.rows) and inst.rows[-1].last_in_doc
        if tail and ends_doc:
            out.truncated = inst.rows[-1].cells[-1].where if inst.rows[-1].cells else inst.rows[-1].where
        for n in missing_rows:
            out.findings.append(F.make("S-LAYOUT", case="table-row-missing", cells=[inst.where], source=source,
                                       table=name_zh, table_en=name_en, where=inst.where, label=n.label))
    return out


def _label_findings(out: GridRead, node: Node, labels: list[Cell], leaf: str, source: str,
                    name_zh: str, name_en: str, reported: set[tuple[str, str]]) -> None:
    """S-LABEL for a row's leaf label and its group labels (（三）不予公开 …) when they differ."""
    texts = [c for c in labels if ck(c.text)]
    if not texts:
        return
    leaf_cell = texts[-1]
    official = node.label or ""
    if ck(leaf_cell.text) != ck(official) and (ck(leaf_cell.text), official) not in reported:
        reported.add((ck(leaf_cell.text), official))
        out.findings.append(F.make(
            "S-LABEL", cells=[leaf_cell.where], source=source,
            where=f"{name_zh} {leaf_cell.where}", where_en=f"{name_en}, {leaf_cell.where}",
            found=strip_markers(leaf_cell.text).strip(), official=official))
    ancestors = [p for p in node.path[:-1] if p]
    for c in texts[:-1]:
        t = ck(c.text)
        best = max(ancestors, key=lambda a: similarity(label_key(t), label_key(a)), default=None)
        if best is None or t == ck(best) or (t, best) in reported:
            continue
        if similarity(label_key(t), label_key(best)) >= 0.5:
            reported.add((t, best))
            out.findings.append(F.make(
                "S-LABEL", cells=[c.where], source=source, where=f"{name_zh} {c.where}", where_en=f"{name_en}, {c.where}",
                found=strip_markers(c.text).strip(), official=best))


def _read_unlabelled(out: GridRead, spec: Spec, grid: Grid, data: list[Row], width: int, source: str,
                     name_zh: str, name_en: str) -> None:
    """Table 四: one data row of 15 numbers under the header, no row label."""
    row_node = grid.leaf_rows()[0]
    rows = [r for r in data if not r.is_blank()] or data[:1]
    if not rows:
        out.score -= 1.0
        out.missing.update(grid.cell_key(row_node.key, c.key) for c in grid.leaf_columns())
        last = out.inst.rows[-1] if out.inst.rows else None
        if last is not None and last.last_in_doc:
            out.truncated = last.cells[-1].where if last.cells else last.where
        out.findings.append(F.make("S-LAYOUT", case="header-no-row", cells=[out.inst.where], source=source,
                                   table=name_zh, table_en=name_en, where=out.inst.where))
        return
    row = rows[0]
    labels, values = row.split(width)
    if len(values) > width:
        out.score -= 1.0
        out.missing.update(grid.cell_key(row_node.key, c.key) for c in grid.leaf_columns())
        out.findings.append(F.make("S-LAYOUT", case="data-row-too-wide", cells=[row.where], source=source,
                                   table=name_zh, table_en=name_en, where=row.where, count=len(values), width=width))
        return
    out.score += 1.0 if len(values) == width else -0.5
    for i, col in enumerate(grid.leaf_columns()):
        key = grid.cell_key(row_node.key, col.key)
        if i < len(values):
            out.values[key] = normalise_value(strip_markers(values[i].text))
            out.where[key] = values[i].where
        else:
            out.values[key] = None
            out.where[key] = f"{row.cells[-1].where}末尾缺格"
    if len(values) < width:
        if row.last_in_doc:
            out.truncated = row.cells[-1].where
        else:
            out.notes.append(Note(f"{name_zh} {row.where}：数据行只有{len(values)}个数据格（应为{width}个），缺少的按空白处理。",
                                  f"{name_en}, {row.where}: the data row has {len(values)} value cells ({width} expected); "
                                  f"the missing ones are taken as blank."))
    for extra in rows[1:]:
        _l, vals = extra.split(width)
        if any(ck(c.text) for c in vals):
            out.findings.append(F.make("S-LAYOUT", case="extra-data-row", cells=[extra.where], source=source,
                                       table=name_zh, table_en=name_en, where=extra.where))


# ------------------------------------------------------------------ segmentation


def _segment(blocks: Sequence[Block]) -> tuple[list[Instance], list[Note]]:
    """Cut the document's table rows into grid instances at their anchors."""
    instances: list[Instance] = []
    notes: list[Note] = []
    current: Instance | None = None
    pending: list[Row] = []
    last_table = max((i for i, b in enumerate(blocks) if isinstance(b, TableBlock)), default=-1)
    content_after = any(isinstance(b, Para) and ck(b.text) for b in blocks[last_table + 1:])

    def flush_pending() -> None:
        rows = [r for r in pending if not r.is_blank()]
        pending.clear()
        if not rows:
            return
        text = "｜".join(ck(c.text) for c in rows[0].cells if ck(c.text))[:40]
        if len(rows) == 1:
            notes.append(Note(f"{rows[0].where}：未识别的表格内容“{text}”，未导入。",
                              f"{rows[0].where}: unrecognised table content \"{text}\", not imported."))
        else:
            notes.append(Note(f"{rows[0].where}至{rows[-1].where}：{len(rows)}行未识别的表格内容（第一行为“{text}”），未导入。",
                              f"{rows[0].where} to {rows[-1].where}: {len(rows)} rows of unrecognised table content "
                              f"(the first: \"{text}\"), not imported."))

    for bi, block in enumerate(blocks):
        if isinstance(block, Para):
            key = _caption_key(block.text)
            if key:
                flush_pending()
                current = Instance(key, block.where)
                instances.append(current)
            continue
        first = True
        for ri, cells in enumerate(block.rows):
            row = Row(cells, bi, last_in_doc=(bi == last_table and ri == len(block.rows) - 1 and not content_after))
            anchor = _row_anchor(row)
            if anchor:
                flush_pending()
                kind, rest = anchor
                current = Instance(kind, row.where)
                instances.append(current)
                if rest is not None:
                    current.rows.append(rest)
                first = False
                continue
            if first and current is not None and current.rows and not _row_fits(current.kind, row):
                current = None
            first = False
            # a grid found without its caption: the next captioned grid may follow without its own
            if current is None or (current.guessed and current.kind in _captioned()):
                guess = _guess_kind(row)
                if guess is not None and (current is None or guess.kind != current.kind):
                    current = Instance(guess.kind, (pending[0] if pending else row).where, guessed=True)
                    current.rows += pending
                    pending.clear()
                    instances.append(current)
                elif current is None:
                    pending.append(row)
                    continue
            current.rows.append(row)
        flush_pending()
    return instances, notes


# ------------------------------------------------------------------ title, body, period


_TITLE_TAIL = re.compile(r"(?:政府)?信息公开(?:工作)?(?:年度)?(?:工作)?报告.*$")
_LEVEL_SUFFIX = (("街道办事处", "街道"), ("街道", "街道"), ("镇", "镇"), ("乡", "乡"))


def split_title(title: str) -> tuple[str | None, str | None, int | None]:
    """(body name, parent, year) from a report title such as 嘉兴市秀洲区王店镇2019年政府信息公开工作年度报告."""
    t = re.sub(r"^关于", "", clean_text(title))
    year = None
    m = re.search(r"((?:19|20)\d{2})年度?", t)
    if m:
        year = int(m.group(1))
        t = t[:m.start()] + t[m.end():]
    name = _TITLE_TAIL.sub("", t).strip("（）()《》")
    if name.endswith("人民") and "人民政府信息公开" in clean_text(title):
        name += "政府"  # 岭北镇人民政府信息公开工作年度报告
    if len(name.replace("\ufffd", "")) < 2 or re.search(r"[>›»/|｜]", name):
        return None, None, year
    unit, parent = _split_parent(name)
    return unit, parent, year


def _split_parent(name: str) -> tuple[str, str | None]:
    """Peel 嘉兴市 秀洲区 off 嘉兴市秀洲区王店镇 for a town: the town is the body, the rest its parent."""
    if not any(name.endswith(s) or name.endswith(s + "人民政府") for s, _ in _LEVEL_SUFFIX):
        return name, None
    rest, parent = name, ""
    while True:
        m = re.match(r"^(.{1,7}?(?:自治区|省|市|自治州|州|盟|地区|区|县|旗))(.+)$", rest)
        if not m or len(m.group(2)) < 3 or not any(x in m.group(2) for x, _ in _LEVEL_SUFFIX):
            break
        parent += m.group(1)
        rest = m.group(2)
    return rest, parent or None


def level_of(name: str | None, parent: str | None = None) -> str | None:
    """单位层级 from the body's name: …镇 / …镇人民政府 → 镇, …街道办事处 → 街道, …县人民政府 → 县级政府."""
    if not name:
        return None
    n = re.sub(r"(人民政府|政府)$", "", name)
    for suffix, level in _LEVEL_SUFFIX:
        if n.endswith(suffix):
            return level
    if name.endswith(("人民政府", "政府")) or re.search(r"[县区旗市州盟]$", name):
        if n.endswith(("县", "区", "旗")) or n.endswith("县级市"):
            return "县级政府"
        if n.endswith(("市", "州", "盟")):
            return "市级政府"
        return None
    if re.search(r"(局|委员会|委|办公室|办|中心|厅|署|院|所|队|站|处)$", name):
        head = (parent or "") + name
        if re.match(r"^.{1,8}?(省|自治区)[^市县区]{2,}$", head):
            return "省级部门"
        if re.match(r"^.{1,12}?(县|区|旗)", head):
            return "县级部门"
        if re.match(r"^.{1,8}?(市|州|盟)", head):
            return "市级部门"
    return None


#: a date as written, loosely: one or more year parts (a doubled year 2021年2021年, a mistyped 20211年)
#: before the month and day, so a malformed period is found and quoted rather than passed over
_DATEISH = r"(?:\d{2,6}\s*年\s*)*\d{1,2}\s*月\s*\d{1,3}\s*日"
_LOOSE_PERIOD = re.compile(rf"(?:\d{{2,6}}\s*年\s*)+\d{{1,2}}\s*月\s*\d{{1,3}}\s*日\s*(?:起)?\s*(?:至|到|—|－|-|~|～|―)+\s*{_DATEISH}")
_PERIOD_WORDS = re.compile(r"统计|期限|数据|报告")
#: the words that announce the statistics period: what follows them is the period, however written
_PERIOD_LEAD = re.compile(r"(?:统计期限|统计时限|统计期|统计时间|数据统计(?:时限|期限|时间))(?:为|是|自|从|:|：)?")


def find_period(paras: Iterable[Para]) -> tuple[str, str, str] | None:
    """(start ISO, end ISO, where) of the statistics period stated in the text."""
    best: tuple[str, str, str] | None = None
    for p in paras:
        t = strip_markers(p.text)
        for m in _PERIOD.finditer(t):
            y1, m1, d1 = int(m.group(1)), int(m.group(2)), int(m.group(3))
            y2 = int(m.group(4)) if m.group(4) else y1
            m2, d2 = int(m.group(5)), int(m.group(6))
            try:
                from datetime import date

                start, end = date(y1, m1, d1).isoformat(), date(y2, m2, d2).isoformat()
            except ValueError:
                continue
            context = t[max(0, m.start() - 30):m.start()]
            if _PERIOD_WORDS.search(context):
                return start, end, p.where
            if best is None:
                best = (start, end, p.where)
    return best


#: how the body names itself in its opening (本报告由X根据…编制, 现将X2021年…报告如下)
_NAME_IN_BODY = (
    re.compile(r"(?:本报告由|由)([^，,。根依按结]{2,30}?)(?:根据|依据|按照|结合|编制)"),
    re.compile(r"(?:现将|现公布|特向社会公布|现就)([^，,。]{2,30}?)(?:19|20)\d{2}年"),
)
_SIGN_OFF = re.compile(r"^(.{2,30}?(?:人民政府办公室|人民政府|政府办公室|办公室|办事处|委员会|局|政府))$")


def unit_witnesses(paras: Sequence[Para]) -> list[tuple[str, str]]:
    """(name, where) of the reporting body as the report's opening sentences name it, then as its
    sign-off does (the organisation's name on its own line near the end, usually above the date);
    each at most once. For a title that names no body, or one garbled in conversion."""
    out: list[tuple[str, str]] = []
    for p in paras[:8]:
        m = next((m for pattern in _NAME_IN_BODY if (m := pattern.search(ck(p.text)))
                  and not re.search(r"条例|办法|规定|通知|我", m.group(1))), None)
        if m:
            out.append((m.group(1), p.where))
            break
    for p in reversed(paras[-4:]):
        m = _SIGN_OFF.match(ck(p.text))
        if m:
            out.append((m.group(1), p.where))
            break
    return out


#: the fixed tail of a body's name: a title garbled in it (人氏政府) names no other body
_BODY_SUFFIX = re.compile(r"(?:人民政府办公室|人民政府|政府办公室|办公室|办事处|政府)$")


def garbled_title_name(name: str, parent: str | None, witnesses: Sequence[tuple[str, str]]) -> tuple[str, str] | None:
    """The (name, where) the body and sign-off give, when the title's ``name`` is that name garbled
    in conversion, else None (the title stands).

    Garbled means within two edits of the text's name (one for a name of five characters or fewer),
    replacement characters (U+FFFD) dropped first: 岭�北镇人氏政府 for 岭北镇人民政府. A title with a
    replacement character, or one garbled only in the name's fixed tail (人民政府, 办事处 …), yields to
    one witness; a different place name (东山镇 for 西山镇 — a report copied from a neighbour keeps
    the neighbour's opening) only to the opening and the sign-off agreeing on it.
    """
    titled = {name, (parent or "") + name}
    agreed = len(witnesses) == 2 and witnesses[0][0] == witnesses[1][0]
    for text_name, where in witnesses:
        place = _BODY_SUFFIX.sub("", text_name)
        for t in titled:
            if _BODY_SUFFIX.sub("", t) == place:
                return None  # the same body (岭北镇政府 for 岭北镇人民政府): the title stands
            # edits allowed: two, one in a short name (河口镇 is not 青山镇 garbled)
            near = any(edit_distance(t.replace("\ufffd", ""), f) <= min(2, max(1, len(f) // 3)) for f in (text_name, place))
            if near and ("\ufffd" in t or agreed or t.startswith(place)):
                return text_name, where
    return None


def malformed_period(paras: Iterable[Para]) -> tuple[str, str] | None:
    """(the text as written, where) of a statistics period that is stated but is no valid date range:
    a doubled or mistyped year (2021年2021年12月31日), a month or day that does not exist, or digits
    run together (2025111231日). None when the period stated is valid, or none is stated."""
    from datetime import date

    for p in paras:
        t = strip_markers(p.text)
        for m in _LOOSE_PERIOD.finditer(t):
            if not _PERIOD_WORDS.search(t[max(0, m.start() - 30):m.start()]):
                continue
            strict = _PERIOD.fullmatch(m.group().strip())
            if strict:
                y1, m1, d1 = int(strict.group(1)), int(strict.group(2)), int(strict.group(3))
                y2 = int(strict.group(4)) if strict.group(4) else y1
                try:
                    date(y1, m1, d1), date(y2, int(strict.group(5)), int(strict.group(6)))
                    return None
                except ValueError:
                    pass
            return m.group().strip(), p.where
        lead = _PERIOD_LEAD.search(t)
        if lead:
            rest = re.split(r"[。；;，,]", t[lead.end():], maxsplit=1)[0].strip()
            if re.search(r"\d", rest) and not _PERIOD.search(rest) and not re.fullmatch(r"\d{4}\s*年(?:度)?", rest):
                return rest[:40], p.where
    return None


# ------------------------------------------------------------------ the import


def _text_frames(blocks: Sequence[Block]) -> list[Block]:
    """A table with a single non-empty cell is a frame around text (a text box, a page's date
    line), not a data table: read it as paragraphs."""
    out: list[Block] = []
    for b in blocks:
        if isinstance(b, TableBlock):
            filled = [c for row in b.rows for c in row if ck(c.text)]
            if len(filled) <= 1:
                out += [Para(line, c.where) for c in filled for line in strip_markers(c.text).split("\n") if line.strip()]
                continue
        out.append(b)
    return out


def _looks_like_report(paras: Sequence[Para], headings: int) -> bool:
    text = "".join(ck(p.text) for p in paras[:50])
    return headings >= 3 or ("信息公开" in text and ("年度报告" in text or "工作报告" in text))


def _find_title(blocks: Sequence[Block], notes: list[Note]) -> tuple[str | None, list[Para], set[int]]:
    """(title, its paragraphs, ids of everything up to it) — the line saying …信息公开…报告 before
    the first heading, joined with the line before it when the title wraps
    (沈阳市辽中区于家房镇人民政府 / 2019年度政府信息公开工作报告). Lines before the title (a web page's
    breadcrumbs) are named in a note."""
    before: list[Para] = []
    for b in blocks:
        if not isinstance(b, Para) or classify_heading(b.text) is not None:
            break
        before.append(b)

    def short(p: Para) -> bool:
        t = ck(p.text)
        return len(t) <= 60 and "。" not in t

    cands = [i for i, p in enumerate(before) if short(p) and "报告" in ck(p.text)]
    if not cands:
        return None, [], set()
    best = [i for i in cands if "信息公开" in ck(before[i].text) or "年报" in ck(before[i].text)]
    i = (best or cands)[-1]
    title_paras = [before[i]]
    j = i - 1
    while j >= 0 and i - j <= 2 and short(before[j]):
        joined = "".join(ck(p.text) for p in title_paras)
        if split_title(joined)[0] is not None and "信息公开" in joined:
            break
        title_paras.insert(0, before[j])
        j -= 1
    for p in before[:before.index(title_paras[0])]:
        text = strip_markers(p.text).strip()[:30]
        notes.append(Note(f"{p.where}：标题前的“{text}”不是报告内容，未导入。",
                          f"{p.where}: \"{text}\" before the title is not part of the report; not imported."))
    title = "".join(strip_markers(p.text).strip() for p in title_paras) or None
    return title, title_paras, {id(p) for p in before[:i + 1]}


@dataclass
class _Sections:
    """The running text split at the section headings."""

    parts: dict[str, list[tuple[str, str]]]  # section → (paragraph, where)
    headings: list[tuple[str, str]]  # (heading as written, where), official and extra ones
    units: dict[str, tuple[str, str]]  # metadata field → (value, where) from unit notes under tables
    official: int  # how many official headings were seen


def _split_sections(blocks: Sequence[Block], skip: set[int], notes: list[Note]) -> _Sections:
    """Paragraphs to sections. Text before the first heading opens 一、总体情况 (the report's
    opening sentence); a repeated heading continues its section; a numbered heading that names
    no section stays in the text of the section it appears in. Captions and unit notes belong to
    the tables, an appendix (附：校验结果, 附件) and a sign-off to no section."""
    parts: dict[str, list[tuple[str, str]]] = {s.key: [] for s in sections()}
    preamble: list[tuple[str, str]] = []
    out = _Sections(parts, [], {}, 0)
    current: str | None = None
    ended: str | None = None
    appendix = 0
    for b in blocks:
        if not isinstance(b, Para) or id(b) in skip or _caption_key(b.text):
            continue
        if ended:
            appendix += 1
            continue
        if current is not None and _APPENDIX.match(clean_text(strip_markers(b.text))):
            ended, appendix = b.where, 1
            continue
        unit = _unit_note(b.text)
        if unit is not None:
            out.units[unit[0]] = (unit[1], b.where)
            continue
        h = classify_heading(b.text)
        if h is not None:
            out.headings.append((h.text, b.where))
            if h.key:
                current = h.key
                out.official += 1
                continue
        text = strip_markers(b.text).strip()
        if not text:
            continue
        if current is None and _PAGE_INFO.match(clean_text(text)):
            notes.append(Note(f"{b.where}：网页信息“{text[:30]}”不是报告内容，未导入。",
                              f"{b.where}: page information \"{text[:30]}\" is not part of the report; not imported."))
            continue
        (parts[current] if current else preamble).append((text, b.where))
    if ended:
        notes.append(Note(f"{ended}起的附件（{appendix}段）不是报告正文，未导入。",
                          f"the appendix from {ended} ({appendix} paragraphs) is not part of the report text; not imported."))
    first, last = sections()[0].key, sections()[-1].key
    tail = parts[last]  # a sign-off closes the last section
    while tail and _SIGNATURE.match(clean_text(tail[-1][0])):
        text, where = tail.pop()
        notes.append(Note(f"{where}：落款“{text}”未计入正文。", f"{where}: the sign-off \"{text}\" is not part of the prose."))
    parts[first] = preamble + parts[first]
    return out


def _no_tables(source: str, paras: Sequence[Para], official_headings: int) -> LoadError:
    if _looks_like_report(paras, official_headings):
        return LoadError(source, "no-tables",
                         f"{source}：找不到年度报告的统计表格（{table_names()[0]}），无法导入；请提供带表格的完整报告（Word 文档或网页），或直接填写标准工作簿。",
                         f"{source}: none of the report's statistical tables ({table_names()[1]}) were found, so it cannot be "
                         f"imported; provide the complete report with its tables (Word or web page), or fill in the standard workbook.")
    return LoadError(source, "not-a-report",
                     f"{source}：这不是政府信息公开工作年度报告（没有找到报告的标题、六个部分或统计表格），请检查是否选错了文件。",
                     f"{source}: this is not an annual government-information-disclosure report (no title, sections "
                     f"or statistical tables found); check that you picked the right file.")


def _truncated(source: str, where: str, zh: str, en: str) -> LoadError:
    return LoadError(source, "truncated-table",
                     f"{source}：{zh}在{where}处中断（后面的行或数据缺失，文件到此结束），报告不完整；请提供完整的报告后再导入。",
                     f"{source}: {en} breaks off at {location_en(where)} (its remaining rows or cells are missing and the file ends "
                     f"there); the report is incomplete, provide the complete report and import again.")


def _vote(instances: Sequence[Instance], source: str) -> tuple[list[tuple[Instance, str | None]], dict[str, int]]:
    """Each found table's edition (None when both fit equally, as 表四 always does) and the tally."""
    votes: dict[str, int] = {}
    out: list[tuple[Instance, str | None]] = []
    for inst in instances:
        per: dict[str, float] = {}
        for spec in all_specs():
            try:
                g = spec.grid(inst.kind)
            except KeyError:
                continue
            per[spec.edition] = read_grid(spec, g, inst, source=source).score
        ranked = sorted(per.items(), key=lambda kv: -kv[1])
        best = ranked[0][0] if ranked and (len(ranked) == 1 or ranked[0][1] - ranked[1][1] >= 0.5) else None
        if best:
            votes[best] = votes.get(best, 0) + 1
        out.append((inst, best))
    return out, votes


def _read_tables(rec: Record, spec: Spec, voted: list[tuple[Instance, str | None]], source: str,
                 notes: list[Note]) -> list[tuple[str, str]]:
    """Fill the record's values from the found tables; S-EDITION for tables of the other edition,
    S-LAYOUT for tables not found; LoadError when the document breaks off inside a table."""
    recognised: list[tuple[str, str]] = []
    used: set[str] = set()
    foreign: dict[str, list[tuple[Instance, str]]] = {}
    for inst, best in voted:
        if best is not None and best != spec.edition:
            other = load_spec(best)
            foreign.setdefault(other.grid(inst.kind).table, []).append((inst, best))
            # its misspelt labels, against the edition it is: read strictly as the report's edition
            # below, its labels would be compared with rows it does not have
            rec.structure += [f for f in read_grid(other, other.grid(inst.kind), inst, source=source).findings
                              if f.rule == "S-LABEL"]
        try:
            grid = spec.grid(inst.kind)
        except KeyError:
            continue  # （九） in a 2021 report: S-EDITION below
        zh, en = _grid_name(spec, grid)
        if inst.kind in used:
            notes.append(Note(f"{zh}在{inst.where}再次出现，只导入了第一次出现的表格。",
                              f"{en} appears again at {inst.where}; only the first one was imported."))
            continue
        used.add(inst.kind)
        gr = read_grid(spec, grid, inst, source=source, strict=best is not None and best != spec.edition)
        if gr.truncated:
            raise _truncated(source, gr.truncated, zh, en)
        recognised.append((zh, inst.where))
        rec.values.update(gr.values)
        rec.where.update(gr.where)
        rec.missing |= gr.missing
        rec.structure += gr.findings
        notes += gr.notes
        if inst.guessed:
            notes.append(Note(f"{zh}（{inst.where}起）没有表头或标题，按行标签识别。",
                              f"{en} (from {inst.where}) has no caption or header; recognised by its row labels."))
        unit_field = next((c.unit_field for c in grid.leaf_columns() if c.unit_field), None)
        if gr.unit and unit_field and unit_field in rec.meta:
            rec.meta[unit_field] = gr.unit
            rec.where["meta." + unit_field] = inst.where
    for tkey, found in foreign.items():
        inst, other_edition = found[0]
        other = load_spec(other_edition)
        zh, en = other.table(tkey).sheet, other.table(tkey).en
        case, why = _edition_detail(tkey, [i for i, _ in found], spec, other)
        rec.structure.append(F.make(
            "S-EDITION", case=case, cells=[inst.where], source=source, table=zh, table_en=en, where=inst.where,
            other=other.edition, other_issued=other.issued_with, edition=spec.edition, issued=spec.issued_with, **why))
    last = voted[-1][0]
    ends_in_table = bool(last.rows) and last.rows[-1].last_in_doc
    order = [g.key for g in spec.grids()]
    for g in spec.grids():
        if g.key in used:
            continue
        rec.missing.update(g.cell_key(r.key, c.key) for r in g.leaf_rows() for c in g.leaf_columns())
        zh, en = _grid_name(spec, g)
        if ends_in_table and last.kind in order and order.index(g.key) > order.index(last.kind):
            raise LoadError(source, "truncated-table",
                            f"{source}：报告在{last.rows[-1].where}处中断，{zh}及其后的表格缺失，文件不完整；请提供完整的报告后再导入。",
                            f"{source}: the report breaks off at {location_en(last.rows[-1].where)}: {en} and the tables after it "
                            f"are missing, so the report is incomplete; provide the complete report and import again.")
        if g.table in foreign:
            continue  # S-EDITION already says why
        rec.structure.append(F.make("S-LAYOUT", case="table-missing", cells=[], source=source, table=zh, table_en=en))
    return recognised


def _exact_tables(rec: Record, spec: Spec, tables: tuple[str, dict[str, Value]], source: str) -> list[tuple[str, str]]:
    """Values read by an exact parser; S-EDITION when they are of another edition than forced."""
    found_edition, values = tables
    for k in spec.cells:
        if k in values:
            rec.values[k] = values[k]
        else:
            rec.missing.add(k)
    if found_edition != spec.edition:
        other = load_spec(found_edition)
        rec.structure.append(F.make(
            "S-EDITION", case="forced", cells=[], source=source, other=other.edition, other_issued=other.issued_with,
            edition=spec.edition, issued=spec.issued_with))
    return [(t.sheet, "") for t in spec.tables]


def import_blocks(blocks: Sequence[Block], *, source: str, kind: str, edition: str | None = None,
                  year: int | None = None, tables: tuple[str, dict[str, Value]] | None = None) -> Imported:
    """Read a report from its blocks. Raises LoadError for input that is not a usable report.

    ``edition`` forces the tables' edition (a mismatch with what the tables are becomes S-EDITION);
    ``year`` overrides the report year found in the title or text; ``tables`` are (edition, values)
    already read by an exact parser (gxsheet's own txt export), used instead of the blocks' tables.
    """
    blocks = [b for b in _text_frames(blocks) if not (isinstance(b, Para) and not ck(b.text))]
    if not blocks:
        raise LoadError(source, "empty", f"{source}：文件没有任何内容，请提供完整的年度报告。",
                        f"{source}: the file has no content; provide the complete annual report.")
    paras = [b for b in blocks if isinstance(b, Para)]
    notes: list[Note] = []
    title, title_paras, before_body = _find_title(blocks, notes)
    secs = _split_sections(blocks, before_body, notes)
    instances, seg_notes = ([], []) if tables is not None else _segment(blocks)
    notes += seg_notes
    if not instances and tables is None:
        raise _no_tables(source, paras, secs.official)
    if len(instances) > GRIDS_PER_OFFICIAL * official_grids():
        raise LoadError(source, "not-a-report",
                        f"{source}：文中有{len(instances)}个像统计表的表格，远多于年度报告的{official_grids()}个，无法作为年度报告导入。",
                        f"{source}: the document has {len(instances)} tables that look like the statistical tables, far "
                        f"more than the report's {official_grids()}; it cannot be imported as a report.")
    for inst in instances:
        if len(inst.rows) > MAX_GRID_ROWS:
            raise LoadError(source, "not-a-report",
                            f"{source}：{inst.where}起的表格有{len(inst.rows)}行，远多于年度报告的官方表格（最多30行左右），无法作为年度报告导入。",
                            f"{source}: the table from {location_en(inst.where)} has {len(inst.rows)} rows, far more than "
                            f"any official table of the annual report (about 30 at most); it cannot be imported as a report.")

    # -- year, body, period
    name, parent, title_year = split_title(title) if title else (None, None, None)
    name_where = None
    witnesses = unit_witnesses(paras)  # a title garbled in conversion: the body and the sign-off name the body too
    if name is None and witnesses:
        found = witnesses[0]
        (name, parent), name_where = _split_parent(found[0]), found[1]
        notes.append(Note(f"单位名称：标题中没有可识别的单位名称，按{found[1]}的“{found[0]}”填入。",
                          f"body name: the title names no body; taken as \"{found[0]}\" from {found[1]}."))
    elif name is not None and (found := garbled_title_name(name, parent, witnesses)) is not None:
        garbled = name
        name, new_parent = _split_parent(found[0])
        parent, name_where = new_parent or parent, found[1]
        notes.append(Note(f"单位名称：标题中的“{garbled}”疑为转换中的乱码，按{found[1]}的“{found[0]}”填入。",
                          f"body name: \"{garbled}\" in the title looks garbled in conversion; taken as \"{found[0]}\" "
                          f"from {found[1]}."))
    period = find_period(paras)
    bad_period = malformed_period(paras)
    if bad_period is not None and period is not None and period[2] != bad_period[1]:
        period = None  # a valid range elsewhere (an event's dates) is not the period the text tried to state
    found_year = title_year or (int(period[1][:4]) if period else None)
    if found_year is None:
        counts: dict[int, int] = {}
        for p in paras:
            for y in _YEAR.findall(ck(p.text)):
                counts[int(y)] = counts.get(int(y), 0) + 1
        if counts:
            found_year = max(counts, key=lambda y: (counts[y], y))
            notes.append(Note(f"报告年度：标题中没有年份，按正文中最常出现的{found_year}年处理。",
                              f"report year: the title has no year; taking {found_year}, the year the text mentions most."))
    if year is not None and found_year is not None and year != found_year:
        notes.append(Note(f"报告年度：按 --year 指定的{year}年处理（报告中写的是{found_year}年）。",
                          f"report year: {year} as given by --year (the report says {found_year})."))
    the_year = year if year is not None else found_year

    # -- edition: what the tables are (the year only breaks a tie)
    voted, votes = _vote(instances, source)
    if tables is not None:
        votes = {tables[0]: 1}
    by_year = edition_for_year(the_year) if the_year else None
    if edition is not None:
        chosen = edition
    elif votes:
        top = max(votes.values())
        tied = [e for e, v in votes.items() if v == top]
        chosen = by_year if by_year in tied else sorted(tied)[-1]
    else:
        chosen = by_year or all_specs()[-1].edition
    spec = load_spec(chosen)
    rec = Record(edition=chosen, source=source, kind=kind, meta={f.key: None for f in spec.metadata},
                 values={k: None for k in spec.cells})
    if tables is None:
        recognised = _read_tables(rec, spec, voted, source, notes)
    else:
        recognised = _exact_tables(rec, spec, tables, source)

    # -- metadata
    for key, (value, where) in secs.units.items():
        if key in rec.meta:
            rec.meta[key] = value
            rec.where[f"meta.{key}"] = where
    title_where = name_where or (title_paras[0].where if title_paras else None)
    for role, value in (("unit_name", name), ("parent", parent), ("level", level_of(name, parent))):
        rec.set_role(role, value, title_where if value else None)
    rec.set_role("year", the_year)
    if year is None and found_year is not None:
        where_year = title_paras[0].where if title_year and title_paras else (period[2] if period else None)
        rec.set_role("year", the_year, where_year)
    if period:
        rec.set_role("period_start", period[0], period[2])
        rec.set_role("period_end", period[1], period[2])
    elif the_year:
        rec.set_role("period_start", f"{the_year}-01-01")
        rec.set_role("period_end", f"{the_year}-12-31")
        if bad_period is None:
            notes.append(Note(f"统计期限：正文没有写明，按{the_year}年1月1日至12月31日填入。",
                              f"statistics period: not stated in the text; filled in as {the_year}-01-01 to {the_year}-12-31."))
        else:
            notes.append(Note(f"统计期限：正文（{bad_period[1]}）写的“{bad_period[0]}”不是有效日期，工作簿中按{the_year}年1月1日至12月31日填入，"
                              f"并保留 N-PERIOD 提示。",
                              f"statistics period: the text ({bad_period[1]}) says \"{bad_period[0]}\", which is no valid date; the "
                              f"workbook has {the_year}-01-01 to {the_year}-12-31, and the N-PERIOD finding is kept."))
    if bad_period is not None and period is None:
        keys = [rec.role_key("period_start"), rec.role_key("period_end")]
        rec.structure.append(F.make("N-PERIOD", case="malformed", keys=keys, cells=[bad_period[1]], source=source,
                                    text=bad_period[0], where=bad_period[1], year=the_year if the_year else "?"))
    if name is None:
        notes.append(Note("单位名称：从标题和正文中都没有找到，请在工作簿“基本信息”中补填。",
                          "body name: found neither in the title nor in the text; fill it in on the 基本信息 sheet."))
    elif rec.role("level") is None:
        notes.append(Note(f"单位层级：无法从“{name}”判断，请在工作簿“基本信息”中选择。",
                          f"level: cannot be told from \"{name}\"; choose it on the 基本信息 sheet."))
    if the_year is None:
        notes.append(Note("报告年度：标题和正文中都没有找到年份，请用 --year 指定。",
                          "report year: no year in the title or the text; give it with --year."))

    # -- prose, with each paragraph's location (prose.s1@<line> → 第57行) for the narrative rules
    for key, parts in secs.parts.items():
        rec.prose[key] = "\n".join(t for t, _ in parts) or None
        line = 0
        for t, where in parts:
            rec.where[f"prose.{key}@{line}"] = where
            line += t.count("\n") + 1
        if parts:
            rec.where[f"prose.{key}"] = parts[0][1]
    rec.headings_found = [h for h, _ in secs.headings]
    for i, (_h, where) in enumerate(secs.headings):
        rec.where[f"heading.{i}"] = where
    for f in rec.structure:
        f.message_en = location_en(f.message_en)
    for n in notes:
        n.en = location_en(n.en)
    return Imported(rec, notes, recognised, title)


@cache
def _loose_unit_notes() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(field, pattern) of a published unit note (注：采购总金额单位为万元) for each metadata field
    that states an amount column's unit, built from the spec: the column's label and the field's
    choices (longest first, so 万元 is not read as 元)."""
    out: dict[str, tuple[set[str], set[str]]] = {}
    for spec in all_specs():
        for c in spec.cells.values():
            if c.unit_field:
                labels, units = out.setdefault(c.unit_field, (set(), set()))
                labels.add(c.column.label)
                units.update(spec.field(c.unit_field).choices)

    def alt(words: set[str]) -> str:
        return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))

    return tuple((key, re.compile(rf"^[(（]?(?:注[:：]?)?\s*(?:{alt(labels)}|金额)(?:的)?单位\s*(?:为|是|[:：])\s*"
                                  rf"({alt(units)})[)）。]?$"))
                 for key, (labels, units) in out.items())


def _unit_note(text: str) -> tuple[str, str] | None:
    """(field, value) of a unit note under a table: the exporter's 注：采购总金额单位：元, or a
    published 注：采购总金额单位为万元. The unit is metadata, not prose."""
    t = strip_markers(text).strip()
    for spec in all_specs():
        hit = parse_unit_note(t, spec)
        if hit is not None and spec.field(hit[0]).type == "choice" and hit[1] in spec.field(hit[0]).choices:
            return hit
    for key, pattern in _loose_unit_notes():
        m = pattern.match(clean_text(t))
        if m:
            return key, m.group(1)
    return None


_NUMBERED_LABEL = re.compile(r"^\(([一二三四五六七八九十]+)\)(.+)$")


def _edition_detail(tkey: str, insts: list[Instance], spec: Spec, other: Spec) -> tuple[str, dict[str, object]]:
    """Why a table is of the other edition (an S-EDITION case and its parameters), read from how the
    two specs differ: a row one of them splits into several and the other keeps whole (（六）其他处理 of
    表三); else, for a table of several grids (表二), the grids found."""
    table = other.table(tkey)
    for g in table.grids:  # the table as found (the other edition's) against the report's edition
        try:
            official = {n.key: n for n in spec.grid(g.key).all_rows()}
        except KeyError:
            continue
        for found in g.all_rows():
            row = official.get(found.key)
            if row is None or row.is_leaf == found.is_leaf:
                continue
            count = len((found if row.is_leaf else row).children)
            label = row.label or row.key
            m = _NUMBERED_LABEL.match(ck(label))
            why = {"row": label, "row_en": f"{m.group(2)} ({cn_number(m.group(1))})" if m else label,
                   "count": cn_numeral(count), "count_en": EN_COUNT.get(count, str(count))}
            return ("mixed-table-split" if row.is_leaf else "mixed-table-unsplit"), why
    if len(table.grids) > 1:
        captions = {g.key: g.caption or g.key for g in table.grids}  # what a reader sees, not grid keys
        order = list(captions)
        keys = sorted({i.kind for i in insts}, key=lambda k: (order.index(k) if k in captions else len(order), k))
        return "mixed-table-grids", {"grids": "、".join(captions.get(k, k) for k in keys)}
    return "mixed-table", {}
