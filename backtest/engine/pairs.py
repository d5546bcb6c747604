"""Pair setups, all at once: long one symbol, short another, equal notional (``docs/semantics.md`` section 7).

A pair lives on the sessions **both** legs trade (:meth:`Market.common <backtest.engine.market.Market.common>`):
both legs enter at the open of the first such session after publication (``first``, chosen by the
screening, delay included), are marked on those sessions only, and are closed at the close of the
``max_hold``-th of them (or marked to the last of them, status ``open``, when the common data ends
first). A session only one leg traded is skipped: a pair is never booked with its legs on different
dates. Levels are not used. Everything is whole-column numpy over the pairs of one (long, short) symbol
combination at a time; the spread's excursions are walked session by session over those pairs together
(memory: one vector per step, not a matrix).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .market import Market


@dataclasses.dataclass
class PairResults:
    """Per simulated pair (rows in the order given): the ledger's pair fields and the legs' exits."""

    rows: np.ndarray
    status_open: np.ndarray
    return_pct: np.ndarray
    long_return_pct: np.ndarray
    short_return_pct: np.ndarray
    long_entry_price: np.ndarray
    short_entry_price: np.ndarray
    mae_pct: np.ndarray
    mfe_pct: np.ndarray
    sessions_held: np.ndarray
    entry_time: np.ndarray
    exit_time: np.ndarray
    long_exit: tuple[np.ndarray, np.ndarray, np.ndarray]  # (time, price, ended)
    short_exit: tuple[np.ndarray, np.ndarray, np.ndarray]


def simulate_pairs(rows: np.ndarray, long_code: np.ndarray, short_code: np.ndarray, first: np.ndarray,
                   hold: np.ndarray, market: Market, cost: float) -> PairResults:
    """Simulate the pairs at ``rows``; codes, ``first`` (position in the legs' common sessions) and holds
    are indexed by row."""
    m = len(rows)
    at = {leg: (np.zeros(m, dtype=np.int64), np.zeros(m, dtype=np.int64)) for leg in ("long", "short")}
    ended = np.zeros(m, dtype=bool)
    held = np.zeros(m, dtype=np.int64)
    low = np.full(m, np.inf)
    high = np.full(m, -np.inf)
    lc, sc = long_code[rows], short_code[rows]
    for a, b in sorted(set(zip(lc.tolist(), sc.tolist()))):
        _, in_long, in_short = market.common(a, b)
        mine = np.flatnonzero((lc == a) & (sc == b))
        k0 = first[rows[mine]]
        k1 = k0 + hold[rows[mine]] - 1
        ended[mine] = k1 >= len(in_long)
        k1 = np.minimum(k1, len(in_long) - 1)
        held[mine] = k1 - k0 + 1
        for leg, code, local in (("long", a, in_long), ("short", b, in_short)):
            at[leg][0][mine] = market.offset[code] + local[k0]
            at[leg][1][mine] = market.offset[code] + local[k1]
        # the spread of the daily closes, common session by common session
        entry_long, entry_short = market.open[at["long"][0][mine]], market.open[at["short"][0][mine]]
        for step in range(int(held[mine].max())):
            on = step < held[mine]
            k = np.minimum(k0 + step, len(in_long) - 1)
            spread = ((market.close[market.offset[a] + in_long[k]] / entry_long - 1.0)
                      - (market.close[market.offset[b] + in_short[k]] / entry_short - 1.0)) * 100.0
            low[mine] = np.where(on, np.minimum(low[mine], spread), low[mine])
            high[mine] = np.where(on, np.maximum(high[mine], spread), high[mine])
    legs = {}
    for leg, side in (("long", 1.0), ("short", -1.0)):
        g_first, g_exit = at[leg]
        entry, exit_ = market.open[g_first], market.close[g_exit]
        # the price return of the leg's symbol at cost-adjusted fills (a short sells lower and buys back higher)
        ret = (exit_ * (1.0 - side * cost)) / (entry * (1.0 + side * cost)) - 1.0
        legs[leg] = dict(g_first=g_first, g_exit=g_exit, entry=entry, exit=exit_, ret=ret)
    lg, sh = legs["long"], legs["short"]
    exit_time = market.date(lg["g_exit"])  # the same session date for both legs
    return PairResults(
        rows=rows, status_open=ended, return_pct=100.0 * (lg["ret"] - sh["ret"]),
        long_return_pct=100.0 * lg["ret"], short_return_pct=100.0 * sh["ret"],
        long_entry_price=lg["entry"], short_entry_price=sh["entry"],
        mae_pct=np.minimum(0.0, low), mfe_pct=np.maximum(0.0, high), sessions_held=held,
        entry_time=market.date(lg["g_first"]), exit_time=exit_time,
        long_exit=(exit_time, lg["exit"], ended), short_exit=(market.date(sh["g_exit"]), sh["exit"], ended),
    )
