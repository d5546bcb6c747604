"""The "follow every call" portfolio, in numpy: what a reader who took every entered setup would have earned.

Sizing (the default, ``sizing="peak"``; the alternatives and why they were not chosen are in
``docs/reports.md`` → *Research figures*):

* **Equal notional per call.** Every entered setup (a *call*) gets the same notional ``N`` (:data:`NOTIONAL`,
  100, so P&L in notional units reads as percent of one call). A single setup buys (sells short) ``N`` of
  its symbol at its cost-adjusted entry price; a pair puts ``N`` long and ``N`` short (its ``return_pct`` is
  on one leg's notional, as in the ledger) and takes one call's capital.
* **Overlapping calls do not share capital**: each live call has its own ``N``, never resized, so each
  call's P&L is exactly ``return_pct / 100 * N`` and the portfolio's P&L is the sum of the calls' P&L.
* **Capital base = peak concurrency x N**: the book holds enough cash for the largest number of calls that
  were ever live on one session (entry session to exit session, both included). Cash not in use earns
  nothing. Return on capital = total P&L / capital = ``sum(return_pct) / peak``.

The **equity curve** is the cumulative P&L marked at every session close, in percent of that capital, from
the first entry to the last exit (never past it). Daily returns are the change of the book's value
(capital + P&L) over its value at the previous close; Sharpe = mean / standard deviation x sqrt(252);
the maximum drawdown is the deepest fall of the book's value from its running peak (capital included).

**Identical calls** (:func:`identical_calls`: same kind, symbol, direction, entry rule and first eligible
session, from several entered setups) are one trade: the first (in table order) is kept, the others are
flagged ``duplicate_of`` it and left out unless ``dedupe=False``: out of the whole book, and out of a
stance's book when the first copy is from the same stance (a bearish article's copy of a neutral
article's pair stays in the bearish book).

Memory does not grow with days x trades: fills become per-leg events (units and cash at the entry and at
each exit tranche), accumulated per session into one cash array and one position array per symbol, and
positions are marked with the symbol's closes (forward-filled across sessions it did not trade). The work
is O(legs + symbols x sessions). ``vectorbt.Portfolio.from_orders`` replaying the same fills is the tests'
oracle (``tests/test_research_portfolio.py``), not a product path: vectorbt is not imported here.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from ..engine.ledger import entered_mask
from .inputs import bar_frames, positions, require_columns, stance_labels, text_values

NOTIONAL = 100.0
TRADING_DAYS = 252
SIZINGS = ("peak",)

#: Columns of the trades frame the portfolio reads.
TRADE_INPUT_COLUMNS = ("setup_id", "article_id", "stance", "kind", "symbol", "direction", "status", "entry_time",
                       "entry_price", "long_symbol", "short_symbol", "long_entry_price", "short_entry_price",
                       "return_pct", "entry_type", "entry_level", "first_session")
#: Columns of the exits frame it reads (one row per tranche; per leg for pairs: ``leg`` long/short).
EXIT_INPUT_COLUMNS = ("setup_id", "leg", "fraction", "time", "price")
#: What makes two calls identical (the trade's rule and its first eligible session).
IDENTICAL_CALL_KEY = ("kind", "symbol", "direction", "entry_type", "entry_level", "first_session")
#: Columns of :attr:`Book.curve`.
CURVE_COLUMNS = ("live_calls", "pnl", "pnl_pct", "equity")


@dataclasses.dataclass
class Book:
    """One portfolio (all calls, or one stance's).

    ``curve`` is indexed by session date, from the first entry to the last exit: ``live_calls`` (calls
    open at that session), ``pnl`` (cumulative P&L in notional units, marked at the close), ``pnl_pct``
    (``pnl`` in percent of ``capital``) and ``equity`` (``capital + pnl``). ``daily_returns`` are the
    book's value changes (see the module docstring); ``sum_of_trade_returns_pct`` is the plain sum of the
    calls' ``return_pct``, kept only to compare with the return on capital.
    """

    name: str
    calls: int
    peak_live_calls: int
    capital: float
    pnl: float
    return_on_capital_pct: float
    sum_of_trade_returns_pct: float
    sharpe: float
    max_drawdown_pct: float
    curve: pd.DataFrame
    daily_returns: pd.Series


@dataclasses.dataclass
class PortfolioResult:
    """The whole book, one book per stance, and each call's replayed P&L.

    ``call_pnl_pct``: setup id -> P&L in percent of the call's notional (equals the ledger's ``return_pct``).
    ``identical``: one row per trade, ``setup_id`` and ``duplicate_of`` (the id of the first entered setup
    it repeats, or NA; refused setups are never anyone's first copy).
    """

    total: Book
    per_stance: dict[str, Book]
    call_pnl_pct: pd.Series
    identical: pd.DataFrame
    notional: float
    cost_bps: float
    sizing: str
    dedupe: bool


# ------------------------------------------------------------------------------------------ identical calls
def identical_calls(trades: pd.DataFrame, key=IDENTICAL_CALL_KEY) -> pd.Series:
    """``duplicate_of`` per row: the ``setup_id`` of the first earlier row with the same ``key`` values.

    NA for the first of each group (and for rows without a first session: nothing to compare). Missing
    values (a market entry has no level) compare equal. "First" is the table's order: the ledger's, by
    publication then setup id. Pass ``IDENTICAL_CALL_KEY + ("stance",)`` to merge copies within a stance only.
    """
    key = tuple(key)
    require_columns(trades, ("setup_id",) + key, "trades")
    if not len(trades):
        return pd.Series([], dtype=object, name="duplicate_of")
    group = _groups(trades, key)
    setup_ids = text_values(trades["setup_id"])
    _, first = np.unique(group, return_index=True)  # each group's first row
    first_row = first[group]
    is_dup = (first_row != np.arange(len(trades))) & trades["first_session"].notna().to_numpy()
    out = np.where(is_dup, setup_ids[first_row], None)
    return pd.Series(out, index=trades.index, dtype=object, name="duplicate_of")


def _groups(frame: pd.DataFrame, key) -> np.ndarray:
    """A group number per row: rows with equal values in every ``key`` column (missing equal to missing) share
    one, as ``frame.groupby(list(key), dropna=False)`` groups them (each column factorized by the same hash
    tables, the codes combined and factorized again)."""
    combined = np.zeros(len(frame), dtype=np.int64)
    for name in key:
        codes, uniques = pd.factorize(frame[name].to_numpy(), use_na_sentinel=False)
        combined = combined * (len(uniques) + 1) + codes
        combined = pd.factorize(combined)[0]  # keep the combined codes small (no overflow)
    return combined


def duplicate_flags(trades: pd.DataFrame) -> pd.Series:
    """``duplicate_of`` for every row of ``trades``: :func:`identical_calls` among the **entered** trades only
    (a refused first copy never hides an entered second one); NA for rows not entered. Aligned with
    ``trades`` (same index); what trades.csv shows and what the portfolio and the scorecard count once."""
    out = pd.Series(None, index=trades.index, dtype=object, name="duplicate_of")
    entered_rows = entered_mask(trades).to_numpy()
    if entered_rows.any():
        out[entered_rows] = identical_calls(trades.loc[entered_rows, ["setup_id", *IDENTICAL_CALL_KEY]]).to_numpy()
    return out


# ------------------------------------------------------------------------------------------ legs and events
def _legs(trades: pd.DataFrame) -> pd.DataFrame:
    """One row per leg of each entered trade: setup_id, leg, symbol, side, entry day and price, stance."""
    pair = (trades["kind"] == "pair").to_numpy()
    single = trades[~pair]
    pairs = trades[pair]

    def text(values) -> pd.Series:  # Python strings (pandas' str dtype would convert each, for nothing)
        return pd.Series(values, dtype=object)

    frames = [pd.DataFrame({
        "setup_id": text(text_values(single["setup_id"])), "leg": text(np.full(len(single), "single", dtype=object)),
        "symbol": text(text_values(single["symbol"])),
        "side": np.where(single["direction"].to_numpy() == "short", -1.0, 1.0),
        "entry_day": single["entry_time"].to_numpy(), "entry_price": single["entry_price"].to_numpy(dtype=float),
        "stance": text(single["stance"].to_numpy(dtype=object)),
    })]
    for leg, side in (("long", 1.0), ("short", -1.0)):
        frames.append(pd.DataFrame({
            "setup_id": text(text_values(pairs["setup_id"])), "leg": text(np.full(len(pairs), leg, dtype=object)),
            "symbol": text(text_values(pairs[f"{leg}_symbol"])), "side": np.full(len(pairs), side),
            "entry_day": pairs["entry_time"].to_numpy(), "entry_price": pairs[f"{leg}_entry_price"].to_numpy(dtype=float),
            "stance": text(pairs["stance"].to_numpy(dtype=object)),
        }))
    legs = pd.concat(frames, ignore_index=True)
    legs["entry_day"] = pd.to_datetime(legs["entry_day"]).astype("datetime64[ns]").dt.normalize()
    return legs


def _exit_fills(legs: pd.DataFrame, exits: pd.DataFrame) -> pd.DataFrame:
    """The exit tranches of each leg (a single setup's exits are its one leg's, whatever their label)."""
    setup_ids = text_values(exits["setup_id"])
    leg_ids, leg_labels = legs["setup_id"].to_numpy(dtype=object), legs["leg"].to_numpy(dtype=object)
    at = {label: np.flatnonzero(leg_labels == label) for label in pd.unique(leg_labels)}  # legs by label
    single = positions(leg_ids[at["single"]], setup_ids) if "single" in at else np.full(len(setup_ids), -1)
    labels = np.where(single >= 0, "single", text_values(exits["leg"]))
    leg_no = np.full(len(setup_ids), -1, dtype=np.int64)  # the leg (setup id, label) of each fill
    for label, rows in at.items():
        mine = labels == label
        found = single[mine] if label == "single" else positions(leg_ids[rows], setup_ids[mine])
        leg_no[mine] = np.where(found >= 0, rows[np.maximum(found, 0)] if len(rows) else -1, -1)
    mine = leg_no >= 0
    fills = pd.DataFrame({"leg_no": leg_no[mine], "fraction": exits["fraction"].to_numpy(dtype=float)[mine],
                          "price": exits["price"].to_numpy(dtype=float)[mine],
                          "day": pd.DatetimeIndex(pd.to_datetime(exits["time"])).as_unit("ns").normalize()[mine]})
    without = np.flatnonzero(np.bincount(fills["leg_no"].to_numpy(), minlength=len(legs)) == 0)  # legs with no fill
    if len(without):
        leg = legs.iloc[without[0]]
        raise ValueError(f"exits: entered setup {leg['setup_id']!r} ({leg['leg']} leg) has no exit fill; "
                         "pass the ledger's exits frame with the trades")
    return fills


# ------------------------------------------------------------------------------------------ the book
def follow_every_call(trades: pd.DataFrame, exits: pd.DataFrame, bars, *, cost_bps: float = 0.0,
                      notional: float = NOTIONAL, dedupe: bool = True, sizing: str = "peak") -> PortfolioResult:
    """Replay every entered setup of ``trades`` (with its ``exits`` fills) as one book, and one per stance.

    ``cost_bps`` is the per-side cost (commission + slippage, as in ``SimConfig``), applied to every fill as
    the engine does, so each call's replayed P&L equals its ``return_pct``. ``bars`` gives each traded
    symbol's closes (for the marks).
    """
    require_columns(trades, TRADE_INPUT_COLUMNS, "trades")
    require_columns(exits, EXIT_INPUT_COLUMNS, "exits")
    if sizing not in SIZINGS:
        raise ValueError(f"sizing {sizing!r}: expected one of {', '.join(SIZINGS)}")
    entered_rows = entered_mask(trades).to_numpy()
    entered = trades[entered_rows]
    # identical among *entered* trades (a refused first copy must not hide an entered second one): the whole
    # book counts each once; a stance's book counts each once among that stance's articles
    trades = trades[list(TRADE_INPUT_COLUMNS)]  # what the book reads (rows are copied below)
    identical = pd.DataFrame({"setup_id": text_values(trades["setup_id"]),
                              "duplicate_of": duplicate_flags(trades).to_numpy()})
    cost = float(cost_bps) / 10_000.0
    if not len(entered):
        return PortfolioResult(_empty_book("all"), {}, pd.Series(dtype=float, name="pnl_pct"), identical,
                               notional, cost_bps, sizing, dedupe)
    in_total = np.ones(len(entered), dtype=bool)
    in_stance = np.ones(len(entered), dtype=bool)
    if dedupe:
        in_total = identical_calls(entered).isna().to_numpy()
        in_stance = identical_calls(entered, IDENTICAL_CALL_KEY + ("stance",)).isna().to_numpy()
    entered = entered[in_total | in_stance]
    in_total, in_stance = in_total[in_total | in_stance], in_stance[in_total | in_stance]

    legs = _legs(entered)
    fills = _exit_fills(legs, exits)
    frames = bar_frames({s: bars[s] for s in legs["symbol"].unique() if s in bars})
    absent = sorted(set(legs["symbol"]) - set(frames))
    if absent:
        raise ValueError(f"bars: no closes for {', '.join(absent)} (needed to mark the calls on them)")

    side = legs["side"].to_numpy()
    units = side * notional / (legs["entry_price"].to_numpy() * (1.0 + side * cost))  # signed
    leg_of = fills["leg_no"].to_numpy()
    fill_units = -units[leg_of] * fills["fraction"].to_numpy()
    fill_cash = units[leg_of] * fills["fraction"].to_numpy() * fills["price"].to_numpy() * (1.0 - side[leg_of] * cost)
    entry_cash = -units * legs["entry_price"].to_numpy() * (1.0 + side * cost)

    # each call's P&L straight from its fills (the curve's end must agree with it)
    call_pnl = pd.Series(np.bincount(leg_of, weights=fill_cash, minlength=len(legs)) + entry_cash,
                         index=legs["setup_id"].to_numpy()).groupby(level=0, sort=False).sum() / notional * 100.0

    first, last = legs["entry_day"].min(), pd.Timestamp(fills["day"].max())
    days = pd.DatetimeIndex(np.unique(np.concatenate([f.index[(f.index >= first) & (f.index <= last)].asi8
                                                      for f in frames.values()])).view("datetime64[ns]"))
    entry_pos = _positions(days, legs["entry_day"].to_numpy(), "entry")
    fill_pos = _positions(days, fills["day"].to_numpy(), "exit")

    # books: one per stance, then the whole book; a leg belongs to one or two of them
    stance = stance_labels(legs["stance"])
    names = sorted(stance.unique())
    stance_code = pd.Categorical(stance, categories=names).codes.astype(np.int64)
    entered_ids = text_values(entered["setup_id"])
    leg_row = positions(entered_ids, legs["setup_id"].to_numpy(dtype=object))
    member_leg = np.concatenate([np.flatnonzero(in_stance[leg_row]), np.flatnonzero(in_total[leg_row])])
    member_book = np.concatenate([stance_code[in_stance[leg_row]], np.full(int(in_total[leg_row].sum()), len(names))])
    # the fills of each membership (a leg's fills follow it into each book it belongs to)
    fills_by_leg = pd.DataFrame({"leg": leg_of, "fill": np.arange(len(leg_of))})
    expanded = pd.DataFrame({"leg": member_leg, "book": member_book}).merge(fills_by_leg, on="leg", how="inner")
    f_book, f_fill = expanded["book"].to_numpy(), expanded["fill"].to_numpy()
    n_books, n_days = len(names) + 1, len(days)

    cash = np.zeros((n_books, n_days))
    np.add.at(cash, (member_book, entry_pos[member_leg]), entry_cash[member_leg])
    np.add.at(cash, (f_book, fill_pos[f_fill]), fill_cash[f_fill])
    value = np.zeros((n_books, n_days))
    symbol_no, symbols = pd.factorize(legs["symbol"].to_numpy(dtype=object))
    order = np.argsort(symbols)  # symbols sorted, as np.unique gives them (the marks are summed in this order)
    symbols, symbol_no = symbols[order], np.argsort(order)[symbol_no]
    m_symbol, f_symbol = symbol_no[member_leg], symbol_no[leg_of[f_fill]]
    for k, symbol in enumerate(symbols):  # one position path per symbol (and book), marked at its closes
        held = np.zeros((n_books, n_days))
        mine = m_symbol == k
        np.add.at(held, (member_book[mine], entry_pos[member_leg[mine]]), units[member_leg[mine]])
        mine = f_symbol == k
        np.add.at(held, (f_book[mine], fill_pos[f_fill[mine]]), fill_units[f_fill[mine]])
        held = np.cumsum(held, axis=1)
        close = frames[symbol]["close"].reindex(days).ffill().to_numpy(dtype=float)
        value += np.where(held != 0.0, held * np.nan_to_num(close), 0.0)
    pnl = np.cumsum(cash, axis=1) + value

    # calls live per session and book: from the entry session to the last exit session of any of its legs
    call_no = pd.factorize(legs["setup_id"])[0]
    n_setups = int(call_no.max()) + 1
    call_entry = np.full(n_setups, n_days)
    np.minimum.at(call_entry, call_no, entry_pos)
    call_exit = np.full(n_setups, -1)
    np.maximum.at(call_exit, call_no[leg_of], fill_pos)
    setup_ids = pd.unique(legs["setup_id"])
    setup_row = positions(entered_ids, setup_ids)
    setup_stance = np.zeros(n_setups, dtype=np.int64)
    setup_stance[call_no] = stance_code
    returns = pd.Series(entered["return_pct"].to_numpy(dtype=float)[setup_row], index=setup_ids)

    def book(name, members):
        live = np.zeros(n_days + 1)
        np.add.at(live, call_entry[members], 1.0)
        np.add.at(live, call_exit[members] + 1, -1.0)
        g = len(names) if name == "all" else names.index(name)
        return _book(name, days, pnl[g], np.cumsum(live)[:n_days], notional, returns.iloc[members],
                     call_entry[members], call_exit[members])

    books = {name: book(name, np.flatnonzero((setup_stance == g) & in_stance[setup_row])) for g, name in enumerate(names)}
    total = book("all", np.flatnonzero(in_total[setup_row]))
    books = {name: b for name, b in books.items() if b.calls}
    return PortfolioResult(total, books, call_pnl.rename("pnl_pct"), identical, notional, cost_bps, sizing, dedupe)


def _positions(days: pd.DatetimeIndex, stamps: np.ndarray, what: str) -> np.ndarray:
    pos = np.searchsorted(days.asi8, stamps.astype("datetime64[ns]").view(np.int64))
    bad = (pos >= len(days)) | (days.asi8[np.minimum(pos, len(days) - 1)] != stamps.astype("datetime64[ns]").view(np.int64))
    if bad.any():
        raise ValueError(f"{what} fill on {pd.Timestamp(stamps[np.argmax(bad)]).date()} is not a session of its "
                         "symbol's bars (pass the bars the ledger was simulated on)")
    return pos


def _book(name, days, pnl, live, notional, returns, call_entry, call_exit) -> Book:
    """Trim one group's series to its own live period and compute its figures."""
    if not len(call_entry):
        return _empty_book(name)
    start, stop = int(call_entry.min()), int(call_exit.max()) + 1
    pnl = pnl[start:stop]
    live = live[start:stop]
    peak = int(round(live.max()))
    capital = peak * notional
    equity = capital + pnl
    previous = np.concatenate(([capital], equity[:-1]))
    daily = np.diff(np.concatenate(([0.0], pnl))) / previous
    sd = float(daily.std(ddof=1)) if len(daily) > 1 else 0.0
    sharpe = float(daily.mean() / sd * math.sqrt(TRADING_DAYS)) if sd > 1e-15 else math.nan
    running = np.maximum.accumulate(np.concatenate(([capital], equity)))[1:]
    drawdown = float(min(0.0, (equity / running - 1.0).min()) * 100.0)
    index = days[start:stop].rename("date")
    curve = pd.DataFrame({"live_calls": live.round().astype(np.int64), "pnl": pnl, "pnl_pct": pnl / capital * 100.0,
                          "equity": equity}, index=index)
    return Book(name=name, calls=int(len(call_entry)), peak_live_calls=peak, capital=capital, pnl=float(pnl[-1]),
                return_on_capital_pct=float(pnl[-1] / capital * 100.0),
                sum_of_trade_returns_pct=float(returns.sum()), sharpe=sharpe, max_drawdown_pct=drawdown,
                curve=curve, daily_returns=pd.Series(daily, index=index, name="return"))


def _empty_book(name: str) -> Book:
    curve = pd.DataFrame({c: pd.Series(dtype=np.int64 if c == "live_calls" else float) for c in CURVE_COLUMNS},
                         index=pd.DatetimeIndex([], name="date"))
    return Book(name, 0, 0, 0.0, 0.0, math.nan, 0.0, math.nan, 0.0, curve, pd.Series(dtype=float, name="return"))


__all__ = ["NOTIONAL", "TRADE_INPUT_COLUMNS", "EXIT_INPUT_COLUMNS", "IDENTICAL_CALL_KEY", "Book", "PortfolioResult",
           "identical_calls", "duplicate_flags", "follow_every_call"]
