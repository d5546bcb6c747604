"""The numpy follow-every-call portfolio, checked against vectorbt replaying the same fills (the oracle).

The oracle below is the previous product code (``engine/portfolio.py``) reduced to what it checks: every leg
its own vectorbt column, orders at the ledger's exact prices (09:30 entry stamps, 16:00 exit stamps), costs
as vectorbt slippage, P&L = cumulative cash flow + position marked at the close.
"""

from __future__ import annotations

import datetime as dt
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from backtest.data.bars import BarSet
from backtest.engine import SimConfig, simulate
from backtest.reports.portfolio import NOTIONAL, follow_every_call, identical_calls
from backtest.setups.model import SetupFile
from research_fixtures import mirror_barset

_OPEN, _CLOSE = pd.Timedelta(hours=9, minutes=30), pd.Timedelta(hours=16)


def vectorbt_replay(trades: pd.DataFrame, exits: pd.DataFrame, bars: BarSet, cost: float):
    """(P&L per setup in % of NOTIONAL, cumulative P&L of all legs at each session close) from vectorbt."""
    import vectorbt as vbt

    entered = trades[trades["status"].isin(["filled", "open"]) & trades["entry_time"].notna()]
    legs = []
    for row in entered.to_dict("records"):
        mine = exits[exits["setup_id"] == row["setup_id"]]
        if row["kind"] == "pair":
            for leg, side in (("long", 1.0), ("short", -1.0)):
                fills = mine[mine["leg"] == leg]
                legs.append((row["setup_id"], row[f"{leg}_symbol"], side, row["entry_time"], row[f"{leg}_entry_price"], fills))
        else:
            legs.append((row["setup_id"], row["symbol"], 1.0 if row["direction"] == "long" else -1.0,
                         row["entry_time"], row["entry_price"], mine))
    symbols = sorted({leg[1] for leg in legs})
    days = pd.DatetimeIndex(sorted(set().union(*(bars[s].frame.index for s in symbols)))).as_unit("ns")
    stamps = pd.DatetimeIndex(np.sort(np.concatenate([(days + _OPEN).to_numpy(), (days + _CLOSE).to_numpy()])))
    close = np.full((len(stamps), len(legs)), np.nan)
    size, price = np.full_like(close, np.nan), np.full_like(close, np.nan)
    for c, (_, symbol, side, entry_time, entry_price, fills) in enumerate(legs):
        frame = bars[symbol].frame
        marks = pd.Series(np.concatenate([frame["open"].to_numpy(), frame["close"].to_numpy()]),
                          index=np.concatenate([(frame.index + _OPEN).to_numpy(), (frame.index + _CLOSE).to_numpy()]))
        close[:, c] = marks.sort_index().reindex(stamps).ffill().bfill().to_numpy()
        units = NOTIONAL / (entry_price * (1.0 + side * cost))
        t0 = stamps.get_loc(pd.Timestamp(entry_time) + _OPEN)
        size[t0, c], price[t0, c] = side * units, entry_price
        for stamp, group in fills.groupby(fills["time"].map(lambda t: pd.Timestamp(t) + _CLOSE)):
            frac = group["fraction"].sum()
            row = stamps.get_loc(stamp)
            size[row, c] = -side * units * frac
            price[row, c] = (group["price"] * group["fraction"]).sum() / frac
    columns = pd.RangeIndex(len(legs))
    close, size, price = (pd.DataFrame(a, index=stamps, columns=columns) for a in (close, size, price))
    pf = vbt.Portfolio.from_orders(close=close, size=size, price=price, slippage=cost, fees=0.0, init_cash=np.inf,
                                   cash_sharing=False, size_type="amount", direction="both")
    records = pf.trades.records
    pnl_by_col = pd.Series(records["pnl"]).groupby(records["col"].to_numpy()).sum().reindex(columns, fill_value=0.0)
    per_setup = pd.Series(pnl_by_col.to_numpy() / NOTIONAL * 100.0, index=[leg[0] for leg in legs]).groupby(level=0).sum()
    path = pf.cash_flow(group_by=False).cumsum() + pf.assets() * close.to_numpy()
    at_close = stamps[stamps.time == pd.Timestamp("16:00").time()]
    curve = pd.Series(path.loc[at_close].sum(axis=1).to_numpy(), index=at_close.normalize())
    return per_setup, curve


@pytest.fixture(scope="module")
def barset(market_data_dir, tmp_path_factory):
    return mirror_barset(market_data_dir, tmp_path_factory.mktemp("cache"), ["IWM", "SPY", "QQQ", "XLK"])


PAIR = {"kind": "pair", "max_hold": 20, "long": {"instrument": "spx", "symbol": "SPY"},
        "short": {"instrument": "r2k", "symbol": "IWM"}}
#: (article id, published, stance, setups): limit entry, scale-out over two targets, a pair, a short, a
#: target-then-target exit, an entry that never triggers, a trade still open when the data ends, and the
#: same pair from a second (bearish) article the same day: an identical call.
ARTICLES = [
    ("bull", dt.date(2026, 2, 2), "bullish", [
        {"id": "iwm-dip", "symbol": "IWM", "entry": {"type": "limit", "level": 255}, "stop": 245, "targets": [270]},
        {"id": "qqq-scale", "symbol": "QQQ", "stop": 600, "targets": [640, 660], "max_hold": 40},
        dict(PAIR, id="pair")]),
    ("echo", dt.date(2026, 2, 2), "bearish", [dict(PAIR, id="pair-again")]),
    ("bear", dt.date(2026, 4, 6), "bearish", [
        {"id": "spy-short", "symbol": "SPY", "direction": "short", "stop": 670, "targets": [640]},
        {"id": "xlk-scale", "symbol": "XLK", "stop": 125, "targets": [145, 150], "max_hold": 200},
        {"id": "never", "symbol": "SPY", "entry": {"type": "stop", "level": 700, "window": 2}, "stop": 650}]),
    ("late", dt.date(2026, 8, 3), "neutral", [{"id": "iwm-open", "symbol": "IWM", "stop": 260, "max_hold": 100}]),
]


def _files():
    return [SetupFile.model_validate({"article": {"id": a, "published": day, "stance": stance}, "setups": setups})
            for a, day, stance, setups in ARTICLES]


@pytest.mark.parametrize("costs", [0.0, 7.5])
def test_pnl_agrees_with_vectorbt_fill_for_fill(barset, costs):
    ledger = simulate(_files(), barset, SimConfig(commission_bps=costs, slippage_bps=costs))
    trades, exits = ledger.trades, ledger.exits
    cost = 2 * costs / 10_000
    result = follow_every_call(trades, exits, barset, cost_bps=2 * costs, dedupe=False)
    oracle_calls, oracle_curve = vectorbt_replay(trades, exits, barset, cost)
    entered = trades[trades["status"].isin(["filled", "open"])].set_index("setup_id")
    assert set(result.call_pnl_pct.index) == set(oracle_calls.index) == set(entered.index)
    assert len(entered) == 7
    for setup_id, pnl in result.call_pnl_pct.items():
        assert pnl == pytest.approx(oracle_calls[setup_id], abs=1e-9), setup_id
        assert pnl == pytest.approx(entered.loc[setup_id, "return_pct"], abs=1e-9), setup_id
    curve = result.total.curve
    assert curve.index[0] == entered["entry_time"].min() and curve.index[-1] == exits["time"].max()  # live period only
    expected = oracle_curve.reindex(curve.index)
    assert np.max(np.abs(curve["pnl"].to_numpy() - expected.to_numpy())) < 1e-9
    assert result.total.pnl == pytest.approx(entered["return_pct"].sum(), abs=1e-9)  # NOTIONAL 100: P&L = sum of %


def test_stance_books_add_up_and_are_each_a_vectorbt_replay(barset):
    ledger = simulate(_files(), barset, SimConfig(commission_bps=5))
    result = follow_every_call(ledger.trades, ledger.exits, barset, cost_bps=5, dedupe=False)
    assert set(result.per_stance) == {"bullish", "bearish", "neutral"}
    total_days = result.total.curve.index
    summed = sum(book.curve["pnl"].reindex(total_days).ffill().fillna(0.0) for book in result.per_stance.values())
    assert np.allclose(summed.to_numpy(), result.total.curve["pnl"].to_numpy(), atol=1e-9)
    bear = ledger.trades[ledger.trades["stance"] == "bearish"]
    _, oracle = vectorbt_replay(bear, ledger.exits, barset, 5 / 10_000)
    book = result.per_stance["bearish"]
    assert np.max(np.abs(book.curve["pnl"].to_numpy() - oracle.reindex(book.curve.index).to_numpy())) < 1e-9
    assert book.calls == 3 and book.sum_of_trade_returns_pct == pytest.approx(
        bear.loc[bear["status"].isin(["filled", "open"]), "return_pct"].sum())


def test_identical_calls_are_flagged_and_counted_once(barset):
    """The whole book counts an identical call once; a stance's book once among that stance's articles."""
    ledger = simulate(_files(), barset, SimConfig())
    trades, exits = ledger.trades, ledger.exits
    # a third copy of the pair, from another bullish article
    copy = trades[trades["setup_id"] == "pair"].assign(setup_id="pair-copy", article_id="bull2")
    trades = pd.concat([trades, copy], ignore_index=True)
    exits = pd.concat([exits, exits[exits["setup_id"] == "pair"].assign(setup_id="pair-copy")], ignore_index=True)
    flags = identical_calls(trades).set_axis(trades["setup_id"])
    assert flags["pair-again"] == "pair" and flags["pair-copy"] == "pair"
    assert flags.drop(["pair-again", "pair-copy"]).isna().all()
    once = follow_every_call(trades, exits, barset)
    twice = follow_every_call(trades, exits, barset, dedupe=False)
    assert once.total.calls == 6 and twice.total.calls == 8
    assert once.per_stance["bullish"].calls == 3 and twice.per_stance["bullish"].calls == 4  # pair-copy merged
    assert once.per_stance["bearish"].calls == 3  # pair-again is the bearish article's own call: kept there
    assert once.identical.set_index("setup_id").loc["pair-again", "duplicate_of"] == "pair"
    pair = trades.set_index("setup_id").loc["pair", "return_pct"]
    assert twice.total.pnl - once.total.pnl == pytest.approx(2 * pair)
    assert once.per_stance["bearish"].pnl == pytest.approx(trades.set_index("setup_id").loc[
        ["pair-again", "spy-short", "xlk-scale"], "return_pct"].sum())
    assert "pair-copy" not in once.call_pnl_pct.index and "pair-copy" in twice.call_pnl_pct.index


def _bars(symbol, closes, first=dt.date(2026, 3, 2)):
    from test_engine_rules import make_bars

    return make_bars(symbol, [(c, c, c, c) for c in closes], first)


def _trade(setup_id, symbol, entry_day, entry_price, ret, stance="bullish", direction="long"):
    return {"setup_id": setup_id, "article_id": setup_id, "stance": stance, "kind": "single", "symbol": symbol,
            "direction": direction, "status": "filled", "entry_time": pd.Timestamp(entry_day), "entry_price": entry_price,
            "long_symbol": None, "short_symbol": None, "long_entry_price": np.nan, "short_entry_price": np.nan,
            "return_pct": ret, "entry_type": "market", "entry_level": np.nan, "first_session": pd.Timestamp(entry_day)}


def test_hand_worked_book_capital_is_peak_concurrency():
    """Two overlapping calls and one later: capital = 2 x 100; the curve is P&L in % of it, nothing else.

    TEST closes 100, 104, 110, 104, 100 (03-02 .. 03-06); OTHER closes 50, then 45 on 03-10.
    A: long TEST at 100 on 03-02, out at 110 on 03-04 (+10 %). B: long TEST at 104 on 03-03, out at 104 on
    03-05 (0 %). C (bearish article): long OTHER at 50 on 03-09, out at 45 on 03-10 (-10 %).
    """
    bars = BarSet({"TEST": _bars("TEST", [100, 104, 110, 104, 100, 100, 100, 100, 100]),
                   "OTHER": _bars("OTHER", [50, 50, 50, 50, 50, 50, 45, 45, 45])})
    trades = pd.DataFrame([_trade("A", "TEST", "2026-03-02", 100.0, 10.0), _trade("B", "TEST", "2026-03-03", 104.0, 0.0),
                           _trade("C", "OTHER", "2026-03-09", 50.0, -10.0, stance="bearish")])
    exits = pd.DataFrame({"setup_id": ["A", "B", "C"], "leg": "single", "tranche": 1, "fraction": 1.0,
                          "time": pd.to_datetime(["2026-03-04", "2026-03-05", "2026-03-10"]), "price": [110.0, 104.0, 45.0],
                          "reason": "time"})
    result = follow_every_call(trades, exits, bars)
    book = result.total
    assert (book.calls, book.peak_live_calls, book.capital) == (3, 2, 200.0)
    # sessions 03-02 .. 03-10 (the weekend has none); nothing is live on 03-06
    assert list(book.curve.index.day) == [2, 3, 4, 5, 6, 9, 10]
    assert list(book.curve["live_calls"]) == [1, 2, 2, 1, 0, 1, 1]
    b_units = 100 / 104
    expected = [0.0, 4.0, 10.0 + 6 * b_units, 10.0, 10.0, 10.0, 0.0]  # A, A + B, A out + B, B out, ..., C out -10
    assert np.allclose(book.curve["pnl"], expected)
    assert np.allclose(book.curve["pnl_pct"], np.array(expected) / 200 * 100)
    assert book.return_on_capital_pct == pytest.approx(0.0) and book.sum_of_trade_returns_pct == pytest.approx(0.0)
    assert book.max_drawdown_pct == pytest.approx((200 / (200 + 10 + 6 * b_units) - 1) * 100)
    daily = book.daily_returns.to_numpy()
    assert daily[1] == pytest.approx(4 / 200) and daily[2] == pytest.approx((6 + 6 * b_units) / 204)
    assert book.sharpe == pytest.approx(daily.mean() / daily.std(ddof=1) * np.sqrt(252))
    bull = result.per_stance["bullish"]
    assert (bull.capital, bull.return_on_capital_pct) == (200.0, pytest.approx(5.0))  # +10 on 200
    assert result.per_stance["bearish"].capital == 100.0 and result.per_stance["bearish"].return_on_capital_pct == pytest.approx(-10.0)
    assert result.per_stance["bearish"].curve.index[0] == pd.Timestamp("2026-03-09")


def test_memory_does_not_grow_with_days_times_trades():
    """20,000 one-leg trades over ~660 sessions: a days x trades matrix would be 100 MB; the book stays small."""
    rng = np.random.default_rng(0)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 660)))
    frames = {f"S{k}": _bars(f"S{k}", closes * (1 + k / 10), dt.date(2024, 1, 2)).frame for k in range(5)}
    days = frames["S0"].index
    n = 20_000
    sym = rng.integers(0, 5, n)
    start = rng.integers(0, 600, n)
    stop = np.minimum(start + rng.integers(0, 60, n), 659)
    close = np.vstack([frames[f"S{k}"]["close"].to_numpy() for k in range(5)])
    entry, exit_ = close[sym, start], close[sym, stop]
    trades = pd.DataFrame({"setup_id": [f"t{i}" for i in range(n)], "article_id": [f"a{i}" for i in range(n)],
                           "stance": np.where(rng.random(n) < 0.5, "bullish", "bearish"), "kind": "single",
                           "symbol": [f"S{s}" for s in sym], "direction": "long", "status": "filled",
                           "entry_time": days[start], "entry_price": entry, "long_symbol": None, "short_symbol": None,
                           "long_entry_price": np.nan, "short_entry_price": np.nan,
                           "return_pct": (exit_ / entry - 1) * 100, "entry_type": "market", "entry_level": np.nan,
                           "first_session": days[start] + pd.Timedelta(microseconds=1) * np.arange(n)})
    exits = pd.DataFrame({"setup_id": trades["setup_id"], "leg": "single", "tranche": 1, "fraction": 1.0,
                          "time": days[stop], "price": exit_, "reason": "time"})
    tracemalloc.start()
    result = follow_every_call(trades, exits, frames)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.total.calls == n
    assert result.total.pnl == pytest.approx(trades["return_pct"].sum(), rel=1e-9)
    assert peak < 40e6, f"peak {peak / 1e6:.0f} MB"


def test_missing_columns_and_bars_are_one_clear_error(barset):
    ledger = simulate(_files()[:1], barset, SimConfig())
    with pytest.raises(ValueError, match=r"trades: missing column\(s\) entry_price"):
        follow_every_call(ledger.trades.drop(columns="entry_price"), ledger.exits, barset)
    with pytest.raises(ValueError, match="bars: no closes for QQQ"):
        follow_every_call(ledger.trades, ledger.exits, {s: barset[s] for s in ("IWM", "SPY")})
    with pytest.raises(ValueError, match="has no exit fill"):
        follow_every_call(ledger.trades, ledger.exits.iloc[:0], barset)


def test_nothing_entered_is_an_empty_book(barset):
    ledger = simulate([], barset, SimConfig())
    result = follow_every_call(ledger.trades, ledger.exits, barset)
    assert result.total.calls == 0 and result.total.curve.empty and result.per_stance == {}


def test_the_product_path_never_imports_vectorbt():
    """vectorbt is the oracle only: computing the book, scorecard and event study leaves it unimported."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys; sys.path.insert(0, 'tests'); import research_fixtures as fx; "
            "from backtest.reports.portfolio import follow_every_call; "
            "from backtest.reports.scorecard import scorecard; from backtest.reports.event_study import event_study; "
            "follow_every_call(*fx.example_book()); scorecard(fx.example_calls(), None, None, horizons=(5,)); "
            "event_study(fx.example_event_calls(), fx.example_event_bars(), sessions=2); "
            "print([m for m in ('vectorbt', 'plotly') if m in sys.modules])")
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("costs", [0.0, 4.0])
def test_a_synthetic_corpus_matches_vectorbt(costs):
    """Hundreds of trades: scale-outs, same-day exits, pairs, shorts, trades still open, three stances."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import synthetic
    from backtest.data.bars import Bars
    from backtest.data.calendar import with_sessions
    from backtest.engine.ledger import entered_mask

    frames = synthetic.make_bars(n_symbols=5, n_sessions=260, seed=4)
    bars = BarSet({s: Bars(s, with_sessions(f), source="test", basis="as-traded") for s, f in frames.items()})
    table = synthetic.to_setup_table(synthetic.make_setup_table(600, frames, seed=8))
    ledger = simulate(table, bars, SimConfig(include_incoherent=True, commission_bps=costs))
    entered = ledger.trades[entered_mask(ledger.trades)]
    assert len(entered) > 200 and (entered["kind"] == "pair").any() and (entered["status"] == "open").any()
    assert (ledger.exits.groupby("setup_id").size() > 1).any()  # scale-outs
    result = follow_every_call(ledger.trades, ledger.exits, bars, cost_bps=costs, dedupe=False)
    oracle_calls, oracle_curve = vectorbt_replay(ledger.trades, ledger.exits, bars, costs / 10_000)
    np.testing.assert_allclose(result.call_pnl_pct.loc[entered["setup_id"]].to_numpy(), entered["return_pct"].to_numpy(),
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(oracle_calls.loc[entered["setup_id"]].to_numpy(), entered["return_pct"].to_numpy(),
                               rtol=1e-9, atol=1e-9)
    curve = result.total.curve
    np.testing.assert_allclose(curve["pnl"].to_numpy(), oracle_curve.reindex(curve.index).to_numpy(), atol=1e-7)
