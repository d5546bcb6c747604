"""True ambiguity bounds: worst <= return_pct <= best always, and why target-first is not always the best.

The two counter-examples of issue 12 run through the real kernel on constructed bars (invented prices).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.engine.arrays import LIMIT, STOP, STOP_FIRST, TARGET_FIRST, KernelArrays
from backtest.engine.kernel import run_kernel
from backtest.engine.bounds import bounds_from_kernel, true_bounds, with_true_bounds


def _both_policies(bars, **setup):
    o, h, l, c = (np.array(x, dtype=float) for x in zip(*bars))
    arrays = KernelArrays.build(o, h, l, c, start=[0], end=[len(bars)], direction=1, entry_window=20, max_hold=10, **setup)
    return (run_kernel(arrays.with_ambiguity(STOP_FIRST)), run_kernel(arrays.with_ambiguity(TARGET_FIRST)))


def test_stop_entry_that_skips_its_entry_bar_stop_and_gaps_lower():
    """Long stop entry at 103, stop 97, target 110. Entry bar: opens 100, rises to 103 (fill), low 95 (the
    stop was touched, maybe before the fill), closes 101. Next morning opens at 92, below the stop."""
    bars = [(100.0, 103.0, 95.0, 101.0), (92.0, 93.0, 90.0, 91.0), (91.0, 92.0, 90.0, 91.0)]
    sf, tf = _both_policies(bars, entry_type=STOP, entry_level=103.0, stop=97.0, targets=[[110.0]])
    assert sf.entry_price[0] == tf.entry_price[0] == 103.0 and sf.ambiguous[0] and tf.ambiguous[0]
    # stop-first: stopped on the entry bar at the stop; target-first: kept, then covered at the gap open
    assert (sf.exit_bar[0], sf.exit_price[0]) == (0, 97.0)
    assert (tf.exit_bar[0], tf.exit_price[0]) == (1, 92.0)
    assert sf.return_pct[0] == pytest.approx((97 / 103 - 1) * 100)
    assert tf.return_pct[0] == pytest.approx((92 / 103 - 1) * 100)
    assert tf.return_pct[0] < sf.return_pct[0]  # the "optimistic" policy is the worse one here
    for in_use in (sf, tf):
        worst, best = bounds_from_kernel(in_use, sf, tf)
        assert worst[0] == tf.return_pct[0] and best[0] == sf.return_pct[0]
        assert worst[0] <= in_use.return_pct[0] <= best[0]


def test_limit_entry_that_takes_its_target_before_a_gap_up():
    """Long limit at 100, stop 95, target 110. Entry bar: opens 105, high 112 (maybe before the fill), falls to
    99 (fill at 100), closes 104. Next morning opens at 120, above the target."""
    bars = [(105.0, 112.0, 99.0, 104.0), (120.0, 122.0, 118.0, 121.0), (121.0, 122.0, 120.0, 121.0)]
    sf, tf = _both_policies(bars, entry_type=LIMIT, entry_level=100.0, stop=95.0, targets=[[110.0]])
    assert sf.entry_price[0] == tf.entry_price[0] == 100.0 and sf.ambiguous[0] and tf.ambiguous[0]
    assert (tf.exit_bar[0], tf.exit_price[0]) == (0, 110.0)  # target-first: the target on the entry bar
    assert (sf.exit_bar[0], sf.exit_price[0]) == (1, 120.0)  # stop-first: the gap through the target, at the open
    assert tf.return_pct[0] == pytest.approx(10.0) and sf.return_pct[0] == pytest.approx(20.0)
    worst, best = bounds_from_kernel(sf, sf, tf)
    assert (worst[0], best[0]) == (tf.return_pct[0], sf.return_pct[0])


def test_bounds_hold_on_random_setups_under_either_policy():
    """Thousands of random setups (the property test's generator): worst <= return_pct <= best, both policies."""
    from test_engine_property import random_bars, random_setups

    rng = np.random.default_rng(12)
    o, h, l, c = random_bars(rng, 300, 0.25, 0.3)
    arrays = KernelArrays.build(o, h, l, c, **random_setups(rng, c, 5000, 0.25, 3))
    sf, tf = run_kernel(arrays.with_ambiguity(STOP_FIRST)), run_kernel(arrays.with_ambiguity(TARGET_FIRST))
    in_use = run_kernel(arrays)  # each setup's own (random) policy
    worst, best = bounds_from_kernel(in_use, sf, tf)
    traded = ~np.isnan(in_use.return_pct)
    assert traded.sum() > 1000
    assert np.all(worst[traded] <= in_use.return_pct[traded]) and np.all(in_use.return_pct[traded] <= best[traded])
    assert np.all(worst[traded] <= np.fmin(sf.return_pct, tf.return_pct)[traded])
    assert np.isnan(worst[~traded]).all() and np.isnan(best[~traded]).all()
    # the counter-examples are not rare: target-first is below stop-first on some random trades
    assert np.sum(tf.return_pct[traded] < sf.return_pct[traded]) > 0


def test_with_true_bounds_on_a_trades_table():
    trades = pd.DataFrame({"setup_id": ["a", "b", "c"], "return_pct": [1.0, -2.0, np.nan],
                           "return_pct_stop_first": [1.0, -2.0, np.nan], "return_pct_target_first": [3.0, -5.0, np.nan]})
    out = with_true_bounds(trades)
    assert list(out.columns[-2:]) == ["return_pct_worst", "return_pct_best"]
    assert list(out["return_pct_worst"].iloc[:2]) == [1.0, -5.0] and list(out["return_pct_best"].iloc[:2]) == [3.0, -2.0]
    assert out["return_pct_worst"].isna().iloc[2]
    with pytest.raises(ValueError, match="return_pct_target_first"):
        with_true_bounds(trades.drop(columns="return_pct_target_first"))
    # a policy without a result falls back to the one in use
    worst, best = true_bounds([2.0], [np.nan], [4.0])
    assert (worst[0], best[0]) == (2.0, 4.0)


def test_the_ledger_carries_the_bounds_of_each_trade():
    """simulate() writes return_pct_worst / _best: the stop-entry counter-example through the whole engine."""
    from test_engine_rules import run

    bars = [(100.0, 103.0, 95.0, 101.0), (92.0, 93.0, 90.0, 91.0), (91.0, 92.0, 90.0, 91.0)]
    setup = {"entry": {"type": "stop", "level": 103}, "stop": 97, "targets": [110]}
    for policy in ("stop-first", "target-first"):
        row, _, _ = run("long", bars, setup, ambiguity=policy)
        assert row["ambiguous"]
        assert row["return_pct_worst"] == pytest.approx((92 / 103 - 1) * 100)
        assert row["return_pct_best"] == pytest.approx((97 / 103 - 1) * 100)
        assert row["return_pct_worst"] <= row["return_pct"] <= row["return_pct_best"]


def test_bounds_in_the_ledger_of_a_synthetic_corpus():
    """Hundreds of trades through simulate(): worst <= return_pct <= best everywhere, NaN where nothing traded."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import synthetic
    from backtest.data.bars import Bars, BarSet
    from backtest.data.calendar import with_sessions
    from backtest.engine import SimConfig, simulate

    frames = synthetic.make_bars(n_symbols=4, n_sessions=200, seed=3)
    bars = BarSet({s: Bars(s, with_sessions(f), source="test", basis="as-traded") for s, f in frames.items()})
    table = synthetic.to_setup_table(synthetic.make_setup_table(800, frames, seed=5))
    trades = simulate(table, bars, SimConfig(include_incoherent=True)).trades
    traded = trades["return_pct"].notna().to_numpy()
    assert traded.sum() > 200 and (trades["ambiguous"] & traded).sum() > 5
    worst, ret, best = trades["return_pct_worst"].to_numpy(), trades["return_pct"].to_numpy(), trades["return_pct_best"].to_numpy()
    assert np.all(worst[traded] <= ret[traded]) and np.all(ret[traded] <= best[traded])
    assert np.isnan(worst[~traded]).all() and np.isnan(best[~traded]).all()
    both = trades[["return_pct_stop_first", "return_pct_target_first"]].to_numpy()[traded]
    assert np.allclose(worst[traded], np.minimum(both.min(axis=1), ret[traded]))
