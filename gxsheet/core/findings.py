"""Findings: what a rule says about one report, with its location and numbers.

Rules are data (``schemas/rules.json``: id, severity, zh/en message templates). Code that detects a
problem only names the rule, the value keys involved and the numbers; the text comes from the
catalogue so every message of a rule reads the same way, in Chinese or English.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from typing import Any

from gxsheet.core.sanitise import shown
from gxsheet.core.spec import schemas_dir

SEVERITY_ZH = {"error": "错误", "warning": "疑问"}
#: what a template parameter is (``schemas/rules.json``): a quantity the finding is about and a text
#: kept with it travel with the finding as data (``Finding.numbers``); the others are only shown
PARAM_KINDS = ("number", "label", "text", "place")
KEPT_KINDS = ("number", "label")


@dataclass(frozen=True)
class Template:
    """The Chinese and English message of one rule, or of one case of it, and its named parameters."""

    zh: str
    en: str
    params: dict[str, str]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    title_zh: str
    title_en: str
    #: the rule's message when it has one situation; None when it has ``cases``
    template: Template | None
    #: case id → message, for a rule that speaks of several situations (S-LAYOUT: a row inserted,
    #: a column missing, a sheet deleted …)
    cases: dict[str, Template]

    def message(self, case: str | None = None) -> Template:
        """The template of ``case`` (None: the rule's own); KeyError for a case the rule does not have."""
        if case is None:
            if self.template is None:
                raise KeyError(f"{self.id} has cases ({', '.join(self.cases)}); name one")
            return self.template
        return self.cases[case]


def _template(d: dict[str, Any]) -> Template:
    return Template(d["zh"], d["en"], dict(d.get("params", {})))


@cache
def rules() -> dict[str, Rule]:
    data = json.loads((schemas_dir() / "rules.json").read_text(encoding="utf-8"))
    return {r["id"]: Rule(r["id"], r["severity"], r["title_zh"], r["title_en"],
                          _template(r) if "zh" in r else None,
                          {k: _template(v) for k, v in r.get("cases", {}).items()})
            for r in data["rules"]}


class _Default(dict):
    """Leave unknown placeholders visible instead of raising: a message must never crash a run
    (tests render every template with its declared parameters, so none is missing in practice)."""

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
    cross-row check keeps every cell it involves. ``case`` names the situation of a rule with
    several (its message template in ``schemas/rules.json``).
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
    case: str | None = field(default=None, compare=False)

    def message(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message_zh

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("case", None)
        d["numbers"] = {k: v for k, v in self.numbers.items() if isinstance(v, (int, float, str, bool)) or v is None}
        return d


def _shown(v: Any) -> Any:
    """A parameter as a message shows it: numbers as a clerk writes them, text on one line with
    controls, bidi and invisible characters escaped (much of it comes from the submission)."""
    if isinstance(v, str):
        return shown(v)
    return fmt_number(v) if isinstance(v, (int, float)) else v


def _first_upper(v: Any) -> Any:
    return v[:1].upper() + v[1:] if isinstance(v, str) else v


def render(rule_id: str, case: str | None = None, **params: Any) -> tuple[str, str]:
    """(zh, en) message of a rule (or one of its cases) with ``params`` filled in.

    A parameter ``x`` may come with an English form ``x_en``; ``{X}`` in a template is ``x`` with its
    first letter in upper case (an English sentence starting with a table's name: "Table 3, …").
    """
    t = rules()[rule_id].message(case)
    zh = _Default({k: _shown(v) for k, v in params.items() if not k.endswith("_en")})
    en = _Default(zh)
    for k, v in params.items():
        if k.endswith("_en"):
            en[k[:-3]] = _shown(v)
    for d in (zh, en):
        for k in list(d):
            if k[:1].islower():
                d.setdefault(k[:1].upper() + k[1:], _first_upper(d[k]))
    return t.zh.format_map(zh), t.en.format_map(en)


def make(rule_id: str, *, case: str | None = None, keys: list[str] | None = None, cells: list[str] | None = None,
         sheet: str | None = None, source: str = "", severity: str | None = None, **params: Any) -> Finding:
    """A finding of ``rule_id`` (in the situation ``case``) with its message rendered from the catalogue.

    The parameters the template declares as ``number`` or ``label`` are kept with the finding
    (``Finding.numbers``): later steps use them (the merge's problem list, an imported workbook writing
    a published label back), and JSON consumers get them as data rather than parsing a sentence.
    """
    rule = rules()[rule_id]
    kinds = rule.message(case).params
    if "sheet" in kinds and "sheet" not in params:  # the finding's sheet is also named in its message
        params["sheet"] = sheet
    zh, en = render(rule_id, case, **params)
    kept = {k: v for k, v in params.items() if kinds.get(k) in KEPT_KINDS and (
        (kinds[k] == "number" and isinstance(v, (int, float)) and not isinstance(v, bool))
        or (kinds[k] == "label" and isinstance(v, str)))}
    return Finding(rule=rule_id, severity=severity or rule.severity, message_zh=zh, message_en=en,
                   sheet=sheet, cells=list(cells or []), keys=list(keys or []), numbers=kept, source=source, case=case)


def finding_text(f: Finding, fn: Callable[[str], str]) -> Finding:
    """A copy of ``f`` whose messages and places went through ``fn`` (an output kind's sanitiser)."""
    return replace(f, message_zh=fn(f.message_zh), message_en=fn(f.message_en), cells=[fn(c) for c in f.cells],
                   sheet=fn(f.sheet) if f.sheet is not None else None,
                   numbers={k: fn(v) if isinstance(v, str) else v for k, v in f.numbers.items()})


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
