"""Shared pytest setup: markers, hypothesis profiles, no config file, and the repo root and tests/ on sys.path (helpers: lo, fill).

Hypothesis runs the ``ci`` profile unless told otherwise: derandomized (the examples are derived
from each test itself, not from a random seed), no example database, no deadline. Every run -
a developer's, CI's, a submission's - therefore tries the same examples, and a red test is red
for everyone. To explore with fresh random seeds (and keep failures in ``.hypothesis/`` so they
replay), run ``pytest --hypothesis-profile=explore``; a failure prints the seed and a
``@reproduce_failure`` blob.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import settings

_HERE = Path(__file__).resolve().parent
for _p in (_HERE, _HERE.parent):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

#: No config file changes what the suite sees: not a developer's ~/.config/gxsheet/gxsheet.toml, not a
#: gxsheet.toml left in the checkout (tests of the config loader set their own, see tests/cli/test_config.py).
os.environ["GXSHEET_CONFIG"] = ""
#: Messages are Chinese unless a test asks for English: not a developer's LANG=en_US (the command line
#: follows the locale, see gxsheet/cli/usage.py; tests of that set their own).
for _var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_var, None)
os.environ["LANG"] = "C.UTF-8"

#: Tests write workbooks and start LibreOffice; wall-clock deadlines would only make them flaky.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("explore", derandomize=False, deadline=None, print_blob=True)
settings.load_profile("ci")  # ``--hypothesis-profile=explore`` (hypothesis' pytest plugin) overrides this


def pytest_configure(config):
    config.addinivalue_line("markers", "libreoffice: needs LibreOffice (soffice); skipped when it is missing")


def pytest_sessionstart(session):
    """gxsheet's per-user cache (e.g. specs already checked against their JSON Schema) goes to a
    folder of this run, so tests neither read a developer's cache nor leave files in it; child
    processes (CLI tests) inherit it."""
    import os
    import tempfile

    os.environ["GXSHEET_CACHE_DIR"] = tempfile.mkdtemp(prefix="gxsheet-test-cache-")


def pytest_sessionfinish(session, exitstatus):
    import os
    import shutil

    folder = os.environ.get("GXSHEET_CACHE_DIR", "")
    if "gxsheet-test-cache-" in folder:
        shutil.rmtree(folder, ignore_errors=True)
