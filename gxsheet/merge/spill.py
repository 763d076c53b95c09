"""Where a county merge keeps what it learnt about each file until the county workbook is written.

A merge of a province (20,000 files) cannot hold 20,000 records, their findings and their 汇总
rows in memory (~60–120 KB a file). What the merge rules need of every file at the end is small
(its metadata, a few cells) and stays in memory; the rest — the file's findings and its row of
values in the merge unit — is written here once, as the file is read and checked, and read back
once, in sheet order, when the workbook is written.

One temporary file of pickled blobs (deleted when closed, or by the OS if the process dies) and
an offset per entry: no database, nothing another process could open. Only gxsheet writes and
reads these bytes, within one run, so pickle is safe here.
"""

from __future__ import annotations

import pickle
import tempfile
from dataclasses import dataclass
from typing import Any

from gxsheet.core.findings import Finding
from gxsheet.core.record import Value

__all__ = ["Spilled", "SpillStore"]


@dataclass
class Spilled:
    """What one file left on disk: the findings of reading and validating it, the X-UNIT findings
    (they count only if the file is counted for this year's edition), its 汇总 row (values in the
    spec's ``cells`` order, amounts in the merge unit) and the amount keys whose unit is unknown."""

    findings: list[Finding]
    unit_findings: list[Finding]
    values: tuple[Value, ...]
    unit_unknown: frozenset[str]


class SpillStore:
    """Append-only blobs in an anonymous temporary file; the last one read is kept (a writer asks for
    an entry's findings and then its values)."""

    def __init__(self) -> None:
        self._file: Any = tempfile.TemporaryFile(prefix="gxsheet-merge-")
        self._end = 0
        self._last: tuple[int, Spilled] | None = None

    def put(self, item: Spilled) -> tuple[int, int]:
        """Store ``item``; returns its (offset, length)."""
        blob = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        self._file.seek(self._end)
        self._file.write(blob)
        where = (self._end, len(blob))
        self._end += len(blob)
        return where

    def get(self, where: tuple[int, int]) -> Spilled:
        if self._last is not None and self._last[0] == where[0]:
            return self._last[1]
        self._file.seek(where[0])
        item = pickle.loads(self._file.read(where[1]))
        self._last = (where[0], item)
        return item

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._end

    def close(self) -> None:
        self._file.close()
        self._last = None

    def __del__(self) -> None:
        try:
            self._file.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown: the OS removes the file anyway
            pass
