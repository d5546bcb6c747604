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
import math
import os
import uuid
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ..errors import CorruptCacheError, DataError
from .bars import COLUMNS, Bars, SplitEvent
from .sources import clip
from .symbols import normalize_symbol, stem_to_symbol, symbol_to_stem
from .parquet_io import parquet_bytes, read_parquet_bytes
from .splits import reflected_splits, split_ratio
from .validate import CleanResult, clean_bars

META_KEY = b"backtest"
FORMAT_VERSION = 1
LOCK_TIMEOUT_S = 120
BASES = ("split-adjusted", "as-traded")
#: A cache file is one daily series (a century of bars is about 2 MB): anything far larger is not ours.
MAX_CACHE_FILE_BYTES = 256 * 10**6


def _ratio(value):
    return split_ratio(value)  # ValueError -> pydantic names the field: splits.0.1


def _dividend(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"dividend must be a finite number >= 0, got {value!r}")
    return float(value)


def _date(value):
    if not isinstance(value, str):
        raise ValueError(f"date must be an ISO date string, got {value!r}")
    return dt.date.fromisoformat(value)  # ValueError for 2026-13-01


SplitRatio = Annotated[float, BeforeValidator(_ratio)]
Dividend = Annotated[float, BeforeValidator(_dividend)]
EventDate = Annotated[dt.date, BeforeValidator(_date)]


class CacheMeta(BaseModel):
    """The JSON stored under the parquet schema key ``backtest`` of every cache file (one declaration).

    ``docs/data.md`` documents these fields from here (``tests/test_data_cache_meta.py`` checks the table).
    Every cache file's metadata is validated on read: a wrong type or value (a split ratio of 0, a date
    that does not parse) makes the file *corrupt* (:class:`CorruptCacheError`, one line naming the file
    and the field), never a crash later. Unknown keys are ignored (a newer writer may add some).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    format: int = Field(FORMAT_VERSION, description="metadata format version (1)")
    symbol: str | None = Field(None, description="the Yahoo symbol, e.g. `^RUT`; must match the file name")
    interval: Literal["1d"] = Field("1d", description="bar interval; daily only")
    source: str = Field("unknown", description="`yahoo`, `import:<dir>`, or both joined with `+` when merged")
    fetched_at: AwareDatetime | None = Field(None, description="UTC instant of the last write (ISO 8601 with offset)")
    basis: Literal[BASES] = Field("split-adjusted", description="`split-adjusted` (to the newest bar) or `as-traded`")
    splits: list[tuple[EventDate, SplitRatio]] = Field(
        [], description="`[[date, ratio], ...]` from yfinance actions or SPLITS.csv; ratio finite, > 0, not 1")
    dividends: list[tuple[EventDate, Dividend]] = Field(
        [], description="`[[date, amount], ...]` from yfinance actions (kept, not applied to prices)")
    first: EventDate | None = Field(None, description="first bar's date (for `backtest data list`)")
    last: EventDate | None = Field(None, description="last bar's date")
    rows: int | None = Field(None, ge=0, description="number of bars")

    @classmethod
    def parse(cls, raw: bytes | None, where: str, file_symbol: str | None = None) -> "CacheMeta":
        """Validate the raw metadata bytes; :class:`CorruptCacheError` (one line) when they are malformed."""
        hint = "it will be re-fetched; delete the file if this repeats"
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise CorruptCacheError(f"malformed cache metadata (not JSON: {exc})", where=where, hint=hint) from None
        if not isinstance(data, dict):
            raise CorruptCacheError(f"malformed cache metadata (a {type(data).__name__}, not a JSON object)",
                                    where=where, hint=hint)
        try:
            meta = cls.model_validate(data)
        except ValidationError as exc:
            raise CorruptCacheError(f"malformed cache metadata ({_first_error(exc)})", where=where, hint=hint) from None
        if meta.symbol is not None:
            try:
                symbol = normalize_symbol(meta.symbol)
            except ValueError as exc:
                raise CorruptCacheError(f"malformed cache metadata (symbol: {exc})", where=where, hint=hint) from None
            if file_symbol is not None and symbol != file_symbol:
                raise CorruptCacheError(f"malformed cache metadata (symbol {symbol!r}, but the file is {file_symbol!r}'s)",
                                        where=where, hint=hint)
        return meta

    def as_json(self) -> dict:
        """The JSON form written into the file (dates as ISO strings)."""
        return self.model_dump(mode="json")


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
        if st.st_size > MAX_CACHE_FILE_BYTES:
            raise CorruptCacheError(f"cache file is {st.st_size / 1e6:.1f} MB, more than the "
                                    f"{MAX_CACHE_FILE_BYTES // 10**6} MB limit for one series", where=str(path), hint=hint)
        try:
            raw, schema_meta = read_parquet_bytes(handle.read())
            raw_meta = schema_meta.get(META_KEY)
        except Exception as exc:  # pyarrow.ArrowInvalid, OSError: all mean "unreadable"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CorruptCacheError(f"unreadable cache file ({first})", where=str(path), hint=hint) from None
    file_symbol = symbol or _symbol_from_path(path)
    meta = CacheMeta.parse(raw_meta, str(path), _normalized_or_none(file_symbol))
    try:
        clean = clean_bars(raw, str(path))
    except DataError as exc:
        raise CorruptCacheError(f"unusable cache file ({exc.message})", where=str(path), hint=hint) from None
    entry = CacheEntry(symbol=symbol or meta.symbol or file_symbol, path=path, clean=clean, meta=meta.as_json())
    _memo[key] = entry
    return entry


def _normalized_or_none(symbol: str) -> str | None:
    try:
        return normalize_symbol(symbol)
    except ValueError:
        return None


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
        origins = [s for s in str(old_meta.get("source", "")).split("+") if s and s != "unknown"]
        if source not in origins:
            origins.append(source)
        meta = _checked_meta(str(path), {
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
        })  # what is written passes the same checks as what is read
        data = parquet_bytes(new, {META_KEY: json.dumps(meta).encode()})
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(tmp, "xb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        entry = read_entry(path, symbol)
    return entry, notes


def _first_error(exc: ValidationError) -> str:
    """``splits[0][1]: split ratio must be a finite number above 0, got 0`` (pydantic's first error, one line)."""
    first = exc.errors()[0]
    field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]).lstrip(".")
    message = str(first["msg"]).removeprefix("Value error, ")
    if "got " not in message:
        message += f", got {first.get('input')!r}"
    return f"{field or 'metadata'}: {message}"


def _checked_meta(where: str, data: dict) -> dict:
    try:
        return CacheMeta.model_validate(data).as_json()
    except ValidationError as exc:
        raise DataError(f"refusing to write invalid cache metadata ({_first_error(exc)})", where=where,
                        hint="this is a bug: please report it") from None


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
