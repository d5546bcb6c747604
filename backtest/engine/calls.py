"""Directional calls, all at once: each article's stance on each of its subject symbols over each horizon.

Independently of levels (``docs/semantics.md`` section 10): bullish is a long call, bearish a short one,
neutral is reported only. The window of horizon ``h`` runs from the open of the first eligible session
to the close ``h - 1`` sessions later; the benchmark is measured over its own first eligible session and
``h`` sessions. One row per article x subject symbol x horizon, in publication order, subjects as listed,
horizons as configured; rows are built from whole columns (no lookup per article, symbol and horizon).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..setups.table import SetupTable
from .config import SimConfig
from .ledger import CALLS
from .market import Market

_DIRECTION = {"bullish": "long", "bearish": "short"}
_NAT = np.iinfo(np.int64).min


def directional_calls(table: SetupTable, market: Market, config: SimConfig) -> tuple[pd.DataFrame, list[str]]:
    """The calls table and the subject symbols that had no bars (in the order first met)."""
    articles = table.articles
    stance = articles["stance"].to_numpy(dtype=object)
    subject = articles["subject"].to_numpy(dtype=object)
    has_stance = np.array([isinstance(s, str) for s in stance], dtype=bool)
    article_rows, ranks, symbols = [], [], []
    for a in np.flatnonzero(has_stance):
        for rank, symbol in enumerate(subject[a]):
            article_rows.append(a), ranks.append(rank), symbols.append(symbol)
    article_rows = np.array(article_rows, dtype=np.int64)
    ranks = np.array(ranks, dtype=np.int64)
    symbols = np.array(symbols, dtype=object)
    codes = market.codes(symbols) if len(symbols) else np.empty(0, dtype=np.int64)
    missing = list(dict.fromkeys(symbols[codes < 0])) if len(symbols) else []

    published = table.article_published_ns()[article_rows] if len(article_rows) else np.empty(0, dtype=np.int64)
    dated = published != _NAT
    start = _starts(market, codes, published, dated)
    bench_code = market.codes([config.benchmark])[0]
    bench_start = _starts(market, np.full(len(codes), bench_code), published, dated)

    horizons = np.array(config.horizons, dtype=np.int64)
    m, k = len(codes), len(horizons)
    rep = np.repeat(np.arange(m), k)  # row-major: one symbol's horizons together
    h = np.tile(horizons, m)
    code, first = codes[rep], start[rep]
    has_start = first >= 0
    offset = market.offset_of(code)
    length = market.length_of(code)
    end = first + h - 1
    has_end = has_start & (end < length)
    start_price = _take(market.open, offset + first, has_start)
    end_price = _take(market.close, offset + end, has_end)
    ret = (end_price / start_price - 1.0) * 100.0

    b_first = bench_start[rep]
    if bench_code >= 0:
        b_off, b_len = market.offset[bench_code], market.length[bench_code]
        b_end = b_first + h - 1
        b_has = (b_first >= 0) & (b_end < b_len)
        b_ret = (_take(market.close, b_off + b_end, b_has) / _take(market.open, b_off + b_first, b_has) - 1.0) * 100.0
    else:
        b_has = np.zeros(len(rep), dtype=bool)
        b_ret = np.full(len(rep), np.nan)
    direction = np.array([_DIRECTION.get(stance[a], "neutral") for a in article_rows], dtype=object)[rep] \
        if len(rep) else np.empty(0, dtype=object)
    sign = np.where(direction == "short", -1.0, 1.0)
    scored = has_end & b_has
    excess = np.where(scored, sign * (ret - b_ret), np.nan)
    hit = pd.array(np.where(has_end & (direction != "neutral"), sign * ret > 0, False), dtype="boolean")
    hit[~(has_end & (direction != "neutral"))] = pd.NA
    frame = CALLS.frame({
        "article_id": articles["article_id"].to_numpy(dtype=object)[article_rows][rep],
        "stance": stance[article_rows][rep], "symbol": symbols[rep], "direction": direction, "horizon": h,
        "start_time": market.date(np.where(has_start, offset + first, -1)), "start_price": start_price,
        "end_time": market.date(np.where(has_end, offset + end, -1)), "end_price": end_price,
        "return_pct": np.where(has_end, ret, np.nan), "benchmark_return_pct": np.where(scored, b_ret, np.nan),
        "excess_pct": excess, "hit": hit, "primary": ranks[rep] == 0,
    }, length=len(rep))
    return frame, missing


def _take(values: np.ndarray, index: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``values[index]`` where ``mask``, NaN elsewhere (safe when ``values`` is empty)."""
    out = np.full(len(index), np.nan)
    if mask.any():
        out[mask] = values[index[mask]]
    return out


def _starts(market: Market, codes: np.ndarray, published: np.ndarray, dated: np.ndarray) -> np.ndarray:
    """Local position of each call's first eligible session; -1 without a series, a date or a session."""
    out = np.full(len(codes), -1, dtype=np.int64)
    ok = (codes >= 0) & dated
    if ok.any():
        first = market.first_after(np.where(ok, codes, -1), published)
        found = ok & (first < market.length_of(codes))
        out[found] = first[found]
    return out
