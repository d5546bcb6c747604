"""The parsed-setup cache: a re-run over an unchanged corpus skips YAML parsing and validation.

One entry per setup file, keyed by a hash of the file's **bytes**, its path (the skip messages name it),
the tool's version and the schemas of the setup table (:data:`SCHEMA_VERSION`): any edit, a move, an
upgrade or a change of the table's columns gives a new key, so a stale entry is never used. An entry
holds what :func:`backtest.setups.load.load_table` needs from the file: its setup-table rows (article
row, setup rows, each setup's level-ordering check included) and its skips, as JSON (no pickle: a cache
file is data, never code). It also lists the files the article's title was read from, with their size
and modification time: when one of them changed, the entry is not used.

Entries live under ``<cache dir>/setups/`` (``data_cache/setups/`` by default), two hex digits of the key
as a sub-folder. Writes go to a temporary file in the same folder and are renamed into place, so two runs
at once never see half an entry (the last writer wins; both wrote the same content). An unreadable or
malformed entry is a miss, then overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path

from .. import __version__
from ..schema import Schema
from .table import ARTICLE_SCHEMA, SETUP_SCHEMA

#: Bump when what an entry means changes without a column change (e.g. a validation rule of the model).
CACHE_FORMAT = 1


def _schema_digest(*schemas: Schema) -> str:
    text = ";".join(f"{s.name}:" + ",".join(f"{c.name}/{c.dtype}" for c in s.columns) for s in schemas)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


SCHEMA_VERSION = f"{CACHE_FORMAT}-{_schema_digest(ARTICLE_SCHEMA, SETUP_SCHEMA)}"


class ParsedSetupCache:
    """Parsed setup files under ``root`` (see the module docstring)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._prefix = f"backtest {__version__}\0{SCHEMA_VERSION}\0".encode()

    @classmethod
    def under(cls, cache_dir: Path) -> "ParsedSetupCache":
        """The cache beside the bar cache: ``<cache_dir>/setups``."""
        return cls(Path(cache_dir) / "setups")

    def key(self, path: Path, data: bytes) -> str:
        digest = hashlib.blake2b(self._prefix, digest_size=20)
        digest.update(str(path).encode("utf-8", "surrogateescape") + b"\0")
        digest.update(data)
        return digest.hexdigest()

    def _file(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The entry for ``key``, or None (missing, unreadable, malformed, or its title source changed)."""
        try:
            entry = json.loads(self._file(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or not {"rows", "skips", "sources"} <= set(entry):
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

    def put(self, key: str, entry: dict) -> None:
        """Store ``entry`` (best effort: a cache that cannot be written only costs the next run time)."""
        target = self._file(key)
        tmp = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({**entry, "key": key}, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, target)
        except OSError:
            try:
                tmp.unlink()
            except OSError:
                pass
