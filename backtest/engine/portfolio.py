"""The "follow every call" portfolio: every entered setup gets the same notional, replayed fill by fill.

Each entered trade (status ``filled`` or ``open`` with an entry) is one *leg* (two for a pair: one per
symbol) holding :data:`NOTIONAL` of its symbol, bought (or sold short) at the ledger's exact entry price
and closed at the ledger's exact exit fills, tranche by tranche. Costs move every fill against the trader
by the engine's per-side fraction, so a leg's P&L in percent of NOTIONAL is the ledger's ``return_pct``.

Every session date has two stamps (09:30 and 16:00 New York) so a trade entered at the open and closed
the same day is two orders. The equity curve is read at the 16:00 stamps: ``NOTIONAL`` x legs entered
so far + cumulative P&L, i.e. the capital a follower needed plus what it earned. A day's P&L is the
cash of the orders so far plus the open positions marked at that stamp (a symbol without a bar that day
keeps its last mark). Sharpe (252 sessions a year) and drawdown use daily returns net of new capital: a
day's P&L change divided by the capital committed that day.

Computed with numpy in memory that grows with days x symbols, never days x trades (a million trades
need a few arrays of a million). These are the definitions vectorbt's ``Portfolio.from_orders`` applies
to the same orders; ``tests/test_engine_portfolio.py`` replays them in vectorbt (the test oracle) and
checks every figure agrees.
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
    session close. ``trade_pnl`` maps setup id -> its P&L in percent of NOTIONAL (summed over a pair's
    legs; equal to the ledger's ``return_pct``). ``sharpe`` and ``max_drawdown`` (a negative percentage)
    come from ``daily_returns``: each day's P&L change over the capital committed that day.
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


@dataclasses.dataclass
class _Legs:
    """One entry per leg (a single's position, or one side of a pair), in ledger order."""

    setup_id: np.ndarray
    stance: np.ndarray
    symbol: np.ndarray
    side: np.ndarray
    entry_day: np.ndarray
    entry_price: np.ndarray


def _legs(ledger: Ledger) -> tuple[_Legs, pd.DataFrame]:
    """The legs of every entered trade and the exit fills of each (``leg`` = its position in the legs)."""
    trades = ledger.trades[entered_mask(ledger.trades)]
    pair = (trades["kind"] == "pair").to_numpy()
    stance = np.array([s if isinstance(s, str) else "unknown" for s in trades["stance"].astype(object)], dtype=object)
    parts = []
    # singles, then each pair's long and short leg, re-ordered into ledger order below
    order = np.arange(len(trades))
    for which, mask, side, symbol, price in (
            (0, ~pair, np.where(trades["direction"].to_numpy(dtype=object) == "short", -1.0, 1.0), "symbol", "entry_price"),
            (0, pair, np.ones(len(trades)), "long_symbol", "long_entry_price"),
            (1, pair, -np.ones(len(trades)), "short_symbol", "short_entry_price")):
        parts.append(dict(rank=order[mask] * 2 + which, setup_id=trades["setup_id"].to_numpy(dtype=object)[mask],
                          stance=stance[mask], symbol=trades[symbol].to_numpy(dtype=object)[mask], side=side[mask],
                          entry_day=trades["entry_time"].to_numpy(dtype="datetime64[ns]")[mask],
                          entry_price=trades[price].to_numpy(dtype=np.float64)[mask],
                          leg_name=np.full(int(mask.sum()), "single" if symbol == "symbol" else symbol.split("_")[0],
                                           dtype=object)))
    merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    sort = np.argsort(merged["rank"], kind="stable")
    merged = {k: v[sort] for k, v in merged.items()}
    legs = _Legs(**{k: merged[k] for k in ("setup_id", "stance", "symbol", "side", "entry_day", "entry_price")})
    # exit fills joined to their leg by (setup id, leg name)
    key = pd.MultiIndex.from_arrays([merged["setup_id"], merged["leg_name"]])
    exits = ledger.exits
    at = key.get_indexer(pd.MultiIndex.from_arrays([exits["setup_id"].to_numpy(dtype=object),
                                                     exits["leg"].to_numpy(dtype=object)]))
    fills = pd.DataFrame({"leg": at, "day": exits["time"].to_numpy(dtype="datetime64[ns]"),
                          "price": exits["price"].to_numpy(dtype=np.float64),
                          "fraction": exits["fraction"].to_numpy(dtype=np.float64)})
    return legs, fills[fills["leg"] >= 0]


def follow_every_call(ledger: Ledger, bars: BarSet | None = None) -> PortfolioView:
    """The follow-every-call view of ``ledger`` (see the module docstring); ``bars`` default to the
    ledger's own (the bars the engine used)."""
    bars = ledger.bars if bars is None else bars
    cost = cost_fraction(ledger.config.commission_bps, ledger.config.slippage_bps)
    legs, fills = _legs(ledger)
    if not len(legs.setup_id):
        empty = pd.Series(dtype=float)
        return PortfolioView(empty, math.nan, 0.0, 0.0, 0, {}, empty)
    symbols = sorted(set(legs.symbol))
    days = pd.DatetimeIndex(sorted(set().union(*(bars[s].frame.index for s in symbols)))).as_unit("ns")
    n_days = len(days)
    # marks per symbol at every stamp (2 per day: the open, then the close), carried over days without a bar
    marks = np.empty((len(symbols), 2 * n_days))
    for k, symbol in enumerate(symbols):
        frame = bars[symbol].frame
        at = days.get_indexer(frame.index.as_unit("ns"))
        row = np.full(2 * n_days, np.nan)
        row[2 * at], row[2 * at + 1] = frame["open"].to_numpy(), frame["close"].to_numpy()
        marks[k] = pd.Series(row).ffill().bfill().to_numpy()
    symbol_of = pd.Index(symbols).get_indexer(legs.symbol)
    entry_stamp = 2 * days.get_indexer(pd.DatetimeIndex(legs.entry_day))
    units = NOTIONAL / (legs.entry_price * (1.0 + legs.side * cost))

    # exit orders: the fills of one leg in one session are one order at their fraction-weighted price
    fills = fills.assign(stamp=2 * days.get_indexer(pd.DatetimeIndex(fills["day"])) + 1,
                         weighted=fills["price"] * fills["fraction"])
    grouped = fills.groupby(["leg", "stamp"], sort=True).agg(fraction=("fraction", "sum"), weighted=("weighted", "sum"))
    x_leg = grouped.index.get_level_values("leg").to_numpy()
    x_stamp = grouped.index.get_level_values("stamp").to_numpy()
    x_fraction = grouped["fraction"].to_numpy()
    x_price = grouped["weighted"].to_numpy() / x_fraction
    side = legs.side
    x_size = -side[x_leg] * units[x_leg] * x_fraction
    x_fill = x_price * (1.0 - side[x_leg] * cost)  # slippage against the trader: a sell lower, a buy higher
    e_size = side * units
    e_fill = legs.entry_price * (1.0 + side * cost)

    # trade P&L per leg (exit by exit, on the entry fill), in % of NOTIONAL, summed per setup in ledger order
    leg_pnl = np.zeros(len(side))
    np.add.at(leg_pnl, x_leg, side[x_leg] * (units[x_leg] * x_fraction) * (x_fill - e_fill[x_leg]))
    trade_pnl = pd.Series(leg_pnl / NOTIONAL * 100.0, index=legs.setup_id).groupby(level=0, sort=False).sum()

    def curve(mask: np.ndarray) -> tuple[pd.Series, pd.Series]:
        """(capital committed, cumulative P&L) of some legs at each session close, from their first entry."""
        cash = np.zeros(2 * n_days)
        np.add.at(cash, entry_stamp[mask], -e_size[mask] * e_fill[mask])
        x_mask = mask[x_leg]
        np.add.at(cash, x_stamp[x_mask], -x_size[x_mask] * x_fill[x_mask])
        held = np.zeros((len(symbols), 2 * n_days))
        np.add.at(held, (symbol_of[mask], entry_stamp[mask]), e_size[mask])
        np.add.at(held, (symbol_of[x_leg[x_mask]], x_stamp[x_mask]), x_size[x_mask])
        pnl_path = np.cumsum(cash) + (np.cumsum(held, axis=1) * marks).sum(axis=0)
        closes = np.arange(1, 2 * n_days, 2)
        entered_by = np.searchsorted(np.sort(entry_stamp[mask]), closes, side="right")
        capital = pd.Series(NOTIONAL * entered_by.astype(float), index=days)
        pnl = pd.Series(pnl_path[closes], index=days)
        live = capital.to_numpy() > 0
        return capital[live], pnl[live]

    everything = np.ones(len(side), dtype=bool)
    capital, pnl = curve(everything)
    sharpe, mdd, daily = _stats(capital, pnl)
    stances = {}
    for stance in sorted(set(legs.stance)):
        mine = legs.stance == stance
        s_capital, s_pnl = curve(mine)
        s_sharpe, s_mdd, _ = _stats(s_capital, s_pnl)
        ids = list(dict.fromkeys(legs.setup_id[mine]))  # ledger order (a set's order would vary the float sum)
        stances[str(stance)] = StanceStats(s_capital + s_pnl, s_sharpe, s_mdd, float(trade_pnl[ids].sum()), len(ids))
    return PortfolioView(equity=capital + pnl, sharpe=sharpe, max_drawdown=mdd,
                         total_return_pct=float(trade_pnl.sum()), trades=len(trade_pnl), per_stance=stances,
                         trade_pnl=trade_pnl, daily_returns=daily)
