"""What a ribbon button hands back to Excel: a Result, or an AddinError the clerk can act on.

Kept apart from :mod:`gxsheet.excel.addin` so that the xlwings adapter can raise and return the same
types without importing the button logic (and the button logic imports the adapter lazily).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["AddinError", "ExcelUnreachable", "Level", "Result"]

Level = Literal["info", "warning", "error"]


class AddinError(Exception):
    """A refusal or failure the clerk can act on; ``str(e)`` is the Chinese message to show."""

    def __init__(self, message_zh: str) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh


class ExcelUnreachable(AddinError):
    """xlwings could not attach to the Excel that ran the button.

    In xlwings' default mode ``Book.caller()`` finds Excel through a *workbook window*, so this
    is what happens when no workbook is open (or Excel refuses while a dialog or a cell edit is
    in progress). The entry points turn it into a message that says what to do, or — for
    新建模板, which needs no workbook — carry on without Excel.
    """


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
