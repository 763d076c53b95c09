"""Rules on the prose of a report: S-SECTIONS, N-TEXT-TABLE, N-SEC5-EMPTY, N-FEE.

The tables are checked cell by cell by the validator; this module reads what the report *says*:
whether its six sections are all there, once, in order; whether a figure stated in the text
(申请 received or carried over, 行政复议 / 行政诉讼 cases) contradicts the table; whether section 五
is empty; and, from 2021, whether section 六 says anything about 信息处理费.

It works on imported reports (``Record.headings_found`` lists the headings as written, with their
locations in ``Record.where['heading.N']``) and on workbooks, whose prose sheet has one fixed cell
per section (``headings_found`` is None): there S-SECTIONS looks for what goes wrong in a prose
sheet instead — an empty 总体情况, or another section's heading pasted inside a section's cell.

The heading classifier (:mod:`gxsheet.read.headings`) is shared with the importers that split a
report into sections, so both agree on what a heading is.

Which section a rule is about is edition data: the rules look a section up by its role in the
spec (``Spec.section_for``: overview, applications, review_litigation, problems, fees), and name it
in a message as the spec does (``Section.zh`` / ``Section.en``, its heading).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gxsheet.check.claims import clause, fee_stated, read_claims, topics_named
from gxsheet.core import findings as F
from gxsheet.core.limits import Limits
from gxsheet.core.normalise import clean_text
from gxsheet.core.record import Record
from gxsheet.core.spec import NarrativeTopic, Spec, SpecError
from gxsheet.core.wording import describe, location_en
from gxsheet.read.headings import EN_COUNT, Heading, classify_heading, cn_numeral

__all__ = [
    "narrative_findings",
    "prose_figures",
    "read_and_check_prose",
    "section_findings",
    "text_table_findings",
    "topics",
]

#: what a clerk writes in a section that has nothing in it
EMPTY_WORDS = {"无", "暂无", "没有", "无此项", "无相关情况", "/", "-", "—", "——", "无其他需要报告的事项"}


def _english_locations(findings: list[F.Finding]) -> list[F.Finding]:
    for f in findings:
        f.message_en = location_en(f.message_en)
    return findings


# ------------------------------------------------------------------ S-SECTIONS


def section_findings(rec: Record) -> list[F.Finding]:
    """S-SECTIONS: on the headings as found (imported), else on the prose sheet (workbook)."""
    if rec.headings_found is None:
        return _prose_sheet_sections(rec)
    secs = {s.key: s for s in rec.spec.sections}
    order = [s.key for s in rec.spec.sections]
    count_zh, count_en = cn_numeral(len(order)), EN_COUNT.get(len(order), str(len(order)))
    found: list[tuple[int, Heading]] = []
    for i, text in enumerate(rec.headings_found):
        h = classify_heading(text)
        if h is not None:
            found.append((i, h))

    def loc(i: int) -> str:
        return rec.where.get(f"heading.{i}", f"第{i + 1}个标题")

    out: list[F.Finding] = []
    official = [(i, h) for i, h in found if h.key]
    seen: dict[str, list[int]] = {}
    for i, h in official:
        seen.setdefault(h.key or "", []).append(i)
    missing = [k for k in order if k not in seen]
    if missing:
        out.append(F.make(
            "S-SECTIONS", case="missing", keys=[f"prose.{k}" for k in missing], cells=[], source=rec.source,
            names="、".join(f"“{secs[k].heading}”" for k in missing), names_en=", ".join(secs[k].heading for k in missing),
            count=count_zh, count_en=count_en))
    for k, idx in seen.items():
        if len(idx) > 1:
            out.append(F.make(
                "S-SECTIONS", case="repeated", keys=[f"prose.{k}"], cells=[loc(i) for i in idx], source=rec.source,
                heading=secs[k].heading, times=len(idx), where="、".join(loc(i) for i in idx),
                where_en=", ".join(loc(i) for i in idx), texts="、".join(f"“{rec.headings_found[i]}”" for i in idx)))
    firsts = sorted((idx[0], k) for k, idx in seen.items())
    seq = [k for _, k in firsts]
    if seq != sorted(seq, key=order.index):
        out.append(F.make(
            "S-SECTIONS", case="order", keys=[f"prose.{k}" for k in seq], cells=[loc(i) for i, _ in firsts],
            source=rec.source, shown=" → ".join(secs[k].numeral for k in seq),
            first=secs[order[0]].numeral, last=secs[order[-1]].numeral))
    for pos, (i, h) in enumerate(found):
        if h.key is not None or h.number is None:
            continue
        nxt = next((g for _, g in found[pos + 1:] if g.key), None)
        if nxt is not None and order.index(nxt.key) + 1 <= h.number:
            out.append(F.make(
                "S-SECTIONS", case="numbering", keys=[f"prose.{nxt.key}"], cells=[loc(i)], source=rec.source,
                where=loc(i), heading=h.text, count=count_zh, count_en=count_en, numeral=cn_numeral(h.number),
                number=h.number, next=nxt.text))
    return out


def _prose_sheet_sections(rec: Record) -> list[F.Finding]:
    """A workbook's prose sheet cannot lose or reorder a section; what can go wrong is an empty
    总体情况 or a whole report pasted into one cell (another section's heading inside it)."""
    out: list[F.Finding] = []
    secs = {s.key: s for s in rec.spec.sections}
    overview = rec.spec.section_for("overview")
    text = rec.prose.get(overview.key)
    if text is None or not clean_text(str(text)):
        where = rec.where.get(f"prose.{overview.key}")
        out.append(F.make(
            "S-SECTIONS", case="overview-empty", keys=[f"prose.{overview.key}"], cells=[where] if where else [],
            source=rec.source, heading=overview.heading))
    for key, text in rec.prose.items():
        if not isinstance(text, str):
            continue
        for line in text.splitlines():
            h = classify_heading(line)
            if h is not None and h.key and h.key != key and h.number is not None:
                heading = secs[key].heading if key in secs else key
                where = rec.where.get(f"prose.{key}", heading)
                out.append(F.make(
                    "S-SECTIONS", case="heading-in-cell", keys=[f"prose.{key}", f"prose.{h.key}"],
                    cells=[where] if where else [], source=rec.source, heading=heading, other=h.text, where=where))
                break
    return out


# ------------------------------------------------------------------ N-TEXT-TABLE
#
# Which figures the prose may state, and which cells each must agree with, is edition data: the
# spec's ``narrative_topics`` (gxsheet.core.spec.NarrativeTopic). How Chinese prose states each figure
# is language data: the claims of schemas/claims.json (gxsheet.check.claims), which read one sentence
# by meaning — single figures, combined ones (复议和诉讼共3件), "none" and "all upheld" statements.

_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
#: roles of the sections that are wholly about disclosure applications and their appeals: a figure
#: there is read without the disclosure wording other sections need around it
_FIGURE_ROLES = ("applications", "review_litigation")


def topics(spec: Spec) -> tuple[NarrativeTopic, ...]:
    """The spec's narrative topics; SpecError when it names one no claim of schemas/claims.json states."""
    named = topics_named()
    unknown = [t.name for t in spec.narrative_topics if t.name not in named]
    if unknown:
        raise SpecError(f"spec {spec.edition!r}: narrative topic(s) {', '.join(map(repr, unknown))} have no phrase "
                        f"patterns: no claim of schemas/claims.json states them (known: {', '.join(sorted(named))})")
    return spec.narrative_topics


@dataclass(frozen=True)
class Figure:
    """A figure stated in the prose: topic, value, the words stating it, where, and the claim that read it."""

    topic: str
    value: int
    text: str
    section: str
    offset: int  # character offset in the section's prose
    claim: str = ""


def _sentences(text: str) -> list[tuple[int, str]]:
    out, start = [], 0
    for m in re.finditer(r"[。；;！!？?\n]", text):
        out.append((start, text[start:m.end()]))
        start = m.end()
    if start < len(text):
        out.append((start, text[start:]))
    return out


def prose_figures(rec: Record) -> list[Figure]:
    """The figures the prose states on the spec's topics, for the report year only."""
    year = rec.year
    names = frozenset(t.name for t in topics(rec.spec))
    about_figures = {rec.spec.section_for(role).key for role in _FIGURE_ROLES}
    out: list[Figure] = []
    for sec, text in rec.prose.items():
        if not isinstance(text, str) or not text:
            continue
        before = ""  # the paragraph so far
        for start, sentence in _sentences(text):
            context, before = before, ("" if sentence.endswith("\n") else before + sentence)
            years = {int(y) for y in _YEAR.findall(sentence)}
            if year is not None and years and year not in years:
                continue  # about another year (上年, 下一年的计划)
            for st in read_claims(sentence, topics=names, about_figures=sec in about_figures, context=context):
                out.append(Figure(st.topic, st.value, clause(sentence, st.start, st.end), sec, start + st.start,
                                  st.claim))
    return out


def prose_location(rec: Record, section: str, offset: int) -> str:
    """Where a character of a section's prose is, for a person: the paragraph's line when the
    importer recorded it (``prose.s1@3`` → 第57行), else the section's cell (正文!B3)."""
    text = rec.prose.get(section) or ""
    line = text.count("\n", 0, offset)
    best = None
    for k, v in rec.where.items():
        if k.startswith(f"prose.{section}@"):
            try:
                first = int(k.split("@", 1)[1])
            except ValueError:
                continue
            if first <= line and (best is None or first > best[0]):
                best = (first, v)
    if best is not None:
        return best[1]
    return rec.where.get(f"prose.{section}", "")


def text_table_findings(rec: Record) -> list[F.Finding]:
    """N-TEXT-TABLE: each stated figure against the table; one finding per topic at most."""
    spec = rec.spec
    out: list[F.Finding] = []
    done: set[str] = set()
    by_name = {t.name: t for t in topics(spec)}
    for fig in prose_figures(rec):
        if fig.topic in done:
            continue
        topic = by_name[fig.topic]
        sums: list[tuple[tuple[str, ...], int | float]] = []
        for keys in topic.alternatives:
            if any(k in rec.missing or rec.numeric(k) is None for k in keys):
                continue
            sums.append((keys, sum(rec.numeric(k) or 0 for k in keys)))
        if not sums:
            continue
        if any(abs(v - fig.value) < 1e-9 for _, v in sums):
            done.add(fig.topic)
            continue
        keys, table_value = sums[0]
        where = prose_location(rec, fig.section, fig.offset)
        cells = ([where] if where else []) + [rec.locate(k) for k in keys]
        sec = next((s for s in spec.sections if s.key == fig.section), None)
        sec_zh, sec_en = (sec.zh, sec.en) if sec is not None else (fig.section, fig.section)
        out.append(F.make(
            "N-TEXT-TABLE", case="placed" if where else "unplaced", keys=[f"prose.{fig.section}", *keys], cells=cells,
            source=rec.source, prose=fig.value, table=table_value, section=sec_zh, section_en=sec_en, where=where,
            quote=fig.text, topic=topic.zh, topic_en=topic.en,
            cells_words="＋".join(describe(spec, k)[0] for k in keys), cells_words_en=" + ".join(describe(spec, k)[1] for k in keys)))
        done.add(fig.topic)
    return out


# ------------------------------------------------------------------ N-SEC5-EMPTY, N-FEE


def _is_empty(text: object) -> bool:
    if not isinstance(text, str):
        return True
    t = clean_text(text).rstrip("。.")
    return not t or t in EMPTY_WORDS


def sec5_findings(rec: Record) -> list[F.Finding]:
    """N-SEC5-EMPTY: the section on problems and improvements (role ``problems``) says something."""
    sec = rec.spec.section_for("problems")
    text = rec.prose.get(sec.key)
    if not _is_empty(text):
        return []
    said = text.strip() if isinstance(text, str) else ""
    where = rec.where.get(f"prose.{sec.key}")
    return [F.make(
        "N-SEC5-EMPTY", case="filler" if said else "empty", keys=[f"prose.{sec.key}"], cells=[where] if where else [],
        source=rec.source, heading=sec.heading, heading_en=sec.heading_en, numeral=sec.numeral, text=said)]


def fee_findings(rec: Record) -> list[F.Finding]:
    """N-FEE applies from 2021 (国办函〔2020〕109号): the section with the role ``fees`` (六、其他需要报告的
    事项) states the fees, even when zero."""
    rule = rec.spec.fee_statement
    year = rec.year
    applies = year >= rule.from_year if year is not None else rec.spec.first_year >= rule.from_year
    if not applies:
        return []
    sec = rec.spec.section_for("fees")
    text = rec.prose.get(sec.key)
    if isinstance(text, str) and fee_stated(text):
        return []
    where = rec.where.get(f"prose.{sec.key}")
    return [F.make(
        "N-FEE", keys=[f"prose.{sec.key}"], cells=[where] if where else [], source=rec.source,
        heading=sec.heading, heading_en=sec.heading_en, numeral=sec.numeral, basis=rule.basis)]


def narrative_findings(rec: Record) -> list[F.Finding]:
    """Every prose rule on one record (the validator calls this for every record not read by
    :func:`read_and_check_prose`)."""
    out = section_findings(rec)
    out += text_table_findings(rec)
    out += sec5_findings(rec)
    out += fee_findings(rec)
    return _english_locations(out)


def read_and_check_prose(path: str, limits: Limits | None = None) -> tuple[Record, list[F.Finding]]:
    """A reading worker's task for a command that validates what it reads: the file's record and
    its prose findings, made there (:func:`gxsheet.check.validate.validate_records` takes them as
    ``prose``).

    Why in the worker: the prose rules need no pandas, while the table rules do. In a cold
    ``gxsheet validate`` the command's own process spends ~0.45 s importing pandas and pandera while
    the worker reads, so the worker has time to spare; the claims' ~50 patterns compile there
    (~12 ms) and the rules run there, off the path the user waits on. They also run under the
    worker's CPU-time and memory bounds, like the reading of the same text.
    """
    from gxsheet.read.registry import read_any

    rec = read_any(path, limits=limits)
    return rec, narrative_findings(rec)
