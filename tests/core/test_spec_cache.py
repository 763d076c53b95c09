"""Specs are checked against their JSON Schema once per content, not once per run.

The check is a third of a cold ``gxsheet validate``; its result is remembered by the digest of the
spec's and the schema's bytes. These tests load real spec files through the real loader from a
folder of their own, with a cache folder of their own.
"""

from __future__ import annotations

import json
import shutil

import pytest

import gxsheet.core.spec as S
from gxsheet.core import usercache


@pytest.fixture
def specs(tmp_path, monkeypatch):
    """A copy of the bundled specs and an empty cache; returns (folder, number of schema checks so far)."""
    folder = tmp_path / "schemas"
    folder.mkdir()
    for name in ("format.schema.json", "format-2021.json"):
        shutil.copy(S.schemas_dir() / name, folder)
    monkeypatch.setattr(S, "schemas_dir", lambda: folder)
    monkeypatch.setenv(usercache.ENV, str(tmp_path / "cache"))
    calls: list[str] = []
    real = S.check_against_schema
    monkeypatch.setattr(S, "check_against_schema", lambda data: calls.append(data["edition"]) or real(data))
    return folder, calls


def test_a_spec_is_schema_checked_once_then_known_by_its_bytes(specs):
    folder, calls = specs
    first = S.load_spec.__wrapped__("2021")
    assert calls == ["2021"]
    again = S.load_spec.__wrapped__("2021")  # a new process: same bytes, no second check
    assert calls == ["2021"] and again.cells.keys() == first.cells.keys()


def test_an_edited_spec_is_checked_again_and_a_broken_one_refused(specs):
    folder, calls = specs
    S.load_spec.__wrapped__("2021")
    data = json.loads((folder / "format-2021.json").read_text(encoding="utf-8"))
    data["tables"][0]["grids"][0]["rows"][0]["key"] = 42  # not a string: the schema says no
    (folder / "format-2021.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(S.SpecError, match="42 is not of type 'string'"):
        S.load_spec.__wrapped__("2021")
    assert calls == ["2021", "2021"]


def test_an_edited_schema_checks_every_spec_again(specs):
    folder, calls = specs
    S.load_spec.__wrapped__("2021")
    schema = folder / "format.schema.json"
    schema.write_text(schema.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    S.load_spec.__wrapped__("2021")
    assert calls == ["2021", "2021"]


def test_an_unwritable_cache_only_costs_time(specs, tmp_path, monkeypatch):
    folder, calls = specs
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv(usercache.ENV, str(blocker / "cache"))
    S.load_spec.__wrapped__("2021")
    S.load_spec.__wrapped__("2021")
    assert calls == ["2021", "2021"]
