"""The parsed-setup cache: a re-run over an unchanged corpus skips YAML parsing and validation.

One entry per setup file, keyed by a hash of the file's **bytes**, its path (the skip messages name it),
the tool's version and the schemas of the setup table (:data:`SCHEMA_VERSION`): any edit, a move, an
upgrade or a change of the table's columns gives a new key, so a stale entry is never used. An entry
holds what :func:`backtest.setups.load.load_table` needs from the file: its setup-table rows (article
row, setup columns, each setup's level-ordering check included) and its skips, as JSON (no pickle: a
cache file is data, never code). It also lists the files the article's title was read from, with their
size and modification time: when one of them changed, the entry is not used.

The entries live in one SQLite database, ``<cache dir>/setups/parsed.sqlite`` (``data_cache/setups/`` by
default): a re-run reads 20,000 entries with a handful of queries instead of 20,000 files. SQLite makes it
safe under concurrent runs (writers take turns, readers never see half a write; WAL journal). Each path
keeps only its newest entry. A database that cannot be opened or read (corrupt, read-only, locked for
too long) only costs time: the run parses everything and says nothing; it never fails because of the
cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Iterable

from .. import __version__
from ..schema import Schema
from .table import ARTICLE_SCHEMA, SETUP_SCHEMA

#: Bump when what an entry means changes without a column change (e.g. a validation rule of the model).
CACHE_FORMAT = 3
#: Keys per SQL query (below SQLite's limit on bound parameters).
_BATCH = 900


def _schema_digest(*schemas: Schema) -> str:
    text = ";".join(f"{s.name}:" + ",".join(f"{c.name}/{c.dtype}" for c in s.columns) for s in schemas)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


SCHEMA_VERSION = f"{CACHE_FORMAT}-{_schema_digest(ARTICLE_SCHEMA, SETUP_SCHEMA)}"


class ParsedSetupCache:
    """Parsed setup files in ``<root>/parsed.sqlite`` (see the module docstring)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.path = self.root / "parsed.sqlite"
        self._prefix = f"backtest {__version__}\0{SCHEMA_VERSION}\0".encode()
        self._db: sqlite3.Connection | None = None
        self._broken = False

    @classmethod
    def under(cls, cache_dir: Path) -> "ParsedSetupCache":
        """The cache beside the bar cache: ``<cache_dir>/setups``."""
        return cls(Path(cache_dir) / "setups")

    def key(self, path: Path, data: bytes) -> str:
        digest = hashlib.blake2b(self._prefix, digest_size=20)
        digest.update(str(path).encode("utf-8", "surrogateescape") + b"\0")
        digest.update(data)
        return digest.hexdigest()

    # ------------------------------------------------------------------------------------- database
    def _connect(self) -> sqlite3.Connection | None:
        if self._db is not None or self._broken:
            return self._db
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, path TEXT NOT NULL, value TEXT NOT NULL)")
            db.execute("CREATE INDEX IF NOT EXISTS entries_path ON entries (path)")
        except (OSError, sqlite3.Error):
            self._broken = True
            return None
        self._db = db
        return db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def get_many(self, keys: Iterable[str]) -> dict[str, dict]:
        """The usable entries among ``keys`` (missing, malformed or with a changed title source: left out)."""
        keys = list(keys)
        db = self._connect()
        found: dict[str, dict] = {}
        if db is None:
            return found
        try:
            for start in range(0, len(keys), _BATCH):
                batch = keys[start:start + _BATCH]
                rows = db.execute(f"SELECT key, value FROM entries WHERE key IN ({','.join('?' * len(batch))})",
                                  batch).fetchall()
                for key, value in rows:
                    entry = _usable(value)
                    if entry is not None:
                        found[key] = entry
        except sqlite3.Error:
            self._broken = True
            return {}
        return found

    def put_many(self, entries: dict[str, tuple[str, dict]]) -> None:
        """Store ``{key: (path, entry)}`` in one transaction, each path keeping only its newest entry (best
        effort: a cache that cannot be written only costs the next run time)."""
        db = self._connect()
        if db is None or not entries:
            return
        try:
            db.execute("BEGIN IMMEDIATE")
            db.executemany("DELETE FROM entries WHERE path = ? AND key != ?", [(p, k) for k, (p, _) in entries.items()])
            db.executemany("INSERT OR REPLACE INTO entries (key, path, value) VALUES (?, ?, ?)",
                           [(k, p, json.dumps(e, separators=(",", ":"))) for k, (p, e) in entries.items()])
            db.execute("COMMIT")
        except sqlite3.Error:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            self._broken = True


def _usable(value: str) -> dict | None:
    try:
        entry = json.loads(value)
    except ValueError:
        return None
    if not isinstance(entry, dict) or not {"rows", "skips", "sources"} <= set(entry):
        return None
    for path, size, mtime in entry["sources"]:
        try:
            st = os.stat(path)
            now = [st.st_size, st.st_mtime_ns]
        except OSError:
            now = [-1, -1]
        if now != [size, mtime]:
            return None
    return entry
