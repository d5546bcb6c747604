"""Yahoo Finance via yfinance: daily bars *as traded* (``auto_adjust=False``) plus split/dividend actions.

``auto_adjust=False`` keeps ``Close`` as the price people saw (split-adjusted, not dividend-adjusted);
``Adj Close`` is ignored. ``Dividends`` and ``Stock Splits`` (the yfinance "actions") are kept as events
in the cache metadata, and splits fill :attr:`Bars.splits`.

Every download goes through the module-level :func:`download` (inclusive ``start``/``end`` dates), which
tests replace with a recorded frame. Refreshing is incremental: only dates the cache does not cover
are requested; the last cached bar is re-requested when it was fetched before its session closed
(a partial bar), and the whole range is re-downloaded when a new split makes the cached bars' basis
stale. A bar whose session has not closed yet is never stored.

Downloads always run through *today*, whatever ``end`` the caller asked for: Yahoo's ``Close`` is
adjusted for every split up to the download day, even in a window that ends before the split. Only
a download reaching today can report such a split, so the cache never mixes bases and always ends
at its latest download (the rule :func:`backtest.data.splits.reflected_splits` relies on). ``end``
only clips what :meth:`YahooSource.load` returns.

For scheduled runs (``docs/data.md``, "Yahoo"):

* **Retries.** A network error (connection refused, DNS, timeout, TLS reset, HTTP 429/5xx, Yahoo's rate
  limit) is retried up to :data:`RETRY_ATTEMPTS` times in all, waiting about 1, 2, 4 s (exponential, capped
  at :data:`RETRY_CAP_S`, each wait drawn between half and all of it so parallel cron jobs do not retry in
  step). What was retried is said in the symbol's notes, or in its one-line failure. Errors that a retry
  cannot fix (unknown symbol, no data in the range, a bad certificate) are not retried.
* **Price repair.** ``repair=True``: yfinance fixes known Yahoo defects in daily bars (a split not applied
  to earlier prices, 100x currency-unit mix-ups, missing or zero rows rebuilt from finer bars). It costs
  extra requests only when a defect is found; rows it touched are counted in a note.
* **yfinance's own caches** (time zones, cookies, ISINs) live in ``<cache_dir>/yfinance/``, never in ``~``.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from .bars import Bars
from .cache import CacheSource, CacheEntry, entry_to_bars, store
from .sources import clip
from .splits import split_ratio
from .symbols import normalize_symbol
from .validate import clean_bars, session_dates

BASIS = "split-adjusted"
DEFAULT_YEARS = 2
NY = "America/New_York"
_COLUMN_MAP = {"open": "open", "high": "high", "low": "low", "close": "close", "volume": "volume",
               "dividends": "dividends", "stock splits": "splits"}


#: Attempts per download (the first one included), first wait and cap of the exponential backoff (seconds).
RETRY_ATTEMPTS = 4
RETRY_BASE_S = 1.0
RETRY_CAP_S = 20.0
#: Where yfinance keeps its own caches: this folder under the cache directory.
YFINANCE_CACHE = "yfinance"

# Replaced in tests: no test waits, and the jitter is reproducible.
_sleep = time.sleep
_random = random.Random()

# Exception class names (anywhere in the MRO) that mean "the network failed, try again": requests,
# curl_cffi (yfinance's HTTP client) and the standard library spell them alike; yfinance's own rate limit.
_TRANSIENT = {"ConnectionError", "Timeout", "TimeoutError", "ConnectTimeout", "ReadTimeout", "DNSError",
              "ChunkedEncodingError", "RemoteDisconnected", "IncompleteRead", "ProxyError", "YFRateLimitError",
              "gaierror", "timeout"}
# ... except these, which a retry cannot fix.
_PERMANENT = {"CertificateVerifyError", "YFTickerMissingError", "YFInvalidPeriodError", "InvalidURL"}

_yfinance_cache: dict[str, Path | None] = {"wanted": None, "applied": None}


def use_yfinance_cache(folder: Path) -> None:
    """Make the next :func:`download` keep yfinance's tz/cookie/ISIN caches in ``folder`` (not in ``~``)."""
    _yfinance_cache["wanted"] = Path(folder)


def download(symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """yfinance daily history for ``start``..``end`` inclusive: as traded, with actions, price repair on."""
    import logging

    import yfinance as yf

    wanted = _yfinance_cache["wanted"]
    if wanted is not None and wanted != _yfinance_cache["applied"]:
        wanted.mkdir(parents=True, exist_ok=True)
        yf.set_tz_cache_location(str(wanted))  # tz, cookie and ISIN caches (yfinance >= 0.2.40)
        _yfinance_cache["applied"] = wanted
    # yfinance logs every network hiccup to stderr; we report one line ourselves instead.
    logger = logging.getLogger("yfinance")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():  # pandas deprecations inside yfinance are not the user's business
            warnings.simplefilter("ignore")
            return yf.Ticker(symbol).history(
                start=start.isoformat(), end=(end + dt.timedelta(days=1)).isoformat(), interval="1d",
                auto_adjust=False, actions=True, raise_errors=True, repair=True,
            )
    finally:
        logger.setLevel(level)


def is_transient(exc: BaseException) -> bool:
    """True for a network failure a retry may fix (see :data:`_TRANSIENT`); HTTP 429 and 5xx count too."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & _PERMANENT:
        return False
    if names & _TRANSIENT:
        return True
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return isinstance(status, int) and (status == 429 or status >= 500)


def backoff_delays(attempts: int = RETRY_ATTEMPTS) -> list[float]:
    """The waits between attempts: ``RETRY_BASE_S * 2**i`` capped at ``RETRY_CAP_S``, each drawn in [half, all]."""
    out = []
    for i in range(attempts - 1):
        full = min(RETRY_CAP_S, RETRY_BASE_S * 2 ** i)
        out.append(full / 2 + _random.random() * full / 2)
    return out


def download_with_retries(symbol: str, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, list[str]]:
    """:func:`download` with bounded exponential backoff on network errors; returns (frame, what was retried).

    Raises the last error when every attempt failed (with ``retried`` describing the attempts as the
    attribute ``backtest_attempts``) or at once for an error a retry cannot fix.
    """
    failures: list[str] = []
    delays = backoff_delays()
    for attempt in range(len(delays) + 1):
        try:
            frame = download(symbol, start, end)
        except Exception as exc:  # noqa: BLE001 - classified below; re-raised when final
            if not is_transient(exc) or attempt == len(delays):
                exc.backtest_attempts = failures + [_one_line(exc)]  # type: ignore[attr-defined]
                raise
            failures.append(_one_line(exc))
            _sleep(delays[attempt])
            continue
        notes = []
        if failures:
            waited = sum(delays[:len(failures)])
            notes.append(f"yahoo:{symbol}: {start}..{end} downloaded on attempt {len(failures) + 1} after "
                         f"{len(failures)} network error(s), {waited:.1f} s of backoff (first: {failures[0]})")
        return frame, notes
    raise AssertionError("unreachable")


def now_utc() -> dt.datetime:
    """The current instant (a function so tests can pin it)."""
    return dt.datetime.now(dt.timezone.utc)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text.split(" See https://", 1)[0]  # curl errors append a documentation link
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


def normalize_history(raw: pd.DataFrame) -> pd.DataFrame:
    """yfinance columns (``Open``, ``Close``, ``Stock Splits``...) -> lower-case names; ``Adj Close`` dropped."""
    frame = raw.copy()
    if isinstance(frame.columns, pd.MultiIndex):  # yf.download style (field, ticker)
        frame.columns = frame.columns.get_level_values(0)
    renamed = {}
    for col in frame.columns:
        key = str(col).strip().lower()
        if key in _COLUMN_MAP:
            renamed[col] = _COLUMN_MAP[key]
    frame = frame[list(renamed)].rename(columns=renamed)
    frame.index.name = "date"
    return frame


def _repair_note(raw: pd.DataFrame, symbol: str) -> tuple[str, ...]:
    """One note when yfinance's price repair flagged rows (its ``Repaired?`` column)."""
    if "Repaired?" not in raw.columns:
        return ()
    flagged = raw.index[raw["Repaired?"].fillna(False).astype(bool).to_numpy()]
    if len(flagged) == 0:
        return ()
    days = pd.DatetimeIndex(session_dates(pd.Series(flagged)))
    shown = ", ".join(d.date().isoformat() for d in days[:3] if not pd.isna(d))
    more = f" and {len(days) - 3} more" if len(days) > 3 else ""
    return (f"yahoo:{symbol}: yfinance price repair flagged {len(days)} bar(s) ({shown}{more})",)


def _events(frame: pd.DataFrame, dates: pd.DatetimeIndex, column: str) -> list:
    """``[[date, value], ...]`` of the non-zero entries of an actions column (0 means "none that day").

    Splits must pass :func:`~backtest.data.splits.split_ratio` (a ratio of 1, below 0 or infinite is
    dropped: it would divide levels by nonsense); dividends must be finite and positive.
    """
    if column not in frame.columns:
        return []
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    keep = np.isfinite(values) & (values > 0) & dates.notna()
    events = [[d.date().isoformat(), float(v)] for d, v in zip(dates[keep], values[keep])]
    if column == "splits":
        events = [[d, v] for d, v in events if _is_split_ratio(v)]
    return events


def _is_split_ratio(value: float) -> bool:
    try:
        split_ratio(value)
    except ValueError:
        return False
    return True


class YahooSource:
    """Loads from Yahoo and writes what it got into the cache (so the next run is offline)."""

    name = "yahoo"

    def __init__(self, cache: CacheSource):
        self.cache = cache

    def describe(self) -> str:
        return "yahoo (network)"

    def _get(self, symbol: str, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, list, list, tuple[str, ...]]:
        """Download and validate one range: (OHLCV frame, splits, dividends, notes)."""
        use_yfinance_cache(self.cache.cache_dir / YFINANCE_CACHE)
        try:
            raw, retry_notes = download_with_retries(symbol, start, end)
        except Exception as exc:  # yfinance raises many types (network, JSON, its own errors)
            attempts = getattr(exc, "backtest_attempts", [_one_line(exc)])
            tried = f" ({len(attempts)} attempts with backoff)" if len(attempts) > 1 else ""
            raise DataError(f"download failed: {_one_line(exc)}{tried}", where=f"yahoo:{symbol}",
                            hint="check the network and the symbol's Yahoo spelling") from None
        if raw is None or len(raw) == 0:
            raise DataError(f"no bars returned for {start}..{end}", where=f"yahoo:{symbol}",
                            hint="offline, unknown symbol, or no session in the range")
        history = normalize_history(raw)
        clean = clean_bars(history, f"yahoo:{symbol}")
        notes = tuple(retry_notes) + _repair_note(raw, symbol) + clean.notes
        frame = clean.frame
        # Never keep a bar whose session is still open: its prices are not final.
        closed = frame["session_close_ns"].to_numpy() <= pd.Timestamp(now_utc()).as_unit("ns").value
        frame = frame[closed]
        dates = pd.DatetimeIndex(session_dates(pd.Series(history.index)))  # the bars' own date rule
        return frame, _events(history, dates, "splits"), _events(history, dates, "dividends"), notes

    def missing_ranges(self, entry: CacheEntry | None, start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
        """Date ranges (inclusive) not yet in the cache between ``start`` and ``end``."""
        if entry is None or len(entry.frame) == 0:
            return [(start, end)]
        first = entry.frame.index[0].date()
        last = entry.frame.index[-1].date()
        ranges = []
        if start < first:
            ranges.append((start, first - dt.timedelta(days=1)))
        fetched_at = entry.meta.get("fetched_at")
        partial = False
        if fetched_at:
            fetched_ns = pd.Timestamp(fetched_at).tz_convert("UTC").as_unit("ns").value
            partial = fetched_ns < int(entry.frame["session_close_ns"].iloc[-1])
        resume = last if partial else last + dt.timedelta(days=1)
        if end >= resume:
            ranges.append((resume, end))  # from the cached end even if start is later: no holes
        return [(a, b) for a, b in ranges if a <= b and _has_session(a, b)]

    def refresh(self, symbol: str, start: dt.date | None = None, end: dt.date | None = None) -> dict:
        """Bring the cache up to date from ``start`` through today; returns a summary row (see :func:`api.fetch`).

        ``end`` (default today) only sets the default ``start`` (two years before it) and is checked
        against ``start``: the download still runs through today (see the module docstring).
        """
        from ..environment import clock_problem

        symbol = normalize_symbol(symbol)
        now = now_utc()
        problem = clock_problem(now)
        if problem:  # a download "through today" would ask for nothing, or for centuries
            raise DataError(problem, where=f"yahoo:{symbol}")
        today = pd.Timestamp(now).tz_convert(NY).date()
        end = min(end or today, today)
        if start is None:
            start = end - dt.timedelta(days=round(365.25 * DEFAULT_YEARS))
        if start > end:
            raise DataError(f"start {start} is after end {end}", where=f"yahoo:{symbol}", hint="swap --start/--end")
        notes: list[str] = []
        try:
            entry = self.cache.entry(symbol)
        except DataError as exc:
            notes.append(exc.one_line())
            entry = None
        ranges = self.missing_ranges(entry, start, today)
        if not ranges:
            return {"symbol": symbol, "entry": entry, "fetched": 0, "ranges": [], "notes": notes}
        frames, splits, dividends = [], [], []
        for a, b in ranges:
            frame, s, d, n = self._get(symbol, a, b)
            frames.append(frame)
            splits += s
            dividends += d
            notes += list(n)
        replace = False
        if entry is not None and len(entry.frame):
            cached_last = entry.frame.index[-1].date()
            if any(dt.date.fromisoformat(day) > cached_last for day, _ in splits):
                # A new split re-based every older bar: the cached ones are stale, take the full range.
                full_start = min(start, entry.frame.index[0].date())
                frame, s, d, n = self._get(symbol, full_start, today)
                frames, splits, dividends, replace = [frame], s, d, True
                ranges = [(full_start, today)]
                notes.append(f"{symbol}: new split after the cached bars, re-downloaded {full_start}..{today}")
        fetched = pd.concat(frames) if len(frames) > 1 else frames[0]
        fetched = fetched[~fetched.index.duplicated(keep="last")].sort_index()
        if len(fetched) == 0:
            return {"symbol": symbol, "entry": entry, "fetched": 0, "ranges": ranges, "notes": notes}
        entry, store_notes = store(self.cache.cache_dir, symbol, fetched, source="yahoo", basis=BASIS,
                                   interval=self.cache.interval, splits=splits, dividends=dividends,
                                   replace=replace, fetched_at=now_utc())
        return {"symbol": symbol, "entry": entry, "fetched": int(len(fetched)), "ranges": ranges,
                "notes": notes + store_notes}

    def load(self, symbol: str, start: dt.date | None = None, end: dt.date | None = None) -> Bars | None:
        result = self.refresh(symbol, start, end)
        entry = result["entry"]
        if entry is None:
            return None
        return clip(entry_to_bars(entry), start, end)


def _has_session(a: dt.date, b: dt.date) -> bool:
    from .calendar import session_dates

    return len(session_dates(a, b)) > 0
