"""Seeded synthetic market and setup corpus for the benchmarks (invented numbers, no third-party data).

* :func:`make_bars` — ``n_symbols`` geometric random walks of ``n_sessions`` real XNYS sessions, with
  overnight gaps (an occasional large one), rounded to cents, as ``{symbol: DataFrame}``.
* :func:`make_setup_table` — ``n`` setups as a flat frame (one row per setup): grouped into articles (1-8
  setups each, one stance and one publication instant per article, published after a session's close),
  levels within a few % of the last close, a mix of stop/limit/market entries, long and short, 0-2
  targets, some invalidations and some pairs;
* :func:`to_setup_table` — that frame as the engine's input, a :class:`~backtest.setups.table.SetupTable`,
  built column-wise (a million setups in about a second); :func:`table_to_files` — the same corpus as
  pydantic ``SetupFile`` objects (the slow route a setup file takes, for checks).

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
    """``n`` setups, one row each: ids, article, publication, stance, kind, symbols, direction (+1/-1), entry
    type (0 market, 1 stop, 2 limit), levels (NaN: none), ``target1``/``target2`` NaN-padded."""
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


_ENTRY_TYPES = np.array(["market", "stop", "limit"], dtype=object)


def to_setup_table(frame: pd.DataFrame):
    """The corpus frame as a :class:`~backtest.setups.table.SetupTable`, column by column.

    Equal to ``SetupTable.from_files(table_to_files(frame))`` (a test checks it), without a pydantic object
    per setup.
    """
    from backtest.setups.table import SetupTable

    first = ~frame["article_id"].duplicated().to_numpy()
    article_ids = frame["article_id"].to_numpy(dtype=object)
    position = pd.Index(article_ids[first]).get_indexer(article_ids)
    published = pd.DatetimeIndex(frame["published"][first]).tz_convert("UTC")
    k = int(first.sum())
    nothing = np.full(k, None, dtype=object)
    subject = np.empty(k, dtype=object)
    subject[:] = [()] * k
    articles = {"article_id": article_ids[first], "title": nothing, "path": nothing,
                "published": np.asarray(published.strftime("%Y-%m-%dT%H:%M:%S+00:00"), dtype=object),
                "published_basis": np.full(k, "manual", dtype=object),
                "stance": frame["stance"].to_numpy(dtype=object)[first], "stance_basis": nothing,
                "pulse": pd.array(frame["pulse"].to_numpy()[first], dtype="Int64"), "threat": nothing,
                "subject": subject}
    pair = frame["kind"].to_numpy() == "pair"
    symbol = np.array([v.strip() or None if isinstance(v, str) else None for v in frame["symbol"]], dtype=object)
    t1, t2 = frame["target1"].to_numpy(), frame["target2"].to_numpy()
    targets = np.empty(len(frame), dtype=object)
    targets[:] = [() if np.isnan(a) else ((a,) if np.isnan(b) else (a, b)) for a, b in zip(t1, t2)]
    n = len(frame)
    none = np.full(n, None, dtype=object)
    setups = {
        "setup_id": frame["setup_id"].to_numpy(dtype=object), "article": position, "kind": frame["kind"].to_numpy(dtype=object),
        "status": np.where(pair | pd.notna(symbol), "ok", "unresolved").astype(object),
        "instrument": np.where(pair, "", np.where(frame["symbol"].notna(), frame["symbol"], "?")).astype(object),
        "symbol": np.where(pair, None, symbol), "long_symbol": frame["long_symbol"].to_numpy(dtype=object),
        "long_instrument": _leg_words(frame["long_symbol"], pair),
        "short_symbol": frame["short_symbol"].to_numpy(dtype=object),
        "short_instrument": _leg_words(frame["short_symbol"], pair),
        "direction": np.where(frame["direction"].to_numpy() > 0, "long", "short").astype(object),
        "entry_type": _ENTRY_TYPES[frame["entry_type"].to_numpy(dtype=np.int64)],
        "entry_level": frame["entry_level"].to_numpy(dtype=np.float64), "entry_window": none,
        "stop": frame["stop"].to_numpy(dtype=np.float64), "targets": targets,
        "invalidation": frame["invalidation"].to_numpy(dtype=np.float64), "max_hold": none, "scale_out": none,
        "ambiguity": none, "explicit": np.ones(n, dtype=bool), "ordering": _ordering(frame),
    }
    return SetupTable.from_columns(articles, setups)


def _leg_words(symbols: pd.Series, pair: np.ndarray) -> np.ndarray:
    """A pair leg's instrument words: its symbol, ``?`` without one (as :func:`table_to_files` writes them)."""
    words = np.where(symbols.notna(), symbols, "?").astype(object)
    return np.where(pair, words, None)


def _ordering(frame: pd.DataFrame) -> np.ndarray:
    """Setup.ordering_problems() of each row (only rows whose levels are out of order pay for a Setup)."""
    from backtest.setups.model import EntryOrder, Setup

    s = frame["direction"].to_numpy(dtype=np.float64)
    entry, stop, inv = (frame[c].to_numpy(dtype=np.float64) for c in ("entry_level", "stop", "invalidation"))
    targets = frame[["target1", "target2"]].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        suspect = s * (entry - stop) <= 0
        suspect |= (s[:, None] * (targets - entry[:, None]) <= 0).any(axis=1)
        suspect |= (s[:, None] * (targets - stop[:, None]) <= 0).any(axis=1)
        suspect |= s * np.diff(targets, axis=1)[:, 0] <= 0
        suspect |= (frame["entry_type"].to_numpy() == 1) & (s * (entry - inv) <= 0)
    out = np.full(len(frame), None, dtype=object)
    types = {0: "market", 1: "stop", 2: "limit"}
    for i in np.flatnonzero(suspect & (frame["kind"].to_numpy() == "single")):
        r = frame.iloc[i]
        level = None if np.isnan(r["entry_level"]) else float(r["entry_level"])
        setup = Setup.model_construct(
            id="x", kind="single", direction="long" if r["direction"] > 0 else "short",
            entry=EntryOrder.model_construct(type=types[int(r["entry_type"])], level=level, window=None),
            stop=None if np.isnan(r["stop"]) else float(r["stop"]),
            targets=[float(t) for t in (r["target1"], r["target2"]) if not np.isnan(t)],
            invalidation=None if np.isnan(r["invalidation"]) else float(r["invalidation"]))
        problems = setup.ordering_problems()
        out[i] = "; ".join(problems) if problems else None
    return out


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
