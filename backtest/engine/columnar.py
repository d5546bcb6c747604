"""Columnar fast path: a *setup table* (one row per setup) + a BarSet -> a results table, no per-setup Python.

:func:`backtest.engine.simulation.simulate` walks pydantic ``Setup`` objects and builds a dict per setup: right
for a run over a few hundred articles (it also writes one-line reasons, coherence rows and directional calls),
far too slow for a million setups in a parameter sweep. :func:`simulate_table` applies the same rules with
numpy over whole columns and calls the same kernel:

* triage in :func:`simulate`'s order: unresolved symbol, level ordering (``rejected``), pairs, missing series
  (``no-data``), split basis, market coherence against the last close before publication (``rejected``
  unless ``include_incoherent``), no eligible session (``no-data``);
* the kernel three times (each setup's policy, then both ambiguity bounds), as :func:`simulate` does;
* pairs (a few) as in :func:`simulate`: both legs at the first eligible open, equal notional.

What it does *not* produce: the one-line ``reason`` texts, the coherence rows, the exit tranches and the
directional calls (use :func:`simulate` for a report). ``tests/test_benchmark_smoke.py`` checks that statuses
and returns equal :func:`simulate`'s ledger on a synthetic corpus.

The setup table (:data:`TABLE_COLUMNS`; optional columns take the run's default when absent):

================  ==========================================================================================
setup_id          unique id
article_id        the article it came from
published         publication instant (tz-aware; a date-only publication is that day's 16:00 New York,
                  which the rules treat exactly like the date)
stance, pulse     the article's, carried into the results (optional)
kind              ``single`` (default) or ``pair``
symbol            the single's symbol (None/NaN: unresolved)
long_symbol,      a pair's legs
short_symbol
direction         +1 long, -1 short (or ``"long"``/``"short"``)
entry_type        0 market, 1 stop, 2 limit (or the names)
entry_level       NaN for market
stop              NaN: none
target1..targetK  NaN-padded on the right
invalidation      NaN: none
entry_window      sessions (0: the run's default)
max_hold          sessions (0: the run's default)
================  ==========================================================================================

Levels are in the publication-date price basis, as in setup files; split-adjusted bars are converted.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..data.bars import BarSet
from ..data.splits import split_factors
from .arrays import (AMBIGUITIES, ENTRY_TYPES, EXIT_END, EXIT_TIME, SCALE_OUTS, STOP, STOP_FIRST, TARGET0, TARGET_FIRST, KernelArrays,
                     cost_fraction)
from .ledger import SimConfig
from .coherence import OK, enters_at_market, verdicts
from .simulation import FlatBars, average_true_range

TABLE_COLUMNS = ("setup_id", "article_id", "published", "stance", "pulse", "kind", "symbol", "long_symbol",
                 "short_symbol", "direction", "entry_type", "entry_level", "stop", "target1", "target2",
                 "invalidation", "entry_window", "max_hold")

#: Columns of the results table, in order.
RESULT_COLUMNS = ("setup_id", "article_id", "published", "stance", "pulse", "kind", "symbol", "direction",
                  "entry_type", "status", "incoherent", "entry_time", "entry_price", "exit_time", "exit_price",
                  "exit_reason", "return_pct", "r_multiple", "mae_pct", "mfe_pct", "sessions_held", "ambiguous",
                  "return_pct_stop_first", "return_pct_target_first")

STATUSES = ("filled", "open", "expired", "cancelled", "rejected", "unresolved", "no-data")
_S = {name: code for code, name in enumerate(STATUSES)}
# kernel status -> results status
_FROM_KERNEL = np.array([_S["filled"], _S["open"], _S["expired"], _S["cancelled"], _S["no-data"], _S["open"]],
                        dtype=np.int8)
_REASONS = ("", "stop", "time", "end-of-data")


def setup_table(files) -> pd.DataFrame:
    """The setup table of parsed setup files (``SetupFile`` objects), e.g. to sweep options over a corpus."""
    from .simulation import published_instant

    rows = []
    k = max((len(s.targets) for f in files for s in f.setups), default=0)
    for f in files:
        meta = f.article
        instant = published_instant(meta)
        for s in f.setups:
            row = {"setup_id": s.id, "article_id": meta.id, "published": instant, "stance": meta.stance,
                   "pulse": meta.pulse, "kind": s.kind,
                   "symbol": s.symbol if s.status == "ok" else None,
                   "long_symbol": s.long.symbol if s.long else None, "short_symbol": s.short.symbol if s.short else None,
                   "direction": 1 if s.direction == "long" else -1, "entry_type": ENTRY_TYPES[s.entry.type],
                   "entry_level": s.entry.level, "stop": s.stop, "invalidation": s.invalidation,
                   "entry_window": s.entry.window or 0, "max_hold": s.max_hold or 0,
                   "scale_out": s.scale_out, "ambiguity": s.ambiguity}
            for j in range(max(k, 1)):
                row[f"target{j + 1}"] = s.targets[j] if j < len(s.targets) else None
            rows.append(row)
    frame = pd.DataFrame(rows)
    for name in ("entry_level", "stop", "invalidation") + tuple(c for c in frame.columns if c.startswith("target")):
        if name in frame.columns:
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    if len(frame):
        frame["published"] = pd.to_datetime(frame["published"], utc=True)
    return frame


def _codes(values: pd.Series, mapping: dict, default: int, dtype) -> np.ndarray:
    """Integer codes from a column of codes or names (missing -> ``default``)."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        return np.array(values.fillna(default), dtype=dtype)
    return np.array(values.map(mapping).fillna(default), dtype=dtype)


def _instants_ns(published: pd.Series) -> np.ndarray:
    idx = pd.DatetimeIndex(published)
    if idx.tz is None:
        raise ValueError("setup table: `published` must be timezone-aware")
    return idx.tz_convert("UTC").as_unit("ns").asi8


def simulate_table(table: pd.DataFrame, bars: BarSet, config: SimConfig | None = None) -> pd.DataFrame:
    """Simulate every row of a setup table; one result row per input row, in the same order (see module doc)."""
    from .kernel import run_kernel

    config = config or SimConfig()
    n = len(table)
    usable = {sym: b.until(config.as_of) for sym, b in bars.bars.items()}
    names = list(usable)
    flat = FlatBars.of(usable)
    lengths = np.array([len(usable[s]) for s in names], dtype=np.int64)
    offsets = np.array([flat.offset[s] for s in names], dtype=np.int64)
    cost = cost_fraction(config.commission_bps, config.slippage_bps)

    def column(name, default=np.nan, dtype=np.float64):
        if name in table.columns:
            return np.array(pd.to_numeric(table[name], errors="coerce").fillna(default), dtype=dtype)  # a copy
        return np.full(n, default, dtype=dtype)

    def symbol_codes(name):
        if name not in table.columns:
            return np.full(n, -2, dtype=np.int64)
        raw = table[name]
        known = raw.where(raw.isna() | raw.isin(names), raw.astype(str).str.strip().str.upper())
        codes = pd.Index(names, dtype=object).get_indexer(known.astype(object)).astype(np.int64)
        codes[raw.isna().to_numpy()] = -2  # -2: no symbol (unresolved), -1: symbol without bars
        return codes

    kind_pair = (table["kind"].to_numpy() == "pair") if "kind" in table.columns else np.zeros(n, dtype=bool)
    sign = _codes(table["direction"], {"long": 1, "short": -1}, 1, np.int8) if "direction" in table.columns \
        else np.ones(n, dtype=np.int8)
    etype = _codes(table["entry_type"], ENTRY_TYPES, 0, np.int8) if "entry_type" in table.columns \
        else np.zeros(n, dtype=np.int8)
    entry, stop, inv = column("entry_level"), column("stop"), column("invalidation")
    target_names = sorted((c for c in table.columns if re.fullmatch(r"target\d+", c)), key=lambda c: int(c[6:]))
    targets = np.column_stack([column(c) for c in target_names]) if target_names else np.full((n, 0), np.nan)
    window = column("entry_window", 0, np.int64)
    window[window <= 0] = config.entry_window
    hold = column("max_hold", 0, np.int64)
    hold[hold <= 0] = config.max_hold
    scale = _codes(table["scale_out"], SCALE_OUTS, SCALE_OUTS[config.scale_out], np.int8) \
        if "scale_out" in table.columns else np.full(n, SCALE_OUTS[config.scale_out], dtype=np.int8)
    policy = _codes(table["ambiguity"], AMBIGUITIES, AMBIGUITIES[config.ambiguity], np.int8) \
        if "ambiguity" in table.columns else np.full(n, AMBIGUITIES[config.ambiguity], dtype=np.int8)
    pub = _instants_ns(table["published"])
    sym = symbol_codes("symbol")

    status = np.full(n, -1, dtype=np.int8)  # -1: not decided yet
    incoherent = np.zeros(n, dtype=bool)
    single = ~kind_pair

    # 1. unresolved singles
    status[single & (sym == -2)] = _S["unresolved"]
    # 2. level ordering (on the written levels, like Setup.ordering_problems)
    s = sign.astype(np.float64)
    with np.errstate(invalid="ignore"):
        bad = s * (entry - stop) <= 0
        bad |= (s[:, None] * (targets - entry[:, None]) <= 0).any(axis=1)
        bad |= (s[:, None] * (targets - stop[:, None]) <= 0).any(axis=1)
        if targets.shape[1] > 1:
            bad |= (s[:, None] * np.diff(targets, axis=1) <= 0).any(axis=1)
        bad |= (etype == STOP) & (s * (entry - inv) <= 0)
    status[single & (status < 0) & bad] = _S["rejected"]
    # 3. pairs are handled at the end; 4. singles without bars
    status[single & (status < 0) & (sym == -1)] = _S["no-data"]

    # 5. per symbol: first eligible bar, reference close, split factor, ATR
    live = np.flatnonzero(single & (status < 0))
    first = np.zeros(n, dtype=np.int64)
    ref = np.full(n, -1, dtype=np.int64)
    factor = np.ones(n)
    ref_close = np.full(n, np.nan)
    atr = np.full(n, np.nan)
    order = live[np.argsort(sym[live], kind="stable")]
    bounds = np.searchsorted(sym[order], np.arange(len(names) + 1))
    for code, symbol in enumerate(names):
        rows = order[bounds[code]:bounds[code + 1]]
        if len(rows) == 0:
            continue
        b = usable[symbol]
        opens_ns, closes_ns = b.array("session_open_ns"), b.array("session_close_ns")
        first[rows] = np.searchsorted(opens_ns, pub[rows], side="right")
        ref[rows] = np.searchsorted(closes_ns, pub[rows], side="right") - 1
        factor[rows] = split_factors(pub[rows], b)
        has_ref = ref[rows] >= 0
        ref_close[rows[has_ref]] = b.array("close")[ref[rows[has_ref]]]
        atr[rows[has_ref]] = average_true_range(b)[ref[rows[has_ref]]]
    entry_b, stop_b, inv_b = entry / factor, stop / factor, inv / factor
    targets_b = targets / factor[:, None]

    # 6. coherence against the reference close (only where there is one): the rule is in engine/coherence.py
    at_market = enters_at_market(s, etype, entry_b, ref_close)
    limits = (config.coherence_max_pct, config.coherence_max_atr)
    bad = np.zeros(n, dtype=bool)
    for role, level in (("entry", entry_b), ("stop", stop_b), ("invalidation", inv_b),
                        *(("target", targets_b[:, j]) for j in range(targets_b.shape[1]))):
        bad |= verdicts(role, level, s, at_market, ref_close, atr, *limits) != OK
    bad &= ref >= 0
    bad[status >= 0] = False
    bad[kind_pair] = False
    # 7. no session after publication, 8. incoherent
    no_session = np.zeros(n, dtype=bool)
    no_session[live] = first[live] >= lengths[sym[live]]
    status[no_session] = _S["no-data"]
    if config.include_incoherent:  # flagged and simulated anyway (as the ledger's ``incoherent`` column)
        incoherent[bad & ~no_session] = True
    else:
        status[bad & ~no_session] = _S["rejected"]

    # 9. the kernel, on every single still undecided
    run = np.flatnonzero(single & (status < 0))
    out = {name: np.full(n, np.nan) for name in ("entry_price", "exit_price", "return_pct", "r_multiple", "mae_pct",
                                                 "mfe_pct", "return_pct_stop_first", "return_pct_target_first")}
    entry_bar = np.full(n, -1, dtype=np.int64)
    exit_bar = np.full(n, -1, dtype=np.int64)
    reason = np.zeros(n, dtype=np.int8)
    held = np.zeros(n, dtype=np.int64)
    ambiguous = np.zeros(n, dtype=bool)
    if len(run):
        code = sym[run]
        arrays = KernelArrays.build(
            flat.open, flat.high, flat.low, flat.close, start=offsets[code] + first[run],
            end=offsets[code] + lengths[code], direction=sign[run], entry_type=etype[run],
            entry_level=entry_b[run], stop=stop_b[run], targets=targets_b[run], invalidation=inv_b[run],
            entry_window=window[run], max_hold=hold[run], scale_out=scale[run], ambiguity=policy[run])
        res = run_kernel(arrays, cost=cost)
        uniform = np.all(arrays.ambiguity == arrays.ambiguity[0])
        bounds_of = {}
        for bound in (STOP_FIRST, TARGET_FIRST):  # each setup's own policy is usually the run's: reuse it
            bounds_of[bound] = res.return_pct if uniform and arrays.ambiguity[0] == bound else \
                run_kernel(arrays.with_ambiguity(bound), cost=cost).return_pct
        status[run] = _FROM_KERNEL[res.status]
        entered = res.entry_bar >= 0
        entry_bar[run] = res.entry_bar
        exit_bar[run] = res.exit_bar
        out["entry_price"][run] = res.entry_price
        out["exit_price"][run] = res.exit_price
        out["return_pct"][run] = res.return_pct
        out["mae_pct"][run] = res.mae_pct
        out["mfe_pct"][run] = res.mfe_pct
        out["return_pct_stop_first"][run] = np.where(entered, bounds_of[STOP_FIRST], np.nan)
        out["return_pct_target_first"][run] = np.where(entered, bounds_of[TARGET_FIRST], np.nan)
        reason[run] = res.exit_reason
        held[run] = res.sessions_held
        ambiguous[run] = res.ambiguous
        with np.errstate(invalid="ignore", divide="ignore"):
            risk = s[run] * (res.entry_price - stop_b[run]) / res.entry_price * 100.0
            out["r_multiple"][run] = np.where(risk > 0, res.return_pct / risk, np.nan)

    # 10. pairs: both legs at the first eligible open, equal notional, held max_hold sessions
    entry_time = flat.dates[np.maximum(entry_bar, 0)]
    entry_time[entry_bar < 0] = np.datetime64("NaT")
    exit_time = flat.dates[np.maximum(exit_bar, 0)]
    exit_time[exit_bar < 0] = np.datetime64("NaT")
    pairs = np.flatnonzero(kind_pair)
    if len(pairs):
        legs = symbol_codes("long_symbol")[pairs], symbol_codes("short_symbol")[pairs]
        _pairs(pairs, legs, usable, names, offsets, lengths, flat, pub, hold, cost, status, out, held, reason,
               entry_time, exit_time)

    # results
    exit_reason = np.array(_REASONS + tuple(f"target{k + 1}" for k in range(targets.shape[1])), dtype=object)
    reason_index = np.where(reason >= TARGET0, reason - TARGET0 + len(_REASONS), reason)
    exit_reason = _categorical(reason_index, exit_reason)

    def passthrough(name):
        return table[name].array if name in table.columns else None  # no per-row Python objects

    frame = pd.DataFrame({
        "setup_id": table["setup_id"].array,
        "article_id": table["article_id"].array,
        "published": table["published"].array,
        "stance": passthrough("stance"),
        "pulse": passthrough("pulse"),
        "kind": np.where(kind_pair, "pair", "single"),
        "symbol": passthrough("symbol"),
        "direction": np.where(sign > 0, "long", "short"),
        "entry_type": pd.Categorical.from_codes(etype, categories=["market", "stop", "limit"]),
        "status": pd.Categorical.from_codes(status, categories=list(STATUSES)),
        "incoherent": incoherent,
        "entry_time": entry_time,
        "entry_price": out["entry_price"],
        "exit_time": exit_time,
        "exit_price": out["exit_price"],
        "exit_reason": exit_reason,
        "return_pct": out["return_pct"],
        "r_multiple": out["r_multiple"],
        "mae_pct": out["mae_pct"],
        "mfe_pct": out["mfe_pct"],
        "sessions_held": pd.arrays.IntegerArray(held, held == 0),  # Int64, NA without an entry (as the ledger)
        "ambiguous": ambiguous,
        "return_pct_stop_first": out["return_pct_stop_first"],
        "return_pct_target_first": out["return_pct_target_first"],
    }, columns=list(RESULT_COLUMNS))
    return frame


def _categorical(index: np.ndarray, names: np.ndarray) -> pd.Categorical:
    """Exit-reason names from indices into ``names`` (index 0 = no exit -> missing)."""
    return pd.Categorical.from_codes(np.where(index == 0, -1, index - 1).astype(np.int64), categories=list(names[1:]))


def _pairs(rows, legs, usable, names, offsets, lengths, flat, pub, hold, cost, status, out, held, reason,
           entry_time, exit_time):
    """All pair rows at once, with the rules of :func:`backtest.engine.simulation._simulate_pair`."""
    long_code, short_code = legs
    unresolved = (long_code == -2) | ((long_code != -1) & (short_code == -2))  # legs are checked long first
    missing = ~unresolved & ((long_code == -1) | (short_code == -1))
    status[rows[unresolved]] = _S["unresolved"]
    status[rows[missing]] = _S["no-data"]
    ok = ~unresolved & ~missing
    detail = {}
    for leg, code, side in (("long", long_code, 1.0), ("short", short_code, -1.0)):
        first = np.zeros(len(rows), dtype=np.int64)
        for c in np.unique(code[ok]):
            at = ok & (code == c)
            first[at] = np.searchsorted(usable[names[c]].array("session_open_ns"), pub[rows[at]], side="right")
        length = lengths[np.maximum(code, 0)]
        offset = offsets[np.maximum(code, 0)]
        last_bar = first + hold[rows] - 1
        ended = last_bar >= length
        exit_bar = np.where(ended, length - 1, last_bar)
        detail[leg] = dict(first=first, no_session=first >= length, ended=ended, g_first=offset + first,
                           g_exit=offset + exit_bar)
    no_session = ok & (detail["long"]["no_session"] | detail["short"]["no_session"])
    status[rows[no_session]] = _S["no-data"]
    ok &= ~no_session
    rows = rows[ok]
    if len(rows) == 0:
        return
    lg = {k: v[ok] for k, v in detail["long"].items()}
    sh = {k: v[ok] for k, v in detail["short"].items()}

    def leg_return(d, side):
        entry, exit_ = flat.open[d["g_first"]], flat.close[d["g_exit"]]
        return (exit_ * (1.0 - side * cost)) / (entry * (1.0 + side * cost)) - 1.0

    ret = 100.0 * (leg_return(lg, 1.0) - leg_return(sh, -1.0))
    ended = lg["ended"] | sh["ended"]
    status[rows] = np.where(ended, _S["open"], _S["filled"])
    for name in ("return_pct", "return_pct_stop_first", "return_pct_target_first"):
        out[name][rows] = ret
    # the spread path over the sessions both legs are held: (long close / open - 1) - (short close / open - 1)
    m = np.minimum(lg["g_exit"] - lg["g_first"], sh["g_exit"] - sh["g_first"]) + 1
    steps = np.arange(int(m.max()))[None, :]
    inside = steps < m[:, None]
    path_l = flat.close[np.where(inside, lg["g_first"][:, None] + steps, 0)] / flat.open[lg["g_first"]][:, None]
    path_s = flat.close[np.where(inside, sh["g_first"][:, None] + steps, 0)] / flat.open[sh["g_first"]][:, None]
    spread = np.where(inside, ((path_l - 1.0) - (path_s - 1.0)) * 100.0, np.nan)
    out["mae_pct"][rows] = np.minimum(0.0, np.nanmin(spread, axis=1))
    out["mfe_pct"][rows] = np.maximum(0.0, np.nanmax(spread, axis=1))
    held[rows] = m
    reason[rows] = np.where(ended, EXIT_END, EXIT_TIME)
    entry_time[rows] = flat.dates[lg["g_first"]]
    exit_time[rows] = np.maximum(flat.dates[lg["g_exit"]], flat.dates[sh["g_exit"]])


__all__ = ["TABLE_COLUMNS", "RESULT_COLUMNS", "setup_table", "simulate_table"]
