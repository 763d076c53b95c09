"""Towns in the order a county office lists them: its own list (``--order``, the collection page's
list of units), by 区划代码 when every line has one; without a list, by pinyin.

The format spec has no code field, so the county's list is where a code can come from; the list is
the same file ``gxsheet serve init --units`` reads (名称, 层级), with an optional code in any column.
"""

from __future__ import annotations

from openpyxl import Workbook, load_workbook
from test_merge import county, merged  # noqa: F401 - the county folder and its merge, shared fixtures

from gxsheet.cli.app import main
from gxsheet.merge import county as M
from gxsheet.merge import overview as O
from gxsheet.read.unit_list import in_order, unit_lines
from gxsheet.serve.units import read_units

LEVELS = {"镇", "乡", "街道", "县级部门"}


def _names(path) -> list[str]:
    ws = load_workbook(path)[M.SUMMARY_SHEET]
    first = next(r for r in range(1, 20) if ws.cell(r, 1).value == "单位名称") + 1
    while ws.cell(first, 1).value == "单位名称" or ws.cell(first, 1).value is None:
        first += 1
    out = []
    r = first
    while ws.cell(r, 1).value not in (None, "合计"):
        out.append(ws.cell(r, 1).value)
        r += 1
    return out


def test_list_lines_codes_and_header(tmp_path):
    p = tmp_path / "单位名单.txt"
    # GBK, as Notepad saves it; a header line; the code in the first column on one line, last on others
    p.write_bytes("单位名称，层级，区划代码\n乙镇, 镇, 110101002000\n110101001 甲镇 镇\n丙街道\t街道\t110101000000\n"
                  "# 注释\n\n".encode("gb18030"))
    lines = unit_lines(p, LEVELS)
    assert [(u.name, u.level, u.code) for u in lines] == [
        ("乙镇", "镇", "110101002000"), ("甲镇", "镇", "110101001"), ("丙街道", "街道", "110101000000")]
    # every line has a code: by code (a township's 9 digits are its 12-digit code's first nine)
    assert [u.name for u in in_order(lines)] == ["丙街道", "甲镇", "乙镇"]
    # one line without a code: as listed
    p.write_text("乙镇, 镇, 110101002000\n甲镇, 镇\n", encoding="utf-8")
    assert [u.name for u in in_order(unit_lines(p, LEVELS))] == ["乙镇", "甲镇"]
    # a spreadsheet: its first sheet's first columns; a code typed as a number is still the code
    wb = Workbook()
    for row in (("单位名称", "层级"), ("戊镇", "镇", "110101005"), ("丁乡", "乡", 110101004), (None, None),
                ("己镇", "镇", 110101006, "备注不读")):
        wb.active.append(row)
    x = tmp_path / "名单.xlsx"
    wb.save(x)
    got = in_order(unit_lines(x, LEVELS))
    assert [(u.name, u.code, u.no) for u in got] == [("丁乡", "110101004", 3), ("戊镇", "110101005", 2),
                                                     ("己镇", "110101006", 5)]


def test_serve_init_reads_the_same_list_in_code_order(tmp_path):
    p = tmp_path / "单位名单.txt"
    p.write_text("乙镇, 镇, 110101002\n甲镇, 镇, 110101001\n", encoding="utf-8")
    assert read_units(p, "2021", county="某县") == [("甲镇", "镇"), ("乙镇", "镇")]


def test_merge_in_the_countys_order(county, tmp_path, capsys):  # noqa: F811
    """Listed units by code, the one that sent nothing named; the units not on the list last, by pinyin."""
    order = tmp_path / "单位名单.txt"
    order.write_text("乙镇, 镇, 110101002\n甲镇, 镇, 110101001\n庚镇, 镇, 110101003\n丙街道, 街道, 110101000\n",
                     encoding="utf-8")
    out = tmp_path / "c.xlsx"
    assert main(["merge", str(county["dir"]), "-o", str(out), "--order", str(order)]) == 1  # 丁乡 has errors
    said = capsys.readouterr().out
    assert "名单上 1 个单位没有报送（庚镇）" in said and "3 个工作簿的单位不在名单上（排在最后）" in said
    # 丁 ding < 己 ji < 戊 wu: pinyin after the listed units
    assert _names(out) == ["丙街道", "甲镇", "甲镇", "乙镇", "丁乡", "己镇", "戊镇"]
    ws = load_workbook(out, data_only=True)[O.OVERVIEW_SHEET]
    facts = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(4, 12)}
    assert facts["名单上没有报送的单位"] == 1
    # English, and a list that cannot be read: one line, exit 2
    assert main(["merge", str(county["dir"]), "-o", str(out), "--force", "--order", str(order), "--lang", "en"]) == 1
    assert "1 unit on the list sent nothing (庚镇)" in capsys.readouterr().out
    assert main(["merge", str(county["dir"]), "-o", str(out), "--force", "--order", str(tmp_path / "无.txt")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "无法读取单位名单" in err


def test_without_a_list_pinyin(merged):  # noqa: F811
    result, out = merged
    assert not result.ordered and result.not_submitted == []
    assert _names(out) == [e.unit_name for e in result.entries]
    assert [M.norm_name(n) for n in _names(out)] == sorted(map(M.norm_name, _names(out)), key=M.pinyin_key)


def test_one_reader_says_what_is_wrong_with_a_list(tmp_path):
    """serve init and merge --order read the list through read_unit_list, so a list without units, a
    damaged spreadsheet and a missing file get the same one line in both."""
    import pytest

    from gxsheet.core.errors import LoadError
    from gxsheet.read.unit_list import read_unit_list
    from gxsheet.serve.store import StoreError

    empty = tmp_path / "空.txt"
    empty.write_text("# 名称, 层级\n\n", encoding="utf-8")
    broken = tmp_path / "坏.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    old = tmp_path / "旧.xlsx"  # an Excel 97-2003 file renamed: the guarded loader's own diagnosis
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    huge = tmp_path / "大.txt"  # read up to a bound, never whole
    huge.write_bytes(b"\xe7\x94\xb2\xe9\x95\x87, \xe9\x95\x87\n" * 400_000)
    for path, said in ((empty, "名单里没有单位"), (broken, "无法读取单位名单：") , (broken, "文件已损坏"),
                       (old, "Office 97-2003"), (huge, "超过 4 MB"), (tmp_path / "无.txt", "无法读取单位名单")):
        with pytest.raises(LoadError) as got:
            read_unit_list(path, LEVELS)
        assert said in got.value.message_zh and got.value.kind == "units"
        if path.exists():  # serve checks the file is there first, with its own line
            with pytest.raises(StoreError) as same:
                read_units(path, "2021", county="某县")
            assert (same.value.message_zh, same.value.message_en) == (got.value.message_zh, got.value.message_en)
