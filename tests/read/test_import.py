"""Importing published reports: the five real seeds, Word/web/text round trips, editions, bad input.

The seed expectations are what a careful human reviewer reports for each real report (read line by
line; see the comments), asserted as the complete set of findings per seed — so a new false alarm
fails as surely as a missed problem. Arithmetic rules that do not apply are asserted absent.
"""

from __future__ import annotations

import functools
import html as _html
import json
import re
import shutil
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

import gxsheet.check.prose
import gxsheet.check.tables
import gxsheet.core.spec
import gxsheet.read.blocks
import gxsheet.read.headings
from gxsheet.check.prose import prose_figures
from gxsheet.check.validate import validate_record
from gxsheet.cli.app import main
from gxsheet.core.errors import LoadError
from gxsheet.core.layout import workbook_layout
from gxsheet.core.record import Record
from gxsheet.core.spec import SpecError, editions, load_spec, schemas_dir
from gxsheet.read.blocks import Cell, Imported, Para, Row, TableBlock, import_blocks, is_label, split_title
from gxsheet.read.docx import docx_blocks
from gxsheet.read.published import import_report
from gxsheet.read.registry import read_any
from gxsheet.read.txt import txt_blocks
from gxsheet.read.workbook import read_report
from gxsheet.render.docx import write_docx
from gxsheet.render.samples import write_sample
from gxsheet.render.txt import format_value, report_title, unit_notes
from gxsheet.render.workbook import write_record

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "examples" / "seeds"
SEED = {p.name[:3]: p for p in sorted(SEEDS.glob("*.txt"))}

ARITHMETIC = {"T3-IDENTITY", "T3-RESULT-TOTAL", "T3-ROW-TOTAL", "T4-GROUP-TOTAL", "T2-PUBLISHED", "T2-TOWN-RULES"}
NEVER_ON_SEEDS = {"V-NUMBER", "V-INTEGER", "V-NEGATIVE", "S-EDITION", "S-LAYOUT", "M-META", "N-SEC5-EMPTY", "N-FEE"}


def by_rule(findings) -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    for f in findings:
        out[f.rule].append(f)
    return out


def keys_of(findings) -> set[str]:
    return {k for f in findings for k in f.keys}


def grid_keys(edition: str, *prefixes: str) -> set[str]:
    return {k for k in load_spec(edition).cells if k.startswith(prefixes)}


@pytest.fixture(scope="module")
def seeds():
    out = {}
    for n, path in SEED.items():
        rec = read_any(path)
        out[n] = (rec, validate_record(rec))
    return out


def test_all_five_seeds_are_present():
    assert sorted(SEED) == ["000", "001", "002", "003", "004"]


def test_seeds_never_yield_unrelated_rules(seeds):
    for n, (rec, fs) in seeds.items():
        rules = {f.rule for f in fs}
        assert not rules & NEVER_ON_SEEDS, (n, rules)
        assert rec.edition == "2019" and not rec.missing, n


# ------------------------------------------------------------------ seed 000: 金瑞镇 2019


def test_seed_000_only_the_amount_unit(seeds):
    """A clean report: all zeros that add up, the period stated as the full year. The one thing
    to ask is whether 采购总金额 41521.5 is in 元 or 万元."""
    rec, fs = seeds["000"]
    assert rec.meta["unit_name"] == "金瑞镇" and rec.meta["level"] == "镇" and rec.meta["year"] == 2019
    assert (rec.meta["period_start"], rec.meta["period_end"]) == ("2019-01-01", "2019-12-31")
    assert rec.where["meta.period_start"] == "第2行"
    assert rec.values["t2_9.purchase.projects"] == 5 and rec.values["t2_9.purchase.amount"] == 41521.5
    assert [(f.rule, f.keys, f.cells) for f in fs] == [("V-UNIT", ["t2_9.purchase.amount"], ["第88行"])]
    assert not {f.rule for f in fs} & ARITHMETIC
    assert rec.headings_found == [s.heading for s in load_spec("2019").sections]
    assert rec.prose["s6"] == "无" and "[bookmark" not in (rec.prose["s5"] or "")
    # the prose states no applications and no cases, and the tables agree: N-TEXT-TABLE is silent for that reason
    assert {(x.topic, x.value) for x in prose_figures(rec)} == {("received", 0), ("review", 0), ("litigation", 0)}


# ------------------------------------------------------------------ seed 001: 乌兰花镇 2020


def test_unit_in_the_column_header_is_the_amount_unit(tmp_path):
    """采购总金额（万元） in the header states the unit: it becomes 采购总金额单位, no V-UNIT, no S-LABEL."""
    text = SEED["000"].read_text(encoding="utf-8").replace("\t采购总金额\n", "\t采购总金额（万元）\n")
    path = tmp_path / "unit.txt"
    path.write_text(text, encoding="utf-8")
    rec = import_report(path).record
    assert rec.meta["amount_unit"] == "万元" and rec.where["meta.amount_unit"] == "第80行"
    assert validate_record(rec) == []


def test_seed_001_numbers_with_spaces_are_numbers(seeds):
    """Every cell of 表三 is written ' 0' or '0 '; they are the number 0, not text, and nothing is
    reported. The unnumbered headings (总体情况 …) are all there, in order."""
    rec, fs = seeds["001"]
    assert rec.meta["unit_name"] == "乌兰花镇" and rec.meta["year"] == 2020  # title wraps over two lines
    assert rec.values["t3.received.natural"] == 0 and type(rec.values["t3.received.natural"]) is int
    assert rec.where["t3.received.natural"] == "第114行"
    assert all(type(v) is int for k, v in rec.values.items() if k.startswith(("t3.", "t4.")))
    assert fs == []  # 采购总金额 is 0: no unit needed, no V-UNIT


def test_seed_001_unrecognised_row_is_reported_with_its_line():
    imp = import_report(SEED["001"])
    notes = [n.zh for n in imp.notes]
    assert any("第91行" in n and "政府信息公开发布总数量" in n and "未导入" in n for n in notes)
    assert any("统计期限" in n and "没有写明" in n for n in notes)  # period not stated: full year assumed, and said


# ------------------------------------------------------------------ seed 002: 王店镇 2019


def test_seed_002_blank_tables_and_amount_with_unit(seeds):
    """表三 and 表四 are marked （无） and left blank: every cell is V-BLANK (not 0). 采购总金额 is
    typed as 288.79万元: kept as text, V-UNIT. Nothing else — blank cells make no arithmetic."""
    rec, fs = seeds["002"]
    r = by_rule(fs)
    assert set(r) == {"V-BLANK", "V-UNIT"}
    assert keys_of(r["V-BLANK"]) == grid_keys("2019", "t3.", "t4.")
    assert len(r["V-BLANK"]) == 23 * 7 + 15
    assert rec.values["t2_9.purchase.amount"] == "288.79万元"
    assert [(f.keys, f.cells) for f in r["V-UNIT"]] == [(["t2_9.purchase.amount"], ["第80行"])]
    assert "288.79万元" in r["V-UNIT"][0].message_zh
    assert rec.where["t3.carry_forward.total"] == "第343行"  # the last, empty cell of a row still has its line
    assert rec.meta["unit_name"] == "王店镇" and rec.meta["parent"] == "嘉兴市秀洲区" and rec.meta["level"] == "镇"
    assert rec.prose["s6"] == "无"  # the sign-off (办公室, date) is not prose
    assert rec.headings_found[2] == "三、收到和处理政府信息公开申请情况（无）"


# ------------------------------------------------------------------ seed 003: 于家房镇 2019

SEED_003_LABELS = [
    ("第107行", "一、本年新收到政府信息公开申请数量", "一、本年新收政府信息公开申请数量"),
    ("第116行", "二、上年结转政府信息公开数量", "二、上年结转政府信息公开申请数量"),
    ("第169行", "3.危机“三安全一稳定”", "3.危及“三安全一稳定”"),
    ("第213行", "7.属于行政法案卷", "7.属于行政执法案卷"),
    ("第248行", "2.没有现成信息需另行制作", "2.没有现成信息需要另行制作"),
]


def test_seed_003_blank_table_two_and_five_misspelt_labels(seeds):
    """表二 is left blank (spaces, a full-width space): V-BLANK on all 22 cells. Five row labels of
    表三 are misspelt; each row is still read (its zeros are in place) and each gets S-LABEL with
    the published and the official text."""
    rec, fs = seeds["003"]
    r = by_rule(fs)
    assert set(r) == {"V-BLANK", "S-LABEL"}
    assert keys_of(r["V-BLANK"]) == grid_keys("2019", "t2_")
    assert len(r["V-BLANK"]) == 22
    got = sorted((f.cells[0], f.message_zh) for f in r["S-LABEL"])
    assert len(got) == 5
    for (where, found, official), (cell, message) in zip(sorted(SEED_003_LABELS), got, strict=True):
        assert cell == where and f"“{found}”" in message and f"“{official}”" in message
    assert rec.values["t3.refused_safety.natural"] == 0 and rec.values["t3.unable_create.total"] == 0
    # the label （四）无法提供 that the conversion pushed onto its own line (第236行) still groups its rows
    assert rec.where["t3.unable_not_held.natural"] == "第238行"
    assert rec.meta["unit_name"] == "于家房镇人民政府" and rec.meta["parent"] == "沈阳市辽中区"


# ------------------------------------------------------------------ seed 004: 岭北镇 2019


def test_seed_004_what_a_reviewer_reports(seeds):
    """The period ends 12月21日; the prose says 受理依申请公开124件 while 表三 is all zeros; 二 is
    repeated after an extra part numbered 三; a town reports 规章 1/1/60; 采购总金额 is missing."""
    rec, fs = seeds["004"]
    r = by_rule(fs)
    assert set(r) == {"N-PERIOD", "N-TEXT-TABLE", "S-SECTIONS", "T2-TOWN-RULES", "V-BLANK"}

    assert rec.meta["period_end"] == "2019-12-21"
    [period] = r["N-PERIOD"]
    assert period.cells == ["第4行", "第4行"] and "12月21日" in period.message_zh

    [text] = r["N-TEXT-TABLE"]
    assert "t3.received.total" in text.keys and text.cells[0] == "第6行"
    assert "受理依申请公开124件" in text.message_zh and text.numbers["prose"] == 124 and text.numbers["table"] == 0

    sections = {tuple(f.cells): f for f in r["S-SECTIONS"]}
    assert set(sections) == {("第7行", "第32行"), ("第15行",)}
    assert "重复" in sections[("第7行", "第32行")].message_zh and sections[("第7行", "第32行")].keys == ["prose.s2"]
    assert "三、重点领域信息公开情况" in sections[("第15行",)].message_zh

    assert sorted(keys_of(r["T2-TOWN-RULES"])) == sorted(grid_keys("2019", "t2_1.rules."))
    assert {f.numbers["lhs"] for f in r["T2-TOWN-RULES"]} == {1, 60}

    [blank] = r["V-BLANK"]
    assert blank.keys == ["t2_9.purchase.amount"] and blank.cells[0].startswith("第103行")
    assert rec.values["t2_9.purchase.projects"] == 13

    assert not {f.rule for f in fs} & (ARITHMETIC - {"T2-TOWN-RULES"})
    assert rec.meta["unit_name"] == "岭北镇人民政府" and rec.meta["year"] == 2019  # year from the period: none in the title


def test_seed_004_short_row_is_a_note_not_a_guess():
    imp = import_report(SEED["004"])
    assert any("第102行" in n.zh and "采购总金额" in n.zh and "空白" in n.zh for n in imp.notes)


def test_example_workbooks_are_current():
    """examples/ holds each seed imported (values as published) and clean workbooks with no finding;
    ``python examples/build.py`` regenerates them."""
    for n, seed in SEED.items():
        wb = read_report(ROOT / "examples" / f"{seed.stem}.xlsx")
        imported = import_report(seed).record
        assert wb.values == imported.values and wb.prose == imported.prose, n
        assert {k: wb.meta[k] for k in ("unit_name", "level", "year", "period_start", "period_end")} == \
               {k: imported.meta[k] for k in ("unit_name", "level", "year", "period_start", "period_end")}
    clean = sorted((ROOT / "examples").glob("示例-*.xlsx"))
    assert {p.name.split("-")[1] for p in clean} >= {"2019", "2021"}
    for p in clean:
        assert validate_record(read_report(p)) == [], p.name


# ------------------------------------------------------------------ small pieces


@pytest.mark.parametrize("title,expected", [
    ("嘉兴市秀洲区王店镇2019年政府信息公开工作年度报告", ("王店镇", "嘉兴市秀洲区", 2019)),
    ("沈阳市辽中区于家房镇人民政府2019年度政府信息公开工作报告", ("于家房镇人民政府", "沈阳市辽中区", 2019)),
    ("岭北镇人民政府信息公开工作年度报告", ("岭北镇人民政府", None, None)),
    ("某县自然资源局2020年政府信息公开工作年度报告", ("某县自然资源局", None, 2020)),
    ("2021年度新市镇政府信息公开工作年度报告", ("新市镇", None, 2021)),
])
def test_split_title(title, expected):
    assert split_title(title) == expected


@pytest.mark.parametrize("text,label", [
    ("规范性文件", True), ("1.属于国家秘密", True), ("其他", True), (" 0", False), ("288.79万元", False),
    ("无", False), ("十", False), ("1200余", False), ("暂无", False), ("", False), ("二十", False),
])
def test_is_label(text, label):
    assert is_label(text) is label


def test_txt_wrapped_header_and_cell_after_blank_line():
    text = ("某镇2019年政府信息公开工作年度报告\n\t信息内容\n\t本年新\n制作数量\n\n\t规章\n\t0\n\n"
            "\t\n\t\n\n（四）无法提供\n\t1.本机关不掌握相关政府信息\n\t0\n")
    blocks = txt_blocks(text)
    [table] = [b for b in blocks if isinstance(b, TableBlock)]
    assert [c.text for c in table.rows[0]] == ["信息内容", "本年新\n制作数量"]
    assert [c.text.strip() for c in table.rows[2]] == ["", "（四）无法提供", "1.本机关不掌握相关政府信息", "0"]
    assert table.rows[2][1].where == "第12行"


# ------------------------------------------------------------------ captions are looked up in the spec


@pytest.mark.parametrize("text,key", [
    ("第二十条第（五）项", "t2_5"),
    ("\t第二十条第(五)项 ", "t2_5"),            # half-width brackets, spaces
    ("第二十条第 （ 九 ） 项", "t2_9"),
    ("第20条第(8)项", "t2_8"),                  # Arabic numerals
    ("表二 第二十条第（一）项", "t2_1"),          # a short caption with more words
    ("第二十条第（二）项", None),                 # an item no edition tabulates
    ("第一百二十条第（五）项", None),
    ("第二十条第（十五）项", None),
    ("根据第二十条第（五）项的规定，公开下列信息", None),  # a sentence, not a caption
])
def test_caption_is_a_grid_of_the_spec(text, key):
    assert gxsheet.read.blocks._caption_key(text) == key


def _clear_caption_caches() -> None:
    """The importer's and the heading classifier's memos of what the specs say."""
    text, narrative = gxsheet.read.blocks, gxsheet.read.headings
    for f in (text._captions, text._caption_key, text._loose_unit_notes, text._all_row_labels, text._kind_of_label, text._captioned,
              text._header_anchors, text._unlabelled, narrative.sections, narrative._section_grams,
              narrative._classify):
        f.cache_clear()


@pytest.fixture
def edited_specs(tmp_path, monkeypatch):
    """Call with ``edit(edition, data)``: from then on every module's load_spec and editions read
    that edited copy of each spec file from tmp_path, through the real loader (with caches of their
    own: the real specs stay cached as they were, the same objects, for the other tests)."""
    real = schemas_dir()

    def install(edit) -> None:
        folder = tmp_path / "schemas"
        folder.mkdir()
        shutil.copy(real / "format.schema.json", folder)
        for e in editions():
            data = json.loads((real / f"format-{e}.json").read_text(encoding="utf-8"))
            edit(e, data)
            (folder / f"format-{e}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        monkeypatch.setattr(gxsheet.core.spec, "schemas_dir", lambda: folder)
        for name in ("load_spec", "editions"):
            original = getattr(gxsheet.core.spec, name)
            fresh = functools.cache(original.__wrapped__)
            for module in [m for n, m in sys.modules.items() if n == "gxsheet" or n.startswith("gxsheet.")]:
                if getattr(module, name, None) is original:
                    monkeypatch.setattr(module, name, fresh)
        # the validator's pandera schema is memoised by edition name: one of its own for the copies
        monkeypatch.setattr(gxsheet.check.tables, "schema_for", functools.cache(gxsheet.check.tables.schema_for.__wrapped__))
        _clear_caption_caches()

    yield install
    monkeypatch.undo()
    _clear_caption_caches()


def rename_grid(data: dict, old: str, new: str) -> None:
    for t in data["tables"]:
        for g in t["grids"]:
            if g["key"] == old:
                g["key"] = new
    for r in data["relations"]:
        if r["grid"] == old:
            r["grid"] = new
    if data["carry_over"]["grid"] == old:
        data["carry_over"]["grid"] = new


def test_caption_finds_a_grid_keyed_differently(edited_specs):
    """The importer finds 第二十条第（五）项 by the spec's caption, not by a t2_N naming convention."""
    before = import_report(SEED["002"])  # 王店镇: 5 + 57 行政许可 in 第二十条第（五）项
    edited_specs(lambda edition, data: rename_grid(data, "t2_5", "licences"))
    assert gxsheet.core.spec.load_spec("2019").grid("licences").caption == "第二十条第（五）项"
    assert gxsheet.read.blocks._caption_key("第二十条第（五）项") == "licences"
    after = import_report(SEED["002"])

    def renamed(key: str) -> str:
        return "licences." + key[len("t2_5."):] if key.startswith("t2_5.") else key

    rec, was = after.record, before.record
    assert (rec.values["licences.licensing.previous"], rec.values["licences.licensing.decisions"]) == (5, 57)
    assert rec.values == {renamed(k): v for k, v in was.values.items()}
    assert rec.where == {renamed(k): v for k, v in was.where.items()}
    assert not rec.missing and after.tables == before.tables

    def said(findings):
        return [(f.rule, [renamed(k) for k in f.keys], f.cells, f.message_zh, f.message_en) for f in findings]

    assert said(rec.structure) == said(was.structure)
    assert [(n.zh, n.en) for n in after.notes] == [(n.zh, n.en) for n in before.notes]


def test_a_caption_must_name_one_grid_in_every_edition(edited_specs):
    edited_specs(lambda edition, data: rename_grid(data, "t2_5", "licences") if edition == "2019" else None)
    with pytest.raises(SpecError, match="第二十条第（五）项 names grid"):
        import_report(SEED["002"])


# ------------------------------------------------------------------ tables, grids and sections are found and named by the spec

#: every table, grid and section key renamed, and 表三's （六）其他处理 row (split in 2021, whole in
#: 2019); 表二's grids keep their order, as the S-EDITION message lists them sorted
TABLES = {"t2": "proactive", "t3": "applications", "t4": "reviews"}
GRIDS = {"t2_1": "pub_1", "t2_5": "pub_5", "t2_6": "pub_6", "t2_8": "pub_8", "t2_9": "pub_9", "t3": "requests",
         "t4": "appeals"}
SECTIONS = {"s1": "summary", "s2": "proactive", "s3": "requests", "s4": "appeals", "s5": "issues", "s6": "other"}
OTHER = "other_handling"


def rekey(edition: str, data: dict) -> None:
    def walk(nodes):
        for n in nodes:
            yield n
            yield from walk(n.get("children", ()))

    def cell(key: str) -> str:
        g, r, c = key.split(".")
        return ".".join((GRIDS[g], OTHER if (g, r) == ("t3", "other") else r, c))

    for sec in data["sections"]:
        sec["key"] = SECTIONS[sec["key"]]
    for t in data["tables"]:
        t["key"] = TABLES[t["key"]]
        for g in t["grids"]:
            for n in walk(g["rows"]):
                if (g["key"], n["key"]) == ("t3", "other"):
                    n["key"] = OTHER
            g["key"] = GRIDS[g["key"]]
    for rel in data["relations"]:
        if (rel["grid"], rel["over"]) == ("t3", "columns"):
            rel["lhs"], rel["rhs"] = ([OTHER if k == "other" else k for k in side] for side in (rel["lhs"], rel["rhs"]))
        rel["grid"] = GRIDS[rel["grid"]]
    for topic in data["narrative_topics"]:
        topic["alternatives"] = [[cell(k) for k in group] for group in topic["alternatives"]]
    data["carry_over"]["grid"] = GRIDS[data["carry_over"]["grid"]]


_OLD_KEY = re.compile(r"(?<![\w.])(?:(t2_[1-9]|t3|t4)(\.other(?!\w))?|prose\.(s[1-6]))(?!\w)")


def rekeyed(text: str) -> str:
    """Keys in a text (a cell key, prose.s3, a message naming them) as :func:`rekey` renames them."""
    def new(m: re.Match[str]) -> str:
        if m.group(3):
            return "prose." + SECTIONS[m.group(3)]
        return GRIDS[m.group(1)] + (("." + OTHER) if m.group(2) and m.group(1) == "t3" else (m.group(2) or ""))

    return _OLD_KEY.sub(new, text)


def imported(imp: Imported) -> dict:
    """All an import gives and the validator finds, for comparing two imports."""
    rec = imp.record
    findings = [(f.rule, f.keys, f.cells, f.message_zh, f.message_en) for f in validate_record(rec)]
    return {"edition": rec.edition, "values": rec.values, "where": rec.where, "missing": sorted(rec.missing),
            "meta": rec.meta, "prose": rec.prose, "headings": rec.headings_found, "findings": findings,
            "structure": [(f.rule, f.keys, f.cells, f.message_zh, f.message_en) for f in rec.structure],
            "notes": [(n.zh, n.en) for n in imp.notes], "tables": imp.tables}


def as_rekeyed(said):
    """:func:`imported` as it reads when every key is renamed by :func:`rekey` (the prose by section key)."""
    if isinstance(said, str):
        return rekeyed(said)
    if isinstance(said, dict):
        out = {rekeyed(k): as_rekeyed(v) for k, v in said.items()}
        if "prose" in said:
            out["prose"] = {SECTIONS[k]: v for k, v in said["prose"].items()}
        return out
    if isinstance(said, (list, tuple)):
        return type(said)(as_rekeyed(x) for x in said)
    return said


def _page_break(blocks, word: str, at: int) -> list:
    """The Word table holding ``word`` cut in two before its row ``at`` (a page break between them)."""
    out = []
    for b in blocks:
        if isinstance(b, TableBlock) and any(word in c.text for r in b.rows for c in r):
            out += [TableBlock(b.rows[:at], b.where), TableBlock(b.rows[at:], b.where + "续")]
        else:
            out.append(b)
    return out


def test_tables_grids_and_sections_keyed_differently(tmp_path, edited_specs):
    """With every table, grid and section key renamed (and a row the editions split differently),
    each report imports and validates the same under the new keys: grids are found by their
    caption or header, a guessed grid of a captioned table by its labels, 表四's unlabelled row
    across a page break, the table an other-edition grid belongs to by the spec, why it is of the
    other edition from how the specs differ; the opening text and the sign-off by section order."""
    docs = {}
    for n, path in SEED.items():
        docs[f"seed {n}"] = functools.partial(import_report, path)
    docs["seed 000 as 2021"] = functools.partial(import_report, SEED["000"], edition="2021")
    uncaptioned = tmp_path / "uncaptioned.txt"
    uncaptioned.write_text("".join(line for line in SEED["003"].read_text(encoding="utf-8").splitlines(True)
                                   if "第二十条" not in line), encoding="utf-8")
    docs["no captions"] = functools.partial(import_report, uncaptioned)
    rec = sample(tmp_path, "2021", seed=4, name="某镇")
    write_docx(rec, tmp_path / "r.docx")
    docs["2021 as 2019"] = functools.partial(import_report, tmp_path / "r.docx", edition="2019")
    broken = _page_break(_page_break(docx_blocks(tmp_path / "r.docx"), "行政复议", -1), "勾稽关系", 12)
    docs["page breaks"] = functools.partial(import_blocks, broken, source="r.docx", kind="docx")
    before = {name: imported(read()) for name, read in docs.items()}
    assert before["page breaks"]["values"] == rec.values and not before["page breaks"]["notes"][1:]
    assert any("没有按规定拆分为三行" in f[3] for f in before["seed 000 as 2021"]["structure"])
    assert any("被拆分成了三行" in f[3] for f in before["2021 as 2019"]["structure"])
    assert any("没有表头或标题" in zh for zh, _ in before["no captions"]["notes"])

    edited_specs(rekey)
    assert gxsheet.core.spec.load_spec("2021").grid("appeals").table == "reviews"
    for name, read in docs.items():
        assert imported(read()) == as_rekeyed(before[name]), name


def test_tables_are_named_as_the_spec_names_them(tmp_path, edited_specs):
    """A table in the importer's messages and summary is the spec's sheet (表二) and en (table 2)."""
    from gxsheet.render.txt import render_txt

    export = tmp_path / "export.txt"
    export.write_text(render_txt(sample(tmp_path, "2021", seed=13)), encoding="utf-8")
    before = import_report(SEED["000"], edition="2021")  # S-EDITION on 表二 and 表三, 表二（九） not found

    def rename(edition, data):
        for t in data["tables"]:
            t["sheet"], t["en"] = "附" + t["sheet"], t["en"].replace("table", "schedule")

    def renamed(text: str) -> str:
        return re.sub(r"table ([234])", r"schedule \1", re.sub(r"表([二三四])(?!格)", r"附表\1", text))

    edited_specs(rename)
    after = import_report(SEED["000"], edition="2021")
    said = [(f.rule, f.message_zh, f.message_en) for f in after.record.structure]
    assert said == [(f.rule, renamed(f.message_zh), renamed(f.message_en)) for f in before.record.structure]
    assert {rule for rule, _, _ in said} == {"S-EDITION", "S-LAYOUT"}
    assert any(zh.startswith("附表三（") and en.startswith("schedule 3 (") for _, zh, en in said)
    assert after.tables == [(renamed(zh), where) for zh, where in before.tables]
    assert import_report(export).tables == [("附表二", ""), ("附表三", ""), ("附表四", "")]


def test_header_anchors_come_from_the_spec():
    """A grid without a caption starts at its corner's 勾稽关系 or its column groups, as the spec has them."""
    anchors = {a.grid: a for a in gxsheet.read.blocks._header_anchors()}
    assert set(anchors) == {"t3", "t4"}
    assert anchors["t3"].corner and anchors["t3"].first == "申请人情况" and anchors["t3"].beside is None
    assert not anchors["t4"].corner and anchors["t4"].first == "行政复议"
    assert anchors["t4"].beside == {"行政诉讼", "未经复议直接起诉", "复议后起诉"}

    def anchor(*texts):
        hit = gxsheet.read.blocks._row_anchor(Row([Cell(t, "x") for t in texts], 0))
        return hit and hit[0]

    assert anchor("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况") == "t3"
    assert anchor("", "申请人情况") == "t3"
    assert anchor("行政复议", "", "复议后起诉") == "t4" and anchor("行政复议", "行政诉讼") == "t4"
    assert anchor("行政复议", "结果维持") is None and anchor("行政诉讼") is None


def test_a_header_must_start_one_grid_in_every_edition(edited_specs):
    def same_header(edition, data):
        t4 = next(g for t in data["tables"] for g in t["grids"] if g["key"] == "t4")
        t4["columns"][0]["label"] = "申请人情况"

    edited_specs(same_header)
    with pytest.raises(SpecError, match=r"grids t3 and t4 have the same header anchor \(申请人情况\)"):
        import_report(SEED["002"])


# ------------------------------------------------------------------ helpers: the same report as txt and html


def to_txt(blocks) -> str:
    """Blocks in the seed text format (a tab before each cell, a blank line after each row)."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Para):
            out.append(b.text.replace("\n", ""))
        else:
            for row in b.rows:
                out += ["\t" + c.text for c in row]
                out.append("")
            out.append("")
    return "\n".join(out) + "\n"


def to_html(rec: Record) -> str:
    """A report page as government sites publish it: navigation, a layout table around the text,
    a script mentioning <table>, data tables with rowspan/colspan like the official form."""
    spec = rec.spec
    wl = workbook_layout(spec)
    parts = ['<html><head><meta charset="utf-8"><title>年报</title><script>var t = "<table><tr><td>1</td></tr></table>";</script>'
             '</head><body><div class="nav"><a href="/">首页</a> &gt; <a>政务公开</a></div>',
             '<table width="100%"><tr><td><table><tr><td>发布时间：2020-01-20</td></tr></table>',
             f"<h1>{_html.escape(report_title(rec))}</h1>"]
    for sec in spec.sections:
        parts.append(f"<p><strong>{sec.heading}</strong></p>")
        for line in (rec.prose.get(sec.key) or "").split("\n"):
            parts.append(f"<p>&nbsp;&nbsp;{_html.escape(line)}</p>")
        for t in spec.tables:
            if t.section_numeral != sec.numeral:
                continue
            lay = wl.table_sheet(t.key)
            boxes = [b for b in lay.boxes if b.role in ("caption", "corner", "header", "label")]
            start, covered = {}, set()
            for b in boxes:
                start[(b.row, b.col)] = (b.text, b.row2 - b.row + 1, b.col2 - b.col + 1)
                covered |= {(r, c) for r in range(b.row, b.row2 + 1) for c in range(b.col, b.col2 + 1)} - {(b.row, b.col)}
            for key, (r, c) in lay.inputs.items():
                end = lay.input_span.get(key) or c
                start[(r, c)] = (format_value(rec.values.get(key)), 1, end - c + 1)
                covered |= {(r, cc) for cc in range(c + 1, end + 1)}
            rows = [r for r, _ in start]
            parts.append('<table border="1"><tbody>')
            for r in range(min(rows), max(rows) + 1):
                parts.append("<tr>")
                for c in range(1, lay.width + 1):
                    if (r, c) in covered:
                        continue
                    text, rs, cs = start.get((r, c), ("", 1, 1))
                    attrs = (f' rowspan="{rs}"' if rs > 1 else "") + (f' colspan="{cs}"' if cs > 1 else "")
                    parts.append(f"<td{attrs}><p>{_html.escape(text)}</p></td>")
                parts.append("</tr>")
            parts.append("</tbody></table>")
            parts += [f"<p>{_html.escape(n)}</p>" for n in unit_notes(rec, t)]
    parts.append('</td></tr></table><div class="foot">版权所有 某县人民政府办公室</div></body></html>')
    return "\n".join(parts)


PROSE = {
    "s1": "2021年，本单位认真贯彻落实《中华人民共和国政府信息公开条例》。\n（一）主动公开。全年发布信息212条。\n（二）依申请公开。规范办理流程。",
    "s2": "本年度主动公开情况见下表。",
    "s3": "本年度依申请公开情况见下表。",
    "s4": "本年度行政复议、行政诉讼情况见下表。",
    "s5": "（一）存在的主要问题：信息更新不够及时。\n（二）改进措施：建立信息发布台账。",
    "s6": "本年度未收取信息处理费。",
}


def sample(tmp_path: Path, edition: str, name: str = "某县财政局", seed: int = 0, year: int | None = None) -> Record:
    """A valid workbook read back. The published document carries neither 上级单位 nor 填报人 nor
    联系电话, so they are left empty: what the document does carry must come back exactly."""
    spec = load_spec(edition)
    y = year or spec.first_year
    meta = {"unit_name": name, "parent": None, "filler": None, "phone": None, "year": y,
            "period_start": f"{y}-01-01", "period_end": f"{y}-12-31"}
    path = tmp_path / f"{name}-{edition}-{seed}.xlsx"
    write_sample(path, edition, seed=seed, meta=meta, prose={k: v.replace("2021", str(y)) for k, v in PROSE.items()})
    return read_report(path)


def same_record(a: Record, b: Record) -> None:
    assert b.edition == a.edition
    assert b.values == a.values
    assert b.meta == a.meta
    assert b.prose == a.prose


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("edition", ["2019", "2021"])
def test_docx_round_trip(tmp_path, edition):
    rec = sample(tmp_path, edition, seed=3)
    assert validate_record(rec) == []
    docx = tmp_path / "report.docx"
    write_docx(rec, docx)
    back = import_report(docx)
    same_record(rec, back.record)
    assert back.record.structure == [] and back.record.missing == set()
    assert validate_record(back.record) == []
    assert back.record.where["t3.received.natural"].startswith("表格2 第")


def test_docx_vetting_is_the_loaders_in_words_for_word(tmp_path):
    """A Word document gets the workbook loader's checks (one copy of them), its refusals reworded:
    too many parts, a part that inflates abnormally, a zip without the document part."""
    from gxsheet.core.limits import Limits
    from gxsheet.read.docx import read_docx

    rec = sample(tmp_path, "2021", seed=3)
    docx = tmp_path / "report.docx"
    write_docx(rec, docx)
    with pytest.raises(LoadError) as err:
        read_docx(docx, limits=Limits(max_members=3))
    assert err.value.kind == "too-many-members" and "Word 文档内部部件过多" in err.value.message_zh
    with pytest.raises(LoadError) as err:
        read_docx(docx, limits=Limits(max_ratio=1.5, ratio_min_bytes=1))
    assert err.value.kind == "zip-bomb" and ".xml" in err.value.message_zh and "Excel" not in err.value.message_zh
    other = tmp_path / "other.docx"
    import zipfile

    with zipfile.ZipFile(docx) as src, zipfile.ZipFile(other, "w") as dst:
        for info in src.infolist():
            if info.filename != "word/document.xml":
                dst.writestr(info, src.read(info))
    with pytest.raises(LoadError) as err:
        read_docx(other)
    assert err.value.kind == "not-a-report"


@pytest.mark.parametrize("edition", ["2019", "2021"])
def test_html_round_trip(tmp_path, edition):
    rec = sample(tmp_path, edition, seed=5)
    page = tmp_path / "report.html"
    page.write_text(to_html(rec), encoding="utf-8")
    back = import_report(page)
    same_record(rec, back.record)
    assert back.record.structure == []
    notes = " ".join(n.zh for n in back.notes)
    assert "首页" in notes and "发布时间" in notes  # page chrome is named, not silently dropped
    gbk = tmp_path / "report-gbk.htm"  # older sites still serve GB2312
    gbk.write_bytes(to_html(rec).replace('charset="utf-8"', 'charset="gb2312"').encode("gb18030"))
    same_record(rec, import_report(gbk).record)


def test_html_line_breaks_and_deep_nesting():
    from gxsheet.read.html import html_blocks

    blocks = html_blocks("<html><body><div><p>一、总体情况<br/>本年度工作概况。</p>"
                         "<table><tr><td>发布<br>时间</td><td colspan=2>x</td></tr><tr><td rowspan=2>a</td><td>b</td>"
                         "<td>c</td></tr><tr><td>d</td><td>e</td></tr></table></div></body></html>")
    assert [b.text for b in blocks if isinstance(b, Para)] == ["一、总体情况", "本年度工作概况。"]
    [t] = [b for b in blocks if isinstance(b, TableBlock)]
    assert [[c.text for c in r] for r in t.rows] == [["发布\n时间", "x"], ["a", "b", "c"], ["", "d", "e"]]
    assert t.rows[2][1].where == "表格1 第3行第2列"
    deep = "<html><body>" + "<div>" * 20_000 + "正文" + "</div>" * 20_000 + "</body></html>"
    assert [b.text for b in html_blocks(deep)] == ["正文"]  # no recursion limit


@pytest.mark.parametrize("edition", ["2019", "2021"])
def test_txt_round_trip(tmp_path, edition):
    rec = sample(tmp_path, edition, seed=7)
    docx = tmp_path / "report.docx"
    write_docx(rec, docx)
    text = tmp_path / "report.txt"
    text.write_text(to_txt(docx_blocks(docx)), encoding="utf-8")
    same_record(rec, import_report(text).record)


@pytest.mark.parametrize("edition", ["2019", "2021"])
def test_own_txt_export_round_trip(tmp_path, edition):
    """gxsheet's own txt export (aligned tables, a forced draft's findings at its end) imports back."""
    from gxsheet.render.txt import render_txt

    rec = sample(tmp_path, edition, seed=13)
    draft = validate_record(read_report(write_sample(tmp_path / "bad.xlsx", edition, values={"t3.received.natural": "无"})))
    for findings in (None, draft):
        path = tmp_path / "export.txt"
        path.write_text(render_txt(rec, findings), encoding="utf-8")
        same_record(rec, import_report(path).record)


def test_round_trip_of_the_clean_examples(tmp_path):
    """The bundled clean examples (realistic prose, several paragraphs) survive Word and back."""
    for path in sorted((ROOT / "examples").glob("示例-*.xlsx")):
        rec = read_report(path)
        rec.meta.update(parent=None, filler=None, phone=None)
        docx = tmp_path / (path.stem + ".docx")
        write_docx(rec, docx)
        back = import_report(docx).record
        same_record(rec, back)
        assert validate_record(back) == [], path.name


def test_published_word_table_with_merged_header(tmp_path):
    """A Word report typed by hand: 表三's header merged like the official form, a label cell
    whose text starts on a second paragraph, the (九) amount typed with its unit."""
    rec = sample(tmp_path, "2019", seed=2)
    rec.values["t2_9.purchase.amount"] = "251000元"
    rec.meta["amount_unit"] = None  # no 注：采购总金额单位 under the table: the unit is only in the cell
    docx = tmp_path / "typed.docx"
    write_docx(rec, docx)
    doc = Document(str(docx))
    for table in doc.tables:
        for row in table.rows:
            for cell in row.cells:
                if cell.text == "（四）无法提供":
                    cell.paragraphs[0].insert_paragraph_before("")
    doc.save(str(docx))
    back = import_report(docx).record
    assert back.values == rec.values
    fs = validate_record(back)
    assert [f.rule for f in fs] == ["V-UNIT"] and "251000元" in fs[0].message_zh


def test_forced_export_appendix_is_not_prose(tmp_path):
    """A draft exported with --force lists its findings after section 六: not part of the report."""
    rec = sample(tmp_path, "2021", seed=11)
    findings = validate_record(read_report(write_sample(tmp_path / "bad.xlsx", "2021", values={"t3.received.natural": "无"})))
    docx = tmp_path / "draft.docx"
    write_docx(rec, docx, findings)
    back = import_report(docx)
    same_record(rec, back.record)
    assert any("附件" in n.zh for n in back.notes)


def test_import_json_through_the_command(tmp_path, capsys):
    from gxsheet.render.json_report import write_json

    rec = sample(tmp_path, "2019", seed=12)
    src = write_json(rec, tmp_path / "r.json")
    out = tmp_path / "r.xlsx"
    assert main(["import", str(src), "-o", str(out)]) == 0
    same_record(rec, read_report(out))


def test_import_command_names_where_tables_are_only_where_it_knows(tmp_path, capsys):
    """The summary lists the tables found; a table whose place the importer has no words for (gxsheet's
    own text export) is named alone, never followed by an empty （）."""
    from gxsheet.render.txt import render_txt

    rec = sample(tmp_path, "2021", seed=14)
    src = tmp_path / "export.txt"
    src.write_text(render_txt(rec, None), encoding="utf-8")
    for lang in ("zh", "en"):
        assert main(["import", str(src), "-o", str(tmp_path / f"{lang}.xlsx"), "--lang", lang]) == 0
        said = capsys.readouterr().out
        line = next(x for x in said.splitlines() if x.strip().startswith(("表格", "tables")))
        assert "表三" in line and "（）" not in line and "()" not in line, line


def test_caption_without_rows_is_one_finding(tmp_path):
    text = SEED["000"].read_text(encoding="utf-8").splitlines()
    i = text.index("\t第二十条第（九）项")
    cut = text[:i + 1] + [""] + text[text.index("\t（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）") - 1:]
    path = tmp_path / "no9.txt"
    path.write_text("\n".join(cut), encoding="utf-8")
    rec = import_report(path).record
    layout = [f for f in rec.structure if f.rule == "S-LAYOUT"]
    assert len(layout) == 1 and "第二十条第（九）项" in layout[0].message_zh
    assert rec.missing == grid_keys("2019", "t2_9.")
    assert "V-BLANK" not in {f.rule for f in validate_record(rec)}  # missing, not blank: the layout finding speaks


# ------------------------------------------------------------------ editions


def test_edition_detected_from_tables_not_year(tmp_path):
    """2021 tables in a 2020 report: the record is 2021 (what the tables are) and S-EDITION says
    the year needs the 2019 tables; and the reverse."""
    for edition, year in (("2021", 2020), ("2019", 2021)):
        rec = sample(tmp_path, edition, seed=1)
        rec.meta["year"] = year
        docx = tmp_path / f"e{edition}.docx"
        write_docx(rec, docx)
        back = import_report(docx).record
        assert back.edition == edition and back.meta["year"] == year
        rules = [f.rule for f in validate_record(back)]
        assert "S-EDITION" in rules
        assert not set(rules) & ARITHMETIC


def _mutate_t3(blocks, fn) -> None:
    for b in blocks:
        if isinstance(b, TableBlock) and any("勾稽关系" in c.text for r in b.rows for c in r):
            fn(b.rows)


def test_2021_table_three_with_unsplit_other_is_s_edition(tmp_path):
    """A 2021 report whose 表三 still has （六）其他处理 as one row (the 2019 form): S-EDITION on
    表三; the three 2021 rows are not guessed from it (missing), so no arithmetic cascade."""
    rec = sample(tmp_path, "2021", seed=4, name="某镇")
    docx = tmp_path / "r.docx"
    write_docx(rec, docx)
    blocks = docx_blocks(docx)

    def unsplit(rows):
        i = next(i for i, r in enumerate(rows) if any(c.text == "（六）其他处理" for c in r))
        three = rows[i:i + 3]
        sums = [sum(int(r[len(r) - 7 + j].text) for r in three) for j in range(7)]
        rows[i:i + 3] = [[Cell("", "x"), Cell("（六）其他处理", "x")] + [Cell(str(v), "x") for v in sums]]

    _mutate_t3(blocks, unsplit)
    text = tmp_path / "r.txt"
    text.write_text(to_txt(blocks), encoding="utf-8")
    back = import_report(text).record
    assert back.edition == "2021"
    fs = validate_record(back)
    [ed] = [f for f in fs if f.rule == "S-EDITION"]
    assert "表三" in ed.message_zh and "（六）其他处理" in ed.message_zh and "2019" in ed.message_zh
    assert back.missing == grid_keys("2021", "t3.other_")
    assert not {f.rule for f in fs} & ARITHMETIC


def test_forced_edition_reports_the_mismatch(tmp_path):
    back = import_report(SEED["000"], edition="2021").record
    assert back.edition == "2021"
    rules = {f.rule for f in validate_record(back)}
    assert "S-EDITION" in rules


# ------------------------------------------------------------------ layout changes


def test_inserted_and_removed_rows_and_misspelt_column(tmp_path):
    rec = sample(tmp_path, "2019", seed=6, name="某镇")
    docx = tmp_path / "r.docx"
    write_docx(rec, docx)
    blocks = docx_blocks(docx)

    def change(rows):
        i = next(i for i, r in enumerate(rows) if any(c.text == "（一）予以公开" for c in r))
        rows.insert(i + 1, [Cell("", "x"), Cell("（一）其中：网上申请", "x")] + [Cell("1", "x") for _ in range(7)])
        j = next(i for i, r in enumerate(rows) if any(c.text == "2.重复申请" for c in r))
        del rows[j]
        for r in rows:
            for c in r:
                if c.text == "社会公益组织":
                    c.text = "社会公益机构"

    _mutate_t3(blocks, change)
    text = tmp_path / "r.txt"
    text.write_text(to_txt(blocks), encoding="utf-8")
    back = import_report(text).record
    r = by_rule(validate_record(back))
    layout = [f.message_zh for f in r["S-LAYOUT"]]
    assert any("其中：网上申请" in m for m in layout) and any("2.重复申请" in m for m in layout)
    assert back.missing == {k for k in grid_keys("2019", "t3.np_repeat.")}
    assert any("社会公益机构" in f.message_zh and "社会公益组织" in f.message_zh for f in r["S-LABEL"])
    assert "T3-RESULT-TOTAL" not in r  # the removed row makes the result total not computable, not wrong
    assert back.values["t3.disclosed.natural"] == rec.values["t3.disclosed.natural"]


# ------------------------------------------------------------------ the command


def test_import_command_writes_values_as_published(tmp_path, capsys):
    out = tmp_path / "002.xlsx"
    assert main(["import", str(SEED["002"]), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "王店镇" in printed and "表三" in printed and "V-UNIT" in printed
    wb = read_report(out)
    imported = import_report(SEED["002"]).record
    assert wb.values == imported.values
    assert wb.values["t2_9.purchase.amount"] == "288.79万元" and wb.values["t3.received.natural"] is None
    assert wb.meta["unit_name"] == "王店镇" and wb.prose == imported.prose


def test_import_command_lang_en_and_force(tmp_path, capsys):
    out = tmp_path / "004.xlsx"
    assert main(["import", str(SEED["004"]), "-o", str(out), "--lang", "en"]) == 0
    printed = capsys.readouterr().out
    assert "N-TEXT-TABLE" in printed and "imported" in printed
    assert main(["import", str(SEED["004"]), "-o", str(out)]) == 2  # exists
    assert "--force" in capsys.readouterr().err
    assert main(["import", str(SEED["004"]), "-o", str(out), "--force"]) == 0


def test_formula_like_cell_text_stays_text(tmp_path):
    rec = sample(tmp_path, "2021", seed=8)
    rec.values["t3.received.natural"] = "=HYPERLINK(\"http://x\")"
    out = tmp_path / "f.xlsx"
    write_record(rec, out)
    ws_name, r, c = workbook_layout(rec.spec).position("t3.received.natural")
    cell = load_workbook(out)[ws_name].cell(r, c)
    assert cell.data_type == "s" and cell.value == "=HYPERLINK(\"http://x\")"


def _docx_with(path: Path, paragraphs: list[str], table: list[list[str]] | None = None) -> Path:
    doc = Document()
    for p in paragraphs:
        doc.add_paragraph(p)
    if table:
        t = doc.add_table(rows=len(table), cols=len(table[0]))
        for i, row in enumerate(table):
            for j, v in enumerate(row):
                t.cell(i, j).text = v
    doc.save(str(path))
    return path


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    d = tmp_path = tmp_path_factory.mktemp("bad")
    seed = SEED["000"].read_text(encoding="utf-8").splitlines()
    report_text = [ln for ln in seed if not ln.startswith("\t")]
    files = {
        "empty.txt": d / "empty.txt",
        "blank.txt": d / "blank.txt",
        "empty.docx": d / "empty.docx",
        "unrelated.txt": d / "unrelated.txt",
        "truncated.txt": d / "truncated.txt",
        "notables.txt": d / "notables.txt",
    }
    files["empty.txt"].write_bytes(b"")
    files["blank.txt"].write_text(" \n\u3000\n", encoding="utf-8")
    files["empty.docx"].write_bytes(b"")
    files["unrelated.txt"].write_text("会议纪要\n今天开会讨论了绿化工作。\n参加人员：张三、李四。\n", encoding="utf-8")
    files["truncated.txt"].write_text("\n".join(seed[:200]) + "\n", encoding="utf-8")
    files["notables.txt"].write_text("\n".join(report_text) + "\n", encoding="utf-8")
    files["unrelated.docx"] = _docx_with(d / "unrelated.docx", ["关于召开春季植树活动的通知", "各单位：定于3月12日植树。"],
                                         [["姓名", "电话"], ["张三", "123"]])
    files["notables.docx"] = _docx_with(d / "notables.docx", report_text)
    rec = sample(tmp_path, "2021", seed=9)
    full = d / "full.docx"
    write_docx(rec, full)
    doc = Document(str(full))
    body = doc.element.body
    t3 = doc.tables[1]._tbl
    for tr in t3.findall("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tr")[12:]:
        t3.remove(tr)
    for el in list(body)[list(body).index(t3) + 1:]:
        if not el.tag.endswith("sectPr"):
            body.remove(el)
    doc.save(str(d / "truncated.docx"))
    files["truncated.docx"] = d / "truncated.docx"
    return files


@pytest.mark.parametrize("name,words", [
    ("empty.txt", "空"), ("blank.txt", "空"), ("empty.docx", "空"),
    ("unrelated.txt", "不是政府信息公开工作年度报告"), ("unrelated.docx", "不是政府信息公开工作年度报告"),
    ("notables.txt", "统计表格"), ("notables.docx", "统计表格"),
    ("truncated.txt", "中断"), ("truncated.docx", "中断"),
])
def test_bad_input_exit_2_one_line_no_output(bad_inputs, tmp_path, capsys, name, words):
    src = bad_inputs[name]
    out = tmp_path / "out.xlsx"
    assert main(["import", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(src) in err[0] and words in err[0], err
    assert "Traceback" not in err[0]
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.xlsx")]  # no temp file left behind


def test_bad_input_in_english(bad_inputs, tmp_path, capsys):
    assert main(["import", str(bad_inputs["truncated.txt"]), "-o", str(tmp_path / "o.xlsx"), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert "incomplete" in err and "table 3" in err and "line 200" in err


def test_oversized_tables_are_refused_quickly(tmp_path):
    """A table of 20 000 rows (or thousands of captions) is not a report: refused in seconds of CPU
    (CPU time, not wall-clock: on a shared machine the wall clock measures the neighbours)."""
    import time

    seed = SEED["000"].read_text(encoding="utf-8").split("\n")
    i = seed.index("\t四、结转下年度继续办理")
    huge = tmp_path / "huge.txt"
    huge.write_text("\n".join(seed[:i]) + "\n" + ("\t\n\t（一）予以公开\n" + "\t0\n" * 7 + "\n") * 20_000
                    + "\n".join(seed[i:]), encoding="utf-8")
    captions = tmp_path / "captions.txt"
    captions.write_text("某镇2019年政府信息公开工作年度报告\n" + "\t第二十条第（一）项\n\n" * 5000, encoding="utf-8")
    for path in (huge, captions):
        start = time.process_time()
        with pytest.raises(LoadError) as e:
            import_report(path)
        assert e.value.kind == "not-a-report" and time.process_time() - start < 10


def test_truncated_message_names_table_and_line(bad_inputs):
    with pytest.raises(Exception) as e:
        import_report(bad_inputs["truncated.txt"])
    assert e.value.kind == "truncated-table" and "表三" in e.value.message_zh and "第200行" in e.value.message_zh


def test_validate_reads_imports_through_read_any(tmp_path):
    """Every command reads published reports: read_any dispatches .txt/.docx/.html to the importers."""
    rec = sample(tmp_path, "2021", seed=10)
    docx = tmp_path / "r.docx"
    write_docx(rec, docx)
    assert read_any(docx).values == rec.values
    assert main(["validate", str(SEED["000"])]) == 0


def test_foreign_table_two_is_named_by_its_captions_not_grid_keys():
    """S-EDITION on a 2019 表二 in a 2021 report lists what a reader sees (第二十条第（N）项), never t2_N."""
    rec = import_report(SEED["000"], edition="2021").record
    [t2] = [f for f in rec.structure if f.rule == "S-EDITION" and f.message_zh.startswith("表二")]
    assert "第二十条第（一）项" in t2.message_zh and "第二十条第（九）项" in t2.message_zh
    assert not re.search(r"t\d_\d", t2.message_zh + t2.message_en)


def test_published_unit_note_is_read_by_the_spec_column_label(edited_specs):
    """注：采购总金额单位为万元 under 表二 is metadata; the words come from the spec (the amount column's
    label and its unit field's choices), so a relabelled column is still understood."""
    from gxsheet.read.blocks import _unit_note

    assert _unit_note("注：采购总金额单位为万元") == ("amount_unit", "万元")
    assert _unit_note("（注：金额单位：元）") == ("amount_unit", "元")
    assert _unit_note("注：采购总金额单位为美元") is None

    def relabel(edition, data):
        for t in data["tables"]:
            for g in t["grids"]:
                for c in g["columns"]:
                    if c.get("label") == "采购总金额":
                        c["label"] = "政府采购金额"

    edited_specs(relabel)
    assert _unit_note("注：政府采购金额单位为元") == ("amount_unit", "元")
