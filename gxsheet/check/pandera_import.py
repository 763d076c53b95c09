"""pandera, imported the way a cold ``gxsheet validate`` can afford.

pandera registers its pandas backends on the first ``validate``, and that imports its data
synthesis strategies, which import hypothesis whenever it is installed (it is, with the ``test``
extra): ~0.3 s of a cold run for a feature gxsheet never uses. Hiding hypothesis while those
modules load makes pandera take its own "hypothesis is not installed" branch. Where hypothesis is
already imported (under pytest, whose hypothesis plugin loads it first) nothing is hidden.
"""

from __future__ import annotations

import sys
import warnings

__all__ = ["SchemaErrors", "pa"]


def _import() -> None:
    hide = "hypothesis" not in sys.modules
    if hide:
        sys.modules["hypothesis"] = None  # type: ignore[assignment]  # `import hypothesis` raises ImportError
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandera's notices about its own import paths
            import pandera.backends.pandas.builtin_checks  # noqa: F401 - what the first validate would import
            import pandera.pandas  # noqa: F401
    finally:
        if hide:
            del sys.modules["hypothesis"]


_import()

import pandera.pandas as pa  # noqa: E402
from pandera.errors import SchemaErrors  # noqa: E402
