"""Where the package's data folders are: ``schemas/``, ``workbook_templates/``, ``macros/``.

They are folders *inside* the ``gxsheet`` package (in the source tree they are links to the
top-level folders, so they stay easy to find and edit): an installed wheel carries them as
package data in the same place, so one lookup serves an editable install, a wheel install and
the source tree alike. Looking beside the package instead (``site-packages/workbook_templates``)
is what broke ``import`` and ``merge --report`` for everyone who installed with ``pip install .``.
"""

from __future__ import annotations

from pathlib import Path

import gxsheet

#: the package folder, wherever it is installed
PACKAGE = Path(gxsheet.__file__).resolve().parent


def data_dir(name: str) -> Path:
    """``gxsheet/<name>``: a data folder shipped inside the package."""
    return PACKAGE / name
