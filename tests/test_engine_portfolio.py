"""The follow-every-call portfolio: vectorbt's trade P&L equals the ledger's returns, fill for fill."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from backtest.config import Config, DataConfig
from backtest.data.load import load_barset
from backtest.engine import SimConfig, simulate
from backtest.engine.portfolio import NOTIONAL, follow_every_call
from backtest.setups.model import SetupFile


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
def test_vectorbt_trade_pnl_equals_the_ledger(barset, costs):
    ledger = simulate(_files(), barset, SimConfig(commission_bps=costs, slippage_bps=costs))
    entered = ledger.trades[ledger.trades["status"].isin(["filled", "open"])].set_index("setup_id")
    assert set(entered.index) == {"iwm-dip", "qqq-scale", "pair", "spy-short", "xlk-scale", "iwm-open"}
    assert list(ledger.exits[ledger.exits["setup_id"] == "xlk-scale"]["reason"]) == ["target1", "target2"]
    assert entered.loc["iwm-open", "status"] == "open"
    view = follow_every_call(ledger, barset)
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
