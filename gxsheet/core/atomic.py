"""Atomic output: write to a temp file in the target folder, then rename into place.

A crash, a full disk, Ctrl-C or a ``kill`` never leaves a half-written report or merge behind
(the rename is atomic within one folder, and the temp file is removed on any failure), and an
input file is never overwritten by accident: not through its own name, a symbolic link or a
hard link to it.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["OutputError", "atomic_path", "check_output", "write_bytes", "write_failed", "write_text", "write_with"]


class OutputError(Exception):
    """An output cannot be written where asked (exists, is an input, folder missing)."""

    def __init__(self, path: str | Path, message_zh: str, message_en: str):
        super().__init__(message_zh)
        self.path = str(path)
        self.message_zh = message_zh
        self.message_en = message_en


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: same resolved path, or same inode (hard link, case-folded name)."""
    try:
        if a.resolve() == b.resolve():
            return True
    except (OSError, RuntimeError):
        pass
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False  # one of them does not exist (yet): cannot be the same file


def check_output(path: str | Path, *, inputs: Iterable[str | Path] = (), force: bool = False) -> Path:
    """Refuse to clobber an input (even with ``force``), or an existing file without ``force``."""
    out = Path(path)
    for i in inputs:
        if _same_file(out, Path(i)):
            raise OutputError(
                out,
                f"{out}：输出文件与输入文件相同，拒绝覆盖输入；请换一个输出文件名。",
                f"{out}: the output is one of the inputs; refusing to overwrite an input.",
            )
    if out.is_dir():
        raise OutputError(
            out, f"{out}：这是一个文件夹，请给出输出文件名。", f"{out}: is a folder; give an output file name."
        )
    try:
        st = os.stat(out)
    except OSError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        # a FIFO, a device, a socket: renaming a file over it would replace it (--force or not)
        raise OutputError(
            out,
            f"{out}：这不是普通文件（可能是管道或设备），不能作为输出；请换一个输出文件名。",
            f"{out}: not a regular file (a pipe or a device?), so it cannot be an output; choose another name.",
        )
    if out.exists() and not force:
        raise OutputError(
            out, f"{out}：文件已存在；如确需覆盖请加 --force。", f"{out}: already exists; add --force to overwrite it."
        )
    if not out.parent.exists():
        raise OutputError(out, f"{out}：所在文件夹不存在。", f"{out}: its folder does not exist.")
    return out


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _terminate(signum: int, _frame: Any) -> None:
    """SIGTERM/SIGHUP while an output is being written: unwind so the temp file is removed."""
    raise SystemExit(128 + signum)


@contextmanager
def _cleanup_on_termination() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into SystemExit for the duration of a write.

    Their default action ends the process on the spot, which would leave the hidden temp file
    behind; as an exception they unwind through :func:`atomic_path`, which removes it. Only in
    the main thread (Python delivers signals there) and only where no handler is set already.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved: dict[int, Any] = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            if signal.getsignal(signum) is signal.SIG_DFL:
                saved[signum] = signal.signal(signum, _terminate)
        except (OSError, ValueError):
            pass
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def _fsync(path: Path) -> None:
    """Flush a file (or, on POSIX, a folder entry) to disk; best effort where unsupported."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success rename it over ``path``, on failure remove it.

    The temp file is hidden (``.name.XXXX.tmp``), flushed to disk before the rename (so a power
    cut leaves the old file or the new one, never an empty one) and given the permissions a
    normally created file would have (``mkstemp`` makes it private to the owner).
    """
    out = Path(path)
    with _cleanup_on_termination():
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        except OSError as e:
            raise write_failed(out, e) from e
        os.close(fd)
        try:
            yield Path(tmp)
            os.chmod(tmp, 0o666 & ~_umask())
            _fsync(Path(tmp))
            os.replace(tmp, out)
        except BaseException as e:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if isinstance(e, OSError):
                raise write_failed(out, e) from e
            raise
    _fsync(out.parent)


def write_failed(out: Path, e: OSError) -> OutputError:
    """The one line for an output that could not be written: which file, and why in plain words."""
    if e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        why_zh, why_en = "磁盘空间不足", "the disk is full"
    elif e.errno == errno.EFBIG:
        why_zh, why_en = "文件超过了允许的大小", "the file exceeds the size allowed"
    elif e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why_zh, why_en = "没有写入权限", "no permission to write there"
    else:
        why_zh = why_en = e.strerror or type(e).__name__
    return OutputError(
        out,
        f"{out}：无法写出（{why_zh}），未留下不完整的文件；请腾出空间或换一个位置后重试。",
        f"{out}: could not be written ({why_en}); nothing partial was left behind. Free some space or "
        "choose another place and try again.",
    )


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_with(path: str | Path, writer: Callable[[Path], object]) -> Path:
    """Run ``writer(tmp_path)`` and move the result into place atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)
