"""The rule catalogue (schemas/rules.json) is data the code only fills in: every template renders
with its declared parameters in both languages, and every finding's message comes from it."""

from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path

import jsonschema
import pytest

from gxsheet.core import findings as F
from gxsheet.core.spec import schemas_dir

PACKAGE = Path(F.__file__).resolve().parents[1]
SAMPLE = {"number": 12, "label": "标签甲", "text": "文字乙", "place": "表三!D5"}


def _catalogue() -> dict:
    return json.loads((schemas_dir() / "rules.json").read_text(encoding="utf-8"))


def _templates() -> list[tuple[str, str | None, F.Template]]:
    out = []
    for rule in F.rules().values():
        if rule.template is not None:
            out.append((rule.id, None, rule.template))
        out += [(rule.id, case, t) for case, t in rule.cases.items()]
    return out


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_catalogue_matches_its_json_schema() -> None:
    schema = json.loads((schemas_dir() / "rules.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(_catalogue(), schema)


def test_a_bare_placeholder_template_is_refused_by_the_schema() -> None:
    schema = json.loads((schemas_dir() / "rules.schema.json").read_text(encoding="utf-8"))
    bad = {"rules": [{"id": "X-Y", "severity": "error", "title_zh": "x", "title_en": "x",
                      "zh": "{detail}", "en": "{detail_en}", "params": {"detail": "text"}}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


@pytest.mark.parametrize("rule,case,template", _templates(), ids=lambda x: x if isinstance(x, str) else "")
def test_every_template_renders_with_its_parameters_in_both_languages(rule: str, case: str | None,
                                                                      template: F.Template) -> None:
    used = {n[:1].lower() + n[1:] for n in _fields(template.zh) | _fields(template.en)}
    assert used <= set(template.params), f"{rule}/{case}: a placeholder is not declared"
    # a declared parameter no message shows is a quantity kept as data (T2-PUBLISHED's difference)
    assert all(template.params[k] == "number" for k in set(template.params) - used), f"{rule}/{case}"
    params = {k: SAMPLE[kind] if kind != "text" else f"{SAMPLE['text']}{k}" for k, kind in template.params.items()}
    zh, en = F.render(rule, case, **params)
    for text in (zh, en):
        assert "{" not in text and "}" not in text, text
    for k, v in params.items():
        assert str(v) in zh or str(v)[:1].upper() + str(v)[1:] in zh or k not in _fields(template.zh), (rule, case, k)
    # an English form given as x_en is what the English message shows
    en_params = {**params, **{f"{k}_en": f"EN-{k}" for k in params}}
    _, en2 = F.render(rule, case, **en_params)
    for k in _fields(template.en):
        assert f"EN-{k[:1].lower() + k[1:]}" in en2 or f"EN-{k}" in en2.replace("En-", "EN-"), (rule, case, k)


def test_kept_parameters_travel_with_the_finding() -> None:
    f = F.make("T3-IDENTITY", table="表三", along="自然人", lhs_words="一+二", rhs_words="（七）总计+四",
               lhs=5, rhs=4, diff=1)
    assert f.numbers == {"lhs": 5, "rhs": 4, "diff": 1}
    assert f.message_zh == "表三 自然人列：一+二=5，（七）总计+四=4，差1。"
    g = F.make("S-LABEL", where="表三!A5", found="自然人x", official="自然人")
    assert g.numbers == {"found": "自然人x", "official": "自然人"}


def test_a_rule_with_cases_needs_one_named() -> None:
    with pytest.raises(KeyError):
        F.make("S-LAYOUT", sheet="表三")


def _emitted() -> tuple[set[str], set[str]]:
    """Rule ids the code emits (``make("ID"``, ``_finding("ID"``) and every quoted case name in the code."""
    rules, strings = set(), set()
    for py in PACKAGE.rglob("*.py"):
        text = py.read_text(encoding="utf-8")
        rules |= set(re.findall(r'(?:make|_finding)\(\s*"([A-Z][A-Z0-9]*-[A-Z0-9-]+)"', text))
        strings |= set(re.findall(r'"([a-z][a-z0-9-]*)"', text))
    return rules, strings


def test_every_case_in_the_catalogue_is_used_by_the_code() -> None:
    _, strings = _emitted()
    unused = [(r.id, c) for r in F.rules().values() for c in r.cases if c not in strings]
    assert unused == []


def test_no_code_builds_a_sentence_for_a_finding() -> None:
    """The old way: ``make(…, detail=f"…")`` sentences in code. Gone: a finding's message is its template,
    and what code passes are values: no f-string that ends a sentence goes into a finding."""
    offenders = []
    for py in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(py.read_text(encoding="utf-8"))):
            func = node.func if isinstance(node, ast.Call) else None
            if (isinstance(func, ast.Attribute) and func.attr == "make" and getattr(func.value, "id", "") == "F") or (
                    isinstance(func, ast.Name) and func.id in ("make", "_finding")):
                for kw in node.keywords:  # type: ignore[union-attr]
                    if kw.arg in ("detail", "detail_en") or (
                            isinstance(kw.value, ast.JoinedStr) and ast.unparse(kw.value).rstrip("'\"").endswith(("。", "."))):
                        offenders.append(f"{py.relative_to(PACKAGE)}:{node.lineno} {kw.arg}")
    assert offenders == []
