"""Directional calls, all at once: each article's stance on each of its subject symbols over each horizon.

Independently of levels (``docs/semantics.md`` section 10): bullish is a long call, bearish a short one,
neutral is reported only. The window of horizon ``h`` runs from the open of the first eligible session
(``delay`` sessions of the symbol later when acting late) to the close ``h - 1`` sessions later; the
benchmark is measured over **the same session dates** (its open on the window's first date, its close on
the window's last), so a call and its benchmark never cover different markets. A symbol whose first bar
after publication comes :data:`~backtest.engine.market.LATE_START_SESSIONS` or more XNYS sessions late is
not measured (as a setup would be refused). Every row that has no excess says why (``reason``). One row
per article x subject symbol x horizon, in publication order, subjects as listed, horizons as
configured; rows are built from whole columns (no lookup per article, symbol and horizon).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..setups.table import SetupTable
from .config import SimConfig
from .ledger import CALLS
from .market import LATE_START_SESSIONS, Market

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
    start, why, late_by = _starts(market, codes, published, dated, config.delay)
    bench_code = market.codes([config.benchmark])[0]

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

    # the benchmark over the same session dates: its bars on the window's first and last dates
    start_day = market.date(np.where(has_start, offset + first, -1))
    end_day = market.date(np.where(has_end, offset + end, -1))
    b_has = np.zeros(len(rep), dtype=bool)
    b_ret = np.full(len(rep), np.nan)
    b_first = b_last = np.full(len(rep), -1, dtype=np.int64)
    if bench_code >= 0:
        b_off, b_len = market.offset[bench_code], market.length[bench_code]
        b_first = _exact(market.dates[b_off:b_off + b_len], start_day)
        b_last = _exact(market.dates[b_off:b_off + b_len], end_day)
        b_has = has_end & (b_first >= 0) & (b_last >= 0)
        b_ret = (_take(market.close, b_off + b_last, b_has) / _take(market.open, b_off + b_first, b_has) - 1.0) * 100.0
    direction = np.array([_DIRECTION.get(stance[a], "neutral") for a in article_rows], dtype=object)[rep] \
        if len(rep) else np.empty(0, dtype=object)
    sign = np.where(direction == "short", -1.0, 1.0)
    scored = has_end & b_has
    excess = np.where(scored, sign * (ret - b_ret), np.nan)
    hit = pd.array(np.where(has_end & (direction != "neutral"), sign * ret > 0, False), dtype="boolean")
    hit[~(has_end & (direction != "neutral"))] = pd.NA
    reason = _reasons(why[rep], late_by[rep], has_start, has_end, b_has, b_first, b_last, symbols[rep], h,
                      start_day, market, code, config, bench_code)
    frame = CALLS.frame({
        "article_id": articles["article_id"].to_numpy(dtype=object)[article_rows][rep],
        "stance": stance[article_rows][rep], "symbol": symbols[rep], "direction": direction, "horizon": h,
        "start_time": market.date(np.where(has_start, offset + first, -1)), "start_price": start_price,
        "end_time": market.date(np.where(has_end, offset + end, -1)), "end_price": end_price,
        "return_pct": np.where(has_end, ret, np.nan), "benchmark_return_pct": np.where(scored, b_ret, np.nan),
        "excess_pct": excess, "hit": hit, "primary": ranks[rep] == 0, "reason": reason,
    }, length=len(rep))
    return frame, missing


def _take(values: np.ndarray, index: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``values[index]`` where ``mask``, NaN elsewhere (safe when ``values`` is empty)."""
    out = np.full(len(index), np.nan)
    if mask.any():
        out[mask] = values[index[mask]]
    return out


#: Why a call has no start (``_starts``' codes).
_OK, _UNDATED, _NO_SERIES, _AFTER_END, _LATE, _DELAY = range(6)


def _starts(market: Market, codes: np.ndarray, published: np.ndarray, dated: np.ndarray,
            delay: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(local position of each call's first eligible session, delay included, or -1; why there is none
    (``_OK`` ...); XNYS sessions between publication and the first bar after it)."""
    out = np.full(len(codes), -1, dtype=np.int64)
    why = np.where(dated, np.where(codes >= 0, _OK, _NO_SERIES), _UNDATED).astype(np.int8)
    late_by = np.zeros(len(codes), dtype=np.int64)
    ok = why == _OK
    if ok.any():
        first = market.first_after(np.where(ok, codes, -1), published)
        length = market.length_of(codes)
        why[ok & (first >= length)] = _AFTER_END
        ok &= first < length
        if ok.any():
            late_by[ok] = market.sessions_between(published[ok], market.open_ns[market.offset_of(codes[ok]) + first[ok]])
        why[ok & (late_by >= LATE_START_SESSIONS)] = _LATE
        ok &= late_by < LATE_START_SESSIONS
        first = first + delay
        why[ok & (first >= length)] = _DELAY
        ok &= first < length
        out[ok] = first[ok]
    return out, why, late_by


def _exact(dates: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Position of each of ``days`` in the sorted ``dates`` (-1 where it is not one of them, or NaT)."""
    out = np.full(len(days), -1, dtype=np.int64)
    if not len(dates):
        return out
    at = np.minimum(np.searchsorted(dates, days), len(dates) - 1)
    found = ~np.isnat(days) & (dates[at] == days)
    out[found] = at[found]
    return out


def _reasons(why, late_by, has_start, has_end, b_has, b_first, b_last, symbols, h, start_day, market, code, config,
             bench_code) -> np.ndarray:
    """Why each call row has no excess (None where it has one); formatted only for the rows that need it."""
    out = np.full(len(why), None, dtype=object)
    benchmark = config.benchmark
    for i in np.flatnonzero(~b_has):
        symbol, w = symbols[i], why[i]
        if w == _UNDATED:
            text = "the article has no publication date"
        elif w == _NO_SERIES:
            text = f"no {symbol} bars were loaded"
        elif w == _AFTER_END:
            text = f"no {symbol} session after publication in the data"
        elif w == _LATE:
            text = (f"no {symbol} bar within {LATE_START_SESSIONS} sessions after publication ({late_by[i]} sessions "
                    "later): not measured late")
        elif w == _DELAY:
            text = f"acting {config.delay} sessions late (--delay), no {symbol} session is left in the data"
        elif not has_end[i]:
            last = market.date(market.offset[code[i]] + market.length[code[i]] - 1)
            text = f"the {h[i]}-session window is not over: the {symbol} data ends on {str(last)[:10]}"
        elif bench_code < 0:
            text = f"no {benchmark} bars were loaded: no excess"
        else:
            missing = str(start_day[i])[:10] if b_first[i] < 0 else "the window's last session"
            text = f"{benchmark} has no bar on {missing}: no excess over the same sessions"
        out[i] = text
    return out
