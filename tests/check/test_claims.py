"""Claim patterns (schemas/claims.json) against their own examples and a corpus of real published phrasing.

The corpus (tests/check/phrasing_corpus.json) holds short excerpts of published reports of every
level and both editions, each with the figures it states as a careful reader reads them (hand-checked,
with the excerpt's source). Reading them through the same path as the validator — a report's prose,
its year, the spec's topics — the claims must find what is stated and invent nothing: precision and
recall are printed (``pytest -s``) and held to a floor.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gxsheet.check.claims import claims, fee_stated, read_claims, topics_named
from gxsheet.check.prose import fee_findings, prose_figures, text_table_findings
from gxsheet.core.record import empty_record
from gxsheet.core.spec import edition_for_year, load_spec

CORPUS = json.loads((Path(__file__).parent / "phrasing_corpus.json").read_text(encoding="utf-8"))["excerpts"]


def stated(text: str, year: int, section: str = "s1") -> set[tuple[str, int]]:
    spec = load_spec(edition_for_year(year))
    rec = empty_record(spec)
    rec.set_role("year", year)
    rec.prose[section] = text
    return {(f.topic, f.value) for f in prose_figures(rec)}


def test_the_claims_file_is_checked_and_every_topic_is_a_spec_topic():
    assert claims().claims
    spec_topics = {t.name for e in ("2019", "2021") for t in load_spec(e).narrative_topics}
    assert topics_named() <= spec_topics


@pytest.mark.parametrize("claim", claims().claims, ids=lambda c: c.id)
def test_each_claim_reads_its_examples(claim):
    for sentence, want in claim.examples:
        got = {(s.topic, s.value) for s in read_claims(sentence, topics=topics_named(), about_figures=True)}
        assert set(want) <= got, (claim.id, sentence, got)


def test_fee_wordings():
    data = claims()
    assert all(fee_stated(t) for t in data.fee_examples)
    assert not any(fee_stated(t) for t in data.fee_not)


def test_the_corpus_is_real_and_large_enough():
    assert len(CORPUS) >= 30
    assert all(e["source"] and e["text"] for e in CORPUS)
    levels = {e["level"] for e in CORPUS}
    assert {"镇", "街道", "县级政府", "县级部门", "市级部门"} <= levels and any(lv.startswith("省级") for lv in levels)
    assert {edition_for_year(e["year"]) for e in CORPUS} == {"2019", "2021"}


def test_claims_on_the_corpus_precision_and_recall(capsys):
    tp = fp = fn = 0
    misses: list[str] = []
    for e in CORPUS:
        want = {(t, v) for t, v in e["claims"]}
        got = stated(e["text"], e["year"])
        tp += len(want & got)
        fp += len(got - want)
        fn += len(want - got)
        if got != want:
            misses.append(f"{e['text'][:40]}…: want {sorted(want)}, got {sorted(got)}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    with capsys.disabled():
        print(f"\nclaims on {len(CORPUS)} published excerpts: {tp} found, {fp} invented, {fn} missed; "
              f"precision {precision:.2f}, recall {recall:.2f}")
        for m in misses:
            print("  ", m)
    assert precision >= 0.95 and recall >= 0.9, misses


def test_fee_statements_on_the_corpus():
    for e in CORPUS:
        if "fee" in e:
            assert fee_stated(e["text"]) is e["fee"], e["text"]


# ------------------------------------------------------------------ meaning, not wording: what the issue names


def t4(**cells: int) -> dict[str, int]:
    values = {k: 0 for k in load_spec("2021").cells if k.startswith("t4.")}
    values.update({f"t4.cases.{k}": v for k, v in cells.items()})
    return values


def record(prose: dict[str, str], values: dict[str, int], year: int = 2021):
    rec = empty_record(load_spec("2021"))
    rec.set_role("year", year)
    rec.prose.update(prose)
    rec.values.update(values)
    return rec


def test_one_figure_for_review_and_litigation_together_is_not_that_many_of_each():
    values = t4(review_upheld=2, review_total=2, direct_upheld=1, direct_total=1)
    rec = record({"s4": "本年度因政府信息公开引起的行政复议、行政诉讼共3件。"}, values)
    assert {(f.topic, f.value) for f in prose_figures(rec)} == {("review_litigation", 3)}
    assert text_table_findings(rec) == []
    [f] = text_table_findings(record({"s4": "本年度因政府信息公开引起的行政复议、行政诉讼共4件。"}, values))
    assert f.numbers == {"prose": 4, "table": 3}


def test_disclosed_and_partial_together_and_could_not_be_provided():
    values = {k: 0 for k in load_spec("2021").cells if k.startswith("t3.")}
    values.update({"t3.disclosed.total": 5, "t3.partial.total": 3, "t3.unable_not_held.total": 2,
                   "t3.unable_create.total": 1})
    ok = record({"s3": "其中予以公开和部分公开共8件，无法提供3件。"}, values)
    assert {(f.topic, f.value) for f in prose_figures(ok)} == {("disclosed_partial", 8), ("unable", 3)}
    assert text_table_findings(ok) == []
    bad = record({"s3": "其中予以公开和部分公开共5件，无法提供2件。"}, values)
    assert sorted(f.numbers["table"] for f in text_table_findings(bad)) == [3, 8]


def test_all_upheld_while_table_four_shows_cases_pending():
    claim = {"s4": "本年度被申请行政复议3件，均维持原行政行为。"}
    assert text_table_findings(record(claim, t4(review_upheld=3, review_total=3))) == []
    [f] = text_table_findings(record(claim, t4(review_upheld=1, review_pending=2, review_total=3)))
    assert f.numbers == {"prose": 0, "table": 2} and "尚未审结" in f.message_zh


@pytest.mark.parametrize("text", ["全年无信息公开收费的事项。", "本年度没有产生任何费用。", "未发生收费情况。",
                                  "本年度依申请公开工作未向申请人收取任何费用。"])
def test_zero_fee_statements_in_their_common_wordings(text):
    assert fee_findings(record({"s6": text}, {})) == []
