"""Validating reports: the table rules (pandera over one frame) and the prose rules, in finding order.

The one entry point every face uses (command line, add-in, merge, web page): records in, each
record's findings out — structural findings from reading first, then table rules, then prose —
sorted so that a clerk fixes causes before their effects (:func:`gxsheet.core.findings.finding_order`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gxsheet.check.tables import frame, run_checks
from gxsheet.core import findings as F
from gxsheet.core.findings import finding_order
from gxsheet.core.record import Record
from gxsheet.core.spec import load_spec

__all__ = ["prepare", "validate_record", "validate_records"]


def prepare(editions: Iterable[str] = (), *, prose: bool = True) -> None:
    """Build ahead what the first validation would build: the editions' pandera schemas and, with
    ``prose``, the compiled prose claims (~12 ms). Commands call it (and so import pandas and
    pandera, ~0.45 s) while the bounded workers read the files, so a cold command pays the reading
    and the validator's start-up side by side rather than one after the other. ``prose=False``
    where the workers run the prose rules themselves (``gxsheet validate``)."""
    from gxsheet.check.tables import schema_for

    for e in editions:
        schema_for(e)
    if prose:
        from gxsheet.check.claims import claims

        claims()


def validate_records(records: Sequence[Record],
                     prose: Sequence[list[F.Finding] | None] | None = None) -> list[list[F.Finding]]:
    """Findings for each record (same order), structural findings from reading first.

    ``prose``: each record's prose findings where they were already made, by the worker that read
    it (:func:`gxsheet.check.prose.read_and_check_prose`); ``None`` (for all, or for one) runs them here.
    """
    out: list[list[F.Finding]] = [list(r.structure) for r in records]
    by_edition: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        by_edition.setdefault(r.edition, []).append(i)
    for edition, idx in by_edition.items():
        recs = [records[i] for i in idx]
        for j, fs in run_checks(edition, frame(recs, load_spec(edition)), recs).items():
            out[idx[j]].extend(fs)
    for i, r in enumerate(records):
        made = prose[i] if prose is not None else None
        out[i].extend(_narrative(r) if made is None else made)
    return [sorted(fs, key=finding_order) for fs in out]


def _narrative(rec: Record) -> list[F.Finding]:
    """Rules on the prose (S-SECTIONS, N-*); imported here, not above, because a command whose
    workers made every record's prose findings never needs them in its own process."""
    from gxsheet.check.prose import narrative_findings

    return narrative_findings(rec)



def validate_record(rec: Record) -> list[F.Finding]:
    return validate_records([rec])[0]
