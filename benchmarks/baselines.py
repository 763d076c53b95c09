"""The baselines every benchmark measures gxsheet against, in the same run.

- ``openpyxl_read``: what a simple script does — load the whole workbook with openpyxl and touch
  every cell.
- ``floor_read``: the floor — unzip the file and parse its sheet XML (and shared strings) with
  expat, doing nothing with the result.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.parsers import expat

import openpyxl

SHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml$")


def floor_read(path: Path) -> None:
    """Unzip and expat-parse every worksheet and the shared strings; nothing else."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if SHEET_PART.match(name) or name == "xl/sharedStrings.xml":
                p = expat.ParserCreate()
                p.Parse(zf.read(name), True)


def openpyxl_read(path: Path) -> int:
    """Load the whole workbook and touch every cell; returns the number of non-empty cells."""
    wb = openpyxl.load_workbook(path)
    n = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    n += 1
    wb.close()
    return n
