"""Regenerate the committed templates (``gxsheet-<edition>.xlsx``) after a spec or style change.

Run ``python workbook_templates/build.py``; tests/test_template.py fails until the committed files
equal a fresh build, so the shipped templates never drift from the spec.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from gxsheet.render.template import build_all  # noqa: E402 - after the sys.path line, so the script runs from a checkout


def main() -> int:
    for path in build_all(HERE):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
