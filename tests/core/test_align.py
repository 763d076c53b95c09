"""Label alignment: order-preserving pairs, then rows moved out of order paired by their label."""

from __future__ import annotations

from gxsheet.core.align import align, moved

EXPECTED = ["一", "二", "1.重复申请", "2.公开出版物", "3.大量反复", "四"]


def test_a_swapped_row_is_paired_by_its_label() -> None:
    found = ["一", "二", "2.公开出版物", "1.重复申请", "3.大量反复", "四"]
    pairs = align(EXPECTED, found)
    extra = moved(EXPECTED, found, pairs)
    assert len(extra) == 1
    assert {**pairs, **extra} == {0: 0, 1: 1, 2: 3, 3: 2, 4: 4, 5: 5}


def test_a_row_moved_far_is_paired() -> None:
    found = ["一", "二", "2.公开出版物", "3.大量反复", "四", "1.重复申请"]
    pairs = align(EXPECTED, found)
    assert {**pairs, **moved(EXPECTED, found, pairs)} == {0: 0, 1: 1, 2: 5, 3: 2, 4: 3, 5: 4}


def test_deleted_and_inserted_rows_are_not_moves() -> None:
    found = ["一", "二", "2.公开出版物", "3.大量反复", "自行增加", "四"]
    pairs = align(EXPECTED, found)
    assert moved(EXPECTED, found, pairs) == {}
    assert 2 not in pairs and 4 not in pairs.values()


def test_a_repeated_label_cannot_say_which_one_moved() -> None:
    expected = ["复议", "结果维持", "结果纠正", "诉讼", "结果维持", "结果纠正"]
    found = ["复议", "结果纠正", "结果维持", "诉讼", "结果维持", "结果纠正"]
    pairs = align(expected, found)
    assert moved(expected, found, pairs) == {}


def test_nothing_moved_nothing_added() -> None:
    assert moved(EXPECTED, EXPECTED, align(EXPECTED, EXPECTED)) == {}
