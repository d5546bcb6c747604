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

import dataclasses
import hashlib
import json
import os
import sqlite3
import time
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


def encode_entry(entry: dict) -> str:
    """A file's cache entry (rows, skips, title sources) as the JSON text stored for it."""
    return json.dumps(entry, separators=(",", ":"))


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
            db.execute("CREATE TABLE IF NOT EXISTS corpora (key TEXT PRIMARY KEY, written INTEGER NOT NULL, "
                       "meta TEXT NOT NULL, articles BLOB NOT NULL, setups BLOB NOT NULL)")
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

    def put_many(self, entries: dict[str, tuple[str, dict | str]]) -> None:
        """Store ``{key: (path, entry)}`` in one transaction, each path keeping only its newest entry (best
        effort: a cache that cannot be written only costs the next run time). An entry may come already
        encoded (:func:`encode_entry`'s text: the parsing processes encode what they parse)."""
        db = self._connect()
        if db is None or not entries:
            return
        self._write(db, lambda: (
            db.executemany("DELETE FROM entries WHERE path = ? AND key != ?", [(p, k) for k, (p, _) in entries.items()]),
            db.executemany("INSERT OR REPLACE INTO entries (key, path, value) VALUES (?, ?, ?)",
                           [(k, p, e if isinstance(e, str) else encode_entry(e)) for k, (p, e) in entries.items()])))

    def _write(self, db: sqlite3.Connection, statements) -> None:
        """Run ``statements()`` in one immediate transaction; any SQLite error rolls back and marks the cache
        broken for this run (best effort: a cache that cannot be written only costs the next run time)."""
        try:
            db.execute("BEGIN IMMEDIATE")
            statements()
            db.execute("COMMIT")
        except sqlite3.Error:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            self._broken = True


    # ------------------------------------------------------------------------------ whole corpora
    def corpus_key(self, paths: list[Path]) -> str:
        """The key of a corpus: the tool's version and schemas and the sorted list of its file paths."""
        digest = hashlib.blake2b(self._prefix + b"corpus\0", digest_size=20)
        for path in paths:
            digest.update(str(path).encode("utf-8", "surrogateescape") + b"\0")
        return digest.hexdigest()

    def get_corpus(self, key: str) -> CorpusSnapshot | None:
        """The stored snapshot of the corpus ``key``, or None (missing, malformed, unreadable)."""
        db = self._connect()
        if db is None:
            return None
        try:
            row = db.execute("SELECT meta, articles, setups FROM corpora WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            self._broken = True
            return None
        if row is None:
            return None
        try:
            meta = json.loads(row[0])
            snapshot = CorpusSnapshot(files=[tuple(f) for f in meta["files"]], sources=meta["sources"],
                                      skips=[tuple(k) for k in meta["skips"]], cached=int(meta["cached"]),
                                      articles=bytes(row[1]), setups=bytes(row[2]))
        except (ValueError, KeyError, TypeError):
            return None
        return snapshot

    def put_corpus(self, key: str, snapshot: CorpusSnapshot) -> None:
        """Store ``snapshot`` under ``key`` (best effort, like :meth:`put_many`), keeping the newest
        :data:`KEEP_CORPORA` snapshots."""
        db = self._connect()
        if db is None:
            return
        meta = json.dumps({"files": snapshot.files, "sources": snapshot.sources, "skips": snapshot.skips,
                           "cached": snapshot.cached}, separators=(",", ":"))
        self._write(db, lambda: (
            db.execute("INSERT OR REPLACE INTO corpora (key, written, meta, articles, setups) VALUES (?, ?, ?, ?, ?)",
                       (key, time.time_ns(), meta, snapshot.articles, snapshot.setups)),
            db.execute("DELETE FROM corpora WHERE key NOT IN (SELECT key FROM corpora ORDER BY written DESC LIMIT ?)",
                       (KEEP_CORPORA,))))


#: Whole-corpus snapshots kept (one per list of setup paths; the oldest go first).
KEEP_CORPORA = 8


@dataclasses.dataclass
class CorpusSnapshot:
    """What :func:`backtest.setups.load.load_table` produced for one list of setup files, stored whole.

    ``files``: per path, in order, ``(path, size, mtime_ns, ctime_ns, inode, device, key, trusted)`` as the
    file was when it was read, ``key`` its content key (None when it could not be read) and ``trusted``
    whether its times lay safely before the run began (see :func:`stat_signature`); ``sources``: the
    title sources (path, size, mtime_ns); ``skips``: ``(item, reason, kind)`` of the files' problems and
    duplicates; ``articles``/``setups``: the setup table's frames (:func:`backtest.setups.table.encode_frame`).
    """

    files: list[tuple]
    sources: list[list]
    skips: list[tuple]
    cached: int
    articles: bytes
    setups: bytes


#: A file whose modification or change time lies less than this before the run began may still be changed
#: within the same timestamp tick (coarse file systems: 1-2 s); it is re-hashed next time ("racy git").
RACY_NS = 2_000_000_000


def stat_signature(st: os.stat_result) -> tuple[int, int, int, int, int]:
    """What the stat-first check compares: size, mtime_ns, ctime_ns, inode and device. Rewriting a file
    changes its ctime (which no tool can set back), replacing it by another changes the inode: equal
    signatures mean the bytes were not touched since, unless the file was *racy* when recorded."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def sources_unchanged(sources: Iterable[list]) -> bool:
    """True when every title source still has the recorded size and mtime (or is still missing)."""
    for path, size, mtime in sources:
        try:
            st = os.stat(path)
            now = [st.st_size, st.st_mtime_ns]
        except OSError:
            now = [-1, -1]
        if now != [size, mtime]:
            return False
    return True


def _usable(value: str) -> dict | None:
    try:
        entry = json.loads(value)
    except ValueError:
        return None
    if not isinstance(entry, dict) or not {"rows", "skips", "sources"} <= set(entry):
        return None
    return entry if sources_unchanged(entry["sources"]) else None
