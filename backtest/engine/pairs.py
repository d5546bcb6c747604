"""Pair setups, all at once: long one symbol, short another, equal notional (``docs/semantics.md`` section 7).

Both legs enter at the open of their first eligible session and are closed at the close of session
``max_hold`` (or marked to the last close, status ``open``, when the data ends first). Levels are not
used. Everything is whole-column numpy over the pairs that survived screening; the spread's excursions
are walked session by session over all pairs together (memory: one vector per step, not a matrix).
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


def simulate_pairs(rows: np.ndarray, long_code: np.ndarray, short_code: np.ndarray, published_ns: np.ndarray,
                   hold: np.ndarray, market: Market, cost: float) -> PairResults:
    """Simulate the pairs at ``rows`` (codes, publication instants and holds are indexed by row)."""
    legs = {}
    for leg, codes, side in (("long", long_code[rows], 1.0), ("short", short_code[rows], -1.0)):
        first = market.first_after(codes, published_ns[rows])
        length = market.length[codes]
        last_bar = first + hold[rows] - 1
        ended = last_bar >= length
        exit_bar = np.where(ended, length - 1, last_bar)
        g_first = market.offset[codes] + first
        g_exit = market.offset[codes] + exit_bar
        entry, exit_ = market.open[g_first], market.close[g_exit]
        # the price return of the leg's symbol at cost-adjusted fills (a short sells lower and buys back higher)
        ret = (exit_ * (1.0 - side * cost)) / (entry * (1.0 + side * cost)) - 1.0
        legs[leg] = dict(g_first=g_first, g_exit=g_exit, ended=ended, entry=entry, exit=exit_, ret=ret)
    lg, sh = legs["long"], legs["short"]
    held = np.minimum(lg["g_exit"] - lg["g_first"], sh["g_exit"] - sh["g_first"]) + 1
    low = np.full(len(rows), np.inf)
    high = np.full(len(rows), -np.inf)
    for step in range(int(held.max()) if len(rows) else 0):  # the spread of the daily closes, session by session
        on = step < held
        at_l = np.where(on, lg["g_first"] + step, 0)
        at_s = np.where(on, sh["g_first"] + step, 0)
        spread = ((market.close[at_l] / lg["entry"] - 1.0) - (market.close[at_s] / sh["entry"] - 1.0)) * 100.0
        low = np.where(on, np.minimum(low, spread), low)
        high = np.where(on, np.maximum(high, spread), high)
    ended = lg["ended"] | sh["ended"]
    long_time, short_time = market.date(lg["g_exit"]), market.date(sh["g_exit"])
    return PairResults(
        rows=rows, status_open=ended, return_pct=100.0 * (lg["ret"] - sh["ret"]),
        long_return_pct=100.0 * lg["ret"], short_return_pct=100.0 * sh["ret"],
        long_entry_price=lg["entry"], short_entry_price=sh["entry"],
        mae_pct=np.minimum(0.0, low), mfe_pct=np.maximum(0.0, high), sessions_held=held,
        entry_time=market.date(lg["g_first"]), exit_time=np.maximum(long_time, short_time),
        long_exit=(long_time, lg["exit"], lg["ended"]), short_exit=(short_time, sh["exit"], sh["ended"]),
    )
