"""The "follow every call" portfolio: every entered setup gets the same notional, replayed in vectorbt.

Each entered trade (status ``filled`` or ``open``) becomes its own vectorbt column (two for a pair: one per
leg) holding :data:`NOTIONAL` of its symbol, bought (or sold short) at the ledger's exact entry price and
closed at the ledger's exact exit prices, tranche by tranche. Costs are passed as vectorbt ``slippage``,
which moves each fill price against the trader by the same fraction the engine uses, so vectorbt's
trade P&L equals ``return_pct`` of the ledger (in percent of NOTIONAL) and a test checks it.

Every session date gets two timestamps (09:30 and 16:00 New York, as naive times) so that a trade
entered at the open and stopped out on the same day is two orders in two rows. The equity curve is
read at the 16:00 stamps: ``NOTIONAL`` x legs-entered-so-far + cumulative P&L, i.e. the capital a
follower needed plus what it earned. Sharpe (252 sessions a year) and drawdown use daily returns net of
new capital: a day's P&L divided by the capital committed that day.

vectorbt is imported inside :func:`follow_every_call` (it is slow to import).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from ..data.bars import BarSet
from .arrays import cost_fraction
from .ledger import Ledger, entered_mask

NOTIONAL = 100.0
_OPEN_TIME = pd.Timedelta(hours=9, minutes=30)
_CLOSE_TIME = pd.Timedelta(hours=16)


@dataclasses.dataclass
class StanceStats:
    """One sub-portfolio (all trades of articles with one stance)."""

    equity: pd.Series
    sharpe: float
    max_drawdown: float
    total_return_pct: float
    trades: int


@dataclasses.dataclass
class PortfolioView:
    """Equity curve and headline statistics of following every entered setup.

    ``equity`` is capital committed (NOTIONAL per leg entered so far) plus cumulative P&L, one value per
    session close. ``trade_pnl`` maps setup id -> vectorbt's total trade P&L for it, in percent of
    NOTIONAL (comparable with the ledger's ``return_pct``). ``sharpe`` and ``max_drawdown`` (a negative
    percentage) come from ``daily_returns``: each day's P&L over the capital committed that day.
    """

    equity: pd.Series
    sharpe: float
    max_drawdown: float
    total_return_pct: float
    trades: int
    per_stance: dict[str, StanceStats]
    trade_pnl: pd.Series
    daily_returns: pd.Series = dataclasses.field(default_factory=lambda: pd.Series(dtype=float))


def _stats(capital: pd.Series, pnl: pd.Series) -> tuple[float, float, pd.Series]:
    """(annualised Sharpe, max drawdown %, daily returns) of following the calls.

    A day's return is that day's P&L over the capital committed at its close, so money added when a new
    trade starts is not counted as a gain. The first day counts too: its P&L runs from the entry at the
    open to that close (the curve starts with no P&L). The drawdown is taken on the compounded daily returns.
    """
    if not len(pnl):
        return math.nan, 0.0, pd.Series(dtype=float)
    base = capital.to_numpy(dtype=float)
    change = np.diff(pnl.to_numpy(dtype=float), prepend=0.0)
    rets = pd.Series(np.divide(change, base, out=np.zeros(len(change)), where=base > 0), index=pnl.index)
    sd = rets.std(ddof=1) if len(rets) > 1 else 0.0
    sharpe = float(rets.mean() / sd * math.sqrt(252)) if sd > 0 else math.nan
    growth = np.cumprod(1.0 + rets.to_numpy())
    peak = np.maximum.accumulate(np.concatenate(([1.0], growth)))[1:]
    return sharpe, float(min(0.0, (growth / peak - 1.0).min()) * 100.0), rets


def _legs(ledger: Ledger) -> list[dict]:
    """One dict per vectorbt column: symbol, side, entry (time, price), exits [(time, price, fraction)]."""
    trades = ledger.trades
    # An `open` row with no entry time is an order still working when the data ended: nothing to replay.
    entered = trades[entered_mask(trades)]
    # exit fills grouped once by setup, in ledger order (not one filter of the whole exits frame per trade)
    fills: dict[str, list[tuple]] = {}
    exits = ledger.exits
    for setup_id, leg, time, px, fraction in zip(exits["setup_id"], exits["leg"], exits["time"], exits["price"],
                                                 exits["fraction"]):
        fills.setdefault(setup_id, []).append((leg, time, px, fraction))
    legs = []
    for row in entered.astype(object).to_dict("records"):
        setup_id = row["setup_id"]
        mine = fills.get(setup_id, [])
        if row["kind"] == "pair":
            for leg, side in (("long", 1.0), ("short", -1.0)):
                legs.append(dict(setup_id=setup_id, stance=row["stance"], symbol=row[f"{leg}_symbol"], side=side,
                                 entry_time=row["entry_time"], entry_price=row[f"{leg}_entry_price"],
                                 exits=[f[1:] for f in mine if f[0] == leg]))
        else:
            legs.append(dict(setup_id=setup_id, stance=row["stance"], symbol=row["symbol"],
                             side=1.0 if row["direction"] == "long" else -1.0,
                             entry_time=row["entry_time"], entry_price=row["entry_price"],
                             exits=[f[1:] for f in mine]))
    return legs


def _exit_stamp(time) -> pd.Timestamp:
    # every exit happens during or at the end of the session: stamp it at the close
    return pd.Timestamp(time) + _CLOSE_TIME


def follow_every_call(ledger: Ledger, bars: BarSet) -> PortfolioView:
    """Replay every entered setup of ``ledger`` in vectorbt (``Portfolio.from_orders``) with exact fills."""
    import vectorbt as vbt

    legs = _legs(ledger)
    cost = cost_fraction(ledger.config.commission_bps, ledger.config.slippage_bps)
    if not legs:
        empty = pd.Series(dtype=float)
        return PortfolioView(empty, math.nan, 0.0, 0.0, 0, {}, empty)
    symbols = sorted({leg["symbol"] for leg in legs})
    days = pd.DatetimeIndex(sorted(set().union(*(bars[s].frame.index for s in symbols)))).as_unit("ns")
    stamps = pd.DatetimeIndex(np.sort(np.concatenate([(days + _OPEN_TIME).to_numpy(), (days + _CLOSE_TIME).to_numpy()])))
    columns = pd.RangeIndex(len(legs))
    close = np.full((len(stamps), len(legs)), np.nan)
    size = np.full_like(close, np.nan)
    price = np.full_like(close, np.nan)
    marks: dict[str, np.ndarray] = {}  # one open/close price path per symbol, shared by all its legs
    for c, leg in enumerate(legs):
        if leg["symbol"] not in marks:
            frame = bars[leg["symbol"]].frame
            series = pd.Series(np.concatenate([frame["open"].to_numpy(), frame["close"].to_numpy()]),
                               index=np.concatenate([(frame.index + _OPEN_TIME).to_numpy(),
                                                     (frame.index + _CLOSE_TIME).to_numpy()]))
            marks[leg["symbol"]] = series.sort_index().reindex(stamps).ffill().bfill().to_numpy()
        close[:, c] = marks[leg["symbol"]]
        # units bought so that the cost-adjusted entry is exactly NOTIONAL
        units = NOTIONAL / (leg["entry_price"] * (1.0 + leg["side"] * cost))
        t0 = _row(stamps, pd.Timestamp(leg["entry_time"]) + _OPEN_TIME)
        size[t0, c] = leg["side"] * units
        price[t0, c] = leg["entry_price"]
        by_stamp: dict[pd.Timestamp, list[tuple[float, float]]] = {}
        for time, px, fraction in leg["exits"]:
            by_stamp.setdefault(_exit_stamp(time), []).append((float(px), float(fraction)))
        for stamp, fills in by_stamp.items():
            frac = sum(f for _, f in fills)
            # several tranches in one session: one order at their fraction-weighted price (same P&L)
            size[_row(stamps, stamp), c] = -leg["side"] * units * frac
            price[_row(stamps, stamp), c] = sum(p * f for p, f in fills) / frac
    close, size, price = (pd.DataFrame(a, index=stamps, columns=columns) for a in (close, size, price))
    pf = vbt.Portfolio.from_orders(close=close, size=size, price=price, slippage=cost, fees=0.0,
                                   init_cash=np.inf, cash_sharing=False, size_type="amount", direction="both")
    records = pf.trades.records
    pnl_by_col = pd.Series(records["pnl"]).groupby(records["col"].to_numpy()).sum().reindex(columns, fill_value=0.0)
    setup_ids = [leg["setup_id"] for leg in legs]
    trade_pnl = pd.Series(pnl_by_col.to_numpy() / NOTIONAL * 100.0, index=setup_ids).groupby(level=0, sort=False).sum()
    # realised + unrealised P&L per column over time; cash is infinite so use value changes of the position
    pnl_path = _pnl_paths(pf, close)
    entry_stamps = np.array([pd.Timestamp(leg["entry_time"]) + _OPEN_TIME for leg in legs], dtype="datetime64[ns]")
    at_close = stamps[stamps.time == pd.Timestamp("16:00").time()]
    pnl_at_close = pnl_path.loc[at_close]

    def curve(cols) -> tuple[pd.Series, pd.Series]:
        """(capital committed, cumulative P&L) of some columns at each session close, from their first entry."""
        entered_by = np.searchsorted(np.sort(entry_stamps[cols]), at_close.to_numpy(), side="right")
        capital = pd.Series(NOTIONAL * entered_by.astype(float), index=at_close.normalize())
        pnl = pd.Series(pnl_at_close[cols].sum(axis=1).to_numpy(), index=capital.index)
        live = capital.to_numpy() > 0
        return capital[live], pnl[live]

    capital, pnl = curve(list(columns))
    equity = capital + pnl
    sharpe, mdd, daily = _stats(capital, pnl)
    stances = {}
    # a missing stance is NaN in pandas 3's str column (truthy, and dropped by group-by): name it as stances.csv does
    stance_of = pd.Series([leg["stance"] if isinstance(leg["stance"], str) else "unknown" for leg in legs])
    for stance, idx in stance_of.groupby(stance_of).groups.items():
        cols = list(idx)
        s_capital, s_pnl = curve(cols)
        s_sharpe, s_mdd, _ = _stats(s_capital, s_pnl)
        # in ledger order: summing in a set's order made the float total depend on the hash seed
        ids = list(dict.fromkeys(legs[c]["setup_id"] for c in cols))
        stances[str(stance)] = StanceStats(s_capital + s_pnl, s_sharpe, s_mdd, float(trade_pnl[ids].sum()), len(ids))
    return PortfolioView(equity=equity, sharpe=sharpe, max_drawdown=mdd,
                         total_return_pct=float(trade_pnl.sum()), trades=len(trade_pnl), per_stance=stances,
                         trade_pnl=trade_pnl, daily_returns=daily)


def _row(stamps: pd.DatetimeIndex, stamp: pd.Timestamp) -> int:
    """Row of ``stamp`` in the order grid (every fill is on a session of its symbol, so it is there)."""
    row = stamps.get_loc(stamp)
    if not isinstance(row, (int, np.integer)):
        raise ValueError(f"fill time {stamp} is not one order stamp of the grid")
    return int(row)


def _pnl_paths(pf, close: pd.DataFrame) -> pd.DataFrame:
    """Cumulative P&L per column at every stamp: cash flows so far + position marked at the close."""
    cash_flow = pf.cash_flow(group_by=False)
    assets = pf.assets()
    return cash_flow.cumsum() + assets * close.to_numpy()
