"""What an import found that a workbook cannot express, carried in the imported workbook (导入记录).

``gxsheet import`` turns a published report into the standard workbook so every check applies to it.
Some of what the import found has no place in that workbook: a table of the other edition (S-EDITION:
the template has only this edition's rows), the section headings as published (S-SECTIONS: the prose
sheet has one fixed cell per section), a label misspelt where the template has no single cell for it
(S-LABEL), a statistics period that is no valid date (N-PERIOD: the period cells hold dates), and
the cells the published tables do not have at all (left blank, they would be V-BLANK). Without them,
validating the imported workbook would say something else than validating the published report.

So the import writes them into one extra sheet, 导入记录, readable by a person (what, which rule, where)
and by this module (the last column holds the data as JSON); reading the workbook puts them back into
the Record: findings into ``structure``, headings into ``headings_found``, keys into ``missing``. The
sheet is evidence of the published report: the findings keep their places in the published document.
A label the workbook itself shows as published (written into its label cell) is found again by the
reader and is not doubled.
"""

from __future__ import annotations

import json
from typing import Any

from gxsheet.core.findings import Finding
from gxsheet.core.record import Record
from gxsheet.xlsx.cells import SheetCells

__all__ = ["HEADER", "SHEET", "TITLE", "carried_rows", "restore"]

SHEET = "导入记录"
TITLE = ("导入记录：导入已发布报告时发现、而工作簿本身无法表达的情况。校验本工作簿时会一并报告这些问题；"
         "请勿修改或删除本表。")
HEADER = ("类别", "规则", "说明", "位置", "数据")
_FINDING, _HEADING, _MISSING = "问题", "标题", "缺失"
#: keys of a Finding that travel (its messages included, so they read as they did on the report)
_FIELDS = ("rule", "severity", "message_zh", "message_en", "sheet", "cells", "keys", "numbers", "case")


def carried_rows(record: Record) -> list[tuple[str, str, str, str, str]]:
    """The rows of the 导入记录 sheet for an imported record (none for a record read from a workbook)."""
    if record.headings_found is None:
        return []
    rows: list[tuple[str, str, str, str, str]] = []
    for f in record.structure:
        data = {k: getattr(f, k) for k in _FIELDS}
        rows.append((_FINDING, f.rule, f.message_zh, "、".join(f.cells), json.dumps(data, ensure_ascii=False)))
    for i, text in enumerate(record.headings_found):
        where = record.where.get(f"heading.{i}", "")
        rows.append((_HEADING, "", text, where, json.dumps({"text": text, "where": where}, ensure_ascii=False)))
    if record.missing:
        keys = sorted(record.missing)
        rows.append((_MISSING, "", f"已发布的报告中没有这些数据格（{len(keys)}个），工作簿中留空。", "",
                     json.dumps({"keys": keys}, ensure_ascii=False)))
    return rows


def _rows(sheet: SheetCells) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for r in sorted({r for r, _ in sheet.cells}):
        kind, data = sheet.value(r, 1), sheet.value(r, len(HEADER))
        if kind not in (_FINDING, _HEADING, _MISSING) or not isinstance(data, str):
            continue
        try:
            parsed = json.loads(data)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            out.append((kind, parsed))
    return out


def restore(record: Record, sheet: SheetCells) -> None:
    """Put what the 导入记录 sheet carries back into ``record`` (read from the imported workbook)."""
    own_labels = {(f.numbers.get("found"), f.numbers.get("official")) for f in record.structure if f.rule == "S-LABEL"}
    headings: list[str] = []
    for kind, data in _rows(sheet):
        if kind == _FINDING:
            try:
                f = Finding(**{k: data[k] for k in _FIELDS if k in data}, source=record.source)
            except TypeError:
                continue
            if f.rule == "S-LABEL" and (f.numbers.get("found"), f.numbers.get("official")) in own_labels:
                continue  # the workbook shows this label as published: the reader found it itself
            record.structure.append(f)
        elif kind == _HEADING and isinstance(data.get("text"), str):
            if data.get("where"):
                record.where[f"heading.{len(headings)}"] = str(data["where"])
            headings.append(data["text"])
        elif kind == _MISSING and isinstance(data.get("keys"), list):
            # a cell filled in since the import is data again
            record.missing.update(k for k in data["keys"] if isinstance(k, str) and k in record.values
                                  and record.values[k] is None)
    record.headings_found = headings
