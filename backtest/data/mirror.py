"""Offline mirrors: directories of CSV/parquet files, one per symbol.

Layout (see ``docs/data.md``)::

    IWM.csv            date,open,high,low,close,volume (volume may be empty for indices)
    RUT_INDEX.csv      ^RUT: the caret is spelled out as the _INDEX suffix
    XLK.parquet        same columns, parquet instead of CSV
    SPLITS.csv         optional: symbol,date,ratio (2 = 2-for-1, effective at that session's open)

Mirror prices are taken to be split-adjusted to the newest bar (as Yahoo's ``auto_adjust=False``
delivers them), so ``Bars.basis`` is ``split-adjusted`` and ``Bars.splits`` comes from SPLITS.csv.
Parsed files are memoized per process by (path, size, mtime), so repeated loads are free and an edited
file is re-read.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pandas as pd

from ..common import printable
from ..errors import DataError
from .bars import Bars, SplitEvent
from .parquet_io import read_parquet_bytes
from .sources import clip
from .symbols import normalize_symbol, stem_to_symbol
from .splits import reflected_splits, split_ratio
from .validate import CleanResult, clean_bars

SPLITS_FILE = "SPLITS.csv"
#: One daily series is small (a century of bars is about 2 MB of CSV); a far larger file is not a bar file.
MAX_BAR_FILE_BYTES = 256 * 10**6
SUFFIXES = (".csv", ".parquet")
MIRROR_BASIS = "split-adjusted"

_parsed: dict[tuple, CleanResult] = {}
_splits_memo: dict[tuple, tuple[dict[str, tuple[SplitEvent, ...]], tuple[str, ...]]] = {}


def _stamp(path: Path) -> tuple:
    st = os.stat(path)
    return (str(path), st.st_size, st.st_mtime_ns)


def read_bar_file(path: Path) -> CleanResult:
    """Read and validate one CSV/parquet bar file (memoized). Raises :class:`DataError` naming the file."""
    key = _stamp(path)
    hit = _parsed.get(key)
    if hit is not None:
        return hit
    where = str(path)
    size = key[1]
    if size > MAX_BAR_FILE_BYTES:  # refused unread: one daily series is never this large
        raise DataError(f"file is {size / 1e6:.1f} MB, more than the {MAX_BAR_FILE_BYTES // 10**6} MB limit for "
                        "a bar file (one daily series)", where=where, hint="check that it is a daily bar file")
    try:
        lines = None
        if path.suffix.lower() == ".parquet":
            with open(path, "rb") as handle:
                raw, _ = read_parquet_bytes(handle.read())
            first_line = None
        else:
            # Everything as text: the validator parses and reports bad cells itself.
            separator = csv_separator(path)
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=True, sep=separator)
            if separator != ",":
                raw = _decimal_commas(raw)
            first_line = 2
            lines = data_line_numbers(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot be read as a bar table: {reason}", where=where,
                        hint="fix or remove the file") from None
    except OSError as exc:
        raise DataError(f"cannot be read: {exc.strerror or exc}", where=where, hint="check permissions") from None
    except Exception as exc:  # pyarrow raises its own types for corrupt parquet
        raise DataError(f"cannot be read as parquet: {type(exc).__name__}", where=where,
                        hint="fix or remove the file") from None
    try:
        result = clean_bars(raw, where, first_line=first_line, lines=lines)
    except DataError as exc:
        if lines is not None and len(raw.columns) == 1 and exc.message.startswith("missing column"):
            header = printable(str(raw.columns[0]))[:60]
            raise DataError(exc.message, where=where,
                            hint=f"the header {header!r} has no comma, semicolon, tab or '|' between the columns; "
                                 "write it as date,open,high,low,close,volume") from None
        raise
    _parsed[key] = result
    return result


#: Field separators a bar CSV may use; spreadsheets in many locales export ";" (with decimal commas).
SEPARATORS = (",", ";", "\t", "|")


def csv_separator(path: Path) -> str:
    """The separator of a CSV: the one of :data:`SEPARATORS` that splits its header line most (``,`` on a tie).

    A header ``date;open;high;low;close`` is read as ``;``-separated instead of failing with "missing
    column(s)"; in such files a comma is the decimal mark (``250,5``), see :func:`_decimal_commas`.
    """
    with open(path, "rb") as handle:
        head = handle.read(64 * 1024)
    header = next((line for line in re.split(rb"\r\n|\r|\n", head) if line.strip()), b"")
    text = header.decode("utf-8", errors="replace")
    counts = {sep: text.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: (counts[sep], sep == ","))
    return best if counts[best] else ","


_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+\s*$")


def _decimal_commas(raw: pd.DataFrame) -> pd.DataFrame:
    """In a ``;``/tab-separated file, numbers written ``250,5`` mean 250.5 (a column of such cells is converted)."""
    out = raw.copy()
    for column in out.columns:
        if str(column).strip().lower() == "date":
            continue
        cells = out[column].astype(str)
        if cells.str.match(_DECIMAL_COMMA).any() and not cells.str.contains(".", regex=False).any():
            out[column] = cells.str.replace(",", ".", regex=False)
    return out


def data_line_numbers(path: Path) -> list[int]:
    """The file line (1-based) of each data row of a CSV, as ``read_csv(skip_blank_lines=True)`` sees them.

    Blank and whitespace-only lines are skipped by the reader, so row ``i`` is not line ``i + 2``; the
    first non-blank line is the header. (If the count disagrees with the parsed rows, e.g. a quoted
    field spanning lines, :func:`clean_bars` falls back to ``first_line``.)
    """
    with open(path, "rb") as handle:
        text = handle.read()
    numbers = [i for i, line in enumerate(re.split(rb"\r\n|\r|\n", text), start=1) if line.strip()]
    return numbers[1:]


def read_splits(path: Path) -> tuple[dict[str, tuple[SplitEvent, ...]], tuple[str, ...]]:
    """Parse SPLITS.csv into {symbol: events}; bad lines are skipped and reported in the notes."""
    key = _stamp(path)
    if key in _splits_memo:
        return _splits_memo[key]
    where = str(path)
    if key[1] > MAX_BAR_FILE_BYTES:
        result = ({}, (f"{where}: ignored, file is {key[1] / 1e6:.1f} MB, more than the "
                       f"{MAX_BAR_FILE_BYTES // 10**6} MB limit",))
        _splits_memo[key] = result
        return result
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError, OSError) as exc:
        result = ({}, (f"{where}: ignored, cannot be read ({str(exc).splitlines()[0] if str(exc) else exc!r})",))
        _splits_memo[key] = result
        return result
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    if not {"symbol", "date", "ratio"} <= set(raw.columns):
        result = ({}, (f"{where}: ignored, expected the header symbol,date,ratio",))
        _splits_memo[key] = result
        return result
    events: dict[str, list[SplitEvent]] = {}
    bad = []
    for i, row in enumerate(raw.itertuples(index=False), start=2):
        try:
            symbol = normalize_symbol(row.symbol)
            day = dt.date.fromisoformat(str(row.date).strip())
            ratio = split_ratio(str(row.ratio).strip())
        except (ValueError, TypeError):
            bad.append(str(i))
            continue
        events.setdefault(symbol, []).append(SplitEvent(day, ratio))
    notes = (f"{where}: skipped bad line(s) {', '.join(bad)} (need symbol,YYYY-MM-DD,ratio: a finite number "
             "above 0 and not 1)",) if bad else ()
    result = ({s: tuple(sorted(set(e), key=lambda x: x.date)) for s, e in events.items()}, notes)
    _splits_memo[key] = result
    return result


class MirrorSource:
    """Bars from one or more mirror directories (first directory holding the symbol wins)."""

    name = "mirror"

    def __init__(self, directories: list[Path] | tuple[Path, ...], configured_in: str | None = None):
        # normpath: show ../shared/market-data, not repo/../shared/market-data, in messages.
        self.directories = tuple(Path(os.path.normpath(d)) for d in directories)
        #: Where the list came from, for messages: "[data].mirrors in /repo/backtest.toml", "--mirror".
        self.configured_in = configured_in or "[data].mirrors in backtest.toml, or --mirror"

    def describe(self) -> str:
        dirs = [str(d) for d in self.directories]
        return "mirror (" + (", ".join(dirs) or f"no mirror folder configured: {self.configured_in} is empty") + ")"

    def missing_directories(self) -> list[Path]:
        """Configured folders that do not exist (a typo in the config, an unmounted disk)."""
        return [d for d in self.directories if not d.is_dir()]

    def files(self) -> dict[str, Path]:
        """{symbol: file} over all directories (earlier directories win)."""
        found: dict[str, Path] = {}
        for directory in self.directories:
            for path, symbol in _directory_files(directory):
                found.setdefault(symbol, path)
        return found

    def find(self, symbol: str) -> Path | None:
        """The file holding ``symbol`` (``RUT_INDEX.csv`` or ``^RUT.csv`` for ``^RUT``), if any.

        An unreadable directory does not hide the others; when no readable directory has the symbol,
        the unreadable one is the reason (:class:`DataError`), not a silent "not found".
        """
        symbol = normalize_symbol(symbol)
        unreadable: DataError | None = None
        for directory in self.directories:
            try:
                files = _directory_files(directory)
            except DataError as exc:
                unreadable = unreadable or exc
                continue
            for path, file_symbol in files:
                if file_symbol == symbol:
                    return path
        if unreadable is not None:
            raise unreadable
        return None

    def splits_for(self, directory: Path, symbol: str) -> tuple[tuple[SplitEvent, ...], tuple[str, ...]]:
        path = directory / SPLITS_FILE
        if not path.is_file():
            return (), ()
        table, notes = read_splits(path)
        return table.get(symbol, ()), notes

    def load(self, symbol: str, start: dt.date | None = None, end: dt.date | None = None) -> Bars | None:
        symbol = normalize_symbol(symbol)
        path = self.find(symbol)
        if path is None:
            missing = self.missing_directories()
            if missing:  # the likely reason: say it, instead of "not found"
                names = ", ".join(str(d) for d in missing)
                verb = "does not exist" if len(missing) == 1 else "do not exist"
                raise DataError(f"mirror folder{'s' if len(missing) > 1 else ''} {names} {verb}", where="mirror",
                                hint=f"fix {self.configured_in}")
            return None
        result = read_bar_file(path)
        splits, split_notes = self.splits_for(path.parent, symbol)
        last = result.frame.index[-1].date() if len(result.frame) else None
        splits, unreflected = reflected_splits(splits, last)
        split_notes += unreflected
        # A shallow (copy-on-write) copy: a caller adding columns must not change the memoized frame.
        bars = Bars(symbol=symbol, frame=result.frame.copy(deep=False), source=f"mirror:{path.parent}",
                    basis=MIRROR_BASIS, splits=splits, dropped_rows=result.dropped, notes=result.notes + split_notes)
        return clip(bars, start, end)


def _directory_files(directory: Path) -> list[tuple[Path, str]]:
    """(path, symbol) for every bar file in ``directory`` (CSV before parquet for the same symbol).

    Raises :class:`DataError` when the directory exists but cannot be listed (permissions, I/O error).
    """
    if not directory.is_dir():
        return []
    try:
        entries = list(directory.iterdir())
    except OSError as exc:
        raise DataError(f"mirror directory cannot be listed: {exc.strerror or exc}", where=str(directory),
                        hint="fix its permissions or remove it from [data].mirrors / --mirror") from None
    out = []
    for path in sorted(entries, key=lambda p: (p.stem.upper(), SUFFIXES.index(p.suffix.lower())
                                               if p.suffix.lower() in SUFFIXES else 9)):
        if path.suffix.lower() not in SUFFIXES or path.name.upper() == SPLITS_FILE.upper() or not path.is_file():
            continue
        try:
            symbol = normalize_symbol(stem_to_symbol(path.stem))
        except ValueError:
            continue
        out.append((path, symbol))
    return out


__all__ = ["MirrorSource", "read_bar_file", "read_splits"]
