"""County merge: many submitted report workbooks → one checked sheet, a problem list, a county report.

A county office receives one workbook from each town and department. This module turns a folder
of them into what the office needs, as plain functions on Records (read → validate once → write):

* :func:`iter_read` reads the inputs in bounded worker processes (time and memory per file), in
  parallel when cores are idle (the reader is pure CPU work, ~1–2 ms a file); a file that cannot
  be read becomes an :class:`Unreadable` with its one-line reason and the merge goes on.
* :func:`merge_paths` / :func:`merge_records` validate the records in batches (one pandera frame
  per batch of :data:`BATCH` files, not one per file) as they are read, then add what only a
  merge can see: two workbooks for the same body and year (X-DUPLICATE), a workbook of another
  year or edition (X-MIXED), an amount whose unit is unknown (X-UNIT), and with last year's
  workbooks the carry-over check X-CARRY.
* **Memory does not grow with the county.** Each file's findings and 汇总 row go to a
  :class:`~gxsheet.merge.spill.SpillStore` on disk as soon as its batch is checked; what stays
  in memory per file is a slim record (metadata, where its cells are, the carry-over rows: what
  the merge rules and the writer's row need), ~3 KB. The writer reads the rest back in sheet order.
* :mod:`gxsheet.merge.workbook` writes what it found: the county workbook (汇总, 问题清单) and the
  county's own report filled with the county-wide sums.

Decisions (see also the CLI help):

* **Merge by year.** The merge year is ``year=`` or the most common report year among the inputs
  (ties: the latest). A workbook of another year, or whose tables are another edition than the
  merge year's, is *not refused*: it keeps its row in 汇总 (metadata, status, no values) and
  gets an X-MIXED error naming its year/edition, so the county sees exactly which files differ
  and the rest of the merge is still useful.
* **Totals are SUMIF over a 计入合计 column** (是/否) rather than a bare SUM: a duplicate or a
  wrong-year workbook stays visible but is not counted, and the county can flip 是/否 in Excel and
  the totals follow. Of duplicates (same 单位名称 after whitespace normalisation, same year) the
  most recently modified file counts; every file of the group gets X-DUPLICATE.
* **Amounts in one unit: 万元** (the 2021 fee column's official unit). A 2019 采购总金额 is
  scaled by the unit from 基本信息 (amount_unit) or written in the cell ("288.79万元"); when
  the unit is unknown the number is kept as written, coloured, and flagged X-UNIT.
* **Order: the county's, else pinyin.** With the county's list of units (``order``: ``gxsheet merge
  --order``, the collection page's list) the sheets list units in its order — by 区划代码 when every
  line has one (:mod:`gxsheet.read.unit_list`); the format spec has no code field, so a code can
  only come from the county's list — and the listed units that sent nothing are named; other
  units come last. Without a list, by the pinyin of the 单位名称 (大河乡 < 东湖街道 < 古城街道).
* The merge's own rules (X-DUPLICATE, X-MIXED, X-UNIT, X-UNREADABLE) are in the rule catalogue
  ``schemas/rules.json`` with the report rules: one place for every id, severity and message.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from gxsheet.check.merge_rules import carry_findings, duplicate_findings, mixed_finding, unit_finding
from gxsheet.core import findings as F
from gxsheet.core.errors import LoadError, load_error
from gxsheet.core.findings import Finding, finding_order
from gxsheet.core.layout import EDITION_KEY, workbook_layout
from gxsheet.core.limits import Limits
from gxsheet.core.normalise import UNIT_SCALE, as_number, norm_name, parse_amount
from gxsheet.core.record import META_PREFIX, Record, Value
from gxsheet.core.spec import Cell, Spec, edition_for_year, editions, load_spec
from gxsheet.merge.spill import Spilled, SpillStore
from gxsheet.read.batch import MAX_CHUNK, SERIAL_BELOW, default_jobs  # noqa: F401 - part of this module's API

#: the custom document property the county workbook carries: how a rerun recognises its own earlier
#: output in an input folder (sheet names would not do: a town's workbook may well have a 汇总)
MERGE_SIGNATURE = ("gxsheet", "county-merge")
#: files validated together: one pandera pass costs ~15 ms whatever its rows, so batches of a few
#: hundred make it ~0.05 ms a file, while the records of one batch (~60 KB each) stay ~15 MB
BATCH = 256

SUMMARY_SHEET = "汇总"
PROBLEM_SHEET = "问题清单"
INCLUDED_YES, INCLUDED_NO = "是", "否"
STATUS_OK = "通过"

def rule_title(rule: str) -> str:
    """The short Chinese title of a rule, from the catalogue (report and merge rules alike)."""
    r = F.rules().get(rule)
    return r.title_zh if r else rule


# ============================================================================ inputs


@dataclass(frozen=True)
class Unreadable:
    """A file that could not be read as a report: listed in 问题清单, the merge goes on."""

    path: str
    kind: str
    message_zh: str
    message_en: str
    previous: bool = False  # one of last year's files (--previous)

    def message(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message_zh

    @classmethod
    def from_error(cls, e: LoadError, path: str) -> Unreadable:
        return cls(path, e.kind, e.message_zh, e.message_en)


def collect_inputs(items: Iterable[str | Path], *, exclude: Iterable[str | Path] = ()) -> list[Path]:
    """The files to merge: files as given, folders expanded to every file in them.

    A folder contributes files of any suffix (``registry.folder_files``, as ``validate`` does): a
    town that sent ``城关镇.xls`` must show up as a problem, and a stray 说明.txt as skipped, not
    vanish silently. Hidden files, Excel lock files (``~$…``) and OS housekeeping files are
    skipped; so are ``exclude`` (the merge's own outputs, which a rerun would otherwise find in the
    input folder), county workbooks of an earlier merge in a folder (:func:`is_merge_output`: they
    are outputs, not submissions) and repeats. Folders are not searched recursively. A named path
    that does not exist is a typo, not a submission: LoadError (the command exits 2).
    """
    from gxsheet.read.registry import folder_files

    skip = {_resolved(p) for p in exclude}
    seen: set[Path] = set()
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            candidates = [q for q in folder_files(p) if not _ours(q)]
        elif p.exists() or p.is_symlink():
            candidates = [p]
        else:
            raise LoadError(str(p), "not-found", f"{p}：文件或文件夹不存在，请检查路径。",
                            f"{p}: no such file or folder; check the path.")
        for q in candidates:
            r = _resolved(q)
            if r in skip or r in seen:
                continue
            seen.add(r)
            out.append(q)
    return out


def _ours(path: Path) -> bool:
    """A county workbook of an earlier merge found in an input folder: an output, not a submission."""
    return path.suffix.lower() == ".xlsx" and is_merge_output(path)


def is_merge_output(path: str | Path) -> bool:
    """Whether ``path`` is a county workbook written by ``gxsheet merge`` (its document property).

    Looks only at ``docProps/custom.xml``, bounded (:func:`gxsheet.xlsx.loader.peek_member`):
    a hostile or broken file in the folder is simply "not ours".
    """

    from gxsheet.xlsx.loader import new_parser, peek_member

    data = peek_member(path, "docProps/custom.xml")
    if data is None:
        return False
    name, value = MERGE_SIGNATURE
    found: list[str] = []
    inside = [False]

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag.endswith(" property"):
            inside[0] = attrs.get("name") == name

    def text(data: str) -> None:
        if inside[0]:
            found.append(data)

    p = new_parser()
    p.StartElementHandler = start
    p.CharacterDataHandler = text
    try:
        p.Parse(data, True)
    except Exception:  # noqa: BLE001 - expat errors, a refused DOCTYPE: not ours
        return False
    return "".join(found).strip() == value


def _resolved(p: str | Path) -> Path:
    try:
        return Path(p).resolve()
    except OSError:
        return Path(os.path.abspath(p))


def read_submission(path: str, limits: Limits | None = None) -> Record:
    """Read one input as a report, or raise LoadError with the most helpful reason.

    Workbook suffixes go straight to the workbook reader (its guarded loader says precisely what
    a broken or disguised file is: an old .xls, an encrypted file, a damaged zip). Other files go
    through ``read_any`` so published reports can be merged too; when no importer takes the file,
    the loader is asked again for its more helpful message.
    """
    from gxsheet.read.registry import read_any
    from gxsheet.read.workbook import read_report

    try:
        if Path(path).suffix.lower() in (".xlsx", ".xlsm"):
            return read_report(path, limits=limits)
        return read_any(path, limits=limits)
    except LoadError as e:
        if e.kind != "unsupported":
            raise
        return read_report(path, limits=limits)


def read_and_check_submission(path: str, limits: Limits | None = None) -> tuple[Record, list[Finding]]:
    """A merge worker's task: :func:`read_submission`, and the prose rules run where the file was
    read (they need no pandas). The merge's own process validates, spills and writes while its
    workers read; the prose rules' share of that (~0.3 ms a file) moves to the workers, which run
    side by side on the idle cores."""
    from gxsheet.check.prose import narrative_findings

    rec = read_submission(path, limits)
    return rec, narrative_findings(rec)


def read_one(path: str, limits: Limits | None = None) -> Record | Unreadable:
    """Read one input in this process; every failure becomes an Unreadable (never an exception)."""
    try:
        return read_submission(path, limits)
    except LoadError as e:
        return Unreadable.from_error(e, path)
    except Exception as e:  # noqa: BLE001 - one strange file must not stop a county's merge
        return Unreadable.from_error(load_error(path, "internal", f"{type(e).__name__}: {e}"), path)


Progress = Callable[[str, int, int], None]


def iter_read(paths: Sequence[str | Path], *, jobs: int | None = None, progress: Progress | None = None,
              while_waiting: Callable[[], object] | None = None, limits: Limits | None = None,
              reader: Callable[[str, Limits | None], Any] = read_submission) -> Iterator[tuple[int, Any]]:
    """(index, what it holds) for every path, as workers finish reading it.

    The reading is :func:`gxsheet.read.batch.iter_files`: chunks of files in bounded worker
    processes (each file under its own time and memory bound), at most two chunks a worker ahead
    of the caller, so records never pile up faster than the merge validates and spills them. A
    file that cannot be read, breaks a bound or crashes its reader becomes an :class:`Unreadable`
    with its one-line reason; the merge goes on. ``while_waiting`` runs in this process once the
    workers are busy (the merge imports the validator there: pandas + pandera take ~0.5 s that
    would otherwise come after reading). ``reader``: what a worker does with a file
    (:func:`read_and_check_submission` gives a (record, prose findings) pair instead of a record).
    """
    from gxsheet.read.batch import iter_files

    names = [str(p) for p in paths]
    n = len(names)
    if progress:
        progress("read", 0, n)
    for done, (i, r) in enumerate(iter_files(names, reader=reader, jobs=jobs, limits=limits,
                                             while_waiting=while_waiting), 1):
        yield i, Unreadable.from_error(r, names[i]) if isinstance(r, LoadError) else r
        if progress:
            progress("read", done, n)


def read_all(paths: Sequence[str | Path], *, jobs: int | None = None, progress: Progress | None = None,
             while_waiting: Callable[[], object] | None = None, limits: Limits | None = None) -> list[Record | Unreadable]:
    """What :func:`iter_read` reads, in the order of ``paths`` (everything in memory: small sets)."""
    out: list[Record | Unreadable | None] = [None] * len(paths)
    for i, r in iter_read(paths, jobs=jobs, progress=progress, while_waiting=while_waiting, limits=limits):
        out[i] = r
    return out  # type: ignore[return-value]


# ============================================================================ the merge


@dataclass(eq=False)
class Entry:
    """One submitted workbook in the merge: a slim record in memory, its findings and row on disk.

    ``record`` is :func:`slim_record` of what was read (metadata, where cells are, the carry-over
    rows). ``findings``, ``values`` and ``unit_unknown`` are read back from the merge's spill store
    when asked for (the writer asks once per row, in sheet order).
    """

    path: Path
    record: Record
    included: bool = True  # counted in 合计
    reason: str | None = None  # why not: "year" / "edition" / "duplicate"
    mtime: float = 0.0
    #: what the merge found across files (X-MIXED, X-DUPLICATE, X-CARRY): few, kept in memory
    merge_findings: list[Finding] = field(default_factory=list)
    spill: tuple[int, int] | None = None
    store: SpillStore | None = field(default=None, repr=False)
    #: (rule, errors, warnings) among the spilled findings of reading and validating, and among
    #: X-UNIT's: what 问题清单's size, the 汇总 links and 问题一览 need, without reading findings back
    tally: tuple[tuple[str, int, int], ...] = ()
    unit_tally: tuple[tuple[str, int, int], ...] = ()

    def _spilled(self) -> Spilled | None:
        return self.store.get(self.spill) if self.store is not None and self.spill is not None else None

    @property
    def counted_edition(self) -> bool:
        """Not set aside for its year or edition: its values and X-UNIT findings belong in 汇总."""
        return self.reason not in ("year", "edition")

    @property
    def findings(self) -> list[Finding]:
        """Every finding of this file, in finding order (causes before effects)."""
        s = self._spilled()
        found = list(self.merge_findings)
        if s is not None:
            found = s.findings + found + (s.unit_findings if self.counted_edition else [])
        return sorted(found, key=finding_order)

    @property
    def values(self) -> dict[str, Value]:
        """As written in 汇总 (amounts in the merge unit); empty when set aside for year or edition."""
        s = self._spilled()
        if s is None or not self.counted_edition:
            return {}
        return dict(zip(self.record.spec.cells, s.values, strict=True))

    @property
    def unit_unknown(self) -> set[str]:
        """Amount keys kept as written because nobody said their unit."""
        s = self._spilled()
        return set(s.unit_unknown) if s is not None and self.counted_edition else set()

    @property
    def unit_name(self) -> str | None:
        v = self.record.role("unit_name")
        return str(v) if v not in (None, "") else None

    @property
    def rule_counts(self) -> dict[str, tuple[int, int]]:
        """Per rule, (errors, warnings) among :attr:`findings` — from the tallies, nothing read back."""
        out: dict[str, tuple[int, int]] = {}
        parts = (self.tally, self.unit_tally if self.counted_edition else (), rule_tally(self.merge_findings))
        for part in parts:
            for rule, e, w in part:
                e0, w0 = out.get(rule, (0, 0))
                out[rule] = (e0 + e, w0 + w)
        return out

    @property
    def errors(self) -> int:
        return sum(e for e, _ in self.rule_counts.values())

    @property
    def warnings(self) -> int:
        return sum(w for _, w in self.rule_counts.values())

    @property
    def status(self) -> str:
        """通过 / N个错误 / M个疑问 / N个错误，M个疑问."""
        e, w = self.errors, self.warnings
        if not e and not w:
            return STATUS_OK
        parts = ([f"{e}个错误"] if e else []) + ([f"{w}个疑问"] if w else [])
        return "，".join(parts)


@dataclass
class MergeResult:
    """Everything the writers need: entries in sheet order, unreadable files, the merge year."""

    year: int | None
    edition: str
    entries: list[Entry]
    unreadable: list[Unreadable] = field(default_factory=list)
    #: files found in an input folder that are not workbooks and could not be read as a report
    #: (说明.txt, a photo): listed, not counted as failed submissions
    skipped: list[Unreadable] = field(default_factory=list)
    name: str | None = None  # the county (--name, else the common 上级单位)
    previous_matched: int = 0  # bodies checked against last year's report
    previous_read: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    #: 问题清单 rows left out past Excel's last row (set when the county workbook is written)
    problem_rows_left: int = 0
    #: with the county's list of units (``order``): the listed units that sent nothing, and how many
    #: workbooks name a unit the list does not have (they come last, in pinyin order)
    not_submitted: list[str] = field(default_factory=list)
    unlisted: int = 0
    ordered: bool = False  # listed in the county's order
    #: where the entries' findings and rows are (closed by :meth:`close`, else when collected)
    store: SpillStore | None = field(default=None, repr=False)
    _totals: dict[str, int | float] | None = field(default=None, repr=False)

    @property
    def spec(self) -> Spec:
        return load_spec(self.edition)

    @property
    def keys(self) -> list[str]:
        return list(self.spec.cells)

    def included(self) -> list[Entry]:
        return [e for e in self.entries if e.included]

    def totals(self) -> dict[str, int | float]:
        """Per value key: the sum over counted workbooks of the numbers shown (text/blank skipped).

        The same arithmetic as the sheet's SUMIF row, so Python and Excel agree. One pass over the
        spill store, remembered.
        """
        if self._totals is None:
            sums: dict[str, int | float] = dict.fromkeys(self.keys, 0)
            for e in self.entries:  # entries outside, keys inside: one pass over each row (3,000 × 237 cells)
                if not e.included:
                    continue
                for k, v in e.values.items():
                    if (type(v) is int or type(v) is float) and k in sums:  # not bool, not text
                        sums[k] += v
            self._totals = {k: round(t, 6) if isinstance(t, float) else t for k, t in sums.items()}
        return dict(self._totals)

    @property
    def errors(self) -> int:
        return sum(1 for e in self.entries if e.errors)

    @property
    def warnings_only(self) -> int:
        return sum(1 for e in self.entries if not e.errors and e.warnings)

    @property
    def passed(self) -> int:
        return sum(1 for e in self.entries if not e.errors and not e.warnings)

    def exit_code(self, *, strict: bool = False) -> int:
        """0 fine, 1 when any workbook has an error (or, strict, any input was unreadable)."""
        if self.errors:
            return 1
        if strict and any(not u.previous for u in self.unreadable):
            return 1
        return 0

    def close(self) -> None:
        """Remove the spill file (entries can no longer give their findings or values)."""
        if self.store is not None:
            self.store.close()


def pinyin_key(name: str) -> tuple[str, ...]:
    """Sort key of a Chinese name by its pinyin (大河乡 < 东湖街道 < 古城街道), as a county office lists
    its towns; code-point order (东 < 古 < 大) reads as random. Polyphones take pypinyin's reading."""
    from pypinyin import Style, lazy_pinyin

    return tuple(lazy_pinyin(name, style=Style.TONE3, errors="default"))


def choose_year(records: Iterable[Record]) -> int | None:
    """The merge year: the most common report year (ties: the latest)."""
    counts = Counter(r.year for r in records if r.year is not None)
    if not counts:
        return None
    return max(counts, key=lambda y: (counts[y], y))


def convert_amount(cell: Cell, v: Value, stated_unit: object, merge_unit: str = "万元") -> tuple[Value, bool]:
    """(value in ``merge_unit``, unit known?) for an amount cell (the spec's ``merge.unit``: 万元).

    A unit written in the cell wins ("288.79万元", "50000元" even in the 万元 fee column: the clerk
    said what it is); else the column's official unit (2021: 万元); else 基本信息's amount unit.
    A number with no unit anywhere is returned unchanged with False (unless it is 0). Text that is not an amount
    is returned unchanged (V-NUMBER already reports it).
    """
    if v is None or isinstance(v, bool):
        return v, True
    unit: str | None = None
    num: int | float
    if isinstance(v, str):
        parsed = parse_amount(v)
        if parsed is None:
            return v, True
        num, unit = parsed
    else:
        num = v
        unit = cell.unit
    if unit is None and isinstance(stated_unit, str) and stated_unit in UNIT_SCALE:
        unit = stated_unit
    if unit is None:
        return num, num == 0  # zero is zero in any unit
    if unit == merge_unit:
        return num, True
    return as_number(round(num * UNIT_SCALE[unit] / UNIT_SCALE[merge_unit], 6)), True


def _row_values(spec: Spec, rec: Record) -> tuple[dict[str, Value], set[str]]:
    values: dict[str, Value] = {}
    unknown: set[str] = set()
    for k, cell in spec.cells.items():
        v = rec.values.get(k)
        if cell.type == "amount":
            stated = rec.meta.get(cell.unit_field) if cell.unit_field else None
            v, known = convert_amount(cell, v, stated, spec.merge.unit)
            if not known:
                unknown.add(k)
        values[k] = v
    return values, unknown


def slim_record(rec: Record) -> Record:
    """What the merge keeps of a record once its findings and row are spilled: the metadata, the
    carry-over rows (X-CARRY, this year's and last year's) and where those and the edition are in
    the file (the merge rules point at them) — only where that is not the template's own address,
    which :meth:`Record.locate` falls back to. ~2 KB instead of ~60; keys are the spec's own strings."""
    carry, located = _slim_keys(rec.edition)
    where = {}
    for k, default in located.items():
        v = rec.where.get(k)
        if v is not None and v != default:
            where[k] = v
    return Record(edition=rec.edition, meta=dict(rec.meta), values={k: rec.values.get(k) for k in carry},
                  source=rec.source, kind=rec.kind, where=where, missing=rec.missing & carry.keys())


@cache
def _slim_keys(edition: str) -> tuple[dict[str, None], dict[str, str | None]]:
    """(carry-over cell keys, key → its template address for every key the merge rules point at)."""
    spec = load_spec(edition)
    c = spec.carry_over
    grid = spec.grid(c.grid)
    rows = {grid.cell_key(row, col.key) for row in (c.this_year_row, c.last_year_row) for col in grid.leaf_columns()}
    carry = {k: None for k in spec.cells if k in rows}
    layout = workbook_layout(spec)
    located: dict[str, str | None] = {}
    for k in [*carry, *(META_PREFIX + f.key for f in spec.metadata), EDITION_KEY]:
        try:
            located[k] = layout.address(k)
        except KeyError:
            located[k] = None
    return carry, located


class Merger:
    """A merge fed batch by batch: :meth:`add` checks a batch and spills it, :meth:`finish` applies
    the rules across files. Memory holds one batch of records plus a slim record per file."""

    def __init__(self, progress: Progress | None = None, total: int = 0) -> None:
        self.store = SpillStore()
        self.entries: list[Entry] = []
        self.progress, self.total = progress, total
        self.validate_seconds = 0.0
        self.spill_seconds = 0.0

    def add(self, items: Sequence[tuple[Path, Record]], prose: Sequence[list[Finding]] | None = None) -> None:
        """Validate ``items`` in one pass, spill each file's findings and row, keep a slim entry.
        ``prose``: their prose findings where the reading workers made them."""
        if not items:
            return
        from gxsheet.check.validate import validate_records

        t0 = time.perf_counter()
        found = validate_records([r for _, r in items], prose=prose)
        t1 = time.perf_counter()
        self.validate_seconds += t1 - t0
        for (path, rec), fs in zip(items, found, strict=True):
            spec = rec.spec
            values, unknown = _row_values(spec, rec)
            unit_fs = [unit_finding(rec, k, values[k], spec.merge.unit) for k in sorted(unknown) if values[k] is not None]
            spill = self.store.put(Spilled(fs, unit_fs, tuple(values.values()), frozenset(unknown)))
            try:
                mtime = path.stat().st_mtime
            except OSError:
                mtime = 0.0
            self.entries.append(Entry(path=path, record=slim_record(rec), mtime=mtime, spill=spill, store=self.store,
                                      tally=rule_tally(fs), unit_tally=rule_tally(unit_fs)))
        self.spill_seconds += time.perf_counter() - t1
        if self.progress:
            self.progress("validate", len(self.entries), max(self.total, len(self.entries)))

    def finish(self, *, unreadable: Sequence[Unreadable] = (), previous: Sequence[tuple[Path, Record]] = (),
               year: int | None = None, name: str | None = None, order: Sequence[str] | None = None) -> MergeResult:
        """The rules across files (X-MIXED, X-DUPLICATE, X-CARRY) and the entries in sheet order:
        ``order`` (the county's list of units, in its order) first, then by pinyin."""
        t0 = time.perf_counter()
        entries = self.entries
        merge_year = year if year is not None else choose_year(e.record for e in entries)
        edition = (edition_for_year(merge_year) if merge_year is not None else None) or \
            (Counter(e.record.edition for e in entries).most_common(1)[0][0] if entries else editions()[-1])
        spec = load_spec(edition)
        for e in entries:
            _check_mixed(e, merge_year, spec)
        _check_duplicates(entries, merge_year)
        prev_by_name = _previous_by_name(previous, merge_year)
        matched: set[str] = set()
        for e in entries:
            if not e.counted_edition:
                continue
            prev = prev_by_name.get(norm_name(e.unit_name))
            if prev is not None and e.unit_name:
                matched.add(norm_name(e.unit_name))
                e.merge_findings += carry_findings(e.record, prev[1], prev[0].name)
        rank: dict[str, int] = {}
        for i, unit in enumerate(order or ()):
            rank.setdefault(norm_name(unit), i)
        entries.sort(key=lambda e: (e.unit_name is None, rank.get(norm_name(e.unit_name), len(rank)),
                                    pinyin_key(norm_name(e.unit_name)), norm_name(e.unit_name), e.path.name, str(e.path)))
        county = name or _common_parent(e.record for e in entries if e.included)
        merge_seconds = self.spill_seconds + time.perf_counter() - t0
        sent = {norm_name(e.unit_name) for e in entries}
        return MergeResult(year=merge_year, edition=edition, entries=entries, unreadable=list(unreadable), name=county,
                           previous_matched=len(matched), previous_read=len(previous), store=self.store,
                           timings={"validate": self.validate_seconds, "merge": merge_seconds},
                           not_submitted=[u for u in (order or ()) if norm_name(u) not in sent],
                           unlisted=sum(1 for e in entries if norm_name(e.unit_name) not in rank) if order else 0,
                           ordered=order is not None)


def rule_tally(fs: Iterable[Finding]) -> tuple[tuple[str, int, int], ...]:
    """(rule, errors, warnings) per rule of ``fs``, in order of first appearance (a few per file)."""
    counts: dict[str, list[int]] = {}
    for f in fs:
        c = counts.setdefault(sys.intern(f.rule), [0, 0])
        c[0 if f.severity == "error" else 1] += 1
    return tuple((rule, e, w) for rule, (e, w) in counts.items())


def merge_records(items: Sequence[tuple[Path, Record]], *, unreadable: Sequence[Unreadable] = (),
                  previous: Sequence[tuple[Path, Record]] = (), year: int | None = None,
                  name: str | None = None, progress: Progress | None = None, batch: int = BATCH,
                  order: Sequence[str] | None = None) -> MergeResult:
    """Validate the records (``batch`` at a time) and apply the merge rules; entries in sheet order
    (``order``: the county's list of units, in its order; the rest by pinyin)."""
    merger = Merger(progress, len(items))
    if progress:
        progress("validate", 0, len(items))
    for i in range(0, len(items), batch):
        merger.add(items[i:i + batch])
    return merger.finish(unreadable=unreadable, previous=[(p, slim_record(r)) for p, r in previous], year=year,
                         name=name, order=order)


def _check_mixed(e: Entry, merge_year: int | None, spec: Spec) -> None:
    hit = mixed_finding(e.record, merge_year, spec)
    if hit is not None:
        e.included, e.reason = False, hit[0]
        e.merge_findings.append(hit[1])


def _check_duplicates(entries: list[Entry], merge_year: int | None) -> None:
    """Of the workbooks of one body and year, the most recently modified counts; all get X-DUPLICATE."""
    groups: dict[tuple[str, int | None], list[Entry]] = {}
    for e in entries:
        if not e.included or not e.unit_name:
            continue
        groups.setdefault((norm_name(e.unit_name), e.record.year if e.record.year is not None else merge_year), []).append(e)
    for (_, y), group in groups.items():
        if len(group) < 2:
            continue
        keep = max(group, key=lambda g: (g.mtime, g.path.name))
        found = duplicate_findings([(g.path.name, g.record) for g in group], group.index(keep), y)
        for g, f in zip(group, found, strict=True):
            if g is not keep:
                g.included, g.reason = False, "duplicate"
            g.merge_findings.append(f)


def _previous_by_name(previous: Sequence[tuple[Path, Record]], merge_year: int | None) -> dict[str, tuple[Path, Record]]:
    """Last year's records by normalised 单位名称 (a wrong-year file is ignored; newest wins)."""
    best: dict[str, tuple[float, Path, Record]] = {}
    for path, rec in previous:
        key = norm_name(rec.role("unit_name"))
        if not key:
            continue
        if merge_year is not None and rec.year is not None and rec.year != merge_year - 1:
            continue
        try:
            mtime = path.stat().st_mtime
        except OSError:
            mtime = 0.0
        if key not in best or (mtime, path.name) > (best[key][0], best[key][1].name):
            best[key] = (mtime, path, rec)
    return {k: (p, r) for k, (_, p, r) in best.items()}


def _common_parent(records: Iterable[Record]) -> str | None:
    parents = {norm_name(r.role("parent")) for r in records}
    parents.discard("")
    return parents.pop() if len(parents) == 1 else None


def _skipped(u: Unreadable, named: set[Path]) -> bool:
    """A file found in a folder (not named) that is not a workbook: skipped, as ``validate`` does."""
    from gxsheet.read.registry import skipped_in_folder

    return _resolved(u.path) not in named and skipped_in_folder(u.path, LoadError(u.path, u.kind, "", ""))


def _import_ahead() -> None:
    """Import what the merge needs after reading while the workers read: the validator (pandas,
    pandera) with its schemas, and pypinyin with its phrase dictionary for the sort (~0.2 s)."""
    import pypinyin  # noqa: F401 - imported for its cost

    from gxsheet.check.validate import prepare

    prepare(editions(), prose=False)  # the workers run the prose rules


def merge_paths(inputs: Sequence[str | Path], *, previous: Sequence[str | Path] = (), year: int | None = None,
                name: str | None = None, jobs: int | None = None, exclude: Iterable[str | Path] = (),
                progress: Progress | None = None, batch: int = BATCH, limits: Limits | None = None,
                order: Sequence[str] | None = None) -> MergeResult:
    """Collect, read (in parallel when cores are idle), validate batch by batch as files arrive, merge.

    Last year's files (``previous``) are read first and kept slim; this year's are checked and
    spilled ``batch`` at a time, so memory holds one batch of records whatever the county's size.
    ``limits`` bound every file read (default: :data:`~gxsheet.core.limits.DEFAULT_LIMITS`).
    ``order``: the county's units in its order (``--order``); the workbooks of other units follow
    by pinyin.
    """
    exclude = list(exclude)
    named = {_resolved(p) for p in (*inputs, *previous) if not Path(p).is_dir()}
    files = collect_inputs(inputs, exclude=exclude)
    prev_files = collect_inputs(previous, exclude=exclude + files) if previous else []
    total = len(files) + len(prev_files)
    t0 = time.perf_counter()
    bad: list[tuple[int, Unreadable]] = []
    prev_items: list[tuple[int, tuple[Path, Record]]] = []
    shifted = (lambda ph, d, _t: progress(ph, d, total)) if progress else None
    for i, r in iter_read(prev_files, jobs=jobs, progress=shifted, limits=limits):
        if isinstance(r, Unreadable):
            bad.append((len(files) + i, Unreadable(r.path, r.kind, r.message_zh, r.message_en, previous=True)))
        else:
            prev_items.append((i, (prev_files[i], slim_record(r))))
    merger = Merger(progress, len(files))
    pending: list[tuple[Path, Record]] = []
    made: list[list[Finding]] = []
    shifted = (lambda ph, d, _t: progress(ph, len(prev_files) + d, total)) if progress else None
    if len(files) >= SERIAL_BELOW:  # several workers: they inherit the compiled claims instead of each compiling them
        from gxsheet.check.claims import claims

        claims()
    for i, r in iter_read(files, jobs=jobs, progress=shifted, while_waiting=_import_ahead, limits=limits,
                          reader=read_and_check_submission):
        if isinstance(r, Unreadable):
            bad.append((i, r))
            continue
        rec, fs = r
        pending.append((files[i], rec))
        made.append(fs)
        if len(pending) >= batch:
            merger.add(pending, made)
            pending, made = [], []
    merger.add(pending, made)
    read = time.perf_counter() - t0 - merger.validate_seconds - merger.spill_seconds
    unreadable = [u for _, u in sorted(bad, key=lambda b: b[0])]
    result = merger.finish(unreadable=[u for u in unreadable if not _skipped(u, named)],
                           previous=[item for _, item in sorted(prev_items, key=lambda p: p[0])], year=year, name=name,
                           order=order)
    result.skipped = [u for u in unreadable if _skipped(u, named)]
    result.timings = {"read": read, **result.timings}
    return result
