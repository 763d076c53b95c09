"""Findings: what a rule says about one report, with its location and numbers.

Rules are data (``schemas/rules.json``: id, severity, zh/en message templates). Code that detects a
problem only names the rule, the value keys involved and the numbers; the text comes from the
catalogue so every message of a rule reads the same way, in Chinese or English.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

from gxsheet.core.spec import schemas_dir

SEVERITY_ZH = {"error": "错误", "warning": "疑问"}
#: text parameters kept with a finding (beside its numbers) because later steps need them:
#: an imported S-LABEL's published and official texts go back into the written workbook
TEXT_PARAMS = ("found", "official")


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    title_zh: str
    title_en: str
    zh: str
    en: str


@cache
def rules() -> dict[str, Rule]:
    data = json.loads((schemas_dir() / "rules.json").read_text(encoding="utf-8"))
    return {r["id"]: Rule(**r) for r in data["rules"]}


class _Default(dict):
    """Leave unknown placeholders visible instead of raising: a message must never crash a run."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fmt_number(v: Any) -> str:
    """Numbers as a clerk writes them: 12 not 12.0, 3.5 stays 3.5, no float noise."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if v.is_integer():
            return str(int(v))
        return f"{v:.6f}".rstrip("0").rstrip(".")
    return str(v)


@dataclass
class Finding:
    """One problem in one report.

    ``keys`` are value/metadata keys (how code refers to cells); ``cells`` are the A1 addresses
    (``表三!D5``) or locations (``第12行``) resolved from the record when the finding is made, so a
    cross-row check keeps every cell it involves.
    """

    rule: str
    severity: str
    message_zh: str
    message_en: str
    sheet: str | None = None
    cells: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def message(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message_zh

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["numbers"] = {k: v for k, v in self.numbers.items() if isinstance(v, (int, float, str, bool)) or v is None}
        return d


def make(rule_id: str, *, keys: list[str] | None = None, cells: list[str] | None = None,
         sheet: str | None = None, source: str = "", severity: str | None = None, **params: Any) -> Finding:
    """A finding of ``rule_id`` with its message rendered from the catalogue."""
    rule = rules()[rule_id]
    shown = _Default({k: fmt_number(v) if isinstance(v, (int, float)) else v for k, v in params.items()})
    shown.setdefault("detail_en", shown.get("detail", ""))
    shown.setdefault("where_en", shown.get("where", ""))
    en_params = _Default(shown)
    if "where_en" in params:
        en_params["where"] = params["where_en"]
    return Finding(
        rule=rule_id, severity=severity or rule.severity,
        message_zh=rule.zh.format_map(shown), message_en=rule.en.format_map(en_params),
        sheet=sheet, cells=list(cells or []), keys=list(keys or []),
        numbers={k: v for k, v in params.items()
                 if isinstance(v, (int, float)) or (k in TEXT_PARAMS and isinstance(v, str))}, source=source,
    )


def summary(findings: list[Finding]) -> tuple[int, int]:
    """(errors, warnings)."""
    e = sum(1 for f in findings if f.severity == "error")
    return e, len(findings) - e


def cell_order(ref: str) -> tuple:
    """Sort key of 'Sheet!D10': sheet, then row and column as numbers (D5 before D10)."""
    sheet, _, a1 = ref.rpartition("!")
    letters = a1.rstrip("0123456789")
    digits = a1[len(letters):]
    col = 0
    for ch in letters.upper():
        col = col * 26 + (ord(ch) - 64) if "A" <= ch <= "Z" else col
    return (sheet, int(digits) if digits.isdigit() else 0, col, ref)


#: rule families in the order a clerk should fix them: the file's structure and metadata, then the
#: cells themselves, then the sums (a fraction or a negative number also breaks a total: the cell
#: comes first, the total it breaks after), then text against tables, then the merge's own rules
RULE_FAMILY_ORDER = ("S", "M", "V", "T", "N", "X")


def finding_order(f: Finding) -> tuple:
    """Sort key of findings: errors first, then by rule family (causes before effects), rule, cell."""
    family = f.rule.split("-", 1)[0]
    rank = next((i for i, p in enumerate(RULE_FAMILY_ORDER) if family.startswith(p)), len(RULE_FAMILY_ORDER))
    return (0 if f.severity == "error" else 1, rank, f.rule, [cell_order(c) for c in f.cells])
