"""Normalising cell text: remove harmless noise, keep everything that changes meaning.

Whitespace (ASCII, full-width, NBSP), full-width digits and signs and thousands separators are
noise: " 0", "０", "1,234" are the numbers 0, 0, 1234. Anything else — a unit, 无, 十, 1200余, a
fraction — is kept as text or as a float so the validator can report it: a count of 3.5 is never
turned into 3.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from gxsheet.core.sanitise import INVISIBLE, strip_invisible

#: whitespace (ASCII, full-width, NBSP) and invisible format characters (zero-width spaces, bidi
#: marks, the BOM …): noise in labels and numbers, and a way to make "97" or a label look right
#: while comparing wrong
_SPACE = re.compile(rf"[\s\u3000\u00a0{INVISIBLE}]+")
_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")
_THOUSANDS = re.compile(r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$")
#: what a number typed by a clerk may be made of: ASCII or full-width digits, signs, points and
#: separators, spaces. Anything else that Unicode normalisation turns into a digit (9², ①, 𝟗) is
#: not what the clerk typed as a number, so it stays text and V-NUMBER reports it.
_NUMBER_CHARS = re.compile(rf"[0-9０-９+\-−＋－.．,，\s\u3000\u00a0{INVISIBLE}]*")
_AMOUNT = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*(亿元|万元|千元|元)$")
UNIT_SCALE = {"元": 1, "千元": 1_000, "万元": 10_000, "亿元": 100_000_000}

Number = int | float

@lru_cache(maxsize=65536)
def clean_text(text: str) -> str:
    """Unicode-normalise and drop all whitespace (labels and numbers carry no meaningful spaces)."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text))


def norm_name(name: object) -> str:
    """单位名称 for matching: whitespace and full-width variants do not make a different body
    (the merge's unit list and duplicates, the collection page's 单位名称 check)."""
    return clean_text(str(name)) if name not in (None, "") else ""


def as_number(v: Number) -> Number:
    """12.0 → 12 (Excel stores every number as a double); 3.5 stays 3.5."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    return v


def normalise_value(raw: Any) -> int | float | str | None:
    """A cell's content as the validator sees it: number, text, or None for blank."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return str(raw).upper()
    if isinstance(raw, (int, float)):
        if isinstance(raw, float) and not math.isfinite(raw):  # NaN / Infinity (a JSON value): not a number
            return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[str(raw)]
        return as_number(raw)
    text = str(raw)
    t = clean_text(text).replace("−", "-")
    if not t:
        return None
    if _THOUSANDS.match(t):
        t = t.replace(",", "")
    if _NUMBER.match(t):
        if _NUMBER_CHARS.fullmatch(text) is None:  # 9², ①: digits only after normalisation
            return _strip_text(text)
        if sum(ch.isdigit() for ch in t) > 15:
            # beyond a double's precision: read as Excel would (a double); a value no double can
            # hold (400 digits) stays text, so the validator says it is not a number
            v = float(t)
            return as_number(v) if math.isfinite(v) else _strip_text(text)
        return as_number(float(t)) if ("." in t) else int(t)
    return _strip_text(text)


def _strip_text(text: str) -> str:
    """Cell text as kept when it is not a number: surrounding spaces (and invisible marks) removed."""
    return strip_invisible(text).strip(" \t\r\n\u3000\u00a0")


def parse_amount(text: str) -> tuple[float | int, str] | None:
    """``'288.79万元'`` → (288.79, '万元'); None when the text is not a number with a money unit."""
    m = _AMOUNT.match(clean_text(text).replace(",", ""))
    if not m:
        return None
    v = float(m.group(1))
    return as_number(v), m.group(2)


def parse_year(raw: Any) -> int | None:
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, (int, float)):
        return int(raw) if float(raw).is_integer() and 1900 < raw < 2200 else None
    m = re.fullmatch(r"(\d{4})(年度?|年)?", clean_text(str(raw)))
    return int(m.group(1)) if m else None


_EXCEL_EPOCH = datetime(1899, 12, 30)
#: serial 0 of the 1904 date system (Excel for Mac's old default, ``<workbookPr date1904="1">``)
_EXCEL_EPOCH_1904 = datetime(1904, 1, 1)


def parse_date(raw: Any, *, date1904: bool = False) -> str | None:
    """A date as ISO text from an Excel serial, a datetime or the usual written forms.

    A serial counts days from 1899-12-30, or from 1904-01-01 in a workbook that uses the 1904
    date system: the same serial is 1,462 days later there.
    """
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, (int, float)):
        if 1 <= raw < 2958466:
            epoch = _EXCEL_EPOCH_1904 if date1904 else _EXCEL_EPOCH
            return (epoch + timedelta(days=float(raw))).date().isoformat()
        return None
    t = clean_text(str(raw))
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:T?\d{1,2}:\d{2}(?::\d{2})?)?", t)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def label_key(text: str | None) -> str:
    """A label reduced for comparison: NFKC, no spaces, enumerators unified (1、 1． → 1.)."""
    if not text:
        return ""
    t = clean_text(text)
    t = re.sub(r"^(\d+)[、,，.．]", r"\1.", t)
    return t


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions): how many characters a
    conversion would have had to garble to turn one short name into the other. Quadratic, for
    names and labels only (tens of characters)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def similarity(a: str, b: str) -> float:
    """How alike two labels are (0..1): character-bigram overlap, cheap and order-tolerant."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0

    def grams(s: str) -> set[str]:
        return {s[i:i + 2] for i in range(len(s) - 1)} or {s}

    ga, gb = grams(a), grams(b)
    return 2 * len(ga & gb) / (len(ga) + len(gb))
