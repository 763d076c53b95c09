"""The docs are the repository's own: generated parts match their data, and nothing points outside.

docs/formats.md and the limits table of docs/safety.md are written by docs/build.py from
schemas/format-*.json, schemas/rules.json and gxsheet/core/limits.py; a change to those without
rerunning ``python docs/build.py`` fails here. A user's clone has only the repository, so no doc may
send them to a file outside it.
"""

from __future__ import annotations

import copy
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _build():
    spec = importlib.util.spec_from_file_location("docs_build", ROOT / "docs" / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _build()


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def _params(node: object) -> list[tuple[str, str]]:
    if isinstance(node, dict):
        own = list(node["params"].items()) if isinstance(node.get("params"), dict) else []
        return own + [p for k, v in node.items() if k != "params" for p in _params(v)]
    return []


def test_generated_docs_are_up_to_date():
    for path, text in build.outputs().items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is stale: run python docs/build.py"
    assert build.main(["--check"]) == 0


def test_formats_doc_has_every_label_key_and_rule():
    doc = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    for spec in build.load_specs():
        for field in ("metadata", "sections", "tables"):
            for text in _strings(spec[field]):
                assert text.replace("|", "\\|") in doc, (spec["edition"], field, text)
        for rel in spec.get("relations", []):
            assert rel["rule"] in doc
    for rule in build.load_rules():
        for text in _strings(rule):  # titles, templates (of every case), parameter names and kinds
            assert text.replace("|", "\\|") in doc or build.PARAM_KIND_ZH.get(text, "\0") in doc, (rule["id"], text)
        for name, kind in _params(rule):
            assert f"`{name}`（{build.PARAM_KIND_ZH.get(kind, kind)}）" in doc, (rule["id"], name)


def test_unknown_spec_and_rule_keys_are_shown_not_dropped():
    spec = copy.deepcopy(build.load_specs()[-1])
    spec["fee_rule"] = {"from_year": 2021}
    spec["metadata"][0]["since"] = 2030
    spec["tables"][0]["grids"][0]["merge_unit"] = "件"
    text = "\n".join(build.edition_part(spec))
    assert "fee_rule" in text and '"from_year": 2021' in text
    assert "since: 2030" in text and 'merge_unit: "件"' in text
    rules = "\n".join(build.rules_part([
        {"id": "X-NEW", "severity": "error", "title_zh": "新", "title_en": "new", "zh": "{a}｜{b}", "en": "{a} | {b}",
         "params": {"a": "number", "b": "odd"}, "scope": "late"},
        {"id": "X-TWO", "severity": "warning", "title_zh": "二", "title_en": "two", "cases": {
            "one": {"zh": "一{x}", "en": "one {x}", "params": {"x": "place"}},
            "other": {"zh": "另{y}", "en": "other {y}", "params": {"y": "text"}, "extra": 1}}}]))
    assert "X-NEW" in rules and "{a} \\| {b}" in rules and 'scope: "late"' in rules
    assert "`a`（数值）" in rules and "`b`（odd）" in rules
    assert "情形 `one`" in rules and "one {x}" in rules and "`y`（文字）" in rules and "extra: 1" in rules


def test_readme_names_every_rule():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [r["id"] for r in build.load_rules() if r["id"] not in readme]
    assert missing == [], "README's rule table lacks these ids (the full catalogue is docs/formats.md)"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_docs_never_point_outside_the_repository(doc: Path):
    text = doc.read_text(encoding="utf-8")
    assert not re.search(r"(?<![\w.])\.\./|/work/|shared/(formats|design)\.md", text), doc.name
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        assert (doc.parent / target).exists(), f"{doc.name}: link to {target} which is not in the repository"


def test_the_safety_doc_keeps_its_markers():
    text = (ROOT / "docs" / "safety.md").read_text(encoding="utf-8")
    assert text.count(build.LIMITS_BEGIN) == 1 and text.count(build.LIMITS_END) == 1


def test_check_mode_reports_a_stale_doc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    stale = tmp_path / "formats.md"
    stale.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(build, "FORMATS", stale)
    monkeypatch.setattr(build, "ROOT", tmp_path.parent)
    assert build.main(["--check"]) == 1
    assert "stale" in capsys.readouterr().err and stale.read_text(encoding="utf-8") == "old\n"
