"""Property tests cannot flake: hypothesis runs derandomized unless a developer asks to explore.

The profiles live in tests/conftest.py. A test that pinned its own ``derandomize`` or ``database``
would escape them (randomised in CI, or never randomised when exploring), so none may.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import settings

TESTS = Path(__file__).resolve().parent


def test_the_default_profile_is_derandomized():
    if settings.get_current_profile_name() == "explore":
        pytest.skip("exploring with random seeds (--hypothesis-profile=explore)")
    current = settings()
    assert settings.get_current_profile_name() == "ci"
    assert current.derandomize is True and current.database is None and current.deadline is None


def test_the_explore_profile_uses_random_seeds():
    explore = settings.get_profile("explore")
    assert explore.derandomize is False and explore.deadline is None


def test_no_test_pins_its_own_randomness():
    pinned = [f"{p.relative_to(TESTS)}:{n}" for p in TESTS.rglob("*.py") if p.name != "conftest.py"
              for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
              if re.search(r"\b(derandomize|database)\s*=", line) and p != Path(__file__)]
    assert pinned == []
