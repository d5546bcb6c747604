"""``simulate(setups, bars, config) -> Ledger``: the engine stage, one path for every caller.

``backtest run``, the benchmarks and the tests all come through here. The steps, each over whole
columns (no Python per setup except the reason text of refused setups):

1. :class:`~backtest.engine.market.Market`: every series in one flat array set, cut at ``--as-of``;
2. :func:`~backtest.engine.screening.screen`: unresolved, level ordering, undated, missing data, no
   session after publication, market coherence; levels converted to the bars' basis;
3. the kernel (:func:`~backtest.engine.kernel.run_kernel`, on all cores) on every single setup that
   survived, with its own ambiguity policy; the other policy's bound is re-run only for the trades where
   it can differ (entered and ``ambiguous``: a trade that met no ambiguous bar follows the same path under
   both policies);
4. pairs (:mod:`~backtest.engine.pairs`) and directional calls (:mod:`~backtest.engine.calls`);
5. the :class:`~backtest.engine.ledger.Ledger`, built through its declared schemas, in publication order.

The rules are written in ``docs/semantics.md``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..common import Skip
from ..data.bars import BarSet
from ..setups.model import SetupFile
from ..setups.table import SetupTable
from .arrays import (CANCELLED, CLOSE, EXIT_END, EXIT_STOP, EXIT_TIME, EXPIRED, FILLED, NO_DATA, OPEN, STOP_FIRST,
                     TARGET0, TARGET_FIRST, TRIGGERED, WORKING, KernelArrays, cost_fraction)
from .bounds import true_bounds
from .calls import directional_calls
from .config import SimConfig
from .ledger import EXITS, STATUSES, TRADES, Ledger
from .market import Market
from .pairs import simulate_pairs
from .screening import PENDING, R_NO_BARS, S, Screening, _day, _fmt, missing_reason, refusal_texts, screen

#: kernel status -> ledger status code
_FROM_KERNEL = {FILLED: S["filled"], OPEN: S["open"], EXPIRED: S["expired"], CANCELLED: S["cancelled"],
                NO_DATA: S["no-data"], WORKING: S["open"], TRIGGERED: S["open"]}


def exit_reason_names(codes: np.ndarray) -> np.ndarray:
    """Kernel exit-reason codes as the ledger's names (``stop``, ``time``, ``end-of-data``, ``targetN``)."""
    codes = np.asarray(codes)
    out = np.full(codes.shape, None, dtype=object)
    out[codes == EXIT_STOP] = "stop"
    out[codes == EXIT_TIME] = "time"
    out[codes == EXIT_END] = "end-of-data"
    for k in np.unique(codes[codes >= TARGET0]):
        out[codes == k] = f"target{int(k) - TARGET0 + 1}"
    return out


def simulate(setups: SetupTable | Sequence[SetupFile], bars: BarSet, config: SimConfig | None = None,
             *, threads: int | None = None) -> Ledger:
    """Simulate every setup on ``bars`` under ``config``; never drops a setup.

    ``setups`` is the setup table (:class:`~backtest.setups.table.SetupTable`), or setup files, which are
    turned into it first. Returns a :class:`~backtest.engine.ledger.Ledger` whose ``trades`` has one row
    per setup (refused ones included, with ``status`` and ``reason``), in publication order.
    ``threads``: the kernel's threads (default: every core this process may use).
    """
    from .kernel import run_kernel

    config = config or SimConfig()
    table = setups if isinstance(setups, SetupTable) else SetupTable.from_files(setups)
    market, sc, arrays, run = kernel_inputs(table, bars, config)
    cost = cost_fraction(config.commission_bps, config.slippage_bps)
    s = table.setups
    n = len(s)
    reasons = np.full(n, None, dtype=object)
    for i, text in refusal_texts(table, sc, market, config).items():
        reasons[i] = text
    status = sc.status.copy()
    out = {name: np.full(n, np.nan) for name in (
        "entry_price", "exit_price", "return_pct", "r_multiple", "mae_pct", "mfe_pct", "long_return_pct",
        "short_return_pct", "return_pct_stop_first", "return_pct_target_first", "long_entry_price",
        "short_entry_price")}
    entry_time = np.full(n, np.datetime64("NaT", "ns"))
    exit_time = entry_time.copy()
    exit_reason = np.full(n, None, dtype=object)
    held = np.zeros(n, dtype=np.int64)
    has_held = np.zeros(n, dtype=bool)
    ambiguous = np.zeros(n, dtype=bool)
    exit_parts = []  # (row, leg order, tranche, leg, fraction, time, price, reason) arrays

    # ---- singles: the kernel
    single_offset = market.offset_of(sc.code)
    single_length = market.length_of(sc.code)
    if len(run):
        res = run_kernel(arrays, cost=cost, threads=threads)
        status[run] = np.vectorize(_FROM_KERNEL.get, otypes=[np.int8])(res.status)
        entered = res.entry_bar >= 0
        rows = run[entered]
        for name in ("entry_price", "exit_price", "return_pct", "mae_pct", "mfe_pct"):
            out[name][rows] = getattr(res, name)[entered]
        entry_time[rows] = market.date(res.entry_bar[entered])
        exit_time[rows] = market.date(res.exit_bar[entered])
        exit_reason[rows] = exit_reason_names(res.exit_reason[entered])
        held[rows], has_held[rows] = res.sessions_held[entered], True
        ambiguous[rows] = res.ambiguous[entered]
        with np.errstate(invalid="ignore", divide="ignore"):
            risk = sc.sign[rows] * (res.entry_price[entered] - sc.stop[rows]) / res.entry_price[entered] * 100.0
            out["r_multiple"][rows] = np.where(risk > 0, res.return_pct[entered] / risk, np.nan)
        for bound, column in ((STOP_FIRST, "return_pct_stop_first"), (TARGET_FIRST, "return_pct_target_first")):
            values = res.return_pct.copy()
            # only an ambiguous trade under another policy can end differently (see the module docstring)
            redo = np.flatnonzero(entered & res.ambiguous & (arrays.ambiguity != bound))
            if len(redo):
                values[redo] = run_kernel(_subset(arrays, redo).with_ambiguity(bound), cost=cost,
                                          threads=threads).return_pct
            out[column][rows] = values[entered]
        _single_reasons(reasons, run, res, entered, arrays, sc, s, market, single_offset, single_length)
        # every tranche fill, in row and tranche order
        k = res.tranche_bar.shape[1]
        r_idx, t_idx = np.nonzero(np.arange(k)[None, :] < res.n_tranches[:, None])
        exit_parts.append((run[r_idx], np.zeros(len(r_idx)), t_idx + 1, np.full(len(r_idx), "single", dtype=object),
                           res.tranche_fraction[r_idx, t_idx], market.date(res.tranche_bar[r_idx, t_idx]),
                           res.tranche_price[r_idx, t_idx], exit_reason_names(res.tranche_reason[r_idx, t_idx])))

    # ---- pairs
    pairs = np.flatnonzero(sc.pair & (status == PENDING))
    first_session = np.full(n, np.datetime64("NaT", "ns"))
    if len(pairs):
        pr = simulate_pairs(pairs, sc.long_code, sc.short_code, sc.first, sc.max_hold, market, cost)
        status[pairs] = np.where(pr.status_open, S["open"], S["filled"])
        for name in ("return_pct", "long_return_pct", "short_return_pct", "long_entry_price", "short_entry_price",
                     "mae_pct", "mfe_pct"):
            out[name][pairs] = getattr(pr, name)
        out["return_pct_stop_first"][pairs] = out["return_pct_target_first"][pairs] = pr.return_pct
        entry_time[pairs] = first_session[pairs] = pr.entry_time
        exit_time[pairs] = pr.exit_time
        exit_reason[pairs] = np.where(pr.status_open, "end-of-data", "time")
        held[pairs], has_held[pairs] = pr.sessions_held, True
        for i, ended, when in zip(pairs, pr.status_open, pr.exit_time):
            if ended:
                reasons[i] = (f"still open when the data ended; marked to the {_day(when)} close (the last session "
                              "both legs traded)")
        for order, leg, (when, price, ended) in ((0, "long", pr.long_exit), (1, "short", pr.short_exit)):
            m = len(pairs)
            exit_parts.append((pairs, np.full(m, order), np.ones(m, dtype=np.int64), np.full(m, leg, dtype=object),
                               np.ones(m), when, price, np.where(ended, "end-of-data", "time").astype(object)))

    # ---- first session and reference bar of singles with a series
    live = (sc.code >= 0) & ~sc.pair
    has_first = live & (sc.first < single_length) & (status != S["no-data"])  # refused late: never placed
    first_session[has_first] = market.date(single_offset[has_first] + sc.first[has_first])
    has_ref = live & (sc.ref >= 0)
    ref_date = np.full(n, np.datetime64("NaT", "ns"))
    ref_date[has_ref] = market.date(single_offset[has_ref] + sc.ref[has_ref])
    ref_close = np.where(has_ref, sc.ref_close, np.nan)

    # ---- skips: series that could not be loaded, in the order the setups and then the calls needed them
    calls, missing_subjects = directional_calls(table, market, config)
    skipped: dict[str, Skip] = {}
    for i in np.flatnonzero(sc.reason == R_NO_BARS):
        symbol = sc.missing_symbol[i]
        skipped.setdefault(symbol, Skip(item=symbol, reason=missing_reason(symbol, market.bars.missing), kind="symbol"))
    for symbol in missing_subjects:
        reason = market.bars.missing.get(symbol) or f"no bars loaded for {symbol}"
        skipped.setdefault(symbol, Skip(item=symbol, reason=reason, kind="symbol"))

    worst, best = true_bounds(out["return_pct"], out["return_pct_stop_first"], out["return_pct_target_first"])
    article = s["article"].to_numpy()
    articles = table.articles
    kind = s["kind"].to_numpy(dtype=object)
    trades = TRADES.frame({
        "setup_id": s["setup_id"].array, "article_id": articles["article_id"].to_numpy(dtype=object)[article],
        "published": articles["published"].to_numpy(dtype=object)[article],
        "stance": articles["stance"].to_numpy(dtype=object)[article],
        "pulse": articles["pulse"].array.take(article), "threat": articles["threat"].array.take(article),
        "symbol": _display_symbols(s, kind), "direction": s["direction"].array, "kind": s["kind"].array,
        "entry_type": s["entry_type"].array, "entry_level": s["entry_level"].to_numpy(), "stop": s["stop"].to_numpy(),
        "targets": s["targets"].to_numpy(dtype=object), "status": np.array(STATUSES, dtype=object)[status],
        "reason": reasons, "entry_time": entry_time, "entry_price": out["entry_price"], "exit_time": exit_time,
        "exit_price": out["exit_price"], "exit_reason": exit_reason, "return_pct": out["return_pct"],
        "r_multiple": out["r_multiple"], "mae_pct": out["mae_pct"], "mfe_pct": out["mfe_pct"],
        "sessions_held": pd.arrays.IntegerArray(held, ~has_held), "ambiguous": ambiguous,
        "instrument": s["instrument"].array, "explicit": s["explicit"].to_numpy(), "invalidation": s["invalidation"].to_numpy(),
        "incoherent": sc.incoherent, "first_session": first_session, "ref_date": ref_date, "ref_close": ref_close,
        "long_symbol": s["long_symbol"].array, "short_symbol": s["short_symbol"].array,
        **{name: out[name] for name in ("long_return_pct", "short_return_pct", "return_pct_stop_first",
                                        "return_pct_target_first", "long_entry_price", "short_entry_price")},
        "return_pct_worst": worst, "return_pct_best": best,
        "published_basis": articles["published_basis"].to_numpy(dtype=object)[article],
        "stance_basis": articles["stance_basis"].to_numpy(dtype=object)[article],
    }, length=n)
    return Ledger(trades=trades, exits=_exits(exit_parts, s), calls=calls, coherence=sc.coherence, config=config,
                  skipped=list(skipped.values()), bars=market.bars)


def kernel_inputs(table: SetupTable, bars: BarSet, config: SimConfig) -> tuple[Market, Screening, KernelArrays, np.ndarray]:
    """The market, the screening and the kernel's inputs for every single setup that survived it (``run``:
    their rows in the table). The benchmark times the kernel on exactly these arrays."""
    market = Market.of(bars, config.as_of)
    sc = screen(table, market, config)
    run = np.flatnonzero(~sc.pair & (sc.status == PENDING))
    offset, length = market.offset_of(sc.code[run]), market.length_of(sc.code[run])
    arrays = KernelArrays.build(
        market.open, market.high, market.low, market.close, start=offset + sc.first[run], end=offset + length,
        direction=sc.sign[run], entry_type=sc.entry_type[run], entry_level=sc.entry[run], stop=sc.stop[run],
        targets=sc.targets[run], invalidation=sc.invalidation[run], entry_window=sc.entry_window[run],
        max_hold=sc.max_hold[run], scale_out=sc.scale_out[run], ambiguity=sc.ambiguity[run])
    return market, sc, arrays, run


def _subset(arrays: KernelArrays, rows: np.ndarray) -> KernelArrays:
    """The setups at ``rows`` (the bars are shared)."""
    import dataclasses

    per_setup = {f.name for f in dataclasses.fields(arrays)} - {"open", "high", "low", "close"}
    return dataclasses.replace(arrays, **{name: np.ascontiguousarray(getattr(arrays, name)[rows]) for name in per_setup})


def _display_symbols(s: pd.DataFrame, kind: np.ndarray) -> np.ndarray:
    """``IWM`` for a single, ``SPY/IWM`` (long/short) for a pair; ``?`` for a missing symbol."""
    def text(values):
        return np.array([v if isinstance(v, str) and v else "?" for v in values.to_numpy(dtype=object)], dtype=object)

    single, long_, short = text(s["symbol"]), text(s["long_symbol"]), text(s["short_symbol"])
    return np.where(kind == "pair", long_ + "/" + short, single)


def _single_reasons(reasons, run, res, entered, arrays, sc, s, market, offset, length) -> None:
    """Reasons of singles that did not enter (expired, cancelled, still working) or are still open.

    Dates and levels are formatted in bulk; only the rows that get a reason are visited."""
    rows = np.flatnonzero(~entered | (res.status == OPEN))
    if not len(rows):
        return
    i_rows = run[rows]
    status = res.status[rows]
    entry_type = s["entry_type"].to_numpy(dtype=object)[i_rows]
    entry_level = s["entry_level"].to_numpy(dtype=np.float64)[i_rows]
    invalidation = s["invalidation"].to_numpy(dtype=np.float64)[i_rows]
    direction = s["direction"].to_numpy(dtype=object)[i_rows]
    window = arrays.entry_window[rows]
    # the session each kind of reason names: the window's last, the data's last, the exit's
    at = np.where(status == EXPIRED, arrays.start[rows] + window - 1,
                  np.where(status == OPEN, res.exit_bar[rows], arrays.end[rows] - 1))
    days = np.datetime_as_string(market.date(at), unit="D")
    for k, i in enumerate(i_rows):
        code = int(status[k])
        level = "entry" if np.isnan(entry_level[k]) else f"{entry_type[k]} {_fmt(entry_level[k])}"
        if code == EXPIRED:
            if arrays.entry_type[rows[k]] == CLOSE:
                side = "above" if direction[k] == "long" else "below"
                text = (f"no session closed at or {side} {_fmt(entry_level[k])} within {int(window[k])} sessions "
                        f"(through {days[k]})")
            else:
                text = f"{level} not reached within {int(window[k])} sessions (through {days[k]})"
        elif code == CANCELLED:
            text = f"invalidation {_fmt(invalidation[k])} touched before the entry filled"
        elif code == WORKING:
            text = f"{level} still working when the data ended ({days[k]})"
        elif code == TRIGGERED:
            text = (f"close {_fmt(entry_level[k])} triggered on {days[k]}, the last session "
                    "in the data; it fills at the next session's open")
        elif code == OPEN:
            text = f"still open when the data ended; marked to the {days[k]} close"
        else:
            continue
        reasons[i] = f"{reasons[i]}; {text}" if reasons[i] else text


def _exits(parts: list, s: pd.DataFrame) -> pd.DataFrame:
    if not parts:
        return EXITS.empty()
    row, order, tranche, leg, fraction, time, price, reason = (np.concatenate(p) for p in zip(*parts))
    sort = np.lexsort((tranche, order, row))
    return EXITS.frame({
        "setup_id": s["setup_id"].to_numpy(dtype=object)[row[sort]], "leg": leg[sort],
        "tranche": tranche[sort].astype(np.int64), "fraction": fraction[sort].astype(np.float64),
        "time": time[sort].astype("datetime64[ns]"), "price": price[sort].astype(np.float64), "reason": reason[sort],
    })
