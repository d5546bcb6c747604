"""Event study: CAR paths recomputed by a slow loop and by the engine's directional calls; the band by stats."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from backtest.engine import SimConfig, simulate
from backtest.reports import stats
from backtest.reports.event_study import EVENT_COLUMNS, block_length_at, cumulative_excess, event_study
from backtest.setups.model import SetupFile
from research_fixtures import any_axis_length, mirror_barset  # noqa: F401 (module fixture)

SYMBOLS = ["IWM", "SPY", "QQQ", "XLK", "^NDX"]


@pytest.fixture(scope="module")
def barset(market_data_dir, tmp_path_factory):
    return mirror_barset(market_data_dir, tmp_path_factory.mktemp("cache"), SYMBOLS)


def random_calls(barset, n, seed=0):
    """Synthetic calls on real sessions: random symbol, stance and first session (some near the data's end)."""
    rng = np.random.default_rng(seed)
    symbols = rng.choice(["IWM", "QQQ", "XLK", "^NDX"], n)
    stance = rng.choice(["bullish", "bearish", "neutral"], n, p=[0.45, 0.4, 0.15])
    starts = [barset[s].frame.index[rng.integers(200, len(barset[s].frame))] for s in symbols]
    return pd.DataFrame({"article_id": [f"a{i:05d}" for i in range(n)], "stance": stance, "symbol": symbols,
                         "direction": pd.Series(stance).map({"bullish": "long", "bearish": "short", "neutral": "neutral"}),
                         "start_time": starts, "primary": True})


def slow_car(barset, row, k, benchmark="SPY"):
    """One call's CAR after k sessions, by date lookups."""
    own = barset[row["symbol"]].frame
    bench = barset[benchmark].frame
    i = own.index.get_loc(row["start_time"])
    j = int(np.searchsorted(bench.index, row["start_time"]))
    if k == 0:
        return 0.0 if i < len(own) else np.nan
    if i + k - 1 >= len(own) or j + k - 1 >= len(bench):
        return np.nan
    move = own["close"].iloc[i + k - 1] / own["open"].iloc[i] - 1
    base = bench["close"].iloc[j + k - 1] / bench["open"].iloc[j] - 1
    sign = -1.0 if row["direction"] == "short" else 1.0
    return sign * (move - base) * 100


def test_car_matrix_equals_a_slow_loop(barset):
    calls = random_calls(barset, 120)
    kept, car = cumulative_excess(calls, barset)
    assert car.shape == (len(kept), 61)
    for i, row in kept.iterrows():
        for k in (0, 1, 2, 5, 20, 37, 60):
            expected = slow_car(barset, row, k)
            assert (np.isnan(expected) and np.isnan(car[i, k])) or car[i, k] == pytest.approx(expected, abs=1e-10), (i, k)
    assert np.isnan(car[:, 60]).any() and not np.isnan(car[:, 1]).any()  # some calls start too late for 60 sessions


def test_car_at_k_equals_the_engines_call_excess_at_horizon_k(barset):
    """Through the real engine: articles with subjects, directional calls at 1/5/20/60, same numbers."""
    files = []
    for i, (day, stance, subject) in enumerate([
        (dt.date(2025, 3, 7), "bullish", ["IWM"]), (dt.date(2025, 6, 13), "bearish", ["QQQ", "^NDX"]),
        (dt.date(2025, 9, 5), "neutral", ["XLK"]), (dt.date(2026, 1, 9), "bearish", ["IWM"]),
        (dt.date(2026, 6, 26), "bullish", ["^NDX"]),  # ^NDX ends 2026-07-10: no 20- or 60-session window
    ]):
        files.append(SetupFile.model_validate({"article": {"id": f"art{i}", "published": day, "stance": stance,
                                                           "subject": subject}, "setups": []}))
    ledger = simulate(files, barset, SimConfig())
    calls = ledger.calls
    kept, car = cumulative_excess(calls, barset)
    assert list(kept["article_id"]) == [f"art{i}" for i in range(5)]
    primary = calls[calls["primary"]].set_index(["article_id", "horizon"])["excess_pct"]
    for i, article in enumerate(kept["article_id"]):
        for h in (1, 5, 20, 60):
            expected = primary[(article, h)]
            if pd.isna(expected):
                assert np.isnan(car[i, h]), (article, h)
            else:
                assert car[i, h] == pytest.approx(expected, abs=1e-10), (article, h)
    assert np.isnan(car[4, 20]) and not np.isnan(car[4, 5])


def test_means_counts_and_band_by_stance(barset):
    calls = random_calls(barset, 400, seed=3)
    table = event_study(calls, barset)
    assert tuple(table.columns) == EVENT_COLUMNS
    assert list(table["stance"].unique()) == ["bullish", "bearish", "neutral"]
    assert len(table) == 3 * 61
    kept, car = cumulative_excess(calls, barset)
    position = stats.session_positions(kept["start_time"])
    for stance in ("bullish", "bearish"):
        mine = (kept["stance"] == stance).to_numpy()
        for k in (0, 1, 5, 13, 20, 60):
            row = table[(table["stance"] == stance) & (table["session"] == k)].iloc[0]
            values = car[mine, k]
            assert row["calls"] == np.sum(~np.isnan(values))
            assert row["mean_excess_pct"] == pytest.approx(np.nanmean(values))
            assert row["block_length"] == block_length_at(k)
            if k == 0:
                assert row["low_pct"] == row["high_pct"] == 0.0
                continue
            # the band is the stats module's interval on the same calendar axis
            axis = position - position.min()
            direct = stats.block_bootstrap_mean(values, axis[mine], block_length=block_length_at(k),
                                                n_sessions=int(axis.max()) + 1)
            assert (row["low_pct"], row["high_pct"]) == (pytest.approx(direct.low), pytest.approx(direct.high))
            assert row["low_pct"] < row["mean_excess_pct"] < row["high_pct"]
    assert [block_length_at(k) for k in (0, 1, 2, 5, 6, 20, 21, 60, 61)] == [1, 1, 5, 5, 20, 20, 60, 60, 61]
    # deterministic, whatever the input order
    pd.testing.assert_frame_equal(table, event_study(calls.sample(frac=1.0, random_state=2), barset))


def test_identical_calls_are_one_point_two_articles(barset):
    day = barset["IWM"].frame.index[300]
    calls = pd.DataFrame({"article_id": ["x", "y", "z"], "stance": ["bullish"] * 3, "symbol": ["IWM", "IWM", "QQQ"],
                          "direction": ["long"] * 3, "start_time": [day, day, day], "primary": True})
    table = event_study(calls, barset).set_index("session")
    assert table.loc[5, "calls"] == 2 and table.loc[5, "articles"] == 3
    assert np.isnan(table.loc[5, "low_pct"])  # one session: a mean, no band


def test_missing_benchmark_is_a_clear_error(barset):
    calls = random_calls(barset, 5)
    with pytest.raises(ValueError, match="no SPY series"):
        event_study(calls, {s: barset[s] for s in ("IWM", "QQQ")})
    with pytest.raises(ValueError, match=r"calls: missing column\(s\) start_time"):
        event_study(calls.drop(columns="start_time"), barset)
