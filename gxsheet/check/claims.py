"""Claims: how a published report states its tables' figures, and its fee, in words (schemas/claims.json).

The phrasings are data, not code: each claim names the topics it states (``received``, ``review``,
``review_litigation`` …, which the spec maps to cells), its kind (a figure, the same figure for each
topic, or a statement that they are zero — "none received", "all upheld"), and its patterns. This
module compiles them once (JSON Schema first, then every pattern and macro) and reads the claims
of one sentence in the file's order: a match takes its words for the topics it names and the ones
it ``blocks``, so 行政复议、行政诉讼共3件 is one combined figure, never 3 of each.

Reading is by meaning, within limits a reviewer accepts: an approximate figure (近20件, 1200余条) or
a relative one (较上年增加5件) states nothing exact and is skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from gxsheet.core import usercache
from gxsheet.core.normalise import clean_text
from gxsheet.core.spec import SpecError, schemas_dir
from gxsheet.read.headings import cn_number

__all__ = ["Claim", "Stated", "claims", "clause", "fee_stated", "read_claims", "topics_named"]

_APPROX_BEFORE = re.compile(r"(近|约|大约|超过|逾|不足|不到|将近)$")
_RELATIVE = re.compile(r"(较上年|同比|比上年|比去年|较去年|增长|下降|增加|减少|环比)")
_MACRO = re.compile(r"@([A-Z]+)@")


@dataclass(frozen=True)
class Claim:
    id: str
    kind: str  # figure / each / zero / all
    topics: tuple[str, ...]
    blocks: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    exclude: re.Pattern[str] | None
    examples: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]


@dataclass(frozen=True)
class Stated:
    """One figure a sentence states: its topic, value, the claim that read it and where."""

    topic: str
    value: int
    claim: str
    start: int
    end: int


@dataclass(frozen=True)
class _Claims:
    claims: tuple[Claim, ...]
    context: dict[str, re.Pattern[str]]
    fees: tuple[re.Pattern[str], ...]
    fee_examples: tuple[str, ...]
    fee_not: tuple[str, ...]


def _load() -> dict[str, Any]:
    """The claims file, checked against its JSON Schema once per content (see usercache.checked_once)."""
    folder = schemas_dir()
    raw, schema_raw = (folder / "claims.json").read_bytes(), (folder / "claims.schema.json").read_bytes()
    data = json.loads(raw.decode("utf-8"))

    def check() -> None:
        import jsonschema

        schema = json.loads(schema_raw.decode("utf-8"))
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            raise SpecError(f"schemas/claims.json: {e.message} at {list(e.path)}")

    usercache.checked_once("claims-schema-checked", (raw, schema_raw), check)
    return data


@cache
def claims() -> _Claims:
    """The claims file, checked and compiled (SpecError naming the claim when a pattern is broken)."""
    data = _load()
    macros = data["macros"]

    def compile_(where: str, text: str) -> re.Pattern[str]:
        def expand(m: re.Match[str]) -> str:
            if m.group(1) not in macros:
                raise SpecError(f"schemas/claims.json: {where}: unknown macro @{m.group(1)}@")
            return macros[m.group(1)]

        try:
            return re.compile(_MACRO.sub(expand, text))
        except re.error as e:
            raise SpecError(f"schemas/claims.json: {where}: {e}") from None

    out = []
    for c in data["claims"]:
        where = f"claim {c['id']!r}"
        pats = tuple(compile_(where, p) for p in c["patterns"])
        if c["kind"] in ("figure", "each") and any("n" not in p.groupindex for p in pats):
            raise SpecError(f"schemas/claims.json: {where}: a {c['kind']} pattern must name its number (?P<n>…)")
        out.append(Claim(c["id"], c["kind"], tuple(c["topics"]), tuple(c.get("blocks", ())), pats,
                         compile_(where, c["exclude"]) if "exclude" in c else None,
                         tuple((s, tuple((t, v) for t, v in want)) for s, want in c["examples"])))
    context = {k: compile_(f"context {k!r}", v) for k, v in data["context"].items() if not k.startswith("$")}
    fee = data["fee_statements"]
    return _Claims(tuple(out), context, tuple(compile_("fee_statements", p) for p in fee["patterns"]),
                   tuple(fee["examples"]), tuple(fee["not"]))


def topics_named() -> frozenset[str]:
    """Every topic some claim states."""
    return frozenset(t for c in claims().claims for t in c.topics)


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else cn_number(text)


def read_claims(sentence: str, *, topics: frozenset[str] | set[str], about_figures: bool,
                context: str = "") -> list[Stated]:
    """The figures ``sentence`` states on ``topics``: at most one per topic (the first), each claim's
    match taking its words from later claims on the same topics. ``about_figures``: the sentence is
    in a section wholly about applications and appeals, so no disclosure wording is needed; else the
    wording must be in the sentence or in ``context`` (its paragraph before it: 收到申请89件；产生行政复议
    13件 is still about disclosure after the semicolon)."""
    s = sentence  # not cleaned: offsets point into the section's text (its line for a message)
    data = claims()
    taken: dict[str, list[tuple[int, int]]] = {}
    out: dict[str, Stated] = {}
    for claim in data.claims:
        mine = [t for t in claim.topics if t in topics]
        if not mine or all(t in out for t in mine):
            continue
        if not about_figures and not all(data.context[t].search(context + s) if t in data.context else True
                                         for t in mine):
            continue
        for pattern in claim.patterns:
            hit = _first(claim, pattern, s, taken)
            if hit is None:
                continue
            value, a, b = hit
            for t in mine:
                out.setdefault(t, Stated(t, value, claim.id, a, b))
            for t in (*claim.topics, *claim.blocks):
                taken.setdefault(t, []).append((a, b))
            break
    return sorted(out.values(), key=lambda x: (x.start, x.topic))


def _first(claim: Claim, pattern: re.Pattern[str], s: str, taken: dict[str, list[tuple[int, int]]]
           ) -> tuple[int, int, int] | None:
    for m in pattern.finditer(s):
        a, b = m.span()
        if any(x < b and a < y for t in claim.topics for x, y in taken.get(t, ())):
            continue
        if claim.exclude is not None and claim.exclude.search(s[a:b]):
            continue
        if claim.kind == "all":
            return 0, a, b
        if claim.kind == "zero":
            if re.search(r"[1-9]\d*\s*(件|起|宗|条)", s[a:b]):
                continue
            return 0, a, b
        value = _number(m.group("n"))
        if value is None:
            continue
        if _APPROX_BEFORE.search(s[:m.start("n")]) or s[m.end("n"):m.end("n") + 2].startswith(("余", "多")):
            continue
        if _RELATIVE.search(clause(s, a, b)):
            continue
        return value, a, b
    return None


def clause(s: str, a: int, b: int) -> str:
    """The clause around ``s[a:b]`` (between commas, semicolons …): where a relative wording would
    make a figure inexact, and what a message quotes."""
    left = max(s.rfind(c, 0, a) for c in "，,；;。：:\n")
    right = min([i for i in (s.find(c, b) for c in "，,；;。\n") if i >= 0] or [len(s)])
    return s[left + 1:right].strip()


def fee_stated(text: str) -> bool:
    """Whether ``text`` states the information-processing fee, in any of its usual wordings."""
    s = clean_text(text)
    return any(p.search(s) for p in claims().fees)
