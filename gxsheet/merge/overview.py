"""概况: the county at a glance, in the county workbook and in the county's own report.

Who reported and how they fared, the county's key figures, what the applications came to, the
review and litigation cases, the problems towns make most, and native charts of them (made by
the workbook itself, so they stay live: they read the cells the figures are in). The sheet is laid
out once, here, as data (:class:`Overview`: cells, merged rows, widths, charts, the page break)
and written by two small writers — XlsxWriter for the county workbook (the figures read the 汇总
sheet's 合计 row, the facts count its status column) and openpyxl for the county report (the
standard template: the figures read the report's own 表二–表四 cells).

On paper it is two landscape A4 pages: the tables and three charts on the first; the most common
problems, the review and litigation table and, for up to :data:`PRINTED_UNITS` units, the
applications per unit on the second. A larger county's per-unit chart (county workbook only) sits
below the printed area: a chart of hundreds of bars is for the screen, and the numbers per unit
print on 打印-表三.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from xlsxwriter.utility import xl_col_to_name

from gxsheet.core.display import LINE_PT, ROW_PAD_PT, cell_lines
from gxsheet.core.spec import Spec
from gxsheet.merge.columns import unit_label
from gxsheet.merge.county import INCLUDED_YES, STATUS_OK, SUMMARY_SHEET, MergeResult, rule_title
from gxsheet.merge.print_tables import sheet_name
from gxsheet.merge.style import (
    DIGIT_PX,
    STYLES,
    InRowOrder,
    county_title,
    print_setup,
    safe,
    set_height,
    set_widths,
)

if TYPE_CHECKING:
    import xlsxwriter
    from openpyxl.workbook import Workbook

    from gxsheet.merge.style import Formats

OVERVIEW_SHEET = "概况"
#: units the per-unit chart shows on paper (page 2); more bars than this do not fit a page readably
PRINTED_UNITS = 20
#: the most common problems listed
TOP_RULES = 6
#: column widths (characters): A-B facts and problems · D-G figures and cases · I-J outcomes
WIDTHS = (26.0, 8.0, 2.0, 38.0, 9.0, 9.0, 9.0, 2.0, 24.0, 8.0)
#: pixels per bar of the per-unit chart, and its frame
BAR_PX, BAR_FRAME_PX = 18, 80
CHART_PX = 260
GOOD, BAD, WARN, BLUE, ORANGE = "#63BE7B", "#F8696B", "#FFD966", "#5B9BD5", "#ED7D31"


@dataclass(frozen=True)
class Ref:
    """A range (0-based, inclusive) as a chart or formula names it: ``'汇总'!$A$5:$A$14``."""

    sheet: str
    r0: int
    c0: int
    r1: int
    c1: int

    def a1(self) -> str:
        a = f"${xl_col_to_name(self.c0)}${self.r0 + 1}"
        b = f"${xl_col_to_name(self.c1)}${self.r1 + 1}"
        return f"'{self.sheet}'!{a}" + (f":{b}" if (self.r0, self.c0) != (self.r1, self.c1) else "")


@dataclass(frozen=True)
class Put:
    """One cell: a value, or a formula with ``value`` its cached result; ``style`` names a STYLES entry."""

    row: int
    col: int
    value: str | int | float
    style: str
    formula: str | None = None


@dataclass(frozen=True)
class Series:
    name: str
    categories: Ref
    values: Ref
    colour: str | None = None
    point_colours: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chart:
    kind: str  # pie / bar (horizontal) / column
    title: str
    series: tuple[Series, ...]
    row: int
    col: int
    width: int  # pixels
    height: int
    legend: bool = False  # at the bottom
    category_labels: bool = False  # pie: the category beside its value
    value_labels: bool = True  # each bar's number on it (not where the table beside says them)


@dataclass
class Overview:
    """The 概况 sheet as data; rows and columns 0-based."""

    cells: list[Put] = field(default_factory=list)
    merges: list[tuple[int, int, int]] = field(default_factory=list)  # row, first col, last col
    heights: dict[int, float] = field(default_factory=dict)  # points
    charts: list[Chart] = field(default_factory=list)
    page_break: int = 0  # first row of page 2
    last_row: int = 0  # of the printed area
    widths: Sequence[float] = WIDTHS

    def put(self, row: int, col: int, value: str | int | float, style: str = "cell", formula: str | None = None) -> None:
        self.cells.append(Put(row, col, safe(value) if isinstance(value, str) else value, style, formula))

    def fit_rows(self) -> None:
        """Rows as tall as their wrapped text (a merged row keeps the height it was given)."""
        merged = {(r, c0) for r, c0, _ in self.merges}
        need: dict[int, int] = {}
        for p in self.cells:
            if isinstance(p.value, str) and (p.row, p.col) not in merged and p.col < len(self.widths):
                lines = cell_lines(p.value, self.widths[p.col])
                need[p.row] = max(need.get(p.row, 1), lines)
        for r, lines in need.items():
            if lines > 1:
                self.heights[r] = max(self.heights.get(r, 0.0), lines * LINE_PT + ROW_PAD_PT)


@dataclass(frozen=True)
class SummaryRanges:
    """Where the county workbook's 汇总 rows are (0-based): the facts count them, the per-unit chart reads them."""

    first: int
    last: int
    status_col: int
    counted_col: int
    name_col: int
    col_of: Callable[[str], int]  # value key → its column


# ============================================================================ what the sheet says


def topic_keys(spec: Spec, name: str) -> tuple[str, ...]:
    """The cells of a narrative topic (spec.narrative_topics): what 'applications received' means in this edition."""
    topic = next((t for t in spec.narrative_topics if t.name == name), None)
    return topic.alternatives[0] if topic is not None else ()


def short_label(label: str) -> str:
    """A row label without its trailing explanation: （二）部分公开（区分处理的，只计这一情形…） → （二）部分公开."""
    short = re.sub(r"（[^（）]*）$", "", label)
    return short if short.strip("（）一二三四五六七八九十") else label


def outcome_groups(spec: Spec) -> list[tuple[str, tuple[str, ...]]]:
    """The results of the applications handled, by kind: (label, cells) — （三）不予公开 is its eight
    reasons together. From the spec: the parts of the equation whose total is the 'handled' topic,
    grouped by the row label under their common parent (三、本年度办理结果)."""
    handled = topic_keys(spec, "handled")
    parts = next((e.rhs for e in spec.equations if handled and e.lhs == handled), ())
    if not parts:
        return []
    paths = [spec.cells[k].row.path for k in parts]
    depth = 0
    while all(len(p) > depth + 1 for p in paths) and len({p[depth] for p in paths}) == 1:
        depth += 1
    groups: dict[str, list[str]] = {}
    for k, p in zip(parts, paths, strict=True):
        groups.setdefault(short_label(p[depth]), []).append(k)
    return [(label, tuple(keys)) for label, keys in groups.items()]


def case_groups(spec: Spec) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """Review and litigation: (name, total cell, ((outcome, cell), …)) per kind of case, from the
    equations whose total is a review or litigation topic."""
    keys = [k for name in ("review", "litigation") for k in topic_keys(spec, name)]
    out = []
    for e in spec.equations:
        if len(e.lhs) == 1 and e.lhs[0] in keys:
            path = spec.cells[e.lhs[0]].column.path
            name = path[0] + (f"（{'·'.join(path[1:-1])}）" if len(path) > 2 else "")
            out.append((name, e.lhs[0], tuple((spec.cells[k].column.path[-1], k) for k in e.rhs)))
    return out


def common_rules(result: MergeResult, n: int = TOP_RULES) -> list[tuple[str, int]]:
    """The rules most workbooks break: (rule, workbooks), from the entries' tallies (nothing read back)."""
    counts = Counter(rule for e in result.entries for rule in e.rule_counts)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def build(result: MergeResult, ref: Callable[[Sequence[str]], str], summary: SummaryRanges | None) -> Overview:
    """The 概况 sheet of ``result``.

    ``ref(keys)`` is a formula (without ``=``) summing the county value of ``keys``; ``summary`` says
    where the county workbook's 汇总 rows are (None for the county report: the facts are then
    plain numbers and the per-unit chart reads a small table on this sheet).
    """
    ov = _lay_out(result, ref, summary)
    ov.fit_rows()
    return ov


def _lay_out(result: MergeResult, ref: Callable[[Sequence[str]], str], summary: SummaryRanges | None) -> Overview:
    spec = result.spec
    ov = Overview()
    n = len(result.entries)
    totals = result.totals()
    ov.put(0, 0, f"{county_title(result)} · 概况", "title")
    ov.merges.append((0, 0, len(WIDTHS) - 1))
    ov.heights[0] = 28
    first_table, last_table = spec.tables[0], spec.tables[-1]
    if summary is not None:
        note = (f"数字取自“{SUMMARY_SHEET}”表的合计行（只计“计入合计”为“{INCLUDED_YES}”的工作簿），"
                f"在“{SUMMARY_SHEET}”表中修改后图表随之更新；"
                f"各单位的数字见“{sheet_name(first_table)}”至“{sheet_name(last_table)}”。")
    else:
        note = (f"数字取自本工作簿的{first_table.sheet}至{last_table.sheet}；"
                "报送情况和常见问题是汇总时的结果（各单位的明细见汇总表）。")
    ov.put(1, 0, note, "subtitle")
    ov.merges.append((1, 0, len(WIDTHS) - 1))
    ov.heights[1] = 18

    # A-B: who reported and how they fared
    ov.put(2, 0, "报送情况", "head")
    ov.put(2, 1, "个数", "head")
    live = summary is not None and n > 0
    if live:
        assert summary is not None
        status = Ref(SUMMARY_SHEET, summary.first, summary.status_col, summary.last, summary.status_col).a1()
        counted = Ref(SUMMARY_SHEET, summary.first, summary.counted_col, summary.last, summary.counted_col).a1()
    facts: list[tuple[str, str | None, int]] = [
        ("报送的工作簿", f"=ROWS({status})" if live else None, n),
        ("计入合计", f'=COUNTIF({counted},"{INCLUDED_YES}")' if live else None, len(result.included())),
        ("通过", f'=COUNTIF({status},"{STATUS_OK}")' if live else None, result.passed),
        ("有错误", f'=COUNTIF({status},"*错误*")' if live else None, result.errors),
        ("仅有疑问", "=B4-B6-B7" if live else None, result.warnings_only),
        ("无法读取的文件", None, sum(1 for u in result.unreadable if not u.previous)),
        ("跳过的文件（不是工作簿）", None, len(result.skipped)),
    ]
    if result.ordered:  # --order: the county's list of units
        facts.append(("名单上没有报送的单位", None, len(result.not_submitted)))
    for i, (label, formula, value) in enumerate(facts):
        ov.put(3 + i, 0, label)
        ov.put(3 + i, 1, value, "number", formula)

    def figure(row: int, col: int, keys: Sequence[str]) -> None:
        value = sum(totals[k] for k in keys)
        ov.put(row, col, value, "number", "=" + ref(keys) if n else None)

    # D-E: the county's key figures
    ov.put(2, 3, "全县合计（计入合计的单位）", "head")
    ov.put(2, 4, "件", "head")
    topics = {tp.name: tp for tp in spec.narrative_topics}
    names = [name for name in ("received", "carried", "handled", "disclosed_partial", "carry_forward", "review",
                               "litigation") if topic_keys(spec, name)]
    for i, name in enumerate(names):
        ov.put(3 + i, 3, topics[name].zh)
        figure(3 + i, 4, topic_keys(spec, name))
    # I-J: what the applications came to
    groups = outcome_groups(spec)
    ov.put(2, 8, "办理结果", "head")
    ov.put(2, 9, "件", "head")
    for i, (label, keys) in enumerate(groups):
        ov.put(3 + i, 8, label)
        figure(3 + i, 9, keys)
    table_end = 3 + max(len(facts), len(names), len(groups))

    # page 1's charts
    charts_row = table_end + 1
    ov.charts.append(Chart("pie", "各单位校验结果", (Series("校验结果", Ref(OVERVIEW_SHEET, 5, 0, 7, 0),
                                                         Ref(OVERVIEW_SHEET, 5, 1, 7, 1),
                                                         point_colours=(GOOD, BAD, WARN)),),
                           charts_row, 0, _px(WIDTHS[0:2]), CHART_PX, legend=True, category_labels=True))
    if groups:
        ov.charts.append(Chart("bar", "全县办理结果（件）", (Series("办理结果", Ref(OVERVIEW_SHEET, 3, 8, 2 + len(groups), 8),
                                                              Ref(OVERVIEW_SHEET, 3, 9, 2 + len(groups), 9),
                                                              colour=BLUE),),
                               charts_row, 3, _px(WIDTHS[3:7]), CHART_PX))
    cases = case_groups(spec)
    page2 = charts_row + CHART_PX // 20 + 2
    ov.page_break = page2
    case_row = page2
    if cases:
        outcomes = [o for o, _ in cases[0][2]]
        rows = [*outcomes, spec.cells[cases[0][1]].column.path[-1]]  # 总计
        ov.put(case_row, 3, "行政复议和行政诉讼", "head")
        for g, (name, total, parts) in enumerate(cases):
            ov.put(case_row, 4 + g, name, "head")
            for j, (_, k) in enumerate(parts):
                figure(case_row + 1 + j, 4 + g, [k])
            figure(case_row + 1 + len(parts), 4 + g, [total])
        for j, label in enumerate(rows):
            ov.put(case_row + 1 + j, 3, label)
        ov.heights[case_row] = 3 * 14.0 + 6
        series = tuple(Series(name, Ref(OVERVIEW_SHEET, case_row + 1, 3, case_row + len(outcomes), 3),
                              Ref(OVERVIEW_SHEET, case_row + 1, 4 + g, case_row + len(outcomes), 4 + g))
                       for g, (name, _, _) in enumerate(cases))
        ov.charts.append(Chart("column", "行政复议和行政诉讼（件）", series, charts_row, 8, _px(WIDTHS[8:10]), CHART_PX,
                               legend=True, value_labels=False))
    # A-B on page 2: the problems most workbooks have
    ov.put(case_row, 0, "最常见的问题", "head")
    ov.put(case_row, 1, "单位数", "head")
    rules = common_rules(result)
    for i, (rule, count) in enumerate(rules):
        ov.put(case_row + 1 + i, 0, f"{rule_title(rule)}（{rule}）")
        ov.put(case_row + 1 + i, 1, count, "number")
    if not rules:
        ov.put(case_row + 1, 0, "（没有发现问题）")
    block_end = case_row + 1 + max(len(cases[0][2]) + 1 if cases else 0, len(rules), 1)

    # applications per unit: on page 2 for a few units; for many, on screen below the printed area
    received = topic_keys(spec, "received")
    ov.last_row = block_end
    if not n or len(received) != 1:
        return ov
    row = block_end + 1
    if n > PRINTED_UNITS:
        where = "在下方，只在屏幕上看（不打印）" if summary is not None else f"见汇总表的“{OVERVIEW_SHEET}”"
        numbers = sheet_name(spec.table(spec.cells[received[0]].table))
        ov.put(row, 0, f"共{n}个单位：各单位{topics['received'].zh}的图表{where}；各单位的数字见“{numbers}”。", "subtitle")
        ov.merges.append((row, 0, len(WIDTHS) - 1))
        ov.last_row = row
        if summary is None:
            return ov
        row += 2  # a row apart: a chart touching the printed area is drawn (clipped) into the PDF
    if summary is not None:
        col = summary.col_of(received[0])
        cats = Ref(SUMMARY_SHEET, summary.first, summary.name_col, summary.last, summary.name_col)
        vals = Ref(SUMMARY_SHEET, summary.first, col, summary.last, col)
    else:  # the report has no 汇总 sheet: the chart's data sit beside it, not printed
        col = len(WIDTHS) + 1
        ov.put(row, col, unit_label(spec), "head")
        ov.put(row, col + 1, topics["received"].zh, "head")
        for i, e in enumerate(result.entries):
            value = e.values.get(received[0])
            ov.put(row + 1 + i, col, e.unit_name or e.path.name)
            ov.put(row + 1 + i, col + 1, value if isinstance(value, (int, float)) else 0, "number")
        cats = Ref(OVERVIEW_SHEET, row + 1, col, row + n, col)
        vals = Ref(OVERVIEW_SHEET, row + 1, col + 1, row + n, col + 1)
    height = min(BAR_FRAME_PX + BAR_PX * n, 4000)
    ov.charts.append(Chart("bar", f"各单位{topics['received'].zh}（件）",
                           (Series(topics["received"].zh, cats, vals, colour=ORANGE),), row, 0, _px(WIDTHS), height))
    if n <= PRINTED_UNITS:
        ov.last_row = row + height // 20 + 1
    return ov


def _px(widths: Sequence[float]) -> int:
    """The width in pixels of columns ``widths`` characters wide (what a chart spanning them needs)."""
    return int(sum(widths) * DIGIT_PX)


# ============================================================================ writing it


def write_xlsxwriter(wb: xlsxwriter.Workbook, fm: Formats, result: MergeResult, ov: Overview) -> None:
    """The sheet in the county workbook (constant_memory: cells replayed in row order)."""
    ws: Any = InRowOrder(wb.add_worksheet(OVERVIEW_SHEET))
    set_widths(ws, 0, ov.widths)
    merged = {(r, c0): c1 for r, c0, c1 in ov.merges}
    for r, pt in ov.heights.items():
        set_height(ws, r, pt)
    for p in ov.cells:
        fmt = getattr(fm, p.style)
        if (p.row, p.col) in merged:
            ws.merge_range(p.row, p.col, p.row, merged[(p.row, p.col)], p.value, fmt)
        elif p.formula:
            ws.write_formula(p.row, p.col, p.formula, fmt, p.value)
        elif isinstance(p.value, str):
            ws.write_string(p.row, p.col, p.value, fmt)
        else:
            ws.write_number(p.row, p.col, p.value, fmt)
    for ch in ov.charts:
        chart = wb.add_chart({"type": ch.kind})
        for s in ch.series:
            spec: dict[str, Any] = {"name": s.name, "categories": "=" + s.categories.a1(), "values": "=" + s.values.a1()}
            if ch.value_labels:
                spec["data_labels"] = {"value": True, "category": ch.category_labels}
            if s.colour:
                spec["fill"] = {"color": s.colour}
            if s.point_colours:
                spec["points"] = [{"fill": {"color": c}} for c in s.point_colours]
            chart.add_series(spec)
        chart.set_title({"name": ch.title, "name_font": {"size": 11}})
        chart.set_legend({"position": "bottom"} if ch.legend else {"none": True})
        if ch.kind == "bar":  # categories top down, as in the table, every one named
            chart.set_y_axis({"reverse": True, "interval_unit": 1, "num_font": {"size": 8}})
        chart.set_size({"width": ch.width, "height": ch.height})
        ws.insert_chart(ch.row, ch.col, chart)
    ws.hide_gridlines(2)
    ws.set_h_pagebreaks([ov.page_break])
    print_setup(ws, result, last_row=ov.last_row, last_col=len(ov.widths) - 1, title=OVERVIEW_SHEET)
    ws.flush()


def _openpyxl_style(props: dict[str, object]) -> dict[str, Any]:
    """A STYLES entry (XlsxWriter properties) as openpyxl cell attributes."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    out: dict[str, Any] = {"font": Font(name=props.get("font_name"), size=props.get("font_size"),
                                        bold=bool(props.get("bold")),
                                        color=("FF" + str(props["font_color"]).lstrip("#")) if "font_color" in props else None)}
    if props.get("bg_color"):
        rgb = "FF" + str(props["bg_color"]).lstrip("#")
        out["fill"] = PatternFill("solid", start_color=rgb, end_color=rgb)
    if props.get("border"):
        side = Side(style="thin", color="FF" + str(props.get("border_color", "#000000")).lstrip("#"))
        out["border"] = Border(left=side, right=side, top=side, bottom=side)
    valign = {"vcenter": "center"}.get(str(props.get("valign")), props.get("valign"))
    out["alignment"] = Alignment(horizontal=props.get("align"), vertical=valign, wrap_text=bool(props.get("text_wrap")))
    if props.get("num_format"):
        out["number_format"] = props["num_format"]
    return out


def _chart_title(text: str) -> Any:
    """A chart title in 11 pt bold (openpyxl's plain title is 18 pt: too large beside the tables)."""
    from openpyxl.chart.text import RichText, Text
    from openpyxl.chart.title import Title
    from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RegularTextRun

    font = CharacterProperties(sz=1100, b=True)
    para = Paragraph(pPr=ParagraphProperties(defRPr=font), r=[RegularTextRun(rPr=font, t=text)])
    return Title(tx=Text(rich=RichText(p=[para])), overlay=False)


def _font(size: int) -> Any:
    """Text properties of an axis: ``size`` in hundredths of a point."""
    from openpyxl.chart.text import RichText
    from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties

    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=CharacterProperties(sz=size)), endParaRPr=CharacterProperties())])


def write_openpyxl(wb: Workbook, result: MergeResult, ov: Overview, *, unit: object, year: object) -> None:
    """The sheet in the county report (the standard template, edited with openpyxl), added last."""
    from openpyxl.chart import BarChart, PieChart, Reference
    from openpyxl.chart.label import DataLabelList
    from openpyxl.chart.marker import DataPoint
    from openpyxl.chart.series import SeriesLabel
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.page import PageMargins
    from openpyxl.worksheet.pagebreak import Break

    from gxsheet.render.template import fit_to_width, page_furniture
    from gxsheet.render.xlsx_text import put_text

    ws = wb.create_sheet(OVERVIEW_SHEET)
    for j, w in enumerate(ov.widths):
        ws.column_dimensions[get_column_letter(j + 1)].width = w
    for r, pt in ov.heights.items():
        ws.row_dimensions[r + 1].height = pt
    styles = {name: _openpyxl_style(props) for name, props in STYLES.items()}
    for p in ov.cells:
        cell = ws.cell(p.row + 1, p.col + 1)
        if p.formula:
            cell.value = p.formula
        elif isinstance(p.value, str):
            put_text(cell, p.value)  # text stays text (a unit's name is whatever the town typed)
        else:
            cell.value = p.value
        for attr, v in styles[p.style].items():
            setattr(cell, attr, v)
    for r, c0, c1 in ov.merges:
        ws.merge_cells(start_row=r + 1, start_column=c0 + 1, end_row=r + 1, end_column=c1 + 1)

    def ref(x: Ref) -> Reference:
        sheet = ws if x.sheet == OVERVIEW_SHEET else wb[x.sheet]
        return Reference(sheet, min_col=x.c0 + 1, min_row=x.r0 + 1, max_col=x.c1 + 1, max_row=x.r1 + 1)

    for ch in ov.charts:
        chart: Any = PieChart() if ch.kind == "pie" else BarChart()
        if ch.kind != "pie":
            chart.type = "bar" if ch.kind == "bar" else "col"
            chart.x_axis.delete = chart.y_axis.delete = False  # openpyxl hides axes unless told
            if ch.kind == "bar":
                chart.x_axis.scaling.orientation = "maxMin"  # categories top down, as in the table
        for s in ch.series:
            chart.add_data(ref(s.values), titles_from_data=False)
            series = chart.series[-1]
            series.tx = SeriesLabel(v=s.name)
            if s.colour:
                series.graphicalProperties.solidFill = s.colour.lstrip("#")
            for i, colour in enumerate(s.point_colours):
                point = DataPoint(idx=i)
                point.graphicalProperties.solidFill = colour.lstrip("#")
                series.dPt.append(point)
        chart.set_categories(ref(ch.series[0].categories))
        if ch.value_labels:
            chart.dataLabels = DataLabelList(showVal=True, showCatName=ch.category_labels, showSerName=False,
                                             showLegendKey=False, showPercent=False)
        chart.title = _chart_title(ch.title)
        if ch.kind == "bar":  # every unit named, in 8 pt as in the county workbook
            chart.x_axis.tickLblSkip = 1
            chart.x_axis.txPr = _font(800)
        if ch.legend:
            chart.legend.position = "b"
        else:
            chart.legend = None
        chart.width, chart.height = ch.width * 2.54 / 96, ch.height * 2.54 / 96  # centimetres
        ws.add_chart(chart, f"{get_column_letter(ch.col + 1)}{ch.row + 1}")
    ws.sheet_view.showGridLines = False
    ws.row_breaks.append(Break(id=ov.page_break))
    fit_to_width(ws, f"A1:{get_column_letter(len(ov.widths))}{ov.last_row + 1}", "landscape", centred=False,
                 margins=PageMargins(left=0.4, right=0.4, top=0.7, bottom=0.6, header=0.3, footer=0.3))
    page_furniture(ws, result.edition, unit, year)
