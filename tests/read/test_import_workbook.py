"""An imported workbook tells a reviewer what the published report does.

``gxsheet import`` writes the report into the standard template; validating that workbook must give
the same findings (rule and count) as validating the report itself — blank cells stay blank,
misspelt labels are written back so S-LABEL still names both texts, and what the cells cannot say
(headings as published, tables of the other edition, cells the report does not have) travels in the
导入记录 sheet (tests/read/test_carried.py).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from gxsheet.check.validate import validate_record
from gxsheet.cli.app import main
from gxsheet.read.registry import read_any
from gxsheet.read.workbook import read_report

SEEDS = sorted((Path(__file__).resolve().parents[2] / "examples" / "seeds").glob("*.txt"))


@pytest.mark.parametrize("seed", SEEDS, ids=[p.stem[:3] for p in SEEDS])
def test_imported_workbook_keeps_the_findings(tmp_path, seed):
    out = tmp_path / "imported.xlsx"
    assert main(["import", str(seed), "-o", str(out)]) in (0, 1)
    direct = Counter(f.rule for f in validate_record(read_any(seed)))
    via_workbook = Counter(f.rule for f in validate_record(read_report(out)))
    assert via_workbook == direct


def test_s_label_is_written_back_with_both_texts(tmp_path):
    seed = next(p for p in SEEDS if p.name.startswith("003"))
    out = tmp_path / "003.xlsx"
    main(["import", str(seed), "-o", str(out)])
    labels = {f.cells[0]: (f.numbers["found"], f.numbers["official"]) for f in validate_record(read_report(out)) if f.rule == "S-LABEL"}
    assert labels["表三!C15"] == ("7.属于行政法案卷", "7.属于行政执法案卷")
    assert labels["表三!C11"] == ("3.危机“三安全一稳定”", "3.危及“三安全一稳定”")
    assert len(labels) == 5
