"""Shared pytest setup: markers, and the repo root and tests/ on sys.path (helpers: lo, fill)."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
for _p in (_HERE, _HERE.parent):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))


def pytest_configure(config):
    config.addinivalue_line("markers", "libreoffice: needs LibreOffice (soffice); skipped when it is missing")
