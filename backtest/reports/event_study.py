"""Event study: mean cumulative excess return of the calls, by stance, over sessions 0-60 after publication.

For each distinct call (:mod:`backtest.reports.calls`: one per article on its primary symbol, identical
calls once) with first eligible session ``s`` (the symbol's bar index of ``start_time``) and sign ``+1``
(bullish, and neutral: unsigned) or ``-1`` (bearish), the cumulative excess return after ``k`` sessions is

    CAR_k = sign x [(close[s + k - 1] / open[s] - 1) - (bclose[b + k - 1] / bopen[b] - 1)] x 100,   CAR_0 = 0

where ``b`` is the benchmark's first session on or after ``start_time`` (the same date whenever both
trade that day): exactly the call's ``excess_pct`` at horizon ``h = k`` in calls.csv (a window from the
open of the first session to the close of the ``k``-th). A call whose data ends before ``k`` sessions is
left out from ``k`` on (``n`` says how many calls each point averages).

The 95 % band is the block bootstrap of :mod:`backtest.reports.stats` over calendar sessions, so calls
whose windows overlap are resampled together. Its expected block length at ``k`` is ``k`` rounded up to
the next of the scorecard's horizons (1, 5, 20, 60; beyond 60: ``k``), so the band at ``k = 20`` is the
scorecard's interval of the 20-session mean excess, and only four draws of the bootstrap are needed for
the whole chart. Everything is array work: one gather per symbol, one matrix product per block length.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import stats
from .calls import DIRECTION_SIGN, one_call_each
from .inputs import bar_frames

#: Sessions after publication (0 = the entry point, CAR 0).
SESSIONS = 60
#: Horizons whose bootstrap draws the band reuses (block length at k = the first of these >= k).
BLOCK_HORIZONS = (1, 5, 20, 60)
#: Columns of the event-study table (tidy: one row per stance x session).
EVENT_COLUMNS = ("stance", "session", "calls", "articles", "mean_excess_pct", "low_pct", "high_pct", "block_length")
STANCE_ORDER = ("bullish", "bearish", "neutral", "unknown")


def block_length_at(k: int, horizons=BLOCK_HORIZONS) -> int:
    """Expected bootstrap block length for event time ``k``: the first of ``horizons`` >= k (or ``k``)."""
    for h in sorted(horizons):
        if h >= k:
            return stats.block_length_for(h)
    return stats.block_length_for(k)


def cumulative_excess(calls: pd.DataFrame, bars, *, benchmark: str = "SPY", sessions: int = SESSIONS) -> tuple[pd.DataFrame, np.ndarray]:
    """(the distinct calls, their CAR matrix): ``car[i, k]`` for k = 0..sessions, NaN where data ended.

    ``calls`` is the ledger's calls frame (or any frame with ``article_id, stance, symbol, direction,
    start_time`` and optionally ``primary``); ``bars`` maps symbols to frames with ``open`` and ``close``.
    A call whose symbol has no bars, or whose ``start_time`` is not one of its sessions, is all NaN.
    """
    kept = one_call_each(calls)
    frames = bar_frames(bars, columns=("open", "close"))
    if benchmark not in frames:
        raise ValueError(f"bars: no {benchmark} series (the event study's benchmark); load it with the other symbols")
    car = np.full((len(kept), sessions + 1), np.nan)
    if not len(kept):
        return kept, car
    steps = np.arange(sessions)  # close of session s + k - 1 for k = 1..sessions
    start = kept["start_time"].to_numpy(dtype="datetime64[ns]").view(np.int64)

    def path(frame: pd.DataFrame, at: np.ndarray, exact: bool) -> np.ndarray:
        """(len(at), sessions) returns from the open of the session ``at`` to each later close, in %."""
        dates = frame.index.asi8
        first = np.searchsorted(dates, at, side="left")
        valid = first < len(dates)
        if exact:
            valid &= dates[np.minimum(first, len(dates) - 1)] == at
        opened = frame["open"].to_numpy(dtype=float)
        closed = frame["close"].to_numpy(dtype=float)
        index = first[:, None] + steps[None, :]
        inside = valid[:, None] & (index < len(dates))
        ends = np.where(inside, closed[np.minimum(index, len(dates) - 1)], np.nan)
        begins = np.where(valid, opened[np.minimum(first, len(dates) - 1)], np.nan)
        return (ends / begins[:, None] - 1.0) * 100.0

    bench = path(frames[benchmark], start, exact=False)
    own = np.full((len(kept), sessions), np.nan)
    symbols = kept["symbol"].to_numpy()
    for symbol in np.unique(symbols):
        if symbol in frames:
            rows = np.flatnonzero(symbols == symbol)
            own[rows] = path(frames[symbol], start[rows], exact=True)
    sign = kept["direction"].map(DIRECTION_SIGN).fillna(1.0).to_numpy(dtype=float)
    car[:, 1:] = sign[:, None] * (own - bench)
    car[:, 0] = np.where(np.isnan(car[:, 1]), np.nan, 0.0)
    return kept, car


def event_study(calls: pd.DataFrame, bars, *, benchmark: str = "SPY", sessions: int = SESSIONS,
                reps: int = stats.BOOTSTRAP_REPS, seed: int = stats.SEED,
                calendar: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    """Mean CAR by stance and session with its 95 % band: a tidy frame (:data:`EVENT_COLUMNS`), CSV-ready.

    One row per stance present x session ``0..sessions``. ``calls`` counts the distinct calls behind each
    point, ``articles`` the articles behind them; the band is NaN where the calls fall on fewer than two
    sessions. ``calendar`` fixes the bootstrap's session axis (default: XNYS sessions spanning the calls).
    """
    kept, car = cumulative_excess(calls, bars, benchmark=benchmark, sessions=sessions)
    present = set(pd.unique(kept["stance"].to_numpy(dtype=object)).tolist())
    stances = [s for s in STANCE_ORDER if s in present] + sorted(present - set(STANCE_ORDER))
    if not len(kept):
        return pd.DataFrame({c: pd.Series(dtype=object if c == "stance" else float) for c in EVENT_COLUMNS})
    position = stats.session_positions(kept["start_time"], calendar)
    position = position - position.min()
    n_sessions = int(position.max()) + 1
    group = pd.Categorical(kept["stance"], categories=stances).codes
    n_groups, width = len(stances), sessions + 1
    have = ~np.isnan(car)
    articles = kept["articles"].to_numpy(dtype=float)
    # per (stance, k): sums and counts per calendar session -> (n_sessions, n_groups * width)
    column = group[:, None] * width + np.arange(width)[None, :]
    flat_rows = np.broadcast_to(position[:, None], car.shape)[have]
    flat_cols = column[have]
    sums = np.zeros((n_sessions, n_groups * width))
    counts = np.zeros_like(sums)
    np.add.at(sums, (flat_rows, flat_cols), car[have])
    np.add.at(counts, (flat_rows, flat_cols), 1.0)
    n_calls = counts.sum(axis=0)
    n_articles = np.bincount(flat_cols, weights=np.broadcast_to(articles[:, None], car.shape)[have],
                             minlength=n_groups * width)
    spread = (counts > 0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_calls > 0, sums.sum(axis=0) / np.where(n_calls > 0, n_calls, 1.0), np.nan)
    low = np.full(n_groups * width, np.nan)
    high = np.full(n_groups * width, np.nan)
    blocks = np.array([block_length_at(k) for k in range(width)])
    for block in np.unique(blocks):
        cols = np.flatnonzero(np.tile(blocks == block, n_groups) & (spread >= 2))
        if not len(cols):
            continue
        weights = stats.bootstrap_weights(n_sessions, int(block), reps, seed)
        lo, hi = stats.percentile_interval(stats.replicate_means(sums[:, cols], counts[:, cols], weights))
        low[cols], high[cols] = lo, hi
    k0 = np.arange(0, n_groups * width, width)  # CAR_0 is 0 by definition: no band to draw
    low[k0] = np.where(n_calls[k0] > 0, 0.0, np.nan)
    high[k0] = low[k0]
    return pd.DataFrame({
        "stance": np.repeat(stances, width),
        "session": np.tile(np.arange(width), n_groups),
        "calls": n_calls.astype(np.int64),
        "articles": n_articles.astype(np.int64),
        "mean_excess_pct": mean,
        "low_pct": low,
        "high_pct": high,
        "block_length": np.tile(blocks, n_groups),
    }, columns=list(EVENT_COLUMNS))


__all__ = ["SESSIONS", "EVENT_COLUMNS", "block_length_at", "cumulative_excess", "event_study"]
