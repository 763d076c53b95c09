"""What a ribbon button hands back to Excel: a Result, or an AddinError the clerk can act on.

Kept apart from :mod:`gxsheet.excel.addin` so that the xlwings adapter can raise and return the same
types without importing the button logic (and the button logic imports the adapter lazily).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["AddinError", "Level", "Result"]

Level = Literal["info", "warning", "error"]


class AddinError(Exception):
    """A refusal or failure the clerk can act on; ``str(e)`` is the Chinese message to show."""

    def __init__(self, message_zh: str) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh


@dataclass
class Result:
    """What a button did: the message shown in Excel, and the facts behind it for callers/tests.

    ``ok`` is False when the button refused or failed (export with errors, no workbook, ...);
    ``level`` picks the message box icon.
    """

    action: str
    ok: bool
    message: str
    level: Level = "info"
    errors: int = 0
    warnings: int = 0
    files: list[Path] = field(default_factory=list)
    edition: str | None = None
