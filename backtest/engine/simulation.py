"""``simulate(files, bars, config) -> Ledger``: from setup rules and daily bars to the ledger.

The work is split in three:

1. **Triage, per setup** (plain Python, cheap): unresolved symbol, level-ordering problems, missing
   series, no eligible session, market coherence against the last close before publication. A refused
   setup still gets its ledger row, with a status and a one-line reason.
2. **The kernel** (:func:`backtest.engine.kernel.run_kernel`): every tradable single setup at once, on
   one flat array set of all symbols' bars. It runs three times: with each setup's own ambiguity policy
   (the reported result) and with ``stop-first`` / ``target-first`` forced (the two bounds).
3. **Pairs and directional calls**: few per article, computed directly from the bars.

The rules themselves are written in ``docs/semantics.md``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np
import pandas as pd

from ..data.bars import Bars, BarSet
from ..data.calendar import publication_instant
from ..data.splits import to_bar_basis
from ..setups.model import ArticleMeta, Setup, SetupFile
from .arrays import (AMBIGUITIES, ENTRY_TYPES, EXPIRED, CANCELLED, OPEN, SCALE_OUTS, STATUS_NAMES, STOP_FIRST,
                     TARGET_FIRST, WORKING, KernelArrays, cost_fraction, reason_name)
from .coherence import VERDICT_NAMES, enters_at_market, verdicts
from ..common import Skip
from .ledger import CALL_COLUMNS, COHERENCE_COLUMNS, EXIT_COLUMNS, TRADE_COLUMNS, Ledger, SimConfig

ATR_WINDOW = 14
_TIME_COLUMNS = ("entry_time", "exit_time", "first_session", "ref_date")


# ------------------------------------------------------------------------------------------ helpers
def published_instant(meta: ArticleMeta) -> pd.Timestamp:
    """Sort key: the publication instant in UTC (a date-only publication counts as that day's close)."""
    return publication_instant(meta.published)


def average_true_range(bars: Bars, window: int = ATR_WINDOW) -> np.ndarray:
    """Simple mean of the last ``window`` true ranges at each bar (fewer at the start of the series)."""
    high, low, close = bars.array("high"), bars.array("low"), bars.array("close")
    prev = np.concatenate(([np.nan], close[:-1]))
    tr = np.fmax(high, prev) - np.fmin(low, prev)
    return pd.Series(tr).rolling(window, min_periods=1).mean().to_numpy()


def _fmt(x: float) -> str:
    """2,670.34 / 255 / 0.5: readable numbers for one-line reasons."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:,.2f}".rstrip("0").rstrip(".") if abs(x) >= 1 else f"{x:.4g}"


def _day(ts) -> str:
    return pd.Timestamp(ts).date().isoformat()


class BySymbol(dict):
    """Symbol -> Bars that also finds ``iwm`` or `` ^rut `` (setup files are hand-edited)."""

    def key(self, symbol) -> str:
        return symbol if dict.__contains__(self, symbol) else str(symbol).strip().upper()

    def __contains__(self, symbol) -> bool:
        return symbol is not None and dict.__contains__(self, self.key(symbol))

    def __getitem__(self, symbol) -> Bars:
        return dict.__getitem__(self, self.key(symbol))

    def get(self, symbol, default=None):
        return self[symbol] if symbol in self else default


@dataclasses.dataclass
class FlatBars:
    """All symbols' bars concatenated: the kernel's price arrays plus each symbol's offset and length.

    ``open_ns`` holds each bar's session-open instant (UTC ns), for :meth:`eligible_range`.
    """

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    dates: np.ndarray  # datetime64[ns]
    open_ns: np.ndarray  # int64
    offset: dict[str, int]
    length: dict[str, int]

    @classmethod
    def of(cls, barsets: dict[str, Bars]) -> "FlatBars":
        offset, length, pos = {}, {}, 0
        parts = {k: [] for k in ("open", "high", "low", "close", "session_open_ns")}
        dates = []
        for symbol, bars in barsets.items():
            offset[symbol], length[symbol] = pos, len(bars)
            pos += len(bars)
            for k in parts:
                parts[k].append(bars.array(k))
            dates.append(bars.frame.index.as_unit("ns").to_numpy())

        def cat(arrays, dtype):
            return np.ascontiguousarray(np.concatenate(arrays) if arrays else np.empty(0, dtype), dtype=dtype)

        return cls(*(cat(parts[k], np.float64) for k in ("open", "high", "low", "close")),
                   dates=cat(dates, "datetime64[ns]"), open_ns=cat(parts["session_open_ns"], np.int64),
                   offset=offset, length=length)

    def date(self, index: int):
        return self.dates[index] if index >= 0 else np.datetime64("NaT", "ns")

    def eligible_range(self, symbols: np.ndarray, published_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectorized ``(start, end)`` kernel inputs for many setups at once.

        ``symbols``: each setup's symbol (a key of ``offset``); ``published_ns``: publication instants in
        UTC ns (for a date-only publication pass that day's close). ``start`` is the first bar whose
        session opens strictly after publication (``== end`` when there is none). One ``searchsorted``
        per symbol, none per setup.
        """
        symbols = np.asarray(symbols)
        published_ns = np.asarray(published_ns, dtype=np.int64)
        start = np.empty(len(symbols), dtype=np.int64)
        end = np.empty(len(symbols), dtype=np.int64)
        for symbol in np.unique(symbols):
            mine = symbols == symbol
            lo, n = self.offset[symbol], self.length[symbol]
            start[mine] = lo + np.searchsorted(self.open_ns[lo : lo + n], published_ns[mine], side="right")
            end[mine] = lo + n
        return start, end


# ------------------------------------------------------------------------------------------ coherence
@dataclasses.dataclass
class Coherence:
    """A setup's levels against the last close before publication."""

    rows: list[dict]
    problems: list[str]
    ref_date: object
    ref_close: float

    @property
    def incoherent(self) -> bool:
        return bool(self.problems)


def check_coherence(setup: Setup, levels: dict[str, float], written: dict[str, float], symbol: str,
                    ref_date, ref_close: float, atr: float, config: SimConfig) -> Coherence:
    """Distance of every level from the reference close, in % and ATR units, and side checks.

    ``levels`` are in the bars' basis, ``written`` as the article wrote them (shown when they differ).
    A level further than ``coherence_max_pct`` % or ``coherence_max_atr`` ATRs is ``far``. When the trade
    would enter at the market (a market entry, or a stop/limit already on the other side of the price,
    which fills at the first open), targets must lie beyond the close and the stop behind it, else
    ``wrong-side``. Either verdict makes the setup incoherent.
    """
    sign = 1.0 if setup.direction == "long" else -1.0
    at_market = bool(enters_at_market(sign, ENTRY_TYPES[setup.entry.type], levels.get("entry", math.nan), ref_close))
    rows, problems = [], []
    for name, level in levels.items():
        pct = (level / ref_close - 1.0) * 100.0
        in_atr = (level - ref_close) / atr if atr and atr > 0 else math.nan
        role = "target" if name.startswith("target") else name
        verdict = VERDICT_NAMES[int(verdicts(role, level, sign, at_market, ref_close, atr,
                                             config.coherence_max_pct, config.coherence_max_atr))]
        rows.append({"setup_id": setup.id, "symbol": symbol, "level_name": name, "level": level,
                     "ref_date": ref_date, "ref_close": ref_close, "atr14": atr, "distance_pct": pct,
                     "distance_atr": in_atr, "verdict": verdict})
        if verdict != "ok":
            shown = _fmt(written[name]) if written[name] == level else f"{_fmt(written[name])} ({_fmt(level)} after splits)"
            side = f", already on the wrong side for a {setup.direction}" if verdict == "wrong-side" else ""
            problems.append(f"{name} {shown} is {pct:+.1f} % / {in_atr:+.1f} ATR from it{side}")
    return Coherence(rows, problems, ref_date, ref_close)


def _incoherence_reason(symbol: str, coh: Coherence, config: SimConfig) -> str:
    return (f"incoherent with the market: {symbol} closed {_fmt(coh.ref_close)} on {_day(coh.ref_date)}; "
            + "; ".join(coh.problems)
            + f" (limits {config.coherence_max_pct:g} % / {config.coherence_max_atr:g} ATR)")


# ------------------------------------------------------------------------------------------ simulate
def simulate(files: Sequence[SetupFile], bars: BarSet, config: SimConfig | None = None) -> Ledger:
    """Simulate every setup of every file on ``bars`` under ``config``; never drops a setup.

    Returns a :class:`~backtest.engine.ledger.Ledger` whose ``trades`` has one row per setup (refused
    ones included, with ``status`` and ``reason``), sorted by publication instant then setup id.
    """
    config = config or SimConfig()
    usable = BySymbol({sym: b.until(config.as_of) for sym, b in bars.bars.items()})
    flat = FlatBars.of(usable)
    atr_cache: dict[str, np.ndarray] = {}
    cost = cost_fraction(config.commission_bps, config.slippage_bps)

    rows: list[dict] = []
    exits: list[dict] = []
    coherence_rows: list[dict] = []
    skipped: dict[str, Skip] = {}
    plan: list[tuple[int, dict]] = []  # (row index, kernel inputs)

    def missing(symbol: str) -> str:
        reason = bars.missing.get(symbol) or bars.missing.get(str(symbol).strip().upper()) or f"no bars loaded for {symbol}"
        skipped.setdefault(symbol, Skip(item=symbol, reason=reason, kind="symbol"))
        return reason if reason.startswith(symbol) else f"no bars for {symbol}: {reason}"

    ordered = sorted(files, key=lambda f: (published_instant(f.article), f.article.id))
    for setup_file in ordered:
        meta = setup_file.article
        for setup in sorted(setup_file.setups, key=lambda s: s.id):
            row = _base_row(meta, setup)
            rows.append(row)
            if setup.status == "unresolved":
                row.update(status="unresolved", reason=_unresolved_reason(setup))
                continue
            problems = setup.ordering_problems()
            if problems:
                row.update(status="rejected", reason="level ordering: " + "; ".join(problems))
                continue
            if setup.kind == "pair":
                _simulate_pair(row, setup, meta, usable, missing, config, cost, exits)
                continue
            symbol = setup.symbol
            if symbol not in usable:
                row.update(status="no-data", reason=missing(symbol))
                continue
            try:
                kernel_inputs = _plan_single(row, setup, meta, usable[symbol], flat.offset[usable.key(symbol)],
                                             config, atr_cache, coherence_rows)
            except (ValueError, ArithmeticError) as exc:  # e.g. a zero close in corrupt data: refuse this one only
                row.update(status="rejected", reason=f"{symbol}: could not evaluate the setup ({exc})")
                continue
            if kernel_inputs is not None:
                plan.append((len(rows) - 1, kernel_inputs))

    if plan:
        _run_singles(plan, rows, flat, exits, cost, config)
    _ensure_bounds(rows)
    calls = directional_calls(ordered, usable, bars, config, skipped)
    return Ledger(
        trades=_frame(rows, TRADE_COLUMNS, _TIME_COLUMNS),
        exits=_frame(exits, EXIT_COLUMNS, ("time",)),
        calls=_frame(calls, CALL_COLUMNS, ("start_time", "end_time")),
        coherence=_frame(coherence_rows, COHERENCE_COLUMNS, ("ref_date",)),
        config=config,
        skipped=list(skipped.values()),
    )


def _unresolved_reason(setup: Setup) -> str:
    if setup.kind == "pair":
        names = [f"{leg.instrument!r}" for leg in (setup.long, setup.short) if leg is not None and not leg.symbol]
        what = " and ".join(names) or "a leg"
        return f"pair leg {what} has no symbol (status: unresolved); set long.symbol/short.symbol in the setup file"
    return (f"instrument {setup.instrument or '(unnamed)'!r} has no symbol (status: unresolved); "
            "set symbol: in the setup file")


def _base_row(meta: ArticleMeta, setup: Setup) -> dict:
    row = dict.fromkeys(TRADE_COLUMNS)
    row.update(
        setup_id=setup.id, article_id=meta.id, published=meta.published_iso, stance=meta.stance, pulse=meta.pulse,
        threat=meta.threat, symbol=setup.display_symbol, direction=setup.direction, kind=setup.kind,
        entry_type=setup.entry.type, entry_level=setup.entry.level, stop=setup.stop,
        targets=tuple(float(t) for t in setup.targets), status=None, reason=None, ambiguous=False,
        instrument=setup.instrument, explicit=setup.explicit, invalidation=setup.invalidation, incoherent=False,
    )
    if setup.kind == "pair":
        row.update(long_symbol=setup.long.symbol, short_symbol=setup.short.symbol)  # type: ignore[union-attr]
    return row


def _plan_single(row: dict, setup: Setup, meta: ArticleMeta, b: Bars, offset: int, config: SimConfig,
                 atr_cache: dict, coherence_rows: list[dict]) -> dict | None:
    """Coherence and eligibility of one single setup: its kernel inputs, or None when refused (row updated)."""
    symbol = b.symbol
    first = b.first_session_after(meta.published)
    ref = b.last_close_index(meta.published)
    written = {"entry": setup.entry.level, "stop": setup.stop,
               **{f"target{k + 1}": t for k, t in enumerate(setup.targets)},
               "invalidation": setup.invalidation}
    written = {k: float(v) for k, v in written.items() if v is not None}
    levels = {k: to_bar_basis(v, meta.published, b) for k, v in written.items()}
    coh = None
    if ref >= 0:
        if symbol not in atr_cache:
            atr_cache[symbol] = average_true_range(b)
        ref_date = b.frame.index[ref]
        ref_close = float(b.array("close")[ref])
        row.update(ref_date=ref_date, ref_close=ref_close)
        coh = check_coherence(setup, levels, written, symbol, ref_date, ref_close, float(atr_cache[symbol][ref]), config)
        coherence_rows += coh.rows
    else:
        for name, level in levels.items():
            coherence_rows.append({"setup_id": setup.id, "symbol": symbol, "level_name": name, "level": level,
                                   "ref_date": pd.NaT, "ref_close": math.nan, "atr14": math.nan,
                                   "distance_pct": math.nan, "distance_atr": math.nan, "verdict": "no-reference"})
    if first >= len(b):
        last = b.last.isoformat() if b.last else "none"
        row.update(status="no-data", reason=_after_last_bar(symbol, meta.published_iso, last))
        return None
    row["first_session"] = b.frame.index[first]
    if coh is not None and coh.incoherent:
        text = _incoherence_reason(symbol, coh, config)
        if not config.include_incoherent:
            row.update(status="rejected", reason=text)
            return None
        row.update(incoherent=True, reason=text + " [simulated anyway: --include-incoherent]")
    return {
        "start": offset + first, "end": offset + len(b),
        "direction": 1 if setup.direction == "long" else -1,
        "entry_type": ENTRY_TYPES[setup.entry.type],
        "entry_level": levels.get("entry", math.nan),
        "stop": levels.get("stop", math.nan),
        "targets": [levels[f"target{k + 1}"] for k in range(len(setup.targets))],
        "invalidation": levels.get("invalidation", math.nan),
        "entry_window": setup.entry.window or config.entry_window,
        "max_hold": setup.max_hold or config.max_hold,
        "scale_out": SCALE_OUTS[setup.scale_out or config.scale_out],
        "ambiguity": AMBIGUITIES[setup.ambiguity or config.ambiguity],
    }


def _run_singles(plan, rows, flat: FlatBars, exits: list[dict], cost: float, config: SimConfig) -> None:
    """Build the kernel arrays for every planned setup, run the kernel, and fill the rows."""
    from .kernel import run_kernel

    n = len(plan)
    k = max((len(p["targets"]) for _, p in plan), default=0)
    targets = np.full((n, k), np.nan)
    for i, (_, p) in enumerate(plan):
        targets[i, : len(p["targets"])] = p["targets"]

    def column(name, dtype):
        return np.fromiter((p[name] for _, p in plan), dtype=dtype, count=n)

    arrays = KernelArrays.build(
        flat.open, flat.high, flat.low, flat.close,
        start=column("start", np.int64), end=column("end", np.int64), direction=column("direction", np.int8),
        entry_type=column("entry_type", np.int8), entry_level=column("entry_level", np.float64),
        stop=column("stop", np.float64), targets=targets, invalidation=column("invalidation", np.float64),
        entry_window=column("entry_window", np.int64), max_hold=column("max_hold", np.int64),
        scale_out=column("scale_out", np.int8), ambiguity=column("ambiguity", np.int8),
    )
    res = run_kernel(arrays, cost=cost)
    stop_first = run_kernel(arrays.with_ambiguity(STOP_FIRST), cost=cost).return_pct
    target_first = run_kernel(arrays.with_ambiguity(TARGET_FIRST), cost=cost).return_pct
    for i, (r, p) in enumerate(plan):
        row = rows[r]
        code = int(res.status[i])
        row["status"] = STATUS_NAMES[code]
        if res.entry_bar[i] < 0:
            window = p["entry_window"]
            level = f"{row['entry_type']} {_fmt(row['entry_level'])}" if row["entry_level"] else "entry"
            if code == EXPIRED:
                last = flat.date(p["start"] + window - 1)
                row["reason"] = _join(row["reason"], f"{level} not reached within {window} sessions (through {_day(last)})")
            elif code == CANCELLED:
                row["reason"] = _join(row["reason"], f"invalidation {_fmt(row['invalidation'])} touched before the entry filled")
            elif code == WORKING:
                row["reason"] = _join(row["reason"], f"{level} still working when the data ended ({_day(flat.date(p['end'] - 1))})")
            continue
        entry_price = float(res.entry_price[i])
        sign = float(p["direction"])
        ret = float(res.return_pct[i])
        risk = sign * (entry_price - p["stop"]) / entry_price * 100.0 if not math.isnan(p["stop"]) else math.nan
        row.update(
            entry_time=flat.date(res.entry_bar[i]), entry_price=entry_price,
            exit_time=flat.date(res.exit_bar[i]), exit_price=float(res.exit_price[i]),
            exit_reason=reason_name(int(res.exit_reason[i])), return_pct=ret,
            r_multiple=ret / risk if risk > 0 else math.nan,
            mae_pct=float(res.mae_pct[i]), mfe_pct=float(res.mfe_pct[i]),
            sessions_held=int(res.sessions_held[i]), ambiguous=bool(res.ambiguous[i]),
            return_pct_stop_first=float(stop_first[i]), return_pct_target_first=float(target_first[i]),
        )
        if code == OPEN:
            row["reason"] = _join(row["reason"], f"still open when the data ended; marked to the {_day(row['exit_time'])} close")
        for t in range(int(res.n_tranches[i])):
            exits.append({"setup_id": row["setup_id"], "leg": "single", "tranche": t + 1,
                          "fraction": float(res.tranche_fraction[i, t]), "time": flat.date(res.tranche_bar[i, t]),
                          "price": float(res.tranche_price[i, t]), "reason": reason_name(int(res.tranche_reason[i, t]))})


def _join(first: str | None, second: str) -> str:
    return f"{first}; {second}" if first else second


def _ensure_bounds(rows: list[dict]) -> None:
    """Pairs have no stop/target ambiguity: both bounds equal the return."""
    for row in rows:
        if row["kind"] == "pair" and row.get("return_pct") is not None:
            row["return_pct_stop_first"] = row["return_pct_target_first"] = row["return_pct"]


# ------------------------------------------------------------------------------------------ pairs
def _simulate_pair(row, setup: Setup, meta: ArticleMeta, usable: dict[str, Bars], missing, config: SimConfig,
                   cost: float, exits: list[dict]) -> None:
    """Both legs at the first eligible open, equal notional, held ``max_hold`` sessions (or to the data's end)."""
    legs = {"long": setup.long.symbol, "short": setup.short.symbol}  # type: ignore[union-attr]
    for leg, symbol in legs.items():
        if not symbol:
            row.update(status="unresolved", reason=f"{leg} leg has no symbol")
            return
        if symbol not in usable:
            row.update(status="no-data", reason=missing(symbol))
            return
    hold = setup.max_hold or config.max_hold
    detail = {}
    for leg, symbol in legs.items():
        b = usable[symbol]
        first = b.first_session_after(meta.published)
        if first >= len(b):
            last = b.last.isoformat() if b.last else "none"
            row.update(status="no-data", reason=_after_last_bar(symbol, meta.published_iso, last))
            return
        last_bar = first + hold - 1
        ended = last_bar >= len(b)
        exit_bar = len(b) - 1 if ended else last_bar
        opens, closes = b.array("open"), b.array("close")
        side = 1.0 if leg == "long" else -1.0
        entry, exit_ = float(opens[first]), float(closes[exit_bar])
        # the price return of the leg's symbol at cost-adjusted fills (a short sells lower and buys back higher)
        leg_return = (exit_ * (1.0 - side * cost)) / (entry * (1.0 + side * cost)) - 1.0
        detail[leg] = dict(symbol=symbol, first=first, exit_bar=exit_bar, ended=ended, entry=entry, exit=exit_,
                           ret=leg_return, path=closes[first : exit_bar + 1] / entry - 1.0,
                           dates=b.frame.index, ref=b)
    lg, sh = detail["long"], detail["short"]
    ret = 100.0 * (lg["ret"] - sh["ret"])
    n = min(len(lg["path"]), len(sh["path"]))
    spread = (lg["path"][:n] - sh["path"][:n]) * 100.0
    ended = lg["ended"] or sh["ended"]
    row.update(
        status="open" if ended else "filled", entry_time=lg["dates"][lg["first"]], first_session=lg["dates"][lg["first"]],
        exit_time=max(lg["dates"][lg["exit_bar"]], sh["dates"][sh["exit_bar"]]),
        exit_reason="end-of-data" if ended else "time", return_pct=ret,
        mae_pct=min(0.0, float(spread.min())), mfe_pct=max(0.0, float(spread.max())),
        sessions_held=int(n), long_return_pct=100.0 * lg["ret"], short_return_pct=100.0 * sh["ret"],
        long_entry_price=lg["entry"], short_entry_price=sh["entry"],
    )
    if ended:
        row["reason"] = f"still open when the data ended; marked to the {_day(row['exit_time'])} close"
    for leg, d in detail.items():
        exits.append({"setup_id": setup.id, "leg": leg, "tranche": 1, "fraction": 1.0,
                      "time": d["dates"][d["exit_bar"]], "price": d["exit"],
                      "reason": "end-of-data" if d["ended"] else "time"})


# ------------------------------------------------------------------------------------------ directional calls
def directional_calls(files: Sequence[SetupFile], usable: dict[str, Bars], bars: BarSet, config: SimConfig,
                      skipped: dict[str, Skip] | None = None) -> list[dict]:
    """Forward returns of each article's stance on its ``subject`` symbols, one row per symbol x horizon.

    The window runs from the open of the first eligible session to the close ``h - 1`` sessions later
    (``h = 1``: that session's close). ``excess_pct`` is direction-signed (positive = the call beat the
    benchmark over the same sessions); ``hit`` is NA for neutral calls and unfinished windows.
    """
    rows: list[dict] = []
    bench = usable.get(config.benchmark)
    for setup_file in files:
        meta = setup_file.article
        if not meta.subject or meta.stance is None:
            continue
        direction = {"bullish": "long", "bearish": "short"}.get(meta.stance, "neutral")
        sign = {"long": 1.0, "short": -1.0}.get(direction, 1.0)
        for rank, symbol in enumerate(meta.subject):
            b = usable.get(symbol)
            if b is None and skipped is not None:
                reason = bars.missing.get(symbol) or f"no bars loaded for {symbol}"
                skipped.setdefault(symbol, Skip(item=symbol, reason=reason, kind="symbol"))
            for h in config.horizons:
                row = dict.fromkeys(CALL_COLUMNS)
                row.update(article_id=meta.id, stance=meta.stance, symbol=symbol, direction=direction, horizon=h,
                           hit=pd.NA, primary=rank == 0)
                rows.append(row)
                window = _window(b, meta.published, h)
                if window is None:
                    continue
                start_time, start_price, end_time, end_price = window
                row.update(start_time=start_time, start_price=start_price)
                if end_time is None:
                    continue
                ret = (end_price / start_price - 1.0) * 100.0
                row.update(end_time=end_time, end_price=end_price, return_pct=ret)
                bw = _window(bench, meta.published, h)
                if bw is not None and bw[2] is not None:
                    bench_ret = (bw[3] / bw[1] - 1.0) * 100.0
                    row.update(benchmark_return_pct=bench_ret, excess_pct=sign * (ret - bench_ret))
                if direction != "neutral":
                    row["hit"] = bool(sign * ret > 0)
    return rows


def _after_last_bar(symbol: str, published: str, last) -> str:
    """Reason for a setup published after the symbol's last bar: nothing to simulate yet."""
    return (f"no {symbol} session after publication {published} (last bar {last}); "
            f"update the data (`backtest data fetch {symbol}`) or check the publication date")


def _window(b: Bars | None, published, horizon: int):
    """(start date, open, end date or None, close or None) of a forward window, or None without data."""
    if b is None:
        return None
    first = b.first_session_after(published)
    if first >= len(b):
        return None
    end = first + horizon - 1
    start_time, start_price = b.frame.index[first], float(b.array("open")[first])
    if end >= len(b):
        return start_time, start_price, None, None
    return start_time, start_price, b.frame.index[end], float(b.array("close")[end])


# ------------------------------------------------------------------------------------------ frames
def _frame(rows: list[dict], columns: Sequence[str], time_columns: Sequence[str]) -> pd.DataFrame:
    """Rows -> DataFrame with exactly ``columns``; time columns as tz-naive datetime64[ns] (NaT if none)."""
    frame = pd.DataFrame(rows, columns=list(columns))
    for name in time_columns:
        if name in frame.columns:
            frame[name] = pd.to_datetime(frame[name]).astype("datetime64[ns]") if len(frame) else \
                pd.Series([], dtype="datetime64[ns]")
    if "ambiguous" in frame.columns:
        frame["ambiguous"] = frame["ambiguous"].fillna(False).astype(bool)
    if "incoherent" in frame.columns:
        frame["incoherent"] = frame["incoherent"].fillna(False).astype(bool)
    if "sessions_held" in frame.columns:
        frame["sessions_held"] = pd.array(frame["sessions_held"], dtype="Int64")
    if "hit" in frame.columns:
        frame["hit"] = pd.array(frame["hit"], dtype="boolean")
    for name in ("return_pct", "r_multiple", "mae_pct", "mfe_pct", "entry_price", "exit_price", "ref_close",
                 "long_return_pct", "short_return_pct", "return_pct_stop_first", "return_pct_target_first",
                 "long_entry_price", "short_entry_price", "start_price", "end_price", "benchmark_return_pct",
                 "excess_pct", "price", "fraction", "invalidation", "entry_level", "stop"):
        if name in frame.columns:
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    return frame
