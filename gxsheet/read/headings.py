"""Recognising the report's section headings and Chinese numbers in published text.

What counts as a section heading (一、总体情况, 1、总体情况, 第一部分 总体情况, a renamed heading still close
to the official name) is decided once, here, for both the importers that split a report into
sections and the prose rule S-SECTIONS that checks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from gxsheet.core.normalise import clean_text, label_key
from gxsheet.core.spec import Section, editions, load_spec

__all__ = ["EN_COUNT", "Heading", "classify_heading", "cn_number", "cn_numeral", "sections"]

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


@cache
def sections() -> tuple[Section, ...]:
    """The six sections (identical in every edition; taken from the newest spec)."""
    return load_spec(editions()[-1]).sections


def cn_number(text: str) -> int | None:
    """一 → 1, 十二 → 12, 二十 → 20, 三百零五 → 305; None for anything else."""
    if not text or any(ch not in CN_DIGITS and ch not in "十百千" for ch in text):
        return None
    total, current = 0, 0
    for ch in text:
        if ch in CN_DIGITS:
            current = CN_DIGITS[ch]
        else:
            unit = {"十": 10, "百": 100, "千": 1000}[ch]
            total += (current or 1) * unit
            current = 0
    return total + current


# ------------------------------------------------------------------ headings


@dataclass(frozen=True)
class Heading:
    """A top-level heading as written.

    ``key`` is the official section it names (s1..s6) or None for a numbered heading that names
    none of the six (a report's own extra part such as 三、重点领域信息公开情况); ``number`` is the
    number written before it (三、 → 3, 3、 → 3), None when unnumbered.
    """

    text: str
    key: str | None
    number: int | None


_HEAD = re.compile(
    r"^(?:(?P<par>[(（][一二三四五六七八九十\d]{1,3}[)）])"
    r"|第?(?P<cn>[一二三四五六七八九十]{1,3})(?:部分)?(?P<cnsep>[、.,:：])?"
    r"|(?P<ar>\d{1,2})(?P<arsep>[、.,:：]))?(?P<name>.+)$"
)
_NO_CONTENT = re.compile(r"[(（]\s*(无|空|略|不适用)\s*[)）]$")
_UNIT_TAIL = re.compile(r"[:：]$")


def classify_heading(text: str | None) -> Heading | None:
    """Whether a paragraph is a top-level section heading, and which one.

    Accepted: 一、总体情况 · 1、 总体情况 · 第一部分 总体情况 · 总体情况 (unnumbered, exact) ·
    三、收到和处理政府信息公开申请情况（无） · a renamed official heading (五、主要问题及改进措施) when
    it is still close to the official name. Not headings: （一）sub-headings, 一是…, numbered
    sentences (they carry 。 or ，), anything long.
    """
    if not text:
        return None
    raw = re.sub(r"\[(?:bookmark|anchor)[^\]]*\]", "", text).strip()
    t = clean_text(raw)
    if not t or len(t) > 40 or re.search(r"[。;；!！?？]", t):
        return None
    hit = _classify(t)
    return Heading(raw, hit[0], hit[1]) if hit is not None else None


@cache
def _section_grams() -> tuple[tuple[Section, frozenset[str]], ...]:
    return tuple((s, _grams(label_key(s.name))) for s in sections())


def _grams(s: str) -> frozenset[str]:
    return frozenset(s[i:i + 2] for i in range(len(s) - 1)) or frozenset({s})


@lru_cache(maxsize=8192)
def _classify(t: str) -> tuple[str | None, int | None] | None:
    """(section key or None, number) of a cleaned short line, or None (cached: documents repeat lines)."""
    m = _HEAD.match(t)
    if m is None or m.group("par"):
        return None
    number: int | None = None
    if m.group("cn"):
        number = cn_number(m.group("cn"))
    elif m.group("ar"):
        number = int(m.group("ar"))
    name = _UNIT_TAIL.sub("", _NO_CONTENT.sub("", m.group("name")))
    if not name or "," in name or "，" in name:
        return None
    mine = _grams(label_key(name))
    best, score = None, 0.0
    for s, grams in _section_grams():  # the same bigram similarity as gxsheet.core.normalise.similarity
        sim = 1.0 if label_key(name) == label_key(s.name) else 2 * len(mine & grams) / (len(mine) + len(grams))
        if s.name in name and len(name) <= len(s.name) + 6:
            sim = max(sim, 0.95)
        if sim > score:
            best, score = s, sim
    separated = bool(m.group("cnsep") or m.group("arsep"))
    if best is not None:
        if number is not None and (score >= 0.8 or (separated and score >= 0.5)):
            return best.key, number
        if number is None and score >= 0.85 and len(name) <= len(best.name) + 6:
            return best.key, None
    if m.group("cn") and m.group("cnsep") == "、" and 2 <= len(name) <= 20:
        return None, number
    return None


#: small counts in an English message (split into three rows, all six parts)
EN_COUNT = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}


def cn_numeral(n: int) -> str:
    """1 → 一 … 10 → 十 (how a heading or a count is numbered); other numbers in digits."""
    return "一二三四五六七八九十"[n - 1] if 1 <= n <= 10 else str(n)
