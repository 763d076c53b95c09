"""Core validation through real workbooks: fill a template, plant errors, read, validate.

Expected arithmetic findings come from a small independent oracle (plain Python over the planted
values and the spec's equations), so a test states *which* cells a rule must name without
re-using the validator's own code.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from oracle import oracle

from gxsheet.check.validate import validate_record
from gxsheet.core.layout import workbook_layout
from gxsheet.core.spec import load_spec
from gxsheet.read.workbook import read_report
from gxsheet.render.samples import default_meta, valid_values, write_sample

EDITIONS = ("2019", "2021")




def run_case(tmp_path: Path, edition: str, values=None, meta=None, seed=7):
    spec = load_spec(edition)
    vals = dict(valid_values(spec, seed))
    vals.update(values or {})
    m = default_meta(spec)
    m.update(meta or {})
    path = write_sample(tmp_path / f"case-{edition}.xlsx", edition, seed=seed, values=values, meta=meta)
    rec = read_report(path)
    found = {(f.rule, tuple(f.cells)) for f in validate_record(rec)}
    return spec, vals, m, rec, found, validate_record(rec)


def addr(spec, key):
    return workbook_layout(spec).address(key)


@pytest.mark.parametrize("edition", EDITIONS)
def test_valid_workbook_has_no_findings(tmp_path, edition):
    spec, vals, meta, rec, found, _ = run_case(tmp_path, edition)
    assert found == set()
    assert rec.edition == edition
    for k, v in vals.items():
        assert rec.values[k] == v, k
    assert rec.meta["year"] == spec.first_year


VALUE_CASES = [
    # (edition, key, planted, rule or None)
    ("2021", "t3.refused_secret.research", None, "V-BLANK"),
    ("2021", "t3.refused_secret.research", "无", "V-NUMBER"),
    ("2019", "t4.cases.review_upheld", "—", "V-NUMBER"),
    ("2019", "t3.np_mass.total", "1200余", "V-NUMBER"),
    ("2021", "t3.received.natural", "十", "V-NUMBER"),
    ("2021", "t2_5.licensing.decisions", 3.5, "V-INTEGER"),
    ("2021", "t2_5.licensing.decisions", -2, "V-NEGATIVE"),
    ("2019", "t2_5.licensing.change", -3, None),  # 本年增/减 may be negative
    ("2021", "t2_8.fees.amount", "5000元", "V-UNIT"),
    ("2021", "t2_8.fees.amount", "288.79万元", None),  # the column's own unit: scale is certain
    ("2021", "t2_8.fees.amount", 12.35, None),
    ("2021", "t2_8.fees.amount", -1.5, "V-NEGATIVE"),
]


@pytest.mark.parametrize("edition,key,planted,rule", VALUE_CASES)
def test_value_rules(tmp_path, edition, key, planted, rule):
    spec, vals, meta, rec, found, fs = run_case(tmp_path, edition, values={key: planted})
    vals[key] = planted
    expected = oracle(spec, vals, meta)
    if rule:
        expected.add((rule, (addr(spec, key),)))
    assert found == expected
    sev = {f.rule: f.severity for f in fs}
    if rule:
        assert sev[rule] == ("warning" if rule == "V-UNIT" else "error")


def test_fraction_is_never_rounded(tmp_path):
    spec, vals, meta, rec, found, fs = run_case(tmp_path, "2021", values={"t3.disclosed.natural": 3.5})
    assert rec.values["t3.disclosed.natural"] == 3.5
    assert ("V-INTEGER", (addr(spec, "t3.disclosed.natural"),)) in found


@pytest.mark.parametrize("planted,unit,expect_unit", [
    (41521.5, None, True),         # seed 000: no unit anywhere
    ("288.79万元", None, True),     # seed 002: unit inside the cell
    (41521.5, "元", False),         # unit chosen on 基本信息
    ("288.79万元", "万元", False),
    ("251000元", "万元", True),     # unit in the cell contradicts the stated one
])
def test_2019_purchase_amount_unit(tmp_path, planted, unit, expect_unit):
    key = "t2_9.purchase.amount"
    spec, vals, meta, rec, found, fs = run_case(tmp_path, "2019", values={key: planted}, meta={"amount_unit": unit})
    assert (("V-UNIT", (addr(spec, key),)) in found) is expect_unit
    assert {r for r, _ in found} <= {"V-UNIT"}


def _bump(spec, vals, *keys, by=1):
    return {k: vals[k] + by for k in keys}


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("rule,keys", [
    ("T3-IDENTITY", ("t3.received.natural", "t3.received.total")),
    ("T3-RESULT-TOTAL", ("t3.disclosed.business", "t3.disclosed.total")),
    ("T3-ROW-TOTAL", ("t3.carry_forward.total",)),
    ("T4-GROUP-TOTAL", ("t4.cases.after_review_total",)),
])
def test_arithmetic_rules(tmp_path, edition, rule, keys):
    spec = load_spec(edition)
    base = valid_values(spec, 7)
    planted = _bump(spec, base, *keys, by=2)
    spec, vals, meta, rec, found, fs = run_case(tmp_path, edition, values=planted)
    vals.update(planted)
    expected = oracle(spec, vals, meta)
    assert rule in {r for r, _ in expected}
    assert found == expected
    f = next(f for f in fs if f.rule == rule)
    assert f.severity == "error" and "差2" in f.message_zh


def test_t3_identity_message_has_the_numbers(tmp_path):
    spec = load_spec("2021")
    base = valid_values(spec, 7)
    planted = {"t3.received.natural": base["t3.received.natural"] + 2, "t3.received.total": base["t3.received.total"] + 2}
    *_, fs = run_case(tmp_path, "2021", values=planted)
    f = next(f for f in fs if f.rule == "T3-IDENTITY" and "自然人" in f.message_zh)
    lhs = planted["t3.received.natural"] + base["t3.carried.natural"]
    rhs = base["t3.total.natural"] + base["t3.carry_forward.natural"]
    assert f.message_zh == f"表三 自然人列：一+二={lhs}，（七）总计+四={rhs}，差2。"
    assert f.cells == [addr(spec, k) for k in ("t3.received.natural", "t3.carried.natural", "t3.total.natural", "t3.carry_forward.natural")]
    assert "difference 2" in f.message_en


def test_t2_published_2019(tmp_path):
    spec = load_spec("2019")
    base = valid_values(spec, 7)
    planted = {"t2_1.normative.published_total": base["t2_1.normative.new_published"] - 1}
    spec, vals, meta, rec, found, fs = run_case(tmp_path, "2019", values=planted)
    assert found == {("T2-PUBLISHED", (addr(spec, "t2_1.normative.published_total"), addr(spec, "t2_1.normative.new_published")))}
    assert fs[0].severity == "warning"


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("level,expected", [("镇", True), ("街道", True), ("县级部门", False)])
def test_t2_town_rules(tmp_path, edition, level, expected):
    spec = load_spec(edition)
    col = spec.grid("t2_1").leaf_columns()[-1].key
    key = f"t2_1.rules.{col}"
    spec, vals, meta, rec, found, fs = run_case(tmp_path, edition, values={key: 1}, meta={"level": level})
    want = {("T2-TOWN-RULES", (addr(spec, key),))} if expected else set()
    vals[key] = 1
    meta["level"] = level
    want |= {x for x in oracle(spec, vals, meta) if x[0] != "T2-TOWN-RULES"}
    assert found == want


@pytest.mark.parametrize("edition,year", [("2019", 2021), ("2019", 2023), ("2021", 2020), ("2021", 2019)])
def test_s_edition_year(tmp_path, edition, year):
    import datetime as dt

    meta = {"year": year, "period_start": dt.date(year, 1, 1), "period_end": dt.date(year, 12, 31)}
    spec, vals, m, rec, found, fs = run_case(tmp_path, edition, meta=meta)
    assert {r for r, _ in found} == {"S-EDITION"}
    f = fs[0]
    assert f.severity == "error" and f.cells == ["基本信息!B7"] and str(year) in f.message_zh


def test_period_and_metadata(tmp_path):
    import datetime as dt

    spec, vals, m, rec, found, fs = run_case(tmp_path, "2021", meta={"period_end": dt.date(2021, 12, 21), "unit_name": None})
    assert {r for r, _ in found} == {"N-PERIOD", "M-META"}
    n = next(f for f in fs if f.rule == "N-PERIOD")
    assert "12月21日" in n.message_zh and n.severity == "warning"


def test_combination(tmp_path):
    spec = load_spec("2021")
    base = valid_values(spec, 7)
    planted = {
        "t3.refused_law.natural": None,
        "t4.cases.review_total": base["t4.cases.review_total"] + 1,
        "t2_5.licensing.decisions": "若干",
        "t2_8.fees.amount": "3000元",
        "t2_1.rules.made": 2,
        "t3.partial.total": base["t3.partial.total"] + 1,
    }
    spec, vals, meta, rec, found, fs = run_case(tmp_path, "2021", values=planted, meta={"level": "乡"})
    vals.update(planted)
    expected = oracle(spec, vals, meta)
    expected |= {("V-BLANK", (addr(spec, "t3.refused_law.natural"),)),
                 ("V-NUMBER", (addr(spec, "t2_5.licensing.decisions"),)),
                 ("V-UNIT", (addr(spec, "t2_8.fees.amount"),))}
    assert {"T4-GROUP-TOTAL", "T3-ROW-TOTAL", "T2-TOWN-RULES"} <= {r for r, _ in expected}
    assert found == expected
    # errors come before warnings
    sev = [f.severity for f in fs]
    assert sev == sorted(sev, key=lambda s: s != "error")


def test_validation_of_many_rows_equals_one_by_one(tmp_path):
    """One frame of N records gives the same findings as N single validations."""
    from gxsheet.check.validate import validate_records

    recs = []
    for i, planted in enumerate([{}, {"t3.received.natural": "x"}, {"t4.cases.review_total": 99}]):
        p = write_sample(tmp_path / f"m{i}.xlsx", "2021", seed=i, values=planted)
        recs.append(read_report(p))
    together = validate_records(recs)
    alone = [validate_record(r) for r in recs]
    assert [[(f.rule, f.cells) for f in fs] for fs in together] == [[(f.rule, f.cells) for f in fs] for fs in alone]
    assert together[0] == [] and together[1] and together[2]


def test_input_never_modified(tmp_path):
    p = write_sample(tmp_path / "in.xlsx", "2021", values={"t3.received.natural": "x"})
    before = p.read_bytes()
    from gxsheet.cli.app import main

    assert main(["validate", str(p), "--annotate", str(tmp_path / "out.xlsx")]) == 1
    assert p.read_bytes() == before
    assert (tmp_path / "out.xlsx").exists()


def test_numbers_stored_as_text_are_named(tmp_path):
    """' 5 ', '０', '1,234　' in a *text* cell: SUM skips them in every spreadsheet program, so the
    template's own checks do not count them and colour them red; gxsheet names each one too."""
    spec = load_spec("2021")
    base = valid_values(spec, 7)
    keys = ["t3.received.natural", "t3.received.business", "t2_5.licensing.decisions", "t4.cases.review_upheld"]
    noisy = {keys[0]: f" {base[keys[0]]} ", keys[1]: chr(0xFF10 + base[keys[1]]) if base[keys[1]] < 10 else str(base[keys[1]]),
             keys[2]: f"{base[keys[2]]:,}\u3000", keys[3]: f"\u00a0{base[keys[3]]}"}
    spec, vals, meta, rec, found, fs = run_case(tmp_path, "2021", values=noisy)
    assert found == {("V-NUMBER", (addr(spec, k),)) for k in keys}
    assert all(f.case == "number-as-text" and "存为文本的数字" in f.message_zh for f in fs)


def test_formula_without_cached_value_is_computed(tmp_path):
    """openpyxl writes formulas without results: the reader computes them, never reads blank."""
    spec = load_spec("2021")
    lay = workbook_layout(spec)
    base = valid_values(spec, 7)
    parts = [k for k in spec.cells if k.startswith("t3.received.") and not k.endswith(".total")]
    refs = ",".join(lay.address(k).split("!")[1] for k in parts)
    spec, vals, meta, rec, found, fs = run_case(tmp_path, "2021", values={"t3.received.total": f"=SUM({refs})"})
    assert rec.values["t3.received.total"] == base["t3.received.total"]
    assert found == set()
    # a formula we cannot compute is reported, not read as blank
    spec, vals, meta, rec, found, fs = run_case(tmp_path, "2021", values={"t3.received.total": "=VLOOKUP(1,A1:B2,2)"})
    assert ("V-NUMBER", (addr(spec, "t3.received.total"),)) in found


@pytest.mark.parametrize("formula", ["=" + "9" * 4000 + "*" + "9" * 4000, "=" + "*".join(["1" + "0" * 200] * 3)])
def test_formula_beyond_a_double_is_not_a_number(tmp_path, formula):
    """Excel computes in doubles: a product of giant literals overflows, it does not become a
    thousand-digit int that the validator cannot convert (it used to end in an internal error)."""
    spec, vals, meta, rec, found, fs = run_case(tmp_path, "2021", values={"t3.received.natural": formula})
    assert rec.values["t3.received.natural"] == formula
    assert ("V-NUMBER", (addr(spec, "t3.received.natural"),)) in found


# ------------------------------------------------------------------ tampering (S-LABEL, S-LAYOUT)
def _tamper(tmp_path, edition, fn, name="t.xlsx"):
    src = write_sample(tmp_path / "src.xlsx", edition, seed=7)
    wb = load_workbook(src)
    fn(wb)
    out = tmp_path / name
    wb.save(out)
    rec = read_report(out)
    fs = validate_record(rec)
    return rec, fs


def _cell_of(wb, sheet, text):
    for row in wb[sheet].iter_rows():
        for c in row:
            if c.value == text:
                return c
    raise AssertionError(text)


@pytest.mark.parametrize("official,changed", [
    ("7.属于行政执法案卷", "7.属于行政法案卷"),
    ("3.危及“三安全一稳定”", "3.危机“三安全一稳定”"),
    ("1.属于国家秘密", "1、属于国家秘密"),
    ("一、本年新收政府信息公开申请数量", "一、本年新收到政府信息公开申请数量"),
    ("商业企业", "企业"),
])
def test_s_label(tmp_path, official, changed):
    holder = {}

    def change(wb):
        c = _cell_of(wb, "表三", official)
        c.value = changed
        holder["ref"] = f"表三!{c.coordinate}"

    rec, fs = _tamper(tmp_path, "2021", change)
    assert [(f.rule, f.severity, f.cells) for f in fs] == [("S-LABEL", "warning", [holder["ref"]])]
    assert official in fs[0].message_zh and changed in fs[0].message_zh
    spec = load_spec("2021")
    assert all(rec.values[k] == v for k, v in valid_values(spec, 7).items())


def test_inserted_row_is_one_finding_and_values_still_read(tmp_path):
    def insert(wb):
        ws = wb["表三"]
        ws.insert_rows(10)
        ws.cell(10, 3).value = "自行增加的一行"
        ws.cell(10, 4).value = 5

    rec, fs = _tamper(tmp_path, "2021", insert)
    assert [(f.rule, f.cells) for f in fs] == [("S-LAYOUT", ["表三!A10"])]
    spec = load_spec("2021")
    assert all(rec.values[k] == v for k, v in valid_values(spec, 7).items())
    assert rec.where["t3.carry_forward.natural"] == "表三!D30"  # one row further down


def test_deleted_row_is_one_finding_without_cascade(tmp_path):
    def delete(wb):
        ws = wb["表三"]
        c = _cell_of(wb, "表三", "4.保护第三方合法权益")
        ws.delete_rows(c.row)

    rec, fs = _tamper(tmp_path, "2021", delete)
    assert [f.rule for f in fs] == ["S-LAYOUT"]
    assert "4.保护第三方合法权益" in fs[0].message_zh
    assert all(k in rec.missing for k in rec.values if k.startswith("t3.refused_third_party."))


def _swap(ws, a: list, b: list) -> None:
    """Exchange two runs of cells, as cut-and-paste leaves them: values move, each row's (column's)
    own total formula stays where it is and sums what is now there."""
    for x, y in zip(a, b, strict=True):
        if not (str(x.value).startswith("=") or str(y.value).startswith("=")):
            x.value, y.value = y.value, x.value


def test_moved_row_is_one_finding_and_its_values_read_by_label(tmp_path):
    """Issue 13: a row cut and pasted one place up was an "inserted" row plus a "missing" row,
    and its values were lost."""
    def move(wb):
        ws = wb["表三"]
        r2, r3 = _cell_of(wb, "表三", "2.重复申请").row, _cell_of(wb, "表三", "3.要求提供公开出版物").row
        _swap(ws, list(ws[r2])[2:10], list(ws[r3])[2:10])
        holder["row"] = r2

    holder = {}
    rec, fs = _tamper(tmp_path, "2021", move)
    assert [(f.rule, f.cells) for f in fs] == [("S-LAYOUT", [f"表三!C{holder['row']}"])]
    assert "3.要求提供公开出版物" in fs[0].message_zh and f"第{holder['row'] + 1}行" in fs[0].message_zh
    assert rec.missing == set()
    assert all(rec.values[k] == v for k, v in valid_values(load_spec("2021"), 7).items())
    assert rec.where["t3.np_publication.natural"] == f"表三!D{holder['row']}"


def test_moved_column_is_one_finding_and_its_values_read_by_label(tmp_path):
    def move(wb):
        ws = wb["表三"]
        e, f = _cell_of(wb, "表三", "商业企业").column, _cell_of(wb, "表三", "科研机构").column
        _swap(ws, [ws.cell(r, e) for r in range(4, 30)], [ws.cell(r, f) for r in range(4, 30)])

    rec, fs = _tamper(tmp_path, "2021", move)
    assert [(f.rule, f.cells) for f in fs] == [("S-LAYOUT", ["表三!E4"])]
    assert "“科研机构”列" in fs[0].message_zh and "F列" in fs[0].message_zh
    assert rec.missing == set()
    assert all(rec.values[k] == v for k, v in valid_values(load_spec("2021"), 7).items())


def test_inserted_column(tmp_path):
    def insert(wb):
        ws = wb["表三"]
        ws.insert_cols(6)
        ws.cell(4, 6).value = "个体工商户"
        ws.cell(5, 6).value = 1

    rec, fs = _tamper(tmp_path, "2021", insert)
    assert [(f.rule, f.cells) for f in fs] == [("S-LAYOUT", ["表三!F4"])]
    spec = load_spec("2021")
    assert all(rec.values[k] == v for k, v in valid_values(spec, 7).items())


def test_overwritten_check_formula(tmp_path):
    spec = load_spec("2021")
    lay = workbook_layout(spec).sheet("表三")
    chk = lay.checks[0]
    from gxsheet.core.layout import a1

    rec, fs = _tamper(tmp_path, "2021", lambda wb: setattr(wb["表三"][a1(chk.row, chk.col)], "value", "√"))
    assert [(f.rule, f.severity, f.cells) for f in fs] == [("S-LAYOUT", "error", [f"表三!{a1(chk.row, chk.col)}"])]


def test_deleted_sheet(tmp_path):
    def drop(wb):
        del wb["表四"]

    rec, fs = _tamper(tmp_path, "2021", drop)
    assert [(f.rule, f.cells) for f in fs] == [("S-LAYOUT", ["表四"])]


def test_renamed_sheet_is_found_by_its_title(tmp_path):
    rec, fs = _tamper(tmp_path, "2021", lambda wb: setattr(wb["表三"], "title", "Sheet3"))
    assert [f.rule for f in fs] == ["S-LABEL"]
    spec = load_spec("2021")
    assert all(rec.values[k] == v for k, v in valid_values(spec, 7).items())


def test_declared_edition_differs_from_tables(tmp_path):
    rec, fs = _tamper(tmp_path, "2019", lambda wb: setattr(wb["基本信息"]["B3"], "value", "2021"))
    assert rec.edition == "2019"
    assert [(f.rule, f.cells) for f in fs] == [("S-EDITION", ["基本信息!B3"])]


def test_mixed_edition_tables(tmp_path):
    """A 2021 report whose 表二 is the 2019 one: S-EDITION, and nothing read from that table."""
    other = load_workbook(write_sample(tmp_path / "o19.xlsx", "2019", seed=1))

    def swap(wb):
        ws = wb["表二"]
        for row in ws.iter_rows():
            for c in row:
                if type(c).__name__ == "Cell":
                    c.value = None
        for mr in list(ws.merged_cells.ranges):
            ws.unmerge_cells(str(mr))
        for row in other["表二"].iter_rows():
            for c in row:
                if c.value is not None:
                    ws.cell(c.row, c.column).value = c.value

    rec, fs = _tamper(tmp_path, "2021", swap)
    assert rec.edition == "2021"
    assert [(f.rule, f.cells) for f in fs] == [("S-EDITION", ["表二"])]


@pytest.mark.parametrize("edition", EDITIONS)
def test_blank_unlabelled_row_is_blank_not_missing(tmp_path, edition):
    """表四's only data row has no label: left entirely blank it is 15 V-BLANK, not silently missing."""
    spec = load_spec(edition)
    blank = {k: None for k in spec.cells if k.startswith("t4.")}
    spec, vals, meta, rec, found, fs = run_case(tmp_path, edition, values=blank)
    assert found == {("V-BLANK", (addr(spec, k),)) for k in blank}
    assert not rec.missing


# ------------------------------------------------------------------ the frame and the schema


def test_schema_is_frame_checks_named_by_rule_and_reports_cells_without_the_run(tmp_path):
    """pandera itself finds the failing rows of a frame (no cached analysis involved), one check per
    rule — not ~850 per-cell checks — and the run turns them into the exact cells."""
    import pandas as pd
    from pandera.errors import SchemaErrors

    from gxsheet.check.tables import BLANK, VALUE_RULES, frame, schema_for
    from gxsheet.check.validate import validate_records

    spec = load_spec("2021")
    schema = schema_for("2021")
    names = [c.name for c in schema.checks]
    assert names[:4] == list(VALUE_RULES)
    assert len(names) == len(set(names)) == 4 + len(spec.equations) + \
        sum(c.type == "amount" for c in spec.cells.values()) + 3
    assert not schema.columns
    recs = [read_report(write_sample(tmp_path / f"f{i}.xlsx", "2021", seed=i, values=v))
            for i, v in enumerate([{}, {"t3.received.natural": "十", "t3.received.research": None}])]
    df = frame(recs, spec)
    assert df.at[1, "t3.received.research"] == BLANK and isinstance(df.at[0, "t3.received.research"], int)
    with pytest.raises(SchemaErrors) as err:
        schema.validate(df, lazy=True)
    cases = err.value.failure_cases
    failed = set(zip(cases["check"], cases["index"].astype(int), strict=True))
    assert {("V-NUMBER", 1), ("V-BLANK", 1)} <= failed
    assert not {c for c, i in failed if i == 0}
    assert pd.Series(cases["check"]).isin(VALUE_RULES).any()
    got = {(f.rule, tuple(f.keys)) for f in validate_records(recs)[1] if f.rule.startswith("V-")}
    assert got == {("V-NUMBER", ("t3.received.natural",)), ("V-BLANK", ("t3.received.research",))}


@pytest.mark.parametrize("blank", [None, "", float("nan")])
def test_every_form_of_a_blank_cell_is_v_blank(tmp_path, blank):
    rec = read_report(write_sample(tmp_path / "b.xlsx", "2021", seed=3))
    rec.values["t4.cases.review_total"] = blank
    fs = [(f.rule, f.keys) for f in validate_record(rec)]
    assert ("V-BLANK", ["t4.cases.review_total"]) in fs
    assert not [r for r, _ in fs if r.startswith("T")], fs  # not computable, so no arithmetic finding


def test_many_records_of_both_editions_and_every_value_kind_equal_one_by_one(tmp_path):
    """Rows of one frame never leak into each other, whatever each one breaks."""
    from gxsheet.check.validate import validate_records

    plants = [("2021", {}), ("2019", {"t3.np_mass.total": "1200余"}), ("2021", {"t2_5.licensing.decisions": -2.5}),
              ("2019", {"t2_5.licensing.change": -3, "t4.cases.review_total": None}), ("2021", {"t2_8.fees.amount": "5000元"}),
              ("2021", {"t2_8.fees.amount": -1.5, "t3.received.natural": 10**6}), ("2019", {})]
    recs = [read_report(write_sample(tmp_path / f"k{i}.xlsx", e, seed=i, values=v)) for i, (e, v) in enumerate(plants)]
    together = validate_records(recs)
    alone = [validate_record(r) for r in recs]
    assert [[(f.rule, f.cells, f.message_zh) for f in fs] for fs in together] == \
        [[(f.rule, f.cells, f.message_zh) for f in fs] for fs in alone]
    rules = [{f.rule for f in fs} for fs in together]
    assert rules[0] == set() and rules[6] == set()
    assert "V-NUMBER" in rules[1] and {"V-INTEGER", "V-NEGATIVE"} <= rules[2] and "V-BLANK" in rules[3]
    assert "V-NEGATIVE" not in rules[3]  # 本年增/减 may be negative
    assert "V-UNIT" in rules[4] and "V-NEGATIVE" in rules[5]


# ------------------------------------------------------------------ the reader's layout matching, reused


def test_layout_match_is_reused_only_for_the_same_shape(tmp_path):
    """Reading many towns aligns each sheet shape once; a changed label, an inserted row or another
    edition is a new shape and is matched (and reported) afresh, and reuse never changes a result."""
    from gxsheet.read import workbook as reader
    from gxsheet.read.workbook import _MATCHED

    _MATCHED.clear()
    clean = [write_sample(tmp_path / f"c{i}.xlsx", "2021", seed=i) for i in range(3)]
    first = read_report(clean[0])
    assert len(_MATCHED) == 3  # 表二, 表三, 表四 of the 2021 template
    again = [read_report(p) for p in clean[1:]]
    assert len(_MATCHED) == 3
    spec = load_spec("2021")
    for i, rec in enumerate([first, *again]):
        assert all(rec.values[k] == v for k, v in valid_values(spec, i).items())
        assert rec.where == first.where and not rec.structure

    def relabel(wb):
        _cell_of(wb, "表三", "商业企业").value = "企业"

    rec, fs = _tamper(tmp_path, "2021", relabel)
    assert [f.rule for f in fs] == ["S-LABEL"]
    rec2, fs2 = _tamper(tmp_path, "2021", relabel)  # the same tampering again: still reported
    assert [(f.rule, f.cells) for f in fs2] == [(f.rule, f.cells) for f in fs]
    assert rec2.structure[0].source == rec2.source != ""
    # reuse gives exactly what a fresh match gives
    _MATCHED.clear()
    fresh = read_report(clean[2])
    assert fresh.values == again[1].values and fresh.where == again[1].where and fresh.missing == again[1].missing
    assert reader._MATCHED_MAX >= 8


def test_reused_match_is_not_changed_by_a_mixed_edition_report(tmp_path):
    from gxsheet.read.workbook import _MATCHED

    _MATCHED.clear()
    before = read_report(write_sample(tmp_path / "a.xlsx", "2021", seed=1))
    test_mixed_edition_tables(tmp_path)  # marks 表二 all missing on its own copy of the match
    after = read_report(write_sample(tmp_path / "b.xlsx", "2021", seed=1))
    assert not after.missing and after.values == before.values


def test_a_cell_that_breaks_a_total_is_listed_before_the_total(tmp_path):
    """A fraction in a count cell is numeric, so the row total it breaks is an error too: the clerk
    reads the cause (V-INTEGER) first, then the effect (T3-ROW-TOTAL); structure comes before both."""
    spec = load_spec("2021")
    vals = valid_values(spec, 7)
    planted = {"t3.received.natural": vals["t3.received.natural"] + 0.5}

    def relabel(wb):
        _cell_of(wb, "表三", "商业企业").value = "企业"

    src = write_sample(tmp_path / "src.xlsx", "2021", seed=7, values=planted)
    wb = load_workbook(src)
    relabel(wb)
    wb.save(tmp_path / "o.xlsx")
    fs = validate_record(read_report(tmp_path / "o.xlsx"))
    rules = [f.rule for f in fs]
    assert "V-INTEGER" in rules and any(r.startswith("T3-") for r in rules) and "S-LABEL" in rules
    errors = [r for r, f in zip(rules, fs, strict=True) if f.severity == "error"]
    assert errors.index("V-INTEGER") < min(i for i, r in enumerate(errors) if r.startswith("T"))
    assert rules[-1] == "S-LABEL"  # a warning: after every error


def test_a_check_that_cannot_run_is_an_error_not_a_pass(tmp_path, monkeypatch):
    """pandera (lazy) turns an exception inside a check into a failure case without a row; the run
    must not read that as "nothing found"."""
    from gxsheet.check import tables as V
    from gxsheet.check.validate import validate_records

    rec = read_report(write_sample(tmp_path / "x.xlsx", "2021", seed=1))
    monkeypatch.setattr(V, "_analysis", lambda df, spec: (_ for _ in ()).throw(ValueError("broken analysis")))
    with pytest.raises(RuntimeError, match="could not run.*broken analysis"):
        validate_records([rec])


def test_one_analysis_per_run_however_many_equations_fail(tmp_path, monkeypatch):
    """The per-cell analysis is the expensive part of a run: building the findings of failing
    equations must reuse it, not look at every cell again once per failing equation."""
    from gxsheet.check import tables as V
    from gxsheet.check.validate import validate_records

    spec = load_spec("2021")
    good = read_report(write_sample(tmp_path / "good.xlsx", "2021", seed=1))
    bad = read_report(write_sample(tmp_path / "bad.xlsx", "2021", seed=2))
    received = [k for k in spec.cells if k.startswith("t3.received.")]
    for k in received:  # breaks the identity and row totals of several columns at once
        bad.values[k] = int(bad.values[k]) + 7
    calls = []
    real = V._analyse
    monkeypatch.setattr(V, "_analyse", lambda df, s: calls.append(len(df)) or real(df, s))
    found = validate_records([good, bad, good])
    failing = {f.message_zh for f in found[1] if f.rule.startswith("T")}
    assert len(failing) >= 3 and found[0] == found[2] == []
    assert calls == [3]


def test_prose_findings_made_by_the_reading_worker_are_the_ones_made_here():
    """``gxsheet validate`` runs the prose rules where the file is read (check.prose.read_and_check_prose)
    and hands them to validate_records as ``prose``: the findings must be those validate_records makes
    itself, and a record given its prose findings does not get them twice or get them recomputed."""
    from gxsheet.check.prose import narrative_findings, read_and_check_prose
    from gxsheet.check.validate import validate_records

    path = Path(__file__).resolve().parents[2] / "examples" / "004_69f7d43df349e7f8.xlsx"
    rec, made = read_and_check_prose(str(path))
    rules = {f.rule for f in made}
    assert {"N-TEXT-TABLE", "S-SECTIONS"} <= rules, rules  # a report whose text contradicts its table
    assert made == narrative_findings(rec)
    here = validate_records([rec])[0]
    assert validate_records([rec], prose=[made])[0] == here
    assert validate_records([rec], prose=[None])[0] == here  # None: run them here
    without = validate_records([rec], prose=[[]])[0]  # given none: none made here either
    assert not {f.rule for f in without} & rules and len(without) == len(here) - len(made)
