"""The Record: one report as one wide row.

Every step after reading passes Records on; nothing re-reads the workbook. A record holds the
metadata, the six sections' prose and every value cell by its stable key. Values are kept as the
reader normalised them: ``int`` / ``float`` for numbers, ``str`` for anything that is not cleanly a
number (the raw text, so the validator can say what was written), ``None`` for blank.
``where`` maps keys to the location a person can find (``表三!D5`` in a workbook, ``第57行`` in an
imported text), so findings point at cells while code only handles keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from gxsheet.core.findings import Finding, finding_text
from gxsheet.core.spec import Spec, load_spec

Value = int | float | str | None

#: frame columns that are not value keys
META_PREFIX = "meta."
PROSE_PREFIX = "prose."
INFO_COLUMNS = ("source", "kind", "edition")


@dataclass
class Record:
    edition: str
    meta: dict[str, Any] = field(default_factory=dict)
    prose: dict[str, str | None] = field(default_factory=dict)
    values: dict[str, Value] = field(default_factory=dict)
    source: str = ""
    kind: str = "xlsx"
    where: dict[str, str] = field(default_factory=dict)
    #: findings the reader/importer made while reading (S-LABEL, S-LAYOUT, S-EDITION, S-SECTIONS …)
    structure: list[Finding] = field(default_factory=list)
    #: section headings in the order found (importers; workbooks have a fixed prose sheet)
    headings_found: list[str] | None = None
    #: value keys that could not be located (their row/column/sheet was removed): the structural
    #: finding already says so, so value and arithmetic rules stay silent about them
    missing: set[str] = field(default_factory=set)

    @property
    def spec(self) -> Spec:
        return load_spec(self.edition)

    def role(self, role: str) -> Any:
        """The metadata value of the field with ``role`` (year, unit_name, level, parent, period_start …)."""
        return self.meta.get(self.spec.meta_key(role))

    def role_key(self, role: str) -> str:
        """The frame/finding key of the metadata field with ``role`` (``meta.year``)."""
        return META_PREFIX + self.spec.meta_key(role)

    def set_role(self, role: str, value: Any, where: str | None = None) -> None:
        """Set the metadata field with ``role`` (and where it was found, for findings to point at)."""
        key = self.spec.meta_key(role)
        self.meta[key] = value
        if where:
            self.where[META_PREFIX + key] = where

    @property
    def year(self) -> int | None:
        y = self.role("year")
        return y if isinstance(y, int) else None

    def to_row(self) -> dict[str, Any]:
        """The flat row the validator's frame is made of."""
        row: dict[str, Any] = {"source": self.source, "kind": self.kind, "edition": self.edition}
        for k, v in self.meta.items():
            row[META_PREFIX + k] = v
        for k, v in self.prose.items():
            row[PROSE_PREFIX + k] = v
        row.update(self.values)
        return row

    def locate(self, key: str) -> str:
        """Where a key lives for a person: the reader's location, else the template's address."""
        if key in self.where:
            return self.where[key]
        from gxsheet.core.layout import workbook_layout  # local: the layout is only needed to point at a cell

        return workbook_layout(self.spec).address(key)

    def locate_all(self, keys) -> list[str]:
        """Locations of the keys that have one (a key unknown to the layout is skipped)."""
        out = []
        for k in keys:
            try:
                out.append(self.locate(k))
            except KeyError:
                pass
        return out

    def with_text(self, fn: Callable[[str], str]) -> Record:
        """A copy whose submission text - metadata, prose, text values, places, the reader's
        findings' messages - went through ``fn``: how a writer applies its output kind's
        sanitiser (:mod:`gxsheet.core.sanitise`) to everything it writes, in one place."""
        def text(v: Any) -> Any:
            return fn(v) if isinstance(v, str) else v

        return replace(
            self,
            meta={k: text(v) for k, v in self.meta.items()},
            prose={k: text(v) for k, v in self.prose.items()},
            values={k: text(v) for k, v in self.values.items()},
            where={k: text(v) for k, v in self.where.items()},
            structure=[finding_text(f, fn) for f in self.structure],
            headings_found=None if self.headings_found is None else [fn(h) for h in self.headings_found],
            missing=set(self.missing),
        )

    def numeric(self, key: str) -> int | float | None:
        v = self.values.get(key)
        return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def empty_record(spec: Spec, **meta: Any) -> Record:
    """A record with every key of the spec present and blank."""
    return Record(
        edition=spec.edition,
        meta={f.key: meta.get(f.key) for f in spec.metadata},
        prose={s.key: None for s in spec.sections},
        values={k: None for k in spec.cells},
    )
