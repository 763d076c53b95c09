"""The format spec: the official tables of one edition, loaded from ``schemas/format-*.json``.

Everything else (templates, reader, validator, export, import, merge) is derived from these
objects, so adding an edition means adding a spec file. The JSON is checked against
``schemas/format.schema.json`` on load, and a few cross-references the JSON Schema cannot express
(unique keys, relations naming real rows/columns, narrative topics naming real cells, each section
role held by one section) are checked here.

The JSON Schema check costs ~0.2 s (a third of a cold ``gxsheet validate``), so a spec file that
passed it is remembered by the digest of its bytes and the schema's (:mod:`gxsheet.core.usercache`):
the next run skips it, and an edited spec or schema is checked again. The cross-references are
cheap and always checked.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from gxsheet.core import usercache


def schemas_dir() -> Path:
    """Where the spec files live: ``gxsheet/schemas`` (source tree, editable or wheel install)."""
    from gxsheet.core.data import data_dir

    return data_dir("schemas")


class SpecError(ValueError):
    """A spec file is malformed: a developer's error, not a user's."""


@dataclass(frozen=True)
class Field:
    """A metadata field of the 基本信息 sheet. ``role`` says what code looks it up for (year,
    unit_name …: ``format.schema.json`` lists them), so no module spells a field's key."""

    key: str
    label: str
    type: str
    required: bool
    choices: tuple[str, ...] = ()
    hint: str = ""
    role: str | None = None


@dataclass(frozen=True)
class Section:
    """A part of the prose. ``heading_en`` says what its heading says, in English (other matters);
    ``zh`` / ``en`` name it in a message (第三部分, section 3); ``roles`` say what the prose rules look
    it up for (``format.schema.json`` lists them: overview, fees, …)."""

    key: str
    heading: str
    heading_en: str
    zh: str
    en: str
    roles: tuple[str, ...] = ()

    @property
    def numeral(self) -> str:
        """The leading Chinese numeral (一…六) used to recognise headings in prose."""
        return self.heading.split("、", 1)[0]

    @property
    def name(self) -> str:
        return self.heading.split("、", 1)[1]


@dataclass(frozen=True)
class Node:
    """A row or column label; leaves carry values, inner nodes only group."""

    key: str
    label: str | None
    children: tuple[Node, ...] = ()
    depth: int = 0
    type: str | None = None  # columns only: count / signed_count / amount
    unit: str | None = None
    unit_field: str | None = None
    path: tuple[str, ...] = ()  # labels from the root to this node

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()

    def leaves(self) -> list[Node]:
        return [n for n in self.walk() if n.is_leaf]

    @property
    def height(self) -> int:
        return 1 + max((c.height for c in self.children), default=0)


@dataclass(frozen=True)
class Cell:
    """One value cell of the report: stable key ``grid.row.column``."""

    key: str
    table: str
    grid: str
    row: Node
    column: Node

    @property
    def type(self) -> str:
        return self.column.type or "count"

    @property
    def unit(self) -> str | None:
        return self.column.unit

    @property
    def unit_field(self) -> str | None:
        return self.column.unit_field


@dataclass(frozen=True)
class Grid:
    key: str
    table: str
    caption: str | None
    corner: str | None
    columns: tuple[Node, ...]
    rows: tuple[Node, ...]
    #: the caption in an English message (article 20 (1)); the Chinese caption when none is given
    caption_en: str | None = None

    def leaf_columns(self) -> list[Node]:
        return [leaf for c in self.columns for leaf in c.leaves()]

    def leaf_rows(self) -> list[Node]:
        return [leaf for r in self.rows for leaf in r.leaves()]

    def all_rows(self) -> list[Node]:
        return [n for r in self.rows for n in r.walk()]

    def all_columns(self) -> list[Node]:
        return [n for c in self.columns for n in c.walk()]

    @property
    def label_depth(self) -> int:
        """How many label columns the row tree needs (0 when rows are unlabelled)."""
        if all(r.label is None for r in self.rows):
            return 0
        return max(r.height for r in self.rows)

    @property
    def header_depth(self) -> int:
        return max(c.height for c in self.columns)

    def cell_key(self, row: str, column: str) -> str:
        return f"{self.key}.{row}.{column}"

    def row(self, key: str) -> Node:
        for n in self.all_rows():
            if n.key == key:
                return n
        raise KeyError(key)

    def column(self, key: str) -> Node:
        for n in self.all_columns():
            if n.key == key:
                return n
        raise KeyError(key)


@dataclass(frozen=True)
class Table:
    """One official table: ``sheet`` is its workbook sheet and its name in a Chinese message (表二),
    ``en`` its name in an English one (table 2)."""

    key: str
    sheet: str
    en: str
    title: str
    grids: tuple[Grid, ...]

    @property
    def section_numeral(self) -> str:
        return self.title.split("、", 1)[0]


@dataclass(frozen=True)
class Equation:
    """One instance of a relation: ``sum(lhs) op sum(rhs)`` over cell keys.

    ``along`` is the row (over=rows) or column (over=columns) node the instance is for; it names
    the line in messages.
    """

    rule: str
    grid: str
    op: str
    lhs: tuple[str, ...]
    rhs: tuple[str, ...]
    along: Node
    over: str
    when: tuple[str, tuple[str, ...]] | None = None
    index: int = 0  # position in Spec.equations: a stable name for the check
    #: how a message names the sides (and other terms of its template), per language: {"zh": {"lhs": …}}
    words: dict[str, dict[str, str]] = field(default_factory=dict, hash=False, compare=False)

    @property
    def keys(self) -> tuple[str, ...]:
        return self.lhs + self.rhs

    @property
    def name(self) -> str:
        return f"{self.rule}#{self.index}"


@dataclass(frozen=True)
class NarrativeTopic:
    """A figure the prose may state and the value cells it must agree with (rule N-TEXT-TABLE).

    ``name`` is how :mod:`gxsheet.check.prose` names the Chinese phrases that state the figure (they
    are language, not edition data, and stay there); ``zh`` / ``en`` say what the figure counts in
    a message. ``alternatives``: the prose figure agrees when it equals the sum of any one of these
    key groups (受理 may be counted with or without the applications carried over); a finding
    names the first group.
    """

    name: str
    zh: str
    en: str
    alternatives: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class CarryOver:
    """The cross-year relation (rule X-CARRY): per column of ``grid``, this year's
    ``this_year_row`` equals last year's ``last_year_row`` (looked up in last year's edition)."""

    grid: str
    this_year_row: str
    last_year_row: str


@dataclass(frozen=True)
class FeeStatement:
    """Rule N-FEE: from ``from_year`` the fees section states the information-processing fees, as
    ``basis`` (the document requiring it) says."""

    from_year: int
    basis: str


@dataclass(frozen=True)
class MergeFacts:
    """A county merge of this edition: every amount column in ``unit``; the county's own report has
    the level ``county_level``."""

    unit: str
    county_level: str


@dataclass(frozen=True)
class Spec:
    edition: str
    name: str
    issued_with: str
    first_year: int
    last_year: int | None
    metadata: tuple[Field, ...]
    sections: tuple[Section, ...]
    tables: tuple[Table, ...]
    equations: tuple[Equation, ...]
    narrative_topics: tuple[NarrativeTopic, ...]
    carry_over: CarryOver
    fee_statement: FeeStatement
    merge: MergeFacts
    cells: dict[str, Cell] = field(hash=False, compare=False)
    source: dict[str, Any] = field(hash=False, compare=False, repr=False)

    def __hash__(self) -> int:
        """By edition: specs are keys of cached builders (layouts, schemas) looked up per workbook,
        and the generated hash walked every table, node and equation on each lookup."""
        return hash(self.edition)

    def grids(self) -> list[Grid]:
        return [g for t in self.tables for g in t.grids]

    def grid(self, key: str) -> Grid:
        for g in self.grids():
            if g.key == key:
                return g
        raise KeyError(key)

    def table(self, key: str) -> Table:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(key)

    def field(self, key: str) -> Field:
        for f in self.metadata:
            if f.key == key:
                return f
        raise KeyError(key)

    def meta_key(self, role: str) -> str:
        """The key of the metadata field that has ``role`` (every role is held by one field: checked on load)."""
        for f in self.metadata:
            if f.role == role:
                return f.key
        raise SpecError(f"spec {self.edition!r}: no metadata field has the role {role!r}")

    def meta_field(self, role: str) -> Field:
        return self.field(self.meta_key(role))

    def section_for(self, role: str) -> Section:
        """The section that has ``role``; SpecError when none has it (a role the loader does not know:
        every role of ``format.schema.json`` is checked to be held by one section on load)."""
        for s in self.sections:
            if role in s.roles:
                return s
        raise SpecError(f"spec {self.edition!r}: no section has the role {role!r} (roles: {', '.join(section_roles())})")

    @property
    def value_keys(self) -> list[str]:
        return list(self.cells)

    def covers_year(self, year: int) -> bool:
        return year >= self.first_year and (self.last_year is None or year <= self.last_year)

    def label_path(self, key: str) -> tuple[str, ...]:
        """表/行/列 labels that spell out a value cell, for headers and JSON export."""
        c = self.cells[key]
        t = self.table(c.table)
        g = self.grid(c.grid)
        parts = [t.title]
        if g.caption:
            parts.append(g.caption)
        parts += [p for p in c.row.path if p]
        parts += list(c.column.path)
        return tuple(parts)


def _node(raw: dict, depth: int, parent_path: tuple[str, ...], is_column: bool) -> Node:
    label = raw.get("label")
    path = parent_path + ((label,) if label else ())
    children = tuple(_node(c, depth + 1, path, is_column) for c in raw.get("children", ()))
    return Node(
        key=raw["key"], label=label, children=children, depth=depth,
        type=raw.get("type") if is_column else None,
        unit=raw.get("unit"), unit_field=raw.get("unit_field"), path=path,
    )


@cache
def _meta_schema() -> dict:
    return json.loads((schemas_dir() / "format.schema.json").read_text(encoding="utf-8"))


@cache
def _schema_validator() -> Any:
    """A validator of ``format.schema.json``, the schema itself checked once (not once per spec)."""
    import jsonschema

    schema = _meta_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def check_against_schema(data: dict[str, Any]) -> None:
    """SpecError unless ``data`` satisfies ``format.schema.json`` (imports jsonschema: ~0.1 s)."""
    from jsonschema.exceptions import best_match

    e = best_match(_schema_validator().iter_errors(data))
    if e is not None:
        raise SpecError(f"spec {data.get('edition')!r}: {e.message} at {list(e.absolute_path)}")


def parse_spec(data: dict[str, Any], *, schema_checked: bool = False) -> Spec:
    """Build a Spec from parsed JSON, checking it against the JSON Schema first (unless the caller
    knows these very bytes passed it: ``schema_checked``)."""
    if not schema_checked:
        check_against_schema(data)
    tables = []
    cells: dict[str, Cell] = {}
    for t in data["tables"]:
        grids = []
        for g in t["grids"]:
            grid = Grid(
                key=g["key"], table=t["key"], caption=g.get("caption"), corner=g.get("corner"),
                columns=tuple(_node(c, 0, (), True) for c in g["columns"]),
                rows=tuple(_node(r, 0, (), False) for r in g["rows"]),
                caption_en=g.get("caption_en"),
            )
            for kind, nodes in (("row", grid.all_rows()), ("column", grid.all_columns())):
                keys = [n.key for n in nodes]
                if len(keys) != len(set(keys)):
                    raise SpecError(f"grid {grid.key}: duplicate {kind} keys")
            for r in grid.leaf_rows():
                for c in grid.leaf_columns():
                    k = grid.cell_key(r.key, c.key)
                    if k in cells:
                        raise SpecError(f"duplicate cell key {k}")
                    cells[k] = Cell(k, t["key"], grid.key, r, c)
            grids.append(grid)
        tables.append(Table(t["key"], t["sheet"], t["en"], t["title"], tuple(grids)))
    by_grid = {g.key: g for t in tables for g in t.grids}
    meta = _metadata(data)
    meta_keys = {m.key for m in meta}
    equations: list[Equation] = []
    for rel in data["relations"]:
        grid = by_grid.get(rel["grid"])
        if grid is None:
            raise SpecError(f"relation {rel['rule']}: unknown grid {rel['grid']}")
        when = None
        if "when" in rel:
            if rel["when"]["field"] not in meta_keys:
                raise SpecError(f"relation {rel['rule']}: unknown field {rel['when']['field']}")
            when = (rel["when"]["field"], tuple(rel["when"]["in"]))
        along_nodes = grid.leaf_columns() if rel["over"] == "columns" else grid.leaf_rows()
        named = {n.key for n in (grid.leaf_rows() if rel["over"] == "columns" else grid.leaf_columns())}
        for k in rel["lhs"] + rel["rhs"]:
            if k not in named:
                raise SpecError(f"relation {rel['rule']}: {k} is not a leaf {'row' if rel['over'] == 'columns' else 'column'} of {grid.key}")
        for along in along_nodes:
            def key(k: str, along: Node = along, grid: Grid = grid, over: str = rel["over"]) -> str:
                return grid.cell_key(k, along.key) if over == "columns" else grid.cell_key(along.key, k)
            equations.append(Equation(
                rule=rel["rule"], grid=grid.key, op=rel["op"],
                lhs=tuple(key(k) for k in rel["lhs"]), rhs=tuple(key(k) for k in rel["rhs"]),
                along=along, over=rel["over"], when=when, index=len(equations), words=rel["words"],
            ))
    return Spec(
        edition=data["edition"], name=data["name"], issued_with=data["issued_with"],
        first_year=data["years"]["first"], last_year=data["years"]["last"],
        metadata=meta,
        sections=_sections(data),
        tables=tuple(tables), equations=tuple(equations),
        narrative_topics=_narrative_topics(data, cells), carry_over=_carry_over(data, cells),
        fee_statement=FeeStatement(**data["fee_statement"]), merge=MergeFacts(**data["merge"]), cells=cells, source=data,
    )


def _carry_over(data: dict[str, Any], cells: dict[str, Cell]) -> CarryOver:
    """The spec's carry-over relation; both rows must hold a value cell in every column of the grid."""
    c = data["carry_over"]
    out = CarryOver(c["grid"], c["this_year_row"], c["last_year_row"])
    grid = next((g for t in data["tables"] for g in t["grids"] if g["key"] == out.grid), None)
    if grid is None:
        raise SpecError(f"spec {data['edition']!r}: carry_over: no grid {out.grid!r}")
    for row in (out.this_year_row, out.last_year_row):
        if not any(k.startswith(f"{out.grid}.{row}.") for k in cells):
            raise SpecError(f"spec {data['edition']!r}: carry_over: {row!r} is not a row of value cells of {out.grid!r}")
    return out


def field_roles() -> tuple[str, ...]:
    """The roles a metadata field may have, as ``format.schema.json`` lists them."""
    return tuple(_meta_schema()["$defs"]["field_role"]["enum"])


def _metadata(data: dict[str, Any]) -> tuple[Field, ...]:
    """The spec's metadata fields, each role of :func:`field_roles` held by exactly one of them."""
    out = tuple(Field(m["key"], m["label"], m["type"], m["required"], tuple(m.get("choices", ())), m.get("hint", ""),
                      m.get("role")) for m in data["metadata"])
    for role in field_roles():
        holders = [f.key for f in out if f.role == role]
        if len(holders) != 1:
            raise SpecError(f"spec {data['edition']!r}: the metadata role {role!r} must be given to exactly one field "
                            f"(found: {', '.join(holders) or 'none'})")
    return out


def section_roles() -> tuple[str, ...]:
    """The roles a section may have, as ``format.schema.json`` lists them (each one a prose rule needs)."""
    return tuple(_meta_schema()["$defs"]["section_role"]["enum"])


def _sections(data: dict[str, Any]) -> tuple[Section, ...]:
    """The spec's sections, each role of :func:`section_roles` held by exactly one of them."""
    out = tuple(Section(s["key"], s["heading"], s["heading_en"], s["zh"], s["en"], tuple(s.get("roles", ()))) for s in data["sections"])
    keys = [s.key for s in out]
    if len(keys) != len(set(keys)):
        raise SpecError(f"spec {data['edition']!r}: duplicate section keys")
    for role in section_roles():
        holders = [s.key for s in out if role in s.roles]
        if not holders:
            raise SpecError(f"spec {data['edition']!r}: no section has the role {role!r}; the prose rules need one "
                            f"(give it with \"roles\": [\"{role}\"] on that section)")
        if len(holders) > 1:
            raise SpecError(f"spec {data['edition']!r}: the role {role!r} is given to sections {', '.join(holders)}; "
                            f"a role belongs to one section")
    return out


def _narrative_topics(data: dict[str, Any], cells: dict[str, Cell]) -> tuple[NarrativeTopic, ...]:
    """The spec's narrative topics, each name once and every key a value cell of this edition."""
    out: list[NarrativeTopic] = []
    for t in data["narrative_topics"]:
        where = f"spec {data['edition']!r}: narrative topic {t['name']!r}"
        if any(o.name == t["name"] for o in out):
            raise SpecError(f"{where}: the name is used twice")
        for k in (k for group in t["alternatives"] for k in group):
            if k not in cells:
                raise SpecError(f"{where}: {k} is not a value cell of this edition")
        out.append(NarrativeTopic(t["name"], t["zh"], t["en"], tuple(tuple(g) for g in t["alternatives"])))
    return tuple(out)


#: folders of further spec files (``format-<edition>.json``), separated like PATH: a new edition of the
#: official tables can be tried out — or used before a gxsheet release ships it — without code changes
SPECS_ENV = "GXSHEET_SPECS"


def spec_dirs() -> tuple[Path, ...]:
    """Where spec files are looked for: the bundled ``schemas/``, then the folders in ``$GXSHEET_SPECS``."""
    extra = tuple(Path(p) for p in os.environ.get(SPECS_ENV, "").split(os.pathsep) if p.strip())
    return (schemas_dir(), *extra)


def _spec_files() -> dict[str, Path]:
    """edition → its spec file; a bundled edition cannot be replaced from outside."""
    out: dict[str, Path] = {}
    for d in spec_dirs():
        for f in sorted(d.glob("format-*.json")):
            out.setdefault(f.stem.split("-", 1)[1], f)
    return out


@cache
def load_spec(edition: str) -> Spec:
    """The spec of one edition (cached: specs are immutable)."""
    path = _spec_files().get(edition)
    if path is None or not path.is_file():
        raise KeyError(f"unknown edition {edition!r}; known: {', '.join(editions())}")
    raw = path.read_bytes()
    data = json.loads(raw.decode("utf-8"))
    usercache.checked_once(SCHEMA_CHECKED, (raw, (schemas_dir() / "format.schema.json").read_bytes()),
                           lambda: check_against_schema(data))
    return parse_spec(data, schema_checked=True)


#: the usercache kind of "these spec bytes passed this format.schema.json"
SCHEMA_CHECKED = "spec-schema-checked"


@cache
def editions() -> tuple[str, ...]:
    """All editions that have a spec file, oldest first."""
    return tuple(sorted(_spec_files()))


def all_specs() -> list[Spec]:
    return [load_spec(e) for e in editions()]


def edition_for_year(year: int) -> str | None:
    """The edition a report for ``year`` must use, or None when no edition covers it.

    When editions overlap (an edition still open-ended when a newer one is added) the newest that
    covers the year wins: a new format supersedes the old one from its first year.
    """
    covering = [s for s in all_specs() if s.covers_year(year)]
    return max(covering, key=lambda s: s.first_year).edition if covering else None
