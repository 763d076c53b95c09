"""The collection's data folder: one SQLite database (WAL) and content-addressed upload files.

Layout of ``DIR``::

    gxsheet-serve.sqlite3   units, link tokens (hashed), submissions and their results
    uploads/ab/<sha256><suffix>     every uploaded file, named by its content, read-only, never overwritten
    annotated/ab/<sha256>.xlsx      the marked copy of an upload (derived: can always be made again)
    cache/                          county merges and unit templates (derived)
    tmp/                            uploads being received; emptied at start

Why this shape: a county must never lose a town's submission, and a crash (kill -9, power cut)
must leave either the old state or the new one. An upload is streamed to ``tmp/``, flushed, then
renamed to its content address (atomic, same folder tree), and only then recorded in the
database, in one transaction with ``synchronous=FULL``. A file whose name is its sha256 cannot be
overwritten by a different file, so "never overwritten" holds by construction. Nothing a request
says becomes a path: files are named by hash, suffixes come from a fixed list.

Tokens are 256-bit random strings; only their SHA-256 is stored (they carry their own entropy, so
a slow password hash would add nothing), which means the database alone does not let anyone
upload for a town.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gxsheet.core.atomic import _fsync
from gxsheet.read.registry import INPUT_SUFFIXES, REPORTED_SUFFIXES

__all__ = ["DB_NAME", "Store", "StoreError", "Submission", "Unit", "hash_token", "new_token"]

DB_NAME = "gxsheet-serve.sqlite3"
SCHEMA_VERSION = 1
#: suffixes an upload keeps (the readers refine text kinds by suffix); anything else is stored without one
KEPT_SUFFIXES = frozenset(INPUT_SUFFIXES + REPORTED_SUFFIXES)
#: bytes of entropy in a link token (256 bits; the brief asks for at least 128)
TOKEN_BYTES = 32

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    level TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('unit', 'county')),
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens(
    hash TEXT PRIMARY KEY,
    unit_id INTEGER NOT NULL REFERENCES units(id),
    issued_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS submissions(
    id INTEGER PRIMARY KEY,
    unit_id INTEGER NOT NULL REFERENCES units(id),
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    filename TEXT NOT NULL,
    suffix TEXT NOT NULL,
    via TEXT NOT NULL,
    received_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'ok', 'warnings', 'errors', 'unreadable')),
    errors INTEGER NOT NULL DEFAULT 0,
    warnings INTEGER NOT NULL DEFAULT 0,
    report TEXT,
    annotated INTEGER NOT NULL DEFAULT 0,
    checked_at TEXT
);
CREATE INDEX IF NOT EXISTS submissions_by_unit ON submissions(unit_id, id);
"""


class StoreError(Exception):
    """The data folder cannot be used as asked (exists already, not initialised, unknown unit)."""

    def __init__(self, message_zh: str, message_en: str):
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.message_en = message_en


def new_token() -> str:
    """A fresh link token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def now() -> str:
    """UTC time as stored (ISO 8601, to the microsecond)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Unit:
    id: int
    name: str
    level: str
    role: str  # 'unit' or 'county'
    position: int

    @property
    def is_county(self) -> bool:
        return self.role == "county"


@dataclass(frozen=True)
class Submission:
    id: int
    unit_id: int
    sha256: str
    size: int
    filename: str
    suffix: str
    via: str
    received_at: str
    status: str
    errors: int
    warnings: int
    report: dict[str, Any] | None
    annotated: bool
    checked_at: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Submission:
        d = dict(row)
        d["report"] = json.loads(d["report"]) if d["report"] else None
        d["annotated"] = bool(d["annotated"])
        return cls(**d)


class Store:
    """The data folder of one collection (one county, one report year)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.db_path = self.root / DB_NAME
        self._local = threading.local()

    # ------------------------------------------------------------------ folders
    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    @property
    def annotated_dir(self) -> Path:
        return self.root / "annotated"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def blob_path(self, sha256: str, suffix: str) -> Path:
        """Where the upload with this content lives (``sha256`` is checked: never a path from outside)."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256) or suffix not in KEPT_SUFFIXES | {""}:
            raise ValueError("not a content address")
        return self.uploads / sha256[:2] / f"{sha256}{suffix}"

    def annotated_path(self, sha256: str) -> Path:
        self.blob_path(sha256, "")  # the same check
        return self.annotated_dir / sha256[:2] / f"{sha256}.xlsx"

    # ------------------------------------------------------------------ database
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None, check_same_thread=True)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute("PRAGMA foreign_keys=ON")
        con.execute("PRAGMA busy_timeout=30000")
        return con

    @property
    def con(self) -> sqlite3.Connection:
        """This thread's connection (sqlite3 connections stay in the thread that made them)."""
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = self._connect()
        return con

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: writers queue at the start, not at commit)."""
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    # ------------------------------------------------------------------ creating and opening
    @classmethod
    def create(cls, root: str | Path, *, county: str, year: int, edition: str,
               units: Sequence[tuple[str, str]]) -> tuple[Store, list[tuple[Unit, str]]]:
        """A new data folder with its units; returns the store and each unit's fresh token (county last)."""
        root = Path(root)
        if (root / DB_NAME).exists():
            raise StoreError(f"{root}：这里已经建立过收集（{DB_NAME} 已存在）；如需新的链接请用 gxsheet serve link。",
                             f"{root}: a collection already exists here ({DB_NAME}); use gxsheet serve link for new links.")
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o700)  # uploads and results are the towns' business only
        store = cls(root)
        for d in (store.uploads, store.annotated_dir, store.cache, store.tmp):
            d.mkdir(exist_ok=True)
        con = store.con
        con.executescript(_SCHEMA)
        issued: list[tuple[Unit, str]] = []
        with store.transaction() as tx:
            for key, value in (("schema", str(SCHEMA_VERSION)), ("county", county), ("year", str(year)),
                               ("edition", edition), ("created_at", now())):
                tx.execute("INSERT INTO settings(key, value) VALUES (?, ?)", (key, value))
            rows = [(name, level, "unit") for name, level in units] + [(county, "", "county")]
            for pos, (name, level, role) in enumerate(rows):
                cur = tx.execute("INSERT INTO units(name, level, role, position) VALUES (?, ?, ?, ?)",
                                 (name, level, role, pos))
                unit = Unit(int(cur.lastrowid or 0), name, level, role, pos)
                issued.append((unit, store._issue(tx, unit.id)))
        return store, issued

    @classmethod
    def open(cls, root: str | Path) -> Store:
        root = Path(root)
        if not (root / DB_NAME).is_file():
            raise StoreError(f"{root}：不是收集数据文件夹（没有 {DB_NAME}），请先运行 gxsheet serve init。",
                             f"{root}: not a collection folder (no {DB_NAME}); run gxsheet serve init first.")
        store = cls(root)
        for d in (store.uploads, store.annotated_dir, store.cache, store.tmp):
            d.mkdir(exist_ok=True)
        store.con.executescript(_SCHEMA)
        return store

    def settings(self) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self.con.execute("SELECT key, value FROM settings")}

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction() as tx:
            tx.execute("INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)", (key, value))

    @property
    def county(self) -> str:
        return self.settings()["county"]

    @property
    def year(self) -> int:
        return int(self.settings()["year"])

    @property
    def edition(self) -> str:
        return self.settings()["edition"]

    # ------------------------------------------------------------------ units and tokens
    def _issue(self, tx: sqlite3.Connection, unit_id: int) -> str:
        token = new_token()
        tx.execute("INSERT INTO tokens(hash, unit_id, issued_at) VALUES (?, ?, ?)", (hash_token(token), unit_id, now()))
        return token

    def units(self) -> list[Unit]:
        """Every unit, in the county's order (the county's own row last)."""
        return [Unit(**dict(r)) for r in self.con.execute("SELECT * FROM units ORDER BY position")]

    def unit_by_name(self, name: str) -> Unit:
        row = self.con.execute("SELECT * FROM units WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise StoreError(f"没有名为“{name}”的单位；单位名称须与 init 时的名单一致。",
                             f"no unit named {name!r}; use the name from the list given to init.")
        return Unit(**dict(row))

    def unit_for_token(self, token: str | None) -> Unit | None:
        """The unit a live (not revoked) token belongs to, else None."""
        if not token or len(token) > 200:
            return None
        row = self.con.execute(
            "SELECT u.* FROM tokens t JOIN units u ON u.id = t.unit_id WHERE t.hash = ? AND t.revoked_at IS NULL",
            (hash_token(token),)).fetchone()
        return Unit(**dict(row)) if row is not None else None

    def revoke(self, unit: Unit) -> int:
        """Stop every live link of ``unit``; returns how many were live."""
        with self.transaction() as tx:
            cur = tx.execute("UPDATE tokens SET revoked_at = ? WHERE unit_id = ? AND revoked_at IS NULL", (now(), unit.id))
            return cur.rowcount

    def reissue(self, unit: Unit) -> str:
        """Revoke ``unit``'s links and give it a new one (returned once: only its hash is kept)."""
        with self.transaction() as tx:
            tx.execute("UPDATE tokens SET revoked_at = ? WHERE unit_id = ? AND revoked_at IS NULL", (now(), unit.id))
            return self._issue(tx, unit.id)

    # ------------------------------------------------------------------ uploads
    def add_blob(self, tmp: Path, sha256: str, suffix: str) -> Path:
        """Move a received file (``tmp``, already flushed) to its content address.

        When the same content is there already the new copy is dropped: the stored one is the same
        bytes (that is what the name says), and it is never overwritten.
        """
        dest = self.blob_path(sha256, suffix)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            tmp.unlink(missing_ok=True)
            return dest
        os.chmod(tmp, 0o444)
        os.replace(tmp, dest)
        _fsync(dest.parent)
        return dest

    def add_submission(self, unit: Unit, *, sha256: str, size: int, filename: str, suffix: str, via: str) -> int:
        with self.transaction() as tx:
            cur = tx.execute(
                "INSERT INTO submissions(unit_id, sha256, size, filename, suffix, via, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", (unit.id, sha256, size, filename, suffix, via, now()))
            return int(cur.lastrowid or 0)

    def finish_submission(self, sub_id: int, entries: dict[str, dict[str, Any]], *, annotated: bool) -> None:
        """Record the result of checking a submission: its ``validate --json`` file entry in each language."""
        entry = entries["zh"]
        with self.transaction() as tx:
            tx.execute("UPDATE submissions SET status = ?, errors = ?, warnings = ?, report = ?, annotated = ?,"
                       " checked_at = ? WHERE id = ?",
                       (entry["status"], int(entry.get("errors", 0)), int(entry.get("warnings", 0)),
                        json.dumps(entries, ensure_ascii=False), int(annotated), now(), sub_id))

    def submissions(self, unit: Unit) -> list[Submission]:
        """A unit's uploads, newest first."""
        rows = self.con.execute("SELECT * FROM submissions WHERE unit_id = ? ORDER BY id DESC", (unit.id,))
        return [Submission.from_row(r) for r in rows]

    def submission(self, unit: Unit, sub_id: int) -> Submission | None:
        """One upload of ``unit`` (None when the id is another unit's: a unit sees only its own)."""
        row = self.con.execute("SELECT * FROM submissions WHERE id = ? AND unit_id = ?", (sub_id, unit.id)).fetchone()
        return Submission.from_row(row) if row is not None else None

    def get_submission(self, sub_id: int) -> Submission | None:
        row = self.con.execute("SELECT * FROM submissions WHERE id = ?", (sub_id,)).fetchone()
        return Submission.from_row(row) if row is not None else None

    def latest(self) -> dict[int, Submission]:
        """Each unit's latest upload, by unit id."""
        rows = self.con.execute(
            "SELECT s.* FROM submissions s JOIN (SELECT unit_id, MAX(id) AS id FROM submissions GROUP BY unit_id) m"
            " ON s.id = m.id")
        return {r["unit_id"]: Submission.from_row(r) for r in rows}

    def counts(self) -> dict[int, int]:
        """Uploads per unit id."""
        return {r[0]: r[1] for r in self.con.execute("SELECT unit_id, COUNT(*) FROM submissions GROUP BY unit_id")}

    def pending(self) -> list[Submission]:
        """Uploads received but not yet checked (the server stopped in between): checked again at start."""
        return [Submission.from_row(r) for r in self.con.execute("SELECT * FROM submissions WHERE status = 'pending'")]

    def clean_tmp(self) -> int:
        """Remove half-received uploads left by a crash; returns how many."""
        n = 0
        for p in self.tmp.iterdir():
            try:
                p.unlink()
                n += 1
            except IsADirectoryError:
                shutil.rmtree(p, ignore_errors=True)
                n += 1
            except OSError:
                pass
        return n


def keep_suffix(filename: str) -> str:
    """The suffix an upload is stored with: its own when it is one the readers know, else none."""
    suffix = Path(filename).suffix.lower()
    return suffix if suffix in KEPT_SUFFIXES else ""


def display_name(filename: str | None) -> str:
    """The uploaded file's name as shown (never used as a path): last component, no controls, bounded."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:200] or "未命名文件.xlsx"
