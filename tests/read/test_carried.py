"""Import keeps its findings: validating the imported workbook reports what validating the published report does.

For every example and every published seed, the rules found on the report itself and on the workbook
``gxsheet import`` wrote from it are the same (rule and count). The cases the issue names are built
here as published: a 2021 report whose 表三 keeps the 2019 （六）其他处理 row (with a label typo in
that table), a statistics period with a doubled year, a title scrambled in conversion.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from openpyxl import load_workbook

from gxsheet.check.validate import validate_record
from gxsheet.cli.app import main
from gxsheet.read.blocks import Cell, Para, TableBlock
from gxsheet.read.carried import HEADER, SHEET
from gxsheet.read.docx import docx_blocks
from gxsheet.read.published import import_report
from gxsheet.read.workbook import read_report
from gxsheet.render.docx import write_docx
from tests.read.test_import import sample, to_txt

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.xlsx"))
SEEDS = sorted((ROOT / "examples" / "seeds").glob("*.txt"))


def both_ways(src: Path, tmp_path: Path) -> tuple[Counter, Counter, list, list]:
    """Rules (with counts) of validating ``src`` directly and through its imported workbook."""
    direct = validate_record(import_report(src).record)
    out = tmp_path / (src.stem + "-imported.xlsx")
    assert main(["import", str(src), "-o", str(out), "--force"]) == 0
    via = validate_record(read_report(out))
    return Counter(f.rule for f in direct), Counter(f.rule for f in via), direct, via


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem[:8] for p in EXAMPLES])
def test_every_example_published_as_word_validates_the_same_imported(tmp_path, example):
    docx = tmp_path / (example.stem + ".docx")
    write_docx(read_report(example), docx)
    direct, via, *_ = both_ways(docx, tmp_path)
    assert via == direct


@pytest.mark.parametrize("seed", SEEDS, ids=[p.stem[:3] for p in SEEDS])
def test_every_seed_validates_the_same_imported(tmp_path, seed):
    direct, via, *_ = both_ways(seed, tmp_path)
    assert via == direct


def _mixed_report(tmp_path: Path, typo: bool) -> Path:
    """A 2021 report whose 表三 keeps （六）其他处理 as one row, as the 2019 form has it."""
    rec = sample(tmp_path, "2021", seed=4, name="某镇")
    docx = tmp_path / "r.docx"
    write_docx(rec, docx)
    blocks = docx_blocks(docx)
    for b in blocks:
        if isinstance(b, TableBlock) and any("勾稽关系" in c.text for r in b.rows for c in r):
            rows = b.rows
            i = next(i for i, r in enumerate(rows) if any(c.text == "（六）其他处理" for c in r))
            sums = [sum(int(r[len(r) - 7 + j].text) for r in rows[i:i + 3]) for j in range(7)]
            rows[i:i + 3] = [[Cell("", "x"), Cell("（六）其他处理", "x")] + [Cell(str(v), "x") for v in sums]]
            if typo:
                cell = next(c for r in rows for c in r if c.text == "2.重复申请")
                cell.text = "2.重复申情"
    text = tmp_path / "mixed.txt"
    text.write_text(to_txt(blocks), encoding="utf-8")
    return text


def test_a_mixed_edition_table_keeps_s_edition_and_its_label_typo_in_the_workbook(tmp_path):
    src = _mixed_report(tmp_path, typo=True)
    direct, via, d, v = both_ways(src, tmp_path)
    assert direct["S-EDITION"] == 1 and direct["S-LABEL"] == 1
    assert "V-BLANK" not in direct and via == direct  # the three 2021 （六） rows are not "blank": the report has none
    [label] = [f for f in v if f.rule == "S-LABEL"]
    assert label.numbers == {"found": "2.重复申情", "official": "2.重复申请"}


def test_the_import_record_sheet_is_text_a_person_can_read(tmp_path):
    src = _mixed_report(tmp_path, typo=False)
    out = tmp_path / "out.xlsx"
    main(["import", str(src), "-o", str(out)])
    ws = load_workbook(out)[SHEET]
    assert tuple(c.value for c in ws[2]) == HEADER
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=3)]
    assert any(r[1] == "S-EDITION" and "（六）其他处理" in r[2] for r in rows)
    assert all(c.data_type == "s" for r in ws.iter_rows() for c in r if c.value is not None)


def test_a_cell_filled_in_after_the_import_is_checked_again(tmp_path):
    src = _mixed_report(tmp_path, typo=False)
    out = tmp_path / "out.xlsx"
    main(["import", str(src), "-o", str(out)])
    rec = read_report(out)
    key = "t3.other_misc.natural"
    assert key in rec.missing
    wb = load_workbook(out)
    from gxsheet.core.layout import workbook_layout

    sheet, r, c = workbook_layout(rec.spec).position(key)
    wb[sheet].cell(r, c).value = "x"
    wb.save(out)
    again = read_report(out)
    assert key not in again.missing
    assert any(f.rule == "V-NUMBER" and key in f.keys for f in validate_record(again))


def test_a_doubled_year_in_the_period_is_n_period_quoting_the_text(tmp_path):
    rec = sample(tmp_path, "2021", seed=1)
    docx = tmp_path / "r.docx"
    write_docx(rec, docx)
    blocks = docx_blocks(docx)
    blocks.insert(1, Para("本报告所列数据统计期限为2021年1月1日至2021年2021年12月31日。", "x"))
    src = tmp_path / "period.txt"
    src.write_text(to_txt(blocks), encoding="utf-8")
    imported = import_report(src)
    [f] = [f for f in validate_record(imported.record) if f.rule == "N-PERIOD"]
    assert "2021年1月1日至2021年2021年12月31日" in f.message_zh and "第2行" in f.message_zh
    assert any("不是有效日期" in n.zh for n in imported.notes)
    assert imported.record.role("period_end") == "2021-12-31"  # the workbook stays usable; the finding stays too
    direct, via, *_ = both_ways(src, tmp_path)
    assert via == direct and direct["N-PERIOD"] == 1


def _retitled(tmp_path: Path, title: str, *, opening: str | None = None, sign_off: str | None = None) -> Path:
    """青山镇's report as published, with ``title`` for its title, ``opening`` as the first sentence of
    its first section and ``sign_off`` (with a date) under its last."""
    rec = sample(tmp_path, "2021", seed=2, name="青山镇")
    docx = tmp_path / "r.docx"
    write_docx(rec, docx)
    blocks = docx_blocks(docx)
    at = next(i for i, b in enumerate(blocks) if isinstance(b, Para) and "报告" in b.text)
    blocks[at] = Para(title, blocks[at].where)
    if opening is not None:
        blocks.insert(at + 2, Para(opening, "x"))  # after the heading 一、总体情况
    if sign_off is not None:
        blocks += [Para(sign_off, "x"), Para("2022年1月20日", "x")]
    src = tmp_path / "garbled.txt"
    src.write_text(to_txt(blocks), encoding="utf-8")
    return src


def _named(tmp_path: Path, src: Path, name: str, note: str) -> None:
    """``src`` imports as body ``name`` (a town), says why in its notes, and validating it directly
    and through the imported workbook agree (no M-META on either)."""
    imported = import_report(src)
    assert imported.record.role("unit_name") == name and imported.record.role("level") == "镇"
    assert any(note in n.zh for n in imported.notes)
    assert not [f for f in validate_record(imported.record) if f.rule == "M-META"]
    direct, via, *_ = both_ways(src, tmp_path)
    assert via == direct


@pytest.mark.parametrize("title,opening,sign_off", [
    # a replacement character and a near-miss 人氏 in the title; the opening and the sign-off agree
    ("岭\ufffd北镇人氏政府2021年政府信息公开工作年度报告",
     "本报告由岭北镇人民政府根据《中华人民共和国政府信息公开条例》编制。", "岭北镇人民政府"),
    # only the near-miss, only the sign-off to go by
    ("岭北镇人氏政府2021年政府信息公开工作年度报告", None, "岭北镇人民政府"),
    # only the replacement character, only the opening sentence to go by
    ("岭北\ufffd人民政府2021年政府信息公开工作年度报告",
     "现将岭北镇人民政府2021年政府信息公开工作年度报告公布如下。", None),
], ids=["replacement-and-near-miss", "near-miss-sign-off-only", "replacement-opening-only"])
def test_a_scrambled_title_yields_to_the_name_in_the_text(tmp_path, title, opening, sign_off):
    """Issue 15: a title garbled in conversion but still title-shaped was taken as the body's name."""
    _named(tmp_path, _retitled(tmp_path, title, opening=opening, sign_off=sign_off), "岭北镇人民政府", "疑为转换中的乱码")


def test_a_title_naming_another_place_stands_against_one_witness(tmp_path):
    """A report copied from a neighbour keeps the neighbour's opening: the title is the one changed."""
    src = _retitled(tmp_path, "东山镇2021年政府信息公开工作年度报告",
                    opening="本报告由西山镇人民政府根据《中华人民共和国政府信息公开条例》编制。")
    assert import_report(src).record.role("unit_name") == "东山镇"
    src = _retitled(tmp_path, "岭北镇2021年政府信息公开工作年度报告",
                    opening="本报告由岭北镇人民政府根据《中华人民共和国政府信息公开条例》编制。", sign_off="岭北镇人民政府")
    assert import_report(src).record.role("unit_name") == "岭北镇"  # the same body, named shorter: untouched


@pytest.mark.parametrize("opening,sign_off", [
    ("本报告由青山镇人民政府根据《中华人民共和国政府信息公开条例》编制。", None),
    (None, "青山镇人民政府"),
], ids=["opening", "sign-off"])
def test_a_title_without_a_name_takes_it_from_the_text(tmp_path, opening, sign_off):
    src = _retitled(tmp_path, "政府信息公开工作年度报告（2021）", opening=opening, sign_off=sign_off)
    _named(tmp_path, src, "青山镇人民政府", "标题中没有可识别的单位名称")
