"""The parquet cache: one file per symbol and interval under ``cache_dir``.

Layout::

    data_cache/IWM_1d.parquet          columns date, open, high, low, close, volume
    data_cache/RUT_INDEX_1d.parquet    ^RUT (caret spelled out, see backtest.data.symbols)
    data_cache/IWM_1d.parquet.lock     filelock guarding writers

Each file carries JSON metadata under the parquet schema key ``backtest``: ``symbol``, ``interval``,
``source`` (``yahoo`` or ``import:<dir>``), ``fetched_at`` (UTC ISO instant of the last write from the
network), ``basis`` (``split-adjusted``), ``splits`` and ``dividends`` (``[[date, value], ...]``, the
yfinance actions or SPLITS.csv), ``first``/``last``/``rows``.

Writes are safe against concurrent runs: the whole read-merge-write happens under a
:class:`filelock.FileLock`, and the new file is written to a temporary name in the same directory and
moved into place with :func:`os.replace` (atomic), so a reader sees either the old or the new file,
never half of one. A file that cannot be read is reported as :class:`CorruptCacheError` (one line);
the loader then falls through to the next source and a refresh overwrites it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import uuid
from pathlib import Path

import pandas as pd

from ..errors import CorruptCacheError, DataError
from .bars import COLUMNS, Bars, SplitEvent
from .sources import clip
from .symbols import normalize_symbol, stem_to_symbol, symbol_to_stem
from .splits import reflected_splits
from .validate import CleanResult, clean_bars

META_KEY = b"backtest"
FORMAT_VERSION = 1
LOCK_TIMEOUT_S = 120


@dataclasses.dataclass
class CacheEntry:
    """One cache file's validated bars and metadata."""

    symbol: str
    path: Path
    clean: CleanResult
    meta: dict

    @property
    def frame(self) -> pd.DataFrame:
        return self.clean.frame

    @property
    def splits(self) -> tuple[SplitEvent, ...]:
        return tuple(SplitEvent(dt.date.fromisoformat(d), float(r)) for d, r in self.meta.get("splits", []))


_memo: dict[tuple, CacheEntry] = {}


def cache_path(cache_dir: Path, symbol: str, interval: str = "1d") -> Path:
    """``data_cache/RUT_INDEX_1d.parquet`` for ``^RUT``."""
    return Path(cache_dir) / f"{symbol_to_stem(symbol)}_{interval}.parquet"


def read_entry(path: Path, symbol: str | None = None) -> CacheEntry:
    """Read and validate one cache file (memoized by size and mtime). Raises :class:`CorruptCacheError`."""
    import pyarrow.parquet as pq

    hint = "it will be re-fetched; delete the file if this repeats"
    # One open file handle for everything: a writer may os.replace() the path meanwhile, and pyarrow
    # reading *by path* can mix the old and the new file (seen as "Unexpected end of stream").
    try:
        handle = open(path, "rb")
    except OSError as exc:  # permissions, I/O error: the next source is tried, like for a corrupt file
        raise CorruptCacheError(f"cache file cannot be opened: {exc.strerror or exc}", where=str(path),
                                hint="fix its permissions or delete it") from None
    with handle:
        st = os.fstat(handle.fileno())
        key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)  # os.replace gives a new inode
        if key in _memo:
            return _memo[key]
        try:
            table = pq.read_table(handle)
            raw_meta = (table.schema.metadata or {}).get(META_KEY)
            meta = json.loads(raw_meta) if raw_meta else {}
            raw = table.to_pandas()
        except Exception as exc:  # pyarrow.ArrowInvalid, OSError, JSON errors: all mean "unreadable"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CorruptCacheError(f"unreadable cache file ({first})", where=str(path), hint=hint) from None
    try:
        clean = clean_bars(raw, str(path))
    except DataError as exc:
        raise CorruptCacheError(f"unusable cache file ({exc.message})", where=str(path), hint=hint) from None
    entry = CacheEntry(symbol=symbol or meta.get("symbol") or _symbol_from_path(path), path=path, clean=clean,
                       meta=meta)
    _memo[key] = entry
    return entry


def _symbol_from_path(path: Path) -> str:
    stem = path.stem.rsplit("_", 1)[0] if "_" in path.stem else path.stem
    return stem_to_symbol(stem)


def _merge_events(old: list, new: list) -> list:
    merged = {d: v for d, v in old}
    merged.update({d: v for d, v in new})
    return [[d, merged[d]] for d in sorted(merged)]


def store(
    cache_dir: Path,
    symbol: str,
    frame: pd.DataFrame,
    *,
    source: str,
    basis: str,
    interval: str = "1d",
    splits: list | None = None,
    dividends: list | None = None,
    replace: bool = False,
    fetched_at: dt.datetime | None = None,
) -> tuple[CacheEntry, list[str]]:
    """Merge ``frame`` (date-indexed OHLCV) into the symbol's cache file, atomically and under a lock.

    New rows win over cached rows of the same date; ``replace=True`` discards the cached rows (used
    after a split changed the basis of old bars). Returns the new entry and notes (e.g. "replaced an
    unreadable file").
    """
    from filelock import FileLock
    import pyarrow as pa
    import pyarrow.parquet as pq

    symbol = normalize_symbol(symbol)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_path(cache_dir, symbol, interval)
    notes: list[str] = []
    new = frame[list(COLUMNS)].astype("float64")
    with FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT_S):
        old_meta: dict = {}
        if path.exists() and not replace:
            try:
                old = read_entry(path, symbol)
            except CorruptCacheError as exc:
                notes.append(f"replaced: {exc.one_line()}")
            else:
                old_meta = old.meta
                keep = old.frame[list(COLUMNS)]
                keep = keep[~keep.index.isin(new.index)]
                new = pd.concat([keep, new]).sort_index()
        new.index = pd.DatetimeIndex(new.index).as_unit("ns")
        new.index.name = "date"
        origins = [s for s in str(old_meta.get("source", "")).split("+") if s]
        if source not in origins:
            origins.append(source)
        meta = {
            "format": FORMAT_VERSION,
            "symbol": symbol,
            "interval": interval,
            "source": "+".join(origins),
            "fetched_at": (fetched_at or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds"),
            "basis": basis,
            "splits": _merge_events(old_meta.get("splits", []), splits or []),
            "dividends": _merge_events(old_meta.get("dividends", []), dividends or []),
            "first": new.index[0].date().isoformat() if len(new) else None,
            "last": new.index[-1].date().isoformat() if len(new) else None,
            "rows": int(len(new)),
        }
        table = pa.Table.from_pandas(new, preserve_index=True)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), META_KEY: json.dumps(meta).encode()})
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            pq.write_table(table, tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        entry = read_entry(path, symbol)
    return entry, notes


class CacheSource:
    """Bars from the parquet cache (``cache_dir/<STEM>_<interval>.parquet``)."""

    name = "cache"

    def __init__(self, cache_dir: Path, interval: str = "1d"):
        self.cache_dir = Path(cache_dir)
        self.interval = interval

    def describe(self) -> str:
        return f"cache ({self.cache_dir})"

    def path(self, symbol: str) -> Path:
        return cache_path(self.cache_dir, symbol, self.interval)

    def entry(self, symbol: str) -> CacheEntry | None:
        """The cached entry, ``None`` if there is no file; :class:`CorruptCacheError` if unreadable."""
        path = self.path(symbol)
        if not path.is_file():
            return None
        return read_entry(path, normalize_symbol(symbol))

    def load(self, symbol: str, start: dt.date | None = None, end: dt.date | None = None) -> Bars | None:
        symbol = normalize_symbol(symbol)
        entry = self.entry(symbol)
        if entry is None:
            return None
        bars = entry_to_bars(entry)
        return clip(bars, start, end)

    def entries(self) -> list[tuple[Path, CacheEntry | None, str]]:
        """(path, entry or None, error) for every cache file of this interval, sorted by name."""
        out = []
        if not self.cache_dir.is_dir():
            return out
        for path in sorted(self.cache_dir.glob(f"*_{self.interval}.parquet")):
            try:
                out.append((path, read_entry(path), ""))
            except CorruptCacheError as exc:
                out.append((path, None, exc.one_line()))
        return out


def entry_to_bars(entry: CacheEntry) -> Bars:
    last = entry.frame.index[-1].date() if len(entry.frame) else None
    splits, unreflected = reflected_splits(entry.splits, last)
    return Bars(symbol=entry.symbol, frame=entry.frame.copy(deep=False), source=f"cache:{entry.meta.get('source', 'unknown')}",
                basis=entry.meta.get("basis", "split-adjusted"), splits=splits,
                dropped_rows=entry.clean.dropped, notes=tuple(entry.clean.notes) + unreflected)
