"""Validating reports: the table rules (pandera over one frame) and the prose rules, in finding order.

The one entry point every face uses (command line, add-in, merge, web page): records in, each
record's findings out — structural findings from reading first, then table rules, then prose —
sorted so that a clerk fixes causes before their effects (:func:`gxsheet.core.findings.finding_order`).
"""

from __future__ import annotations

from collections.abc import Sequence

from gxsheet.check.prose import narrative_findings
from gxsheet.check.tables import frame, run_checks
from gxsheet.core import findings as F
from gxsheet.core.findings import finding_order
from gxsheet.core.record import Record
from gxsheet.core.spec import load_spec

__all__ = ["validate_record", "validate_records"]


def validate_records(records: Sequence[Record]) -> list[list[F.Finding]]:
    """Findings for each record (same order), structural findings from reading first."""
    out: list[list[F.Finding]] = [list(r.structure) for r in records]
    by_edition: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        by_edition.setdefault(r.edition, []).append(i)
    for edition, idx in by_edition.items():
        recs = [records[i] for i in idx]
        for j, fs in run_checks(edition, frame(recs, load_spec(edition)), recs).items():
            out[idx[j]].extend(fs)
    for i, r in enumerate(records):
        out[i].extend(_narrative(r))
    return [sorted(fs, key=finding_order) for fs in out]


def _narrative(rec: Record) -> list[F.Finding]:
    """Rules on the prose (S-SECTIONS, N-*)."""
    return narrative_findings(rec)



def validate_record(rec: Record) -> list[F.Finding]:
    return validate_records([rec])[0]
