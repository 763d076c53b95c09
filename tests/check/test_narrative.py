"""The prose rules: section headings, figures in the text against the tables, 五 empty, 信息处理费.

Each rule is tested on both shapes a record comes in: imported (headings as found, locations as
lines) and a workbook's fixed prose sheet (no headings, a cell per section).
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

import gxsheet.check.prose
import gxsheet.core.record
import gxsheet.core.spec
from gxsheet.check.claims import topics_named
from gxsheet.check.prose import (
    fee_findings,
    narrative_findings,
    prose_figures,
    sec5_findings,
    section_findings,
    text_table_findings,
    topics,
)
from gxsheet.check.validate import validate_record
from gxsheet.core.record import Record, empty_record
from gxsheet.core.spec import Spec, SpecError, editions, load_spec, schemas_dir, section_roles
from gxsheet.read.headings import classify_heading, cn_number
from gxsheet.read.workbook import read_report
from gxsheet.render.samples import valid_values, write_sample

HEADINGS = ["一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
            "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项"]
GOOD_PROSE = {"s1": "本年度工作概况。", "s2": None, "s3": None, "s4": None,
              "s5": "存在的问题是更新不及时，改进措施是建立台账。", "s6": "本年度未收取信息处理费。"}


def record(edition: str = "2019", *, year: int | None = None, prose: dict | None = None,
           values: dict | None = None, headings: list[str] | None = None) -> Record:
    spec = load_spec(edition)
    rec = empty_record(spec, year=year or spec.first_year, level="镇", unit_name="某镇")
    rec.values.update(valid_values(spec, 0))
    rec.values.update(values or {})
    rec.prose.update(GOOD_PROSE)
    rec.prose.update(prose or {})
    rec.headings_found = headings
    return rec


# ------------------------------------------------------------------ headings


@pytest.mark.parametrize("text,key,number", [
    ("一、总体情况", "s1", 1),
    ("1、 总体情况", "s1", 1),
    ("　　三、收到和处理政府信息公开申请情况（无）", "s3", 3),
    ("总体情况", "s1", None),
    ("第六部分 其他需要报告的事项", "s6", 6),
    ("五、主要问题及改进措施", "s5", 5),
    ("四．政府信息公开行政复议、行政诉讼情况", "s4", 4),
    ("三、重点领域信息公开情况", None, 3),
])
def test_headings(text, key, number):
    h = classify_heading(text)
    assert h is not None and h.key == key and h.number == number


@pytest.mark.parametrize("text", [
    "（一）组织领导得力", "一是信息公开的内容有待进一步充实", "1、结合我镇实际工作，通过公开目录等形式，及时公开相关信息。",
    "2019年，全镇累计主动公开政府信息1200余条。", "一、总体情况：测试正文。", "", None,
    "金瑞镇2019年政府信息公开工作年度报告",
])
def test_not_headings(text):
    assert classify_heading(text) is None


def test_chinese_numbers():
    assert [cn_number(x) for x in ("一", "十", "十二", "二十", "三百零五", "两", "abc")] == [1, 10, 12, 20, 305, 2, None]


# ------------------------------------------------------------------ S-SECTIONS, imported


def test_six_sections_in_order_are_fine():
    assert section_findings(record(headings=HEADINGS)) == []
    numbered_differently = ["1、 总体情况", "2、 主动公开政府信息情况"] + HEADINGS[2:]
    assert section_findings(record(headings=numbered_differently)) == []


def test_missing_section():
    fs = section_findings(record(headings=HEADINGS[:4] + HEADINGS[5:]))
    assert [f.rule for f in fs] == ["S-SECTIONS"] and fs[0].keys == ["prose.s5"]
    assert "五、存在的主要问题及改进情况" in fs[0].message_zh


def test_repeated_section_names_both_places():
    rec = record(headings=HEADINGS[:2] + [HEADINGS[1]] + HEADINGS[2:])
    rec.where.update({"heading.1": "第7行", "heading.2": "第32行"})
    [f] = section_findings(rec)
    assert f.keys == ["prose.s2"] and f.cells == ["第7行", "第32行"] and "重复" in f.message_zh
    assert "repeat" not in f.message_zh and "appears 2 times" in f.message_en


def test_out_of_order():
    fs = section_findings(record(headings=[HEADINGS[0], HEADINGS[2], HEADINGS[1]] + HEADINGS[3:]))
    assert len(fs) == 1 and "顺序" in fs[0].message_zh


def test_numbered_sub_headings_inside_a_section_are_not_flagged():
    """一、存在的问题 / 二、改进措施 inside 五 are the report's own sub-parts, numbering restarts
    inside a part; only a numbered extra part that collides with the sequence is reported."""
    inside = HEADINGS[:5] + ["一、存在的问题", "二、改进措施"] + HEADINGS[5:]
    assert section_findings(record(headings=inside)) == []
    colliding = HEADINGS[:2] + ["三、重点领域信息公开情况", HEADINGS[1]] + HEADINGS[2:]
    fs = section_findings(record(headings=colliding))
    assert len(fs) == 2 and any("重点领域" in f.message_zh for f in fs)


# ------------------------------------------------------------------ S-SECTIONS, workbook prose sheet


def test_workbook_prose_sheet_sections():
    assert section_findings(record()) == []
    [f] = section_findings(record(prose={"s1": None}))
    assert f.keys == ["prose.s1"]
    pasted = record(prose={"s1": "本年度工作概况。\n二、主动公开政府信息情况\n全年发布信息20条。"})
    pasted.where["prose.s1"] = "正文!B3"
    [f] = section_findings(pasted)
    assert f.cells == ["正文!B3"] and "二、主动公开政府信息情况" in f.message_zh


# ------------------------------------------------------------------ N-TEXT-TABLE


def t3(received: int, carried: int = 0) -> dict:
    return {"t3.received.total": received, "t3.carried.total": carried}


def test_figure_agrees_or_contradicts():
    ok = record(prose={"s3": "本年度共收到政府信息公开申请12件，均已按时答复。"}, values=t3(12))
    assert text_table_findings(ok) == []
    bad = record(prose={"s3": "本年度共收到政府信息公开申请12件，均已按时答复。"}, values=t3(13))
    bad.where["prose.s3@0"] = "第40行"
    [f] = text_table_findings(bad)
    assert f.rule == "N-TEXT-TABLE" and f.numbers == {"prose": 12, "table": 13}
    assert f.cells[0] == "第40行" and "t3.received.total" in f.keys
    assert "收到政府信息公开申请12件" in f.message_zh


def test_received_may_include_carried_over():
    rec = record(prose={"s1": "全年受理政府信息公开申请12件。"}, values=t3(10, 2))
    assert text_table_findings(rec) == []


def test_zero_statements():
    none_received = "2019年，未收到公众申请要求公开的政府信息。"
    assert text_table_findings(record(prose={"s2": none_received}, values=t3(0))) == []
    [f] = text_table_findings(record(prose={"s2": none_received}, values=t3(3)))
    assert f.numbers == {"prose": 0, "table": 3}
    no_cases = "2019年未发生有关政府信息公开方面的行政复议、行政诉讼和申诉。"
    zero_t4 = {k: 0 for k in load_spec("2019").cells if k.startswith("t4.")}
    assert text_table_findings(record(prose={"s4": no_cases}, values=zero_t4)) == []
    one_review = dict(zero_t4, **{"t4.cases.review_upheld": 1, "t4.cases.review_total": 1})
    [f] = text_table_findings(record(prose={"s4": no_cases}, values=one_review))
    assert "t4.cases.review_total" in f.keys


def test_review_and_litigation_counts():
    zero_t4 = {k: 0 for k in load_spec("2021").cells if k.startswith("t4.")}
    values = dict(zero_t4, **{"t4.cases.review_upheld": 2, "t4.cases.review_total": 2,
                             "t4.cases.direct_pending": 1, "t4.cases.direct_total": 1,
                             "t4.cases.after_review_upheld": 1, "t4.cases.after_review_total": 1})
    prose = {"s4": "本年度因政府信息公开被申请行政复议2件，被提起行政诉讼2件。"}
    assert text_table_findings(record("2021", prose=prose, values=values)) == []
    wrong = {"s4": "本年度因政府信息公开被申请行政复议3件，被提起行政诉讼2件。"}
    [f] = text_table_findings(record("2021", prose=wrong, values=values))
    assert f.numbers == {"prose": 3, "table": 2}


@pytest.mark.parametrize("sentence", [
    "2018年收到政府信息公开申请20件。",           # another year
    "全年收到政府信息公开申请近20件。",            # approximate
    "全年主动公开政府信息1200余条。",              # not about applications, and approximate
    "收到政府信息公开申请较上年增加5件。",          # relative
    "全年受理群众来电50件。",                      # not about disclosure
    "按照依申请公开工作机制，规范办理流程。",        # no figure
])
def test_no_figure_is_read(sentence):
    rec = record(prose={"s1": sentence}, values=t3(7))
    assert prose_figures(rec) == [] and text_table_findings(rec) == []


def test_blank_table_cell_is_left_to_v_blank():
    rec = record(prose={"s1": "受理依申请公开124件。"}, values={"t3.received.total": None})
    assert text_table_findings(rec) == []


# ------------------------------------------------------------------ N-TEXT-TABLE: the topics are spec data


def spec_copy(tmp_path, edition: str, edit) -> Spec:
    """The spec of ``edition`` as ``edit`` changes it, loaded from a copy in tmp_path by the loader the
    real spec files go through (file, JSON Schema, cross-checks); load_spec's cache is left alone."""
    data = json.loads((schemas_dir() / f"format-{edition}.json").read_text(encoding="utf-8"))
    edit(data)
    shutil.copy(schemas_dir() / "format.schema.json", tmp_path)
    (tmp_path / f"format-{edition}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.MonkeyPatch.context() as m:
        m.setattr(gxsheet.core.spec, "schemas_dir", lambda: tmp_path)
        return load_spec.__wrapped__(edition)


def topic(data: dict, name: str) -> dict:
    return next(t for t in data["narrative_topics"] if t["name"] == name)


def section(data: dict, key: str) -> dict:
    return next(s for s in data["sections"] if s["key"] == key)


def test_spec_copy_is_the_real_spec_until_edited(tmp_path):
    assert spec_copy(tmp_path, "2021", lambda data: None) == load_spec("2021")


def test_every_topic_of_every_edition_has_phrases():
    named = set()
    for e in editions():
        spec = load_spec(e)
        assert topics(spec) == spec.narrative_topics and spec.narrative_topics
        assert all(k in spec.cells for t in spec.narrative_topics for keys in t.alternatives for k in keys)
        named |= {t.name for t in spec.narrative_topics}
    assert named == set(topics_named())  # no claim kept for a topic no edition has


def _misspelt_key(data):
    topic(data, "received")["alternatives"][1][1] = "t3.carried.totl"


def _unknown_grid(data):
    topic(data, "review")["alternatives"].append(["t9.cases.review_total"])


def _inner_row(data):
    topic(data, "received")["alternatives"].append(["t3.result.total"])  # 三、本年度办理结果 groups rows: no cell


def _twice(data):
    data["narrative_topics"].append(dict(topic(data, "carried")))


def _not_a_cell_key(data):
    topic(data, "litigation")["alternatives"].append(["t4.cases"])


def _key_repeated(data):
    topic(data, "review")["alternatives"][0].append("t4.cases.review_total")


def _none(data):
    del data["narrative_topics"]


def _no_fees(data):
    del section(data, "s6")["roles"]


def _fees_twice(data):
    section(data, "s5")["roles"].append("fees")


def _unknown_role(data):
    section(data, "s2")["roles"] = ["summary"]


def _role_repeated(data):
    section(data, "s6")["roles"] = ["fees", "fees"]


def _section_unnamed(data):
    del section(data, "s3")["en"]


def _no_heading_en(data):
    del section(data, "s6")["heading_en"]


def _table_unnamed(data):
    del data["tables"][0]["en"]


def _section_twice(data):
    data["sections"].append(dict(section(data, "s2")))


@pytest.mark.parametrize("edit,words", [
    (_misspelt_key, "spec '2021': narrative topic 'received': t3.carried.totl is not a value cell of this edition"),
    (_unknown_grid, "narrative topic 'review': t9.cases.review_total is not a value cell"),
    (_inner_row, "narrative topic 'received': t3.result.total is not a value cell"),
    (_twice, "narrative topic 'carried': the name is used twice"),
    (_not_a_cell_key, "'t4.cases' does not match"),
    (_key_repeated, "has non-unique elements"),
    (_none, "'narrative_topics' is a required property"),
    (_no_fees, "spec '2021': no section has the role 'fees'; the prose rules need one"),
    (_fees_twice, "spec '2021': the role 'fees' is given to sections s5, s6; a role belongs to one section"),
    (_unknown_role, "'summary' is not one of"),
    (_role_repeated, "has non-unique elements"),
    (_section_unnamed, "'en' is a required property at ['sections', 2]"),
    (_no_heading_en, "'heading_en' is a required property at ['sections', 5]"),
    (_table_unnamed, "'en' is a required property at ['tables', 0]"),
    (_section_twice, "spec '2021': duplicate section keys"),
])
def test_spec_topics_and_sections_are_checked_on_load(tmp_path, edit, words):
    with pytest.raises(SpecError, match=re.escape(words)):
        spec_copy(tmp_path, "2021", edit)


def test_a_topic_without_phrases_fails_loudly(tmp_path, monkeypatch):
    """A spec may only name topics this module can read in prose: an unknown one is refused the
    moment the prose rules meet it, not silently skipped."""
    def rename(data):
        topic(data, "carried")["name"] = "appeals"

    spec = spec_copy(tmp_path, "2021", rename)
    with pytest.raises(SpecError, match=r"spec '2021': narrative topic\(s\) 'appeals' have no phrase patterns"):
        topics(spec)
    monkeypatch.setattr(gxsheet.core.record, "load_spec", lambda edition: spec)
    with pytest.raises(SpecError, match="'appeals'"):
        text_table_findings(record("2021"))


def test_figures_are_compared_with_the_spec_topics(tmp_path, monkeypatch):
    """N-TEXT-TABLE takes the cells and words from the record's spec: without the received + carried
    alternative, 受理12件 against 10 new and 2 carried-over applications is a contradiction."""
    rec = record(prose={"s1": "全年受理政府信息公开申请12件。"}, values=t3(10, 2))
    assert text_table_findings(rec) == []

    def received_alone(data):
        received = topic(data, "received")
        received["alternatives"] = [["t3.received.total"]]
        received["zh"], received["en"] = "新收申请（测试）", "new applications (test)"

    spec = spec_copy(tmp_path, "2019", received_alone)
    monkeypatch.setattr(gxsheet.core.record, "load_spec", lambda edition: spec)
    [f] = text_table_findings(rec)
    assert f.keys == ["prose.s1", "t3.received.total"] and f.numbers == {"prose": 12, "table": 10}
    assert "即新收申请（测试）12件" in f.message_zh and "12 new applications (test)" in f.message_en


# ------------------------------------------------------------------ N-SEC5-EMPTY, N-FEE


@pytest.mark.parametrize("text,flagged", [("无", True), ("无。", True), ("", True), (None, True), ("暂无", True),
                                          ("信息更新不及时，将建立台账。", False)])
def test_section_five(text, flagged):
    assert bool(sec5_findings(record(prose={"s5": text}))) is flagged


def test_fee_statement_from_2021():
    assert [f.rule for f in fee_findings(record("2021", prose={"s6": "无"}))] == ["N-FEE"]
    assert fee_findings(record("2021", prose={"s6": None}))
    assert fee_findings(record("2021", prose={"s6": "本年度未收取信息处理费。"})) == []
    assert fee_findings(record("2021", year=2023, prose={"s6": "依法收取信息处理费0元。"})) == []
    assert fee_findings(record("2019", year=2020, prose={"s6": "无"})) == []
    assert fee_findings(record("2021", prose={"s6": "网站运维费用20万元。"}))  # other costs are not the fee statement


# ------------------------------------------------------------------ sections: names and roles are spec data


def test_every_edition_gives_each_role_to_one_section():
    assert section_roles() == ("overview", "applications", "review_litigation", "problems", "fees")
    for e in editions():
        spec = load_spec(e)
        for role in section_roles():
            assert [s.key for s in spec.sections if role in s.roles] == [spec.section_for(role).key]
        assert {s.key: (s.zh, s.en) for s in spec.sections}["s4"] == ("第四部分", "section 4")
    with pytest.raises(SpecError, match="spec '2021': no section has the role 'summary'"):
        load_spec("2021").section_for("summary")


def test_messages_name_the_sections_as_they_did():
    """The words of every prose rule's message, as they were when narrative.py spelt the sections out."""
    rec = record("2021", prose={"s1": None, "s5": "无", "s6": "无", "s3": "本年度共收到政府信息公开申请12件。"}, values=t3(13))
    said = [(f.rule, f.keys, f.message_zh, f.message_en) for f in narrative_findings(rec)]
    assert said == [
        ("S-SECTIONS", ["prose.s1"], "“一、总体情况”没有填写内容，请概述本年度政府信息公开工作的总体情况。",
         "the part 一、总体情况 is empty; summarise the year's disclosure work."),
        ("N-TEXT-TABLE", ["prose.s3", "t3.received.total"],
         "正文第三部分写“本年度共收到政府信息公开申请12件”，即本年新收政府信息公开申请12件；而表三 “一、本年新收政府信息公开申请数量”行 总计列为13，两者不符，请核实。",
         'the text of section 3 says "本年度共收到政府信息公开申请12件", i.e. 12 applications received this year, but the '
         'table has 13 (表三, row “一、本年新收政府信息公开申请数量”, column 总计); please check.'),
        ("N-SEC5-EMPTY", ["prose.s5"], "“五、存在的主要问题及改进情况”只写了“无”：每年都应如实说明存在的问题和改进措施。",
         'section 五 (main problems and improvements) only says "无"; every report must state its problems and the '
         'improvements made.'),
        ("N-FEE", ["prose.s6"],
         "“六、其他需要报告的事项”没有说明信息处理费的收取情况（依据国办函〔2020〕109号，未收取也应写明“本年度未收取信息处理费”）。",
         "section 六 (other matters) says nothing about information-processing fees (国办函〔2020〕109号); state them, "
         "or that none were collected."),
    ]


def test_rules_find_their_section_by_role(tmp_path, monkeypatch):
    """N-SEC5-EMPTY and N-FEE check the sections the spec gives those roles, not 五 and 六 by key."""
    rec = record("2021", prose={"s5": "本年度未收取信息处理费。", "s6": "无"})
    assert [(f.rule, f.keys) for f in narrative_findings(rec)] == [("N-FEE", ["prose.s6"])]

    def swap(data):
        section(data, "s5")["roles"], section(data, "s6")["roles"] = ["fees"], ["problems"]

    spec = spec_copy(tmp_path, "2021", swap)
    monkeypatch.setattr(gxsheet.core.record, "load_spec", lambda edition: spec)
    [f] = narrative_findings(rec)
    assert (f.rule, f.keys) == ("N-SEC5-EMPTY", ["prose.s6"])
    assert f.message_zh.startswith("“六、其他需要报告的事项”只写了“无”")
    assert f.message_en.startswith('section 六 (other matters) only says "无"')


def test_sections_keyed_and_named_differently(tmp_path, monkeypatch):
    """With every section key renamed and 三 named anew, each rule still finds its section by role,
    reads figures without disclosure wording only in the applications and appeals sections, and
    names a section as the spec does."""
    new = {"s1": "summary", "s2": "proactive", "s3": "requests", "s4": "appeals", "s5": "issues", "s6": "other"}

    def rename(data):
        for s in data["sections"]:
            s["key"] = new[s["key"]]
        section(data, "requests").update(zh="申请部分", en="the part on requests")

    spec = spec_copy(tmp_path, "2021", rename)
    monkeypatch.setattr(gxsheet.core.record, "load_spec", lambda edition: spec)

    def report(**prose) -> Record:
        rec = empty_record(spec, year=2021, level="镇", unit_name="某镇")
        rec.values.update(valid_values(spec, 0))
        rec.values.update(t3(10))
        rec.prose.update(summary="本年度工作概况。", issues="信息更新不及时，将建立台账。", other="本年度未收取信息处理费。")
        rec.prose.update(prose)
        return rec

    rec = report(summary=None, requests="共收到申请12件。", issues="无", other="无")
    rec.where["prose.requests@0"] = "第40行"
    fs = narrative_findings(rec)
    assert [(f.rule, f.keys) for f in fs] == [
        ("S-SECTIONS", ["prose.summary"]), ("N-TEXT-TABLE", ["prose.requests", "t3.received.total"]),
        ("N-SEC5-EMPTY", ["prose.issues"]), ("N-FEE", ["prose.other"])]
    assert "正文申请部分（第40行）写“共收到申请12件”" in fs[1].message_zh
    assert 'the text of the part on requests (line 40) says "共收到申请12件"' in fs[1].message_en
    assert narrative_findings(report(proactive="共收到申请12件。")) == []  # no disclosure wording: not read there
    [appeal] = narrative_findings(report(appeals="被申请行政复议1件。"))
    assert appeal.keys == ["prose.appeals", "t4.cases.review_total"]


# ------------------------------------------------------------------ through the validator, on a workbook


def test_validator_runs_narrative_rules_on_workbooks(tmp_path):
    path = write_sample(tmp_path / "w.xlsx", "2021", seed=3, meta={"level": "镇"},
                        values={"t2_1.rules.made": 0, "t2_1.rules.repealed": 0, "t2_1.rules.in_force": 0},
                        prose={"s5": "无", "s6": "无"})
    fs = validate_record(read_report(path))
    rules = sorted(f.rule for f in fs)
    assert rules == ["N-FEE", "N-SEC5-EMPTY"]
    five = next(f for f in fs if f.rule == "N-SEC5-EMPTY")
    assert five.cells == ["正文!B7"]


def test_clean_sample_has_no_narrative_findings(tmp_path):
    for edition in ("2019", "2021"):
        rec = read_report(write_sample(tmp_path / f"{edition}.xlsx", edition, seed=1))
        assert narrative_findings(rec) == []
