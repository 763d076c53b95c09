"""Findings on the bundled examples stay exactly what they were: a refactor changes no behaviour.

``tests/golden/validate-examples.json`` is the output of ``gxsheet validate examples/ --json`` (the
workbooks), ``validate-seeds.json`` of ``gxsheet validate examples/seeds/ --json`` (the published reports
as text). When a change is *meant* to alter findings, regenerate them (the command in the assertion
message) and say so in the commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gxsheet.cli.app import main

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"


@pytest.mark.parametrize("folder,golden", [("examples/", "validate-examples.json"),
                                           ("examples/seeds/", "validate-seeds.json")])
def test_findings_on_the_examples_are_unchanged(folder: str, golden: str, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    code = main(["validate", folder, "--json"])
    got = json.loads(capsys.readouterr().out)
    want = json.loads((GOLDEN / golden).read_text(encoding="utf-8"))
    assert code == 1
    assert got == want, f"regenerate with: gxsheet validate {folder} --json > tests/golden/{golden}"
