"""Seeded synthetic market and setup corpus for the benchmarks (invented numbers, no third-party data).

* :func:`make_bars` — ``n_symbols`` geometric random walks of ``n_sessions`` real XNYS sessions, with
  overnight gaps (an occasional large one), rounded to cents, as ``{symbol: DataFrame}``.
* :func:`make_setup_table` — ``n`` setups in the columnar layout of
  :mod:`backtest.engine.columnar`: grouped into articles (1-8 setups each, one stance and one publication
  instant per article, published after a session's close), levels within a few % of the last close, a mix
  of stop/limit/market entries, long and short, 0-2 targets, some invalidations and some pairs.
* :func:`kernel_arrays` — the same singles fed straight to the kernel (no triage, no data layer).

Everything is a pure function of the seed, so two runs (and two processes) see the same corpus.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

FIRST_DAY = dt.date(2016, 1, 4)
PAIR_SHARE = 0.02


def symbols(n_symbols: int) -> list[str]:
    return [f"SYN{i:02d}" for i in range(n_symbols)]


def session_frame(n_sessions: int) -> pd.DatetimeIndex:
    """The first ``n_sessions`` XNYS sessions from 2016-01-04 (real calendar: holidays, half days)."""
    from backtest.data.calendar import session_dates

    days = session_dates(FIRST_DAY, FIRST_DAY + dt.timedelta(days=int(n_sessions * 1.5) + 30))
    if len(days) < n_sessions:
        raise ValueError(f"calendar too short for {n_sessions} sessions")
    return days[:n_sessions]


def make_bars(n_symbols: int = 50, n_sessions: int = 2520, seed: int = 7) -> dict[str, pd.DataFrame]:
    """Daily OHLCV frames (date index) of geometric random walks with overnight gaps."""
    rng = np.random.default_rng(seed)
    days = session_frame(n_sessions)
    out = {}
    for symbol in symbols(n_symbols):
        start = rng.uniform(20.0, 500.0)
        gap = rng.normal(0.0, 0.004, n_sessions)
        jumps = rng.random(n_sessions) < 0.02  # earnings-like gaps
        gap[jumps] += rng.normal(0.0, 0.03, jumps.sum())
        body = rng.normal(0.0003, 0.012, n_sessions)
        log_open = np.log(start) + np.cumsum(gap + np.concatenate(([0.0], body[:-1])))
        open_ = np.exp(log_open)
        close = open_ * np.exp(body)
        wick_hi = np.exp(np.abs(rng.normal(0.0, 0.006, n_sessions)))
        wick_lo = np.exp(-np.abs(rng.normal(0.0, 0.006, n_sessions)))
        high = np.maximum(open_, close) * wick_hi
        low = np.minimum(open_, close) * wick_lo
        frame = pd.DataFrame({
            "open": np.round(open_, 2), "high": np.round(high, 2), "low": np.round(low, 2),
            "close": np.round(close, 2), "volume": rng.integers(100_000, 5_000_000, n_sessions).astype(float),
        }, index=pd.DatetimeIndex(days, name="date").as_unit("ns"))
        frame["high"] = frame[["open", "high", "close"]].max(axis=1)
        frame["low"] = frame[["open", "low", "close"]].min(axis=1)
        out[symbol] = frame
    return out


def make_setup_table(n: int, bars: dict[str, pd.DataFrame], seed: int = 11) -> pd.DataFrame:
    """``n`` setups in the columnar layout (see :data:`backtest.engine.columnar.TABLE_COLUMNS`)."""
    from backtest.data.calendar import session_instants

    rng = np.random.default_rng(seed)
    names = list(bars)
    days = next(iter(bars.values())).index
    n_sessions = len(days)
    _, close_ns = session_instants(days)

    # articles: 1-8 setups each, published 0-6 h after some session's close
    sizes = rng.integers(1, 9, size=n // 2 + 1)
    article_of = np.repeat(np.arange(len(sizes)), sizes)[:n]
    n_articles = int(article_of[-1]) + 1 if n else 0
    session_of_article = rng.integers(20, n_sessions - 5, n_articles)
    published_ns = close_ns[session_of_article] + rng.integers(1, 6 * 3600, n_articles) * 1_000_000_000
    stance_of_article = rng.choice(np.array(["bullish", "bearish", "neutral"]), n_articles, p=[0.45, 0.35, 0.2])
    pulse_of_article = rng.integers(0, 101, n_articles)

    sym = rng.integers(0, len(names), n)
    ref_session = session_of_article[article_of]
    closes = np.stack([bars[s]["close"].to_numpy() for s in names])
    ref = closes[sym, ref_session]

    direction = np.where(rng.random(n) < 0.55, 1, -1).astype(np.int8)
    entry_type = rng.choice(np.array([0, 1, 2], dtype=np.int8), n, p=[0.2, 0.4, 0.4])  # market/stop/limit
    # stop entries sit ahead of the market in the trade's direction, limits behind it
    away = rng.uniform(0.003, 0.03, n)
    ahead = np.where(entry_type == 1, 1.0, np.where(entry_type == 2, -1.0, 0.0))
    entry = np.round(ref * (1.0 + direction * ahead * away), 2)
    risk = rng.uniform(0.01, 0.04, n)
    stop = np.round(entry * (1.0 - direction * risk), 2)
    stop[rng.random(n) < 0.1] = np.nan
    n_targets = rng.choice(np.array([0, 1, 2]), n, p=[0.2, 0.45, 0.35])
    t1 = np.round(entry * (1.0 + direction * rng.uniform(0.01, 0.05, n)), 2)
    t2 = np.round(t1 * (1.0 + direction * rng.uniform(0.01, 0.04, n)), 2)
    t1[n_targets < 1] = np.nan
    t2[n_targets < 2] = np.nan
    invalidation = np.full(n, np.nan)
    has_inv = (entry_type != 0) & (rng.random(n) < 0.15)
    invalidation[has_inv] = np.round(entry[has_inv] * (1.0 - direction[has_inv] * rng.uniform(0.015, 0.05, has_inv.sum())), 2)
    entry[entry_type == 0] = np.nan

    kind = np.where(rng.random(n) < PAIR_SHARE, "pair", "single")
    pair = kind == "pair"
    other = (sym + rng.integers(1, len(names), n)) % len(names)
    symbol = np.array(names, dtype=object)[sym]
    long_symbol = np.where(pair, symbol, None)
    short_symbol = np.where(pair, np.array(names, dtype=object)[other], None)
    for column in (entry, stop, t1, t2, invalidation):
        column[pair] = np.nan
    entry_type[pair] = 0
    direction[pair] = 1

    article_ids = np.array([f"A{i:07d}" for i in range(n_articles)], dtype=object)
    published = pd.to_datetime(published_ns[article_of], utc=True)
    return pd.DataFrame({
        "setup_id": [f"A{a:07d}-s{i:02d}" for a, i in zip(article_of, _rank_within(article_of))],
        "article_id": article_ids[article_of],
        "published": published,
        "stance": stance_of_article[article_of],
        "pulse": pulse_of_article[article_of],
        "kind": kind,
        "symbol": np.where(pair, None, symbol),
        "long_symbol": long_symbol,
        "short_symbol": short_symbol,
        "direction": direction,
        "entry_type": entry_type,
        "entry_level": entry,
        "stop": stop,
        "target1": t1,
        "target2": t2,
        "invalidation": invalidation,
        "entry_window": np.zeros(n, dtype=np.int64),  # 0: the run's default
        "max_hold": np.zeros(n, dtype=np.int64),
    })


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2... inside each run of equal consecutive values."""
    if len(groups) == 0:
        return groups
    starts = np.flatnonzero(np.concatenate(([True], groups[1:] != groups[:-1])))
    idx = np.arange(len(groups))
    return idx - np.repeat(starts, np.diff(np.concatenate((starts, [len(groups)]))))


def kernel_arrays(table: pd.DataFrame, bars: dict[str, pd.DataFrame], *, entry_window: int = 20,
                  max_hold: int = 60):
    """The table's single setups as :class:`~backtest.engine.arrays.KernelArrays` (levels already in basis).

    ``start`` is the first session opening after publication (published after a close: the next
    session), ``end`` the symbol's last bar. Returns ``(arrays, index of each row in table)``.
    """
    from backtest.data.calendar import session_instants
    from backtest.engine.arrays import KernelArrays

    names = list(bars)
    singles = np.flatnonzero(table["kind"].to_numpy() == "single")
    t = table.iloc[singles]
    code = pd.Categorical(t["symbol"], categories=names).codes.astype(np.int64)
    lengths = np.array([len(bars[s]) for s in names])
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    days = next(iter(bars.values())).index
    open_ns, _ = session_instants(days)
    pub = pd.DatetimeIndex(t["published"]).as_unit("ns").asi8
    first = np.searchsorted(open_ns, pub, side="right")
    cat = {k: np.concatenate([bars[s][k].to_numpy() for s in names]) for k in ("open", "high", "low", "close")}
    arrays = KernelArrays.build(
        cat["open"], cat["high"], cat["low"], cat["close"],
        start=offsets[code] + first, end=offsets[code] + lengths[code],
        direction=t["direction"].to_numpy(), entry_type=t["entry_type"].to_numpy(),
        entry_level=t["entry_level"].to_numpy(), stop=t["stop"].to_numpy(),
        targets=np.column_stack([t["target1"].to_numpy(), t["target2"].to_numpy()]),
        invalidation=t["invalidation"].to_numpy(), entry_window=entry_window, max_hold=max_hold,
    )
    return arrays, singles


def write_cache(bars: dict[str, pd.DataFrame], cache_dir) -> None:
    """Store the frames in a parquet cache directory the data layer reads (``backtest.data.cache.store``)."""
    from backtest.data.cache import store

    for symbol, frame in bars.items():
        store(cache_dir, symbol, frame, source="synthetic", basis="split-adjusted", replace=True)


def cache_config(cache_dir):
    """A :class:`~backtest.config.Config` that reads bars from ``cache_dir`` only (no mirror, no network)."""
    from pathlib import Path

    from backtest.config import Config, DataConfig

    return Config(data=DataConfig(sources=("cache",), cache_dir=Path(cache_dir)))


def table_to_files(table: pd.DataFrame):
    """The table as pydantic ``SetupFile`` objects, to run the same corpus through ``simulate()``."""
    from backtest.setups.model import ArticleMeta, EntryOrder, Leg, Setup, SetupFile

    types = {0: "market", 1: "stop", 2: "limit"}

    def num(x):
        return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)

    def text(x):
        return None if x is None or (isinstance(x, float) and np.isnan(x)) else str(x)

    files = []
    for article_id, group in table.groupby("article_id", sort=True):
        first = group.iloc[0]
        meta = ArticleMeta(id=article_id, published=first["published"].to_pydatetime(), stance=first["stance"],
                           pulse=int(first["pulse"]))
        setups = []
        for r in group.itertuples(index=False):
            if r.kind == "pair":
                legs = {side: Leg(instrument=text(s) or "?", symbol=text(s))
                        for side, s in (("long", r.long_symbol), ("short", r.short_symbol))}
                setups.append(Setup(id=r.setup_id, kind="pair", **legs))
                continue
            targets = [t for t in (num(r.target1), num(r.target2)) if t is not None]
            symbol = text(r.symbol)
            setups.append(Setup(id=r.setup_id, instrument=symbol or "?", symbol=symbol,
                                status="ok" if symbol else "unresolved",
                                direction="long" if r.direction > 0 else "short",
                                entry=EntryOrder(type=types[int(r.entry_type)], level=num(r.entry_level)),
                                stop=num(r.stop), targets=targets, invalidation=num(r.invalidation)))
        files.append(SetupFile(article=meta, setups=setups))
    return files
