"""A per-user cache folder for facts that are expensive to establish and cheap to look up.

What lives here is only ever a *shortcut*: every entry is named by a digest of everything it
depends on, so an edited input simply misses, and a missing, unwritable or wiped folder only costs
the time the shortcut saves. Nothing a user made is ever stored here.

The folder: ``$GXSHEET_CACHE_DIR`` if set (tests point it at a temporary folder), else the
platform's per-user cache (``%LOCALAPPDATA%`` on Windows, ``~/Library/Caches`` on macOS,
``$XDG_CACHE_HOME`` or ``~/.cache`` elsewhere) + ``gxsheet``.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["cache_dir", "checked_once", "digest", "has_mark", "set_mark"]

ENV = "GXSHEET_CACHE_DIR"


def cache_dir() -> Path:
    """The cache folder (not created here)."""
    own = os.environ.get(ENV)
    if own:
        return Path(own)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gxsheet"


def digest(*parts: bytes) -> str:
    """A name for what ``parts`` say together (length-prefixed, so no two splits collide)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "little"))
        h.update(p)
    return h.hexdigest()


def _mark_path(kind: str, name: str) -> Path:
    return cache_dir() / kind / name


def has_mark(kind: str, name: str) -> bool:
    """Whether ``set_mark(kind, name)`` succeeded before (in any process of this user)."""
    try:
        return _mark_path(kind, name).is_file()
    except OSError:
        return False


def set_mark(kind: str, name: str) -> None:
    """Remember ``name`` under ``kind``; silently does nothing where the folder cannot be written."""
    path = _mark_path(kind, name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        pass


def checked_once(kind: str, parts: tuple[bytes, ...], check: Callable[[], object]) -> bool:
    """Run ``check`` (which raises when ``parts`` are bad) unless these very bytes passed it before;
    True when it ran. A bundled data file checked against its JSON Schema costs ~0.1–0.2 s of a
    cold start each time; its bytes do not change between runs."""
    mark = digest(*parts)
    if has_mark(kind, mark):
        return False
    check()
    set_mark(kind, mark)
    return True
