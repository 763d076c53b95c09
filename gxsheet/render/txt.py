"""The report as plain text: what a clerk pastes into a web CMS (usually inside ``<pre>``).

Everything is derived from the spec: the title, the six headings in official order, each
section's prose, and tables 二/三/四 after the prose of their section. Tables are drawn as
"simple tables" (the reStructuredText convention): a row of ``=`` segments above the header, one
between header and body and one below, each segment marking a column; a column group's label sits
centred over its columns with a ``-`` underline spanning exactly those columns, so the official
multi-level header (申请人情况 › 法人或其他组织 › 商业企业 …) reads top-down like the printed form.
Nested row labels are indented two columns per level; a group row (三、本年度办理结果,
（三）不予公开) stands on its own line without numbers, as it carries none.

Widths count display columns: a CJK character (east-asian width W or F) takes two, everything
else one, except east-asian *ambiguous* characters (the curly quotes of “三安全一稳定”, ·, …, —),
which also take two: on a Chinese page the browser's monospace font is a CJK one (NSimSun on
Windows, Noto Sans Mono CJK on Linux) and it draws them full-width, as did the GB legacy encodings.
Only ASCII ``=``/``-``/space are used for rules: box-drawing characters are ambiguous-width too,
but drawn half-width by the Latin fonts some sites put first, which would break every rule line. Labels too long for their column wrap onto
continuation lines (with a hanging indent after the enumerator), so the widest table stays
around 100 columns.

``parse_txt_tables`` reads the tables of such a text back (guided by the spec) so tests can
check every label and every number is where it belongs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gxsheet.core import sanitise
from gxsheet.core.display import char_width, display_width, pad, slice_columns
from gxsheet.core.findings import SEVERITY_ZH, Finding, finding_text, fmt_number, summary
from gxsheet.core.record import Record, Value
from gxsheet.core.spec import Grid, Node, Spec, Table
from gxsheet.core.wording import plural

#: the widest a table may get before header labels are wrapped harder (display columns)
MAX_WIDTH = 100
#: row labels longer than this wrap onto continuation lines
LABEL_MAX = 40
#: spaces between two columns
GAP = 2
#: indentation per row-label level
INDENT = 2
#: how narrow header labels may be wrapped, tried widest first (None: not wrapped)
HEADER_CAPS: tuple[int | None, ...] = (None, 12, 8, 4)
#: paragraph indent of Chinese body text (two full-width spaces, survives pasting into a CMS)
PARA_INDENT = "\u3000\u3000"
#: the document's name, used when the spec name does not have the expected shape
REPORT_NAME = "政府信息公开工作年度报告"

_NO_LINE_START = set("，。、；：？！）》」』”’%")
_NO_LINE_END = set("（《「『“‘")
_ENUMERATOR = re.compile(r"^(（[一二三四五六七八九十]+）|[一二三四五六七八九十]+、|\d+[.．、])")
_SPACES = re.compile(r"\s+")


def wrap(text: str, width: int) -> list[str]:
    """Break ``text`` into lines of at most ``width`` display columns.

    Chinese has no spaces to break at, so lines break between any two characters, except that
    closing punctuation never starts a line and opening punctuation never ends one; a break just
    before an opening bracket (…件数 / （单位：万元）) is preferred when it does not waste much.
    """
    if width <= 0 or display_width(text) <= width:
        return [text]
    lines: list[str] = []
    rest = text
    while display_width(rest) > width:
        cut, used = 0, 0
        while cut < len(rest) and used + char_width(rest[cut]) <= width:
            used += char_width(rest[cut])
            cut += 1
        cut = max(cut, 1)
        best = cut
        for k in range(cut - 1, max(0, cut - 6), -1):  # prefer a break before an opening bracket
            if rest[k] in _NO_LINE_END and display_width(rest[:k]) * 3 >= width * 2:
                best = k
                break
        while best > 1 and (rest[best] in _NO_LINE_START if best < len(rest) else False):
            best -= 1
        while best > 1 and rest[best - 1] in _NO_LINE_END:
            best -= 1
        lines.append(rest[:best])
        rest = rest[best:]
    if rest:
        lines.append(rest)
    return lines


def _wrap_hanging(text: str, width: int, hang: int) -> list[str]:
    first = wrap(text, width)[0]
    rest = text[len(first):]
    return [first] + ([" " * hang + line for line in wrap(rest, width - hang)] if rest else [])


def wrap_label(text: str, width: int) -> list[str]:
    """Wrap a row label with a hanging indent after its enumerator (（二）, 三、, 1.).

    Lines are balanced: the narrowest width that needs no more lines than ``width`` does is
    used, so a label never ends with one orphaned character on its last line.
    """
    if display_width(text) <= width:
        return [text]
    m = _ENUMERATOR.match(text)
    hang = display_width(m.group(0)) if m and display_width(m.group(0)) < width // 2 else 0
    best = _wrap_hanging(text, width, hang)
    w = width - 1
    while w > hang + 4:
        trial = _wrap_hanging(text, w, hang)
        if len(trial) > len(best):
            break
        best = trial
        w -= 1
    return best


def wrap_balanced(text: str, width: int) -> list[str]:
    """:func:`wrap` with lines of even length (for the corner text)."""
    best = wrap(text, width)
    w = width - 1
    while w > 4:
        trial = wrap(text, w)
        if len(trial) > len(best):
            break
        best, w = trial, w - 1
    return best


# ---------------------------------------------------------------------------------- values
def format_value(v: Value) -> str:
    """A cell as the clerk typed it: 12 not 12.0; text kept (a forced export shows 十 or 无)."""
    if v is None:
        return ""
    if isinstance(v, str):
        return _SPACES.sub(" ", v).strip()
    return fmt_number(v)


def report_title(record: Record) -> str:
    """「<单位名称><年度>年政府信息公开工作年度报告」 from the record's metadata."""
    doc = re.sub(r"格式.*$", "", record.spec.name).removeprefix("中华人民共和国") or REPORT_NAME
    unit = str(record.role("unit_name") or "").strip()
    year = record.role("year")
    year_text = f"{year}年" if year not in (None, "") else ""
    return f"{unit}{year_text}{doc}"


def tables_of_section(spec: Spec, numeral: str) -> list[Table]:
    """The tables printed under the section with this numeral (二 → table 二)."""
    return [t for t in spec.tables if t.section_numeral == numeral]


def unit_notes(record: Record, table: Table) -> list[str]:
    """``注：采购总金额单位：元`` for columns whose unit is a metadata field (2019 （九）).

    The official form prints no unit for such a column; an amount without its unit is
    ambiguous (V-UNIT), so the published document states the unit the clerk declared.
    """
    spec = record.spec
    notes: list[str] = []
    seen: set[str] = set()
    for g in table.grids:
        for c in g.leaf_columns():
            if c.unit_field and c.unit_field not in seen:
                seen.add(c.unit_field)
                v = record.meta.get(c.unit_field)
                if v not in (None, ""):
                    notes.append(f"注：{spec.field(c.unit_field).label}：{v}")
    return notes


# ---------------------------------------------------------------------------------- table model
@dataclass
class _Canvas:
    """Lines of text built by placing strings at display columns."""

    lines: list[list[tuple[int, str]]] = field(default_factory=list)

    def new(self, n: int = 1) -> int:
        self.lines.extend([] for _ in range(n))
        return len(self.lines) - n

    def put(self, line: int, col: int, text: str) -> None:
        if text:
            self.lines[line].append((col, text))

    def render(self) -> list[str]:
        out = []
        for items in self.lines:
            s, at = "", 0
            for col, text in sorted(items):
                s += " " * max(0, col - at) + text
                at = max(at, col) + display_width(text)
            out.append(s.rstrip())
        return out


@dataclass
class _GridPlan:
    """Column geometry of one grid: label area width, leaf widths and their start columns."""

    grid: Grid
    label_width: int
    widths: list[int]
    starts: list[int]
    header_cap: int | None

    @property
    def width(self) -> int:
        return self.starts[-1] + self.widths[-1]

    def span(self, node: Node) -> tuple[int, int]:
        """(start, end) display columns covered by a column node's leaves."""
        leaves = self.grid.leaf_columns()
        idx = [i for i, leaf in enumerate(leaves) if leaf in node.leaves()]
        return self.starts[idx[0]], self.starts[idx[-1]] + self.widths[idx[-1]]


def _label_area(grids: Iterable[Grid]) -> int:
    """Width of the row-label column shared by the grids of one table (0 when unlabelled)."""
    widths = [n.depth * INDENT + display_width(n.label) for g in grids for n in g.all_rows() if n.label]
    return min(max(widths), LABEL_MAX) if widths else 0


def _plan(grid: Grid, label_width: int, cells: dict[str, str]) -> _GridPlan:
    leaves = grid.leaf_columns()
    value_w = [max([display_width(cells.get(grid.cell_key(r.key, c.key), "")) for r in grid.leaf_rows()] + [1])
               for c in leaves]
    plan = None
    for cap in HEADER_CAPS:
        widths = []
        for c, vw in zip(leaves, value_w, strict=True):
            lines = wrap(c.label or "", cap) if cap else [c.label or ""]
            widths.append(max(vw, max(display_width(x) for x in lines)))
        starts, at = [], (label_width + GAP if label_width else 0)
        for w in widths:
            starts.append(at)
            at += w + GAP
        plan = _GridPlan(grid, label_width, widths, starts, cap)
        if plan.width <= MAX_WIDTH:
            break
    assert plan is not None
    return plan


def _segments(plan: _GridPlan, ch: str) -> str:
    parts = ([ch * plan.label_width] if plan.label_width else []) + [ch * w for w in plan.widths]
    return (" " * GAP).join(parts)


def _header(plan: _GridPlan, canvas: _Canvas) -> None:
    grid = plan.grid
    depth = grid.header_depth
    bands: list[tuple[int, list[tuple[Node, list[str]]]]] = []
    for d in range(depth - 1):
        groups = []
        for n in grid.all_columns():
            if n.depth == d and not n.is_leaf and n.label:
                a, b = plan.span(n)
                groups.append((n, wrap(n.label, b - a)))
        if groups:
            bands.append((d, groups))
    leaves = [(c, wrap(c.label or "", plan.header_cap) if plan.header_cap else [c.label or ""])
              for c in grid.leaf_columns()]
    leaf_lines = max(len(lines) for _, lines in leaves)
    body_lines = sum(max(len(x) for _, x in groups) + 1 for _, groups in bands) + leaf_lines
    corner = wrap_balanced(grid.corner, plan.label_width) if grid.corner and plan.label_width else []
    top = canvas.new(max(body_lines, len(corner)))
    line = top + max(0, len(corner) - body_lines)
    for _, groups in bands:
        n_lines = max(len(x) for _, x in groups)
        for node, lines in groups:
            a, b = plan.span(node)
            for i, text in enumerate(lines):
                canvas.put(line + i, a, pad(text, b - a, "center").rstrip())
            canvas.put(line + n_lines, a, "-" * (b - a))
        line += n_lines + 1
    for i, (_c, lines) in enumerate(leaves):
        for j, text in enumerate(lines):
            canvas.put(line + j, plan.starts[i], pad(text, plan.widths[i], "center").rstrip())
    end = line + leaf_lines
    for i, text in enumerate(corner):
        canvas.put(end - len(corner) + i, 0, text)


def _body(plan: _GridPlan, canvas: _Canvas, cells: dict[str, str]) -> None:
    grid = plan.grid
    leaves = grid.leaf_columns()
    for node in grid.all_rows():
        values = [cells.get(grid.cell_key(node.key, c.key), "") for c in leaves] if node.is_leaf else []
        lines = [""]
        indent = node.depth * INDENT
        if node.label and plan.label_width:
            lines = wrap_label(node.label, plan.label_width - indent)
        first = canvas.new(len(lines))
        for i, text in enumerate(lines):
            canvas.put(first + i, indent, text)
        for i, v in enumerate(values):
            canvas.put(first, plan.starts[i], pad(v, plan.widths[i], "right"))


def render_grid(grid: Grid, values: dict[str, Value], label_width: int) -> list[str]:
    """One grid as a simple table (caption, ``=`` rules, header block, body)."""
    cells = {k: format_value(v) for k, v in values.items()}
    plan = _plan(grid, label_width, cells)
    canvas = _Canvas()
    if grid.caption:
        canvas.put(canvas.new(), 0, grid.caption)
    canvas.put(canvas.new(), 0, _segments(plan, "="))
    _header(plan, canvas)
    canvas.put(canvas.new(), 0, _segments(plan, "="))
    _body(plan, canvas, cells)
    canvas.put(canvas.new(), 0, _segments(plan, "="))
    return canvas.render()


def render_table(table: Table, values: dict[str, Value]) -> list[str]:
    """All grids of one official table, sharing one label column width (table 二's blocks)."""
    label_width = _label_area(table.grids)
    out: list[str] = []
    for i, g in enumerate(table.grids):
        if i:
            out.append("")
        out += render_grid(g, values, label_width)
    return out


# ---------------------------------------------------------------------------------- findings
def render_findings(findings: Sequence[Finding], lang: str = "zh") -> list[str]:
    """The findings block appended to a forced export: counts, then one numbered line each."""
    errors, warnings = summary(list(findings))
    if lang == "en":
        lines = ["Validation findings",
                 f"Exported with --force: {plural(errors, 'error')}, {plural(warnings, 'warning')}. Correct them before publishing."]
    else:
        lines = ["校验结果",
                 f"本报告按 --force 导出，仍有错误 {errors} 项、疑问 {warnings} 项，发布前请更正。"]
    for i, f in enumerate(findings, 1):
        sev = f.severity if lang == "en" else SEVERITY_ZH.get(f.severity, f.severity)
        msg = f.message(lang)
        cells = [c for c in f.cells if c not in msg]
        where = ""
        if cells:
            shown = "、".join(cells[:6]) + ("…" if len(cells) > 6 else "")
            where = f" [{shown}]" if lang == "en" else f"（{shown}）"
        lines.append(f"{i}. [{sev}] {f.rule} {msg}{where}" if lang == "en" else f"{i}.【{sev}】{f.rule} {msg}{where}")
    return lines


# ---------------------------------------------------------------------------------- the report
def _paragraphs(text: str | None) -> list[str]:
    if not text:
        return []
    out = []
    for para in str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        p = para.strip(" \t\u3000\u00a0")
        if p:
            out.append(PARA_INDENT + p)
    return out


def render_txt(record: Record, findings: Sequence[Finding] | None = None, lang: str = "zh") -> str:
    """The complete report as UTF-8 text in official order, findings at the end when given.

    ``lang`` only affects the findings block: the report itself is the official Chinese text.
    Submission text passes :func:`gxsheet.core.sanitise.txt` (no control or escape sequence
    reaches the file; line breaks and tabs of the prose are kept).
    """
    record = record.with_text(sanitise.txt)
    findings = [finding_text(f, sanitise.txt) for f in findings] if findings else findings
    spec = record.spec
    body: list[str] = []
    widest = 0
    for sec in spec.sections:
        body += ["", sec.heading]
        paras = _paragraphs(record.prose.get(sec.key))
        if paras:
            body += [""] + [x for p in paras for x in (p, "")][:-1]
        for t in tables_of_section(spec, sec.numeral):
            lines = render_table(t, record.values)
            widest = max([widest] + [display_width(x) for x in lines])
            body += [""] + lines
            notes = unit_notes(record, t)
            if notes:
                body += notes
    title = report_title(record)
    width = max(widest, 72)
    out = [pad(title, width, "center").rstrip()] + body
    if findings:
        out += ["", "-" * width] + render_findings(findings, lang)
    return "\n".join(out).rstrip("\n") + "\n"


__all__ = [
    "display_width", "format_value", "render_findings", "render_grid", "render_table", "render_txt", "report_title",
    "slice_columns", "tables_of_section", "unit_notes", "wrap", "wrap_label",
]
