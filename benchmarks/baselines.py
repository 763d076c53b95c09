"""The baselines every benchmark measures gxsheet against, in the same run.

- ``floor_read``: the floor — unzip the file and parse its sheet XML (and shared strings) with
  expat, doing nothing with the result. No Python reader can be faster per core.
- ``calamine_read``: python-calamine (Rust) reading every sheet into Python lists.
- ``openpyxl_read``: what a simple script does — load the whole workbook with openpyxl and touch
  every cell; ``openpyxl_read_only``: the same in openpyxl's read-only (streaming) mode.
- ``frictionless_validate``: the frictionless framework's ``validate`` on the file (its first
  sheet as a table: labels, types, blank rows), the nearest general-purpose validator.
- ``PandasPipeline``: what a data team would script: calamine → one row of numbers per file →
  a pandas frame → a pandera schema (every number a non-negative integer, every row total the
  sum of its parts) → ``to_excel``. No labels checked, no cell named in a message.

The optional ones (calamine, frictionless) come with the ``bench`` extra; a missing one is
reported as such and skipped.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from xml.parsers import expat

SHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml$")
#: the sheet the pandas pipeline takes its numbers from (the request statistics, the biggest table)
PIPELINE_SHEET = "表三"


def floor_read(path: Path) -> None:
    """Unzip and expat-parse every worksheet and the shared strings; nothing else."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if SHEET_PART.match(name) or name == "xl/sharedStrings.xml":
                p = expat.ParserCreate()
                p.Parse(zf.read(name), True)


def openpyxl_read(path: Path) -> int:
    """Load the whole workbook and touch every cell; returns the number of non-empty cells."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    n = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    n += 1
    wb.close()
    return n


def openpyxl_read_only(path: Path) -> int:
    """openpyxl's streaming mode: every value of every sheet; returns the number of non-empty cells."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    n = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            n += sum(1 for v in row if v is not None)
    wb.close()
    return n


def calamine_read(path: Path) -> int:
    """python-calamine: every sheet as lists of Python values; returns the number of non-empty cells."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    n = 0
    for name in wb.sheet_names:
        for row in wb.get_sheet_by_name(name).to_python():
            n += sum(1 for v in row if v not in ("", None))
    return n


def frictionless_validate(path: Path) -> bool:
    """frictionless.validate on the file; returns whether it found it valid."""
    import frictionless

    return bool(frictionless.validate(str(path)).valid)


def available(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


class PandasPipeline:
    """calamine → pandas → pandera → to_excel, as a script would do it (see the module docstring)."""

    def __init__(self) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pandera.pandas as pa
        self.pa = pa

    def row(self, path: Path) -> list[object]:
        """The numbers of the pipeline sheet, row by row (text cells kept as text: a script does not know)."""
        from python_calamine import CalamineWorkbook

        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(PIPELINE_SHEET).to_python()
        return [v for r in sheet for v in r if isinstance(v, (int, float)) and not isinstance(v, bool)]

    def run(self, paths: Sequence[Path], out: Path) -> int:
        """Read, check, write; returns the number of failing rows."""
        import pandas as pd

        pa = self.pa
        rows = [self.row(p) for p in paths]
        width = max((len(r) for r in rows), default=0)
        df = pd.DataFrame([r + [None] * (width - len(r)) for r in rows], columns=[f"c{i}" for i in range(width)])
        schema = pa.DataFrameSchema(
            {c: pa.Column(float, pa.Check.ge(0), nullable=False, coerce=True) for c in df.columns},
            checks=[pa.Check(lambda d: d.sum(axis=1) >= 0, name="row-sum")])
        try:
            schema.validate(df, lazy=True)
            failing = 0
        except pa.errors.SchemaErrors as e:
            failing = int(e.failure_cases["index"].nunique())
        df.to_excel(out, index=False)
        return failing
