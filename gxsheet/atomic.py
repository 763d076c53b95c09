"""Atomic output: write to a temp file in the target folder, then rename into place.

A crash, a full disk or Ctrl-C never leaves a half-written report or merge behind, and an input
file is never overwritten by accident.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path


class OutputError(Exception):
    """An output cannot be written where asked (exists, is an input, folder missing)."""

    def __init__(self, path: str | Path, message_zh: str, message_en: str):
        super().__init__(message_zh)
        self.path = str(path)
        self.message_zh = message_zh
        self.message_en = message_en


def check_output(path: str | Path, *, inputs: Iterable[str | Path] = (), force: bool = False) -> Path:
    """Refuse to clobber an input, or an existing file without ``force``."""
    out = Path(path)
    try:
        resolved = out.resolve()
        for i in inputs:
            if Path(i).resolve() == resolved:
                raise OutputError(out, f"{out}：输出文件与输入文件相同，拒绝覆盖输入；请换一个输出文件名。",
                                  f"{out}: the output is one of the inputs; refusing to overwrite an input.")
    except OSError:
        pass
    if out.is_dir():
        raise OutputError(out, f"{out}：这是一个文件夹，请给出输出文件名。", f"{out}: is a folder; give an output file name.")
    if out.exists() and not force:
        raise OutputError(out, f"{out}：文件已存在；如确需覆盖请加 --force。",
                          f"{out}: already exists; add --force to overwrite it.")
    if not out.parent.exists():
        raise OutputError(out, f"{out}：所在文件夹不存在。", f"{out}: its folder does not exist.")
    return out


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temp path beside ``path``; on success rename it over ``path``, on failure remove it."""
    out = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_with(path: str | Path, writer: Callable[[Path], object]) -> Path:
    """Run ``writer(tmp_path)`` and move the result into place atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)
