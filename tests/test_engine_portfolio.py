"""The follow-every-call portfolio (numpy) against vectorbt, its test oracle, fill for fill.

:func:`vectorbt_view` replays the ledger's fills in vectorbt (``Portfolio.from_orders``, one column per leg,
slippage = the engine's per-side cost): the product's numpy view must give the same trade P&L (= the
ledger's returns), the same equity curve, Sharpe and drawdown, in total and per stance.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from backtest.config import Config, DataConfig
from backtest.data.load import load_barset
from backtest.engine import SimConfig, simulate
from backtest.engine.ledger import entered_mask
from backtest.engine.arrays import cost_fraction
from backtest.engine.portfolio import NOTIONAL, _stats, follow_every_call
from backtest.setups.model import SetupFile

_OPEN_TIME = pd.Timedelta(hours=9, minutes=30)
_CLOSE_TIME = pd.Timedelta(hours=16)


def vectorbt_view(ledger, bars) -> dict:
    """The oracle: every entered leg a vectorbt column, entry at the open stamp, exits at the close stamps.

    Returns trade_pnl (setup -> % of NOTIONAL), equity, sharpe, max_drawdown and per-stance (equity, sharpe,
    max_drawdown) computed from vectorbt's cash flows and positions.
    """
    import vectorbt as vbt

    trades = ledger.trades[entered_mask(ledger.trades)]
    cost = cost_fraction(ledger.config.commission_bps, ledger.config.slippage_bps)
    legs = []
    for row in trades.astype(object).to_dict("records"):
        mine = ledger.exits[ledger.exits["setup_id"] == row["setup_id"]]
        stance = row["stance"] if isinstance(row["stance"], str) else "unknown"
        if row["kind"] == "pair":
            for leg, side in (("long", 1.0), ("short", -1.0)):
                legs.append(dict(setup_id=row["setup_id"], stance=stance, symbol=row[f"{leg}_symbol"], side=side,
                                 entry_time=row["entry_time"], entry_price=row[f"{leg}_entry_price"],
                                 exits=mine[mine["leg"] == leg][["time", "price", "fraction"]].to_numpy().tolist()))
        else:
            legs.append(dict(setup_id=row["setup_id"], stance=stance, symbol=row["symbol"],
                             side=1.0 if row["direction"] == "long" else -1.0, entry_time=row["entry_time"],
                             entry_price=row["entry_price"], exits=mine[["time", "price", "fraction"]].to_numpy().tolist()))
    symbols = sorted({leg["symbol"] for leg in legs})
    days = pd.DatetimeIndex(sorted(set().union(*(bars[s].frame.index for s in symbols)))).as_unit("ns")
    stamps = pd.DatetimeIndex(np.sort(np.concatenate([(days + _OPEN_TIME).to_numpy(), (days + _CLOSE_TIME).to_numpy()])))
    close = np.full((len(stamps), len(legs)), np.nan)
    size, price = close.copy(), close.copy()
    for c, leg in enumerate(legs):
        frame = bars[leg["symbol"]].frame
        series = pd.Series(np.concatenate([frame["open"].to_numpy(), frame["close"].to_numpy()]),
                           index=np.concatenate([(frame.index + _OPEN_TIME).to_numpy(), (frame.index + _CLOSE_TIME).to_numpy()]))
        close[:, c] = series.sort_index().reindex(stamps).ffill().bfill().to_numpy()
        units = NOTIONAL / (leg["entry_price"] * (1.0 + leg["side"] * cost))
        t0 = stamps.get_loc(pd.Timestamp(leg["entry_time"]) + _OPEN_TIME)
        size[t0, c], price[t0, c] = leg["side"] * units, leg["entry_price"]
        by_stamp = {}
        for time, px, fraction in leg["exits"]:
            by_stamp.setdefault(pd.Timestamp(time) + _CLOSE_TIME, []).append((px, fraction))
        for stamp, fills in by_stamp.items():
            frac = sum(f for _, f in fills)
            size[stamps.get_loc(stamp), c] = -leg["side"] * units * frac
            price[stamps.get_loc(stamp), c] = sum(p * f for p, f in fills) / frac
    close, size, price = (pd.DataFrame(a, index=stamps) for a in (close, size, price))
    pf = vbt.Portfolio.from_orders(close=close, size=size, price=price, slippage=cost, fees=0.0, init_cash=np.inf,
                                   cash_sharing=False, size_type="amount", direction="both")
    records = pf.trades.records
    pnl_by_col = pd.Series(records["pnl"]).groupby(records["col"].to_numpy()).sum().reindex(range(len(legs)), fill_value=0.0)
    trade_pnl = pd.Series(pnl_by_col.to_numpy() / NOTIONAL * 100.0,
                          index=[leg["setup_id"] for leg in legs]).groupby(level=0, sort=False).sum()
    paths = pf.cash_flow(group_by=False).cumsum() + pf.assets() * close.to_numpy()
    at_close = stamps[stamps.time == pd.Timestamp("16:00").time()]
    entries = np.array([pd.Timestamp(leg["entry_time"]) + _OPEN_TIME for leg in legs], dtype="datetime64[ns]")

    def curve(cols):
        entered_by = np.searchsorted(np.sort(entries[cols]), at_close.to_numpy(), side="right")
        capital = pd.Series(NOTIONAL * entered_by.astype(float), index=at_close.normalize())
        pnl = pd.Series(paths.loc[at_close][cols].sum(axis=1).to_numpy(), index=capital.index)
        live = capital.to_numpy() > 0
        return capital[live], pnl[live]

    capital, pnl = curve(list(range(len(legs))))
    sharpe, mdd, _ = _stats(capital, pnl)
    per_stance = {}
    for stance in sorted({leg["stance"] for leg in legs}):
        cols = [c for c, leg in enumerate(legs) if leg["stance"] == stance]
        s_capital, s_pnl = curve(cols)
        per_stance[stance] = (s_capital + s_pnl, *_stats(s_capital, s_pnl)[:2])
    return dict(trade_pnl=trade_pnl, equity=capital + pnl, sharpe=sharpe, max_drawdown=mdd, per_stance=per_stance)


def assert_matches_vectorbt(view, ledger, bars):
    oracle = vectorbt_view(ledger, bars)
    assert list(view.trade_pnl.index) == list(oracle["trade_pnl"].index)
    np.testing.assert_allclose(view.trade_pnl.to_numpy(), oracle["trade_pnl"].to_numpy(), rtol=1e-9, atol=1e-9)
    assert list(view.equity.index) == list(oracle["equity"].index)
    np.testing.assert_allclose(view.equity.to_numpy(), oracle["equity"].to_numpy(), rtol=1e-12, atol=1e-9)
    assert view.sharpe == pytest.approx(oracle["sharpe"], rel=1e-9, nan_ok=True)
    assert view.max_drawdown == pytest.approx(oracle["max_drawdown"], rel=1e-9, abs=1e-12)
    assert set(view.per_stance) == set(oracle["per_stance"])
    for stance, (equity, sharpe, mdd) in oracle["per_stance"].items():
        mine = view.per_stance[stance]
        np.testing.assert_allclose(mine.equity.to_numpy(), equity.to_numpy(), rtol=1e-12, atol=1e-9)
        assert mine.sharpe == pytest.approx(sharpe, rel=1e-9, nan_ok=True)
        assert mine.max_drawdown == pytest.approx(mdd, rel=1e-9, abs=1e-12)


@pytest.fixture(scope="module")
def barset(market_data_dir, tmp_path_factory):
    config = Config(data=DataConfig(sources=("mirror",), mirrors=(market_data_dir,),
                                    cache_dir=tmp_path_factory.mktemp("cache")))
    return load_barset(["IWM", "SPY", "QQQ", "XLK"], config)


def _files():
    bull = {"article": {"id": "bull", "published": dt.date(2026, 2, 2), "stance": "bullish"}, "setups": [
        {"id": "iwm-dip", "symbol": "IWM", "entry": {"type": "limit", "level": 255}, "stop": 245, "targets": [270]},
        {"id": "qqq-scale", "symbol": "QQQ", "stop": 600, "targets": [640, 660], "max_hold": 40},
        {"id": "pair", "kind": "pair", "max_hold": 20, "long": {"instrument": "spx", "symbol": "SPY"},
         "short": {"instrument": "r2k", "symbol": "IWM"}},
    ]}
    bear = {"article": {"id": "bear", "published": dt.date(2026, 4, 6), "stance": "bearish"}, "setups": [
        {"id": "spy-short", "symbol": "SPY", "direction": "short", "stop": 670, "targets": [640]},
        {"id": "xlk-scale", "symbol": "XLK", "stop": 125, "targets": [145, 150], "max_hold": 200},
        {"id": "never", "symbol": "SPY", "entry": {"type": "stop", "level": 700, "window": 2}, "stop": 650},
    ]}
    late = {"article": {"id": "late", "published": dt.date(2026, 8, 3), "stance": "neutral"}, "setups": [
        {"id": "iwm-open", "symbol": "IWM", "stop": 260, "max_hold": 100},  # still open when the data ends
    ]}
    return [SetupFile.model_validate(bull), SetupFile.model_validate(bear), SetupFile.model_validate(late)]


@pytest.mark.parametrize("costs", [0.0, 7.5])
def test_trade_pnl_equals_the_ledger_and_vectorbt(barset, costs):
    ledger = simulate(_files(), barset, SimConfig(commission_bps=costs, slippage_bps=costs))
    entered = ledger.trades[ledger.trades["status"].isin(["filled", "open"])].set_index("setup_id")
    assert set(entered.index) == {"iwm-dip", "qqq-scale", "pair", "spy-short", "xlk-scale", "iwm-open"}
    assert list(ledger.exits[ledger.exits["setup_id"] == "xlk-scale"]["reason"]) == ["target1", "target2"]
    assert entered.loc["iwm-open", "status"] == "open"
    view = follow_every_call(ledger, barset)
    assert_matches_vectorbt(view, ledger, barset)
    assert set(view.trade_pnl.index) == set(entered.index)
    for setup_id, pnl in view.trade_pnl.items():
        assert pnl == pytest.approx(entered.loc[setup_id, "return_pct"], rel=1e-9, abs=1e-9), setup_id
    assert view.total_return_pct == pytest.approx(entered["return_pct"].sum())
    assert view.trades == 6
    # the curve ends at the capital committed (one NOTIONAL per leg: the pair has two) plus the total P&L
    assert view.equity.iloc[-1] == pytest.approx(7 * NOTIONAL + entered["return_pct"].sum())
    assert view.max_drawdown <= 0 and np.isfinite(view.sharpe)
    assert set(view.per_stance) == {"bullish", "bearish", "neutral"}
    assert view.per_stance["bearish"].trades == 2
    assert view.per_stance["bearish"].total_return_pct == pytest.approx(entered.loc[["spy-short", "xlk-scale"], "return_pct"].sum())


def test_empty_ledger_gives_an_empty_view(barset):
    ledger = simulate([], barset, SimConfig())
    view = follow_every_call(ledger, barset)
    assert view.trades == 0 and view.equity.empty


def test_same_session_entry_and_exits_replay_exactly():
    """A stop entry that hits both targets on its entry bar: entry and exit orders fall on one date."""
    from backtest.data.bars import BarSet
    from test_engine_rules import LEAD_BAR, SUNDAY, make_bars

    bars = BarSet({"TEST": make_bars("TEST", [LEAD_BAR, (101, 110, 100, 108), (108, 109, 107, 108)])})
    file = SetupFile.model_validate({"article": {"id": "a", "published": SUNDAY, "stance": "bullish"}, "setups": [
        {"id": "s", "symbol": "TEST", "entry": {"type": "stop", "level": 103}, "stop": 98, "targets": [106, 109]}]})
    ledger = simulate([file], bars, SimConfig(commission_bps=3))
    row = ledger.trades.iloc[0]
    assert row["entry_time"] == row["exit_time"] == pd.Timestamp("2026-03-02") and len(ledger.exits) == 2
    view = follow_every_call(ledger, bars)
    assert view.trade_pnl["s"] == pytest.approx(row["return_pct"], rel=1e-12)
    assert_matches_vectorbt(view, ledger, bars)


def test_new_capital_is_not_counted_as_return():
    """Flat prices, trades starting on different days: no P&L, so no return, no drawdown, no Sharpe."""
    from backtest.data.bars import BarSet
    from test_engine_rules import make_bars

    flat = [(100.0, 100.0, 100.0, 100.0)] * 8
    bars = BarSet({"TEST": make_bars("TEST", flat)})
    files = [SetupFile.model_validate({"article": {"id": f"a{d}", "published": f"2026-03-0{d}T12:00:00Z",
                                                   "stance": "bullish"},
                                       "setups": [{"id": f"s{d}", "symbol": "TEST", "max_hold": 3}]}) for d in (2, 4)]
    ledger = simulate(files, bars, SimConfig())
    assert list(ledger.trades["status"]) == ["filled", "filled"]
    view = follow_every_call(ledger, bars)
    assert list(view.equity.iloc[[0, -1]]) == [100.0, 200.0]  # capital grew, P&L did not
    assert (view.daily_returns == 0).all() and view.max_drawdown == 0 and np.isnan(view.sharpe)


def test_trades_of_articles_without_a_stance_are_kept_as_unknown():
    """A missing stance (NaN in a pandas-3 str column) is its own sub-portfolio, not dropped by the group-by."""
    from backtest.data.bars import BarSet
    from test_engine_rules import make_bars

    bars = BarSet({"TEST": make_bars("TEST", [(100.0, 101.0, 99.0, 100.0 + i) for i in range(8)])})
    files = [SetupFile.model_validate({"article": {"id": name, "published": "2026-03-02T12:00:00Z", **stance},
                                       "setups": [{"id": f"s-{name}", "symbol": "TEST", "max_hold": 3}]})
             for name, stance in (("with", {"stance": "bullish"}), ("without", {}))]
    ledger = simulate(files, bars, SimConfig())
    assert list(ledger.trades["status"]) == ["filled", "filled"]
    view = follow_every_call(ledger, bars)
    assert_matches_vectorbt(view, ledger, bars)
    assert set(view.per_stance) == {"bullish", "unknown"}
    assert view.per_stance["unknown"].trades == 1
    assert sum(s.total_return_pct for s in view.per_stance.values()) == pytest.approx(view.total_return_pct)


def test_first_day_move_counts_in_drawdown_and_returns():
    """Entered at the open, down 10 % by the first close, then flat: a -10 % drawdown on day one."""
    from backtest.data.bars import BarSet
    from test_engine_rules import make_bars

    bars = BarSet({"TEST": make_bars("TEST", [(100.0, 100.0, 100.0, 100.0), (100.0, 100.0, 90.0, 90.0)]
                                     + [(90.0, 90.0, 90.0, 90.0)] * 6)})
    file = SetupFile.model_validate({"article": {"id": "a", "published": "2026-03-01T12:00:00Z", "stance": "bullish"},
                                    "setups": [{"id": "s", "symbol": "TEST", "max_hold": 4}]})
    ledger = simulate([file], bars, SimConfig())
    assert ledger.trades.iloc[0]["entry_price"] == 100.0
    view = follow_every_call(ledger, bars)
    assert_matches_vectorbt(view, ledger, bars)
    assert view.max_drawdown == pytest.approx(-10.0)
    assert view.daily_returns.iloc[0] == pytest.approx(-0.1)
    assert view.per_stance["bullish"].max_drawdown == pytest.approx(-10.0)


@pytest.mark.parametrize("targets", [None, [], np.empty((0, 2))])
def test_kernel_accepts_zero_setups(targets):
    """An empty batch (e.g. every setup refused) is an empty result, not a reshape error."""
    from backtest.engine.arrays import KernelArrays
    from backtest.engine.kernel import run_kernel

    prices = np.array([100.0, 101.0, 102.0])
    arrays = KernelArrays.build(prices, prices, prices, prices, start=np.array([], dtype=np.int64),
                                end=np.array([], dtype=np.int64), direction=1, entry_type=0, targets=targets,
                                entry_window=20, max_hold=60)
    assert len(arrays) == 0 and arrays.targets.shape[0] == 0
    result = run_kernel(arrays)
    assert len(result.status) == 0 and len(result.return_pct) == 0


@pytest.mark.parametrize("costs", [0.0, 4.0])
def test_a_synthetic_corpus_matches_vectorbt(costs):
    """Hundreds of trades: scale-outs, same-day exits, pairs, shorts, trades still open, three stances."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import synthetic
    from backtest.data.bars import Bars, BarSet
    from backtest.data.calendar import with_sessions

    frames = synthetic.make_bars(n_symbols=5, n_sessions=260, seed=4)
    bars = BarSet({s: Bars(s, with_sessions(f), source="test", basis="as-traded") for s, f in frames.items()})
    table = synthetic.to_setup_table(synthetic.make_setup_table(600, frames, seed=8))
    ledger = simulate(table, bars, SimConfig(include_incoherent=True, commission_bps=costs))
    entered = ledger.trades[entered_mask(ledger.trades)]
    assert len(entered) > 200 and (entered["kind"] == "pair").any() and (entered["status"] == "open").any()
    assert (ledger.exits.groupby("setup_id").size() > 1).any()  # scale-outs
    view = follow_every_call(ledger)
    assert_matches_vectorbt(view, ledger, bars)
    np.testing.assert_allclose(view.trade_pnl.loc[entered["setup_id"]].to_numpy(), entered["return_pct"].to_numpy(),
                               rtol=1e-9, atol=1e-9)
