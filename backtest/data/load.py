"""Loading bars: what the engine and the extractor call.

* :func:`load_barset` — bars for many symbols, trying the configured sources in order
  (``cache`` -> ``mirror`` -> ``yahoo`` by default); one unloadable symbol is recorded in
  ``BarSet.missing`` with a one-line reason and never stops the others.
* :func:`last_close_before` — the close people saw just before an article was published.

Managing the local store (``backtest data import/fetch/list``) is :mod:`backtest.data.manage`.

Sources: :class:`~backtest.data.cache.CacheSource` (parquet under ``cache_dir``),
:class:`~backtest.data.mirror.MirrorSource` (CSV/parquet directories),
:class:`~backtest.data.yahoo.YahooSource` (yfinance, network). Heavy modules (pyarrow, yfinance,
exchange_calendars) are imported inside the functions that need them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import Callable, Iterable

import numpy as np

from ..config import Config
from ..errors import ConfigError, DataError
from .bars import Bars, BarSet, last_closed_at
from .cache import CacheSource
from .mirror import MirrorSource
from .sources import BarSource
from .splits import split_factors
from .symbols import normalize_symbol, symbol_to_stem
from .yahoo import YahooSource

__all__ = ["load_barset", "last_close_before", "make_sources", "clear_memo"]


def make_sources(config: Config) -> list[BarSource]:
    """The configured sources, in the order they are tried."""
    data = config.data
    if data.interval != "1d":
        raise ConfigError(f"[data].interval {data.interval!r} is not supported", where=str(config.path or "config"),
                          hint="daily bars only: use \"1d\"")
    out: list[BarSource] = []
    for name in data.sources:
        if name == "cache":
            out.append(CacheSource(data.cache_dir, interval=data.interval))
        elif name == "mirror":
            out.append(MirrorSource(data.mirrors, configured_in=_setting(config, "mirrors")))
        elif name == "yahoo":
            out.append(YahooSource(cache=CacheSource(data.cache_dir, interval=data.interval)))
    return out


def _setting(config: Config, key: str) -> str:
    """Where ``[data].<key>`` came from, for messages: ``[data].mirrors in /repo/backtest.toml`` or the flag."""
    flag = {"mirrors": "--mirror", "sources": "--source"}.get(key)
    if key in config.data.overridden and flag:
        return flag
    return f"[data].{key} in {config.path}" if config.path else f"[data].{key} (no backtest.toml found: built-in defaults)"


def no_sources_reason(config: Config) -> str | None:
    """Why no source can be tried at all (``sources = []``, or ``--offline`` dropping the only one), or None."""
    if config.data.sources:
        return None
    where = f" in {config.path}" if config.path else ""
    if config.data.offline:
        return (f"no data sources left: --offline drops yahoo, and [data].sources{where} lists no other "
                "(add cache or mirror to [data].sources, or drop --offline)")
    return (f"no data sources configured ([data].sources is empty){where} "
            "(add cache, mirror or yahoo to [data].sources, or pass --source)")


def _missing_reason(symbol: str, tried: list[str]) -> str:
    stem = symbol_to_stem(symbol)
    return (f"{symbol}: no bars from any source (tried {'; '.join(tried)}); "
            f"run `backtest data fetch {symbol}` when online, or put {stem}.csv in a mirror directory "
            f"and `backtest data import DIR`")


def _load_one(symbol: str, sources: list[BarSource], start, end, config: Config) -> tuple[Bars | None, str]:
    """First source that has bars for ``symbol`` in the range; else (None, one-line reason)."""
    from .calendar import cache_schedule_in

    # The XNYS session table is kept beside the bar cache, for every loader (a run's bars, and extract's
    # last closes: without it every `backtest extract` built the calendar again, 0.3 s).
    cache_schedule_in(config.data.cache_dir)
    nothing_to_try = no_sources_reason(config)
    if nothing_to_try:
        return None, f"{symbol}: {nothing_to_try}"
    tried, failures = [], []
    for source in sources:
        try:
            bars = source.load(symbol, start, end)
        except DataError as exc:
            line = exc.one_line()
            line = line if line.startswith(source.name) else f"{source.name}: {line}"
            tried.append(line)
            failures.append(line)
            continue
        except Exception as exc:  # noqa: BLE001 - a bug on one odd file must not stop the other symbols
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            if isinstance(exc, OSError):  # e.g. the disk filled while the cache was written
                where = f"{exc.filename}: " if exc.filename else ""
                line = f"{source.name}: {where}{exc.strerror or first} (check free space and permissions)"
            else:
                line = (f"{source.name}: internal error loading {symbol} ({type(exc).__name__}: {first}); "
                        "this is a bug: please report it with the file")
            tried.append(line)
            failures.append(line)
            continue
        if bars is None:
            tried.append(f"{source.describe()}: not found")
            continue
        if len(bars) == 0:
            tried.append(f"{source.describe()}: no bars between {start or 'start'} and {end or 'end'}")
            continue
        if failures:  # say why an earlier source was passed over (e.g. a corrupt cache file)
            bars = dataclasses.replace(bars, notes=bars.notes + tuple(f"skipped {f}" for f in failures))
        return bars, ""
    return None, _missing_reason(symbol, tried)


def load_barset(
    symbols: Iterable[str],
    config: Config,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    as_of: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> BarSet:
    """Load every symbol's bars, trying ``config.data.sources`` in order for each.

    ``start``/``end`` clip the series (inclusive); ``as_of`` guarantees no bar after that date is
    returned (an as-of run must not see the future). Never raises for a single symbol: what cannot be
    loaded lands in ``BarSet.missing[symbol]`` with a one-line reason naming the sources tried and
    what to do. ``progress`` receives one short line per symbol.
    """
    if as_of is not None:
        end = min(end, as_of) if end is not None else as_of
    sources = make_sources(config)
    result = BarSet()
    seen: set[str] = set()
    for raw_symbol in symbols:
        try:
            symbol = normalize_symbol(raw_symbol)
        except ValueError as exc:
            result.missing[str(raw_symbol)] = str(exc)
            continue
        if symbol in seen:
            continue
        seen.add(symbol)
        bars, reason = _load_one(symbol, sources, start, end, config)
        if bars is None:
            result.missing[symbol] = reason
            if progress:
                progress(f"{symbol}: missing")
            continue
        result.bars[symbol] = bars  # already cut at as_of: end was clamped to it above
        if progress:
            progress(f"{symbol}: {len(bars)} bars {bars.first}..{bars.last} from {bars.source}")
    return result


# Per-process memo for last_close_before: (sources, dirs, symbol) -> _Closes or None (misses are memoized too,
# so an offline run does not retry the network for every article).
_close_memo: dict[tuple, "_Closes | None"] = {}


@dataclasses.dataclass(frozen=True)
class _Closes:
    """What :func:`last_close_before` reads of one symbol's bars, as arrays built once per symbol: the
    session close instants, the session dates and the closes as traded on each date (split factors applied)."""

    close_ns: "np.ndarray"
    dates: "np.ndarray"
    as_traded: "np.ndarray"

    @classmethod
    def of(cls, bars: Bars) -> "_Closes":
        close_ns = bars.array("session_close_ns")
        # A split counts for a bar when its session opens after that bar's close (see split_factors).
        return cls(close_ns, bars.frame.index.date, bars.array("close") * split_factors(close_ns, bars))


@functools.lru_cache(maxsize=4096)
def _instant_ns(published: dt.datetime | dt.date) -> int:
    from .calendar import publication_instant

    return publication_instant(published).value


def _memo_key(config: Config, symbol: str) -> tuple:
    d = config.data
    return (tuple(d.sources), str(d.cache_dir), tuple(str(m) for m in d.mirrors), d.interval, symbol)


def clear_memo() -> None:
    """Forget bars memoized by :func:`last_close_before` (called after the cache changes)."""
    _close_memo.clear()


def last_close_before(symbol: str, published: dt.datetime | dt.date, config: Config) -> tuple[dt.date, float] | None:
    """(session date, close) of the last session that *closed* at or before ``published``.

    A date-only publication means "some time that day": that day's session if it is one, else the last
    session before it. The close is returned **as traded on that date** (split-adjusted bars are
    multiplied back by later splits), because it is compared with the levels the article wrote.
    Returns ``None`` when no source has the symbol or no session closed before publication.
    A naive datetime raises ``ValueError`` (publication instants must be timezone-aware).
    """
    try:
        symbol = normalize_symbol(symbol)
    except ValueError:
        return None
    key = _memo_key(config, symbol)
    if key not in _close_memo:
        bars, _ = _load_one(symbol, make_sources(config), None, None, config)
        _close_memo[key] = _Closes.of(bars) if bars is not None and len(bars) else None
    closes = _close_memo[key]
    if closes is None:
        return None
    pos = last_closed_at(closes.close_ns, _instant_ns(published))  # Bars.last_close_index's rule
    if pos < 0:
        return None
    return closes.dates[pos], float(closes.as_traded[pos])
