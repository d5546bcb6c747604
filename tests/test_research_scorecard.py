"""The stance scorecard, recomputed by an independent route: a slow per-group loop over the engine's own output.

The fixture is a few hundred generated articles (invented ids and levels, real sessions and real bars from
../shared) run through the real engine, so the calls' ``hit`` and ``excess_pct`` come from
``simulate()``; the slow route reads them row by row and calls statsmodels/scipy directly.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

from backtest.data.calendar import session_dates
from backtest.engine import SimConfig, simulate
from backtest.reports import stats
from backtest.reports.event_study import event_study
from backtest.reports.scorecard import (CALL_SCORE_COLUMNS, DIFFERENCE_COLUMNS, PULSE_COLUMNS, TRADE_SCORE_COLUMNS,
                                        scorecard, trade_excess)
from backtest.setups.model import SetupFile
from research_fixtures import any_axis_length, mirror_barset  # noqa: F401 (module fixture)

SYMBOLS = ["IWM", "SPY", "QQQ", "XLK", "DIA"]
HORIZONS = (1, 5, 20, 60)


@pytest.fixture(scope="module")
def barset(market_data_dir, tmp_path_factory):
    return mirror_barset(market_data_dir, tmp_path_factory.mktemp("cache"), SYMBOLS)


def generated_files(n=240, seed=5):
    """Articles with a stance, a Pulse, one subject and two setups each; every 10th repeats the previous call."""
    rng = np.random.default_rng(seed)
    days = session_dates(dt.date(2025, 1, 6), dt.date(2026, 7, 31))
    files = []
    for i in range(n):
        if i % 10 == 9:  # the same call as the previous article (same subject, stance, day), another article
            day, stance, subject = files[-1]["article"]["published"], files[-1]["article"]["stance"], files[-1]["article"]["subject"]
        else:
            day = days[rng.integers(0, len(days))].date()
            stance = str(rng.choice(["bullish", "bearish", "neutral"], p=[0.45, 0.4, 0.15]))
            subject = [str(rng.choice(["IWM", "QQQ", "XLK", "DIA"]))]
        direction = "short" if stance == "bearish" else "long"
        setups = [{"id": f"g{i}-s1", "symbol": subject[0], "direction": direction, "max_hold": int(rng.integers(3, 40)),
                   "explicit": bool(rng.random() < 0.6)},
                  {"id": f"g{i}-s2", "symbol": str(rng.choice(["SPY", "QQQ"])), "direction": str(rng.choice(["long", "short"])),
                   "max_hold": int(rng.integers(3, 40)), "explicit": bool(rng.random() < 0.5)}]
        if i % 7 == 0:
            setups.append({"id": f"g{i}-p", "kind": "pair", "max_hold": 15, "long": {"instrument": "a", "symbol": "QQQ"},
                           "short": {"instrument": "b", "symbol": "IWM"}})
        files.append({"article": {"id": f"gen{i:03d}", "published": day, "stance": stance, "subject": subject,
                                  "pulse": int(rng.integers(0, 101))}, "setups": setups})
    return [SetupFile.model_validate(f) for f in files]


@pytest.fixture(scope="module")
def run(barset):
    files = generated_files()
    ledger = simulate(files, barset, SimConfig())
    articles = pd.DataFrame([{"article_id": f.article.id, "stance": f.article.stance, "pulse": f.article.pulse}
                             for f in files])
    card = scorecard(ledger.calls, ledger.trades, articles, barset)
    return ledger, articles, card


def _axis(dates):
    """Session positions by calendar lookup (the slow way), from the first date."""
    calendar = session_dates(min(dates).date(), max(dates).date())
    return np.array([calendar.get_loc(pd.Timestamp(d)) for d in dates]), len(calendar)


def _distinct_primary_calls(calls):
    primary = calls[calls["primary"]]
    firsts = primary.drop_duplicates("article_id")[["article_id", "symbol", "direction", "start_time"]].dropna()
    firsts = firsts.sort_values(["start_time", "article_id"])
    keep, seen = [], set()
    for row in firsts.itertuples():
        key = (row.symbol, row.direction, row.start_time)
        keep.append(key not in seen)
        seen.add(key)
    return firsts[keep], firsts


def test_call_table_equals_a_slow_loop(run):
    ledger, _, card = run
    calls = ledger.calls
    distinct, every = _distinct_primary_calls(calls)
    assert len(every) - len(distinct) >= 15  # the fixture's repeated calls are merged
    positions, n_sessions = _axis(list(distinct["start_time"]))
    axis = dict(zip(distinct["article_id"], positions))
    table = card.calls.set_index(["stance", "horizon"])
    assert tuple(card.calls.columns) == CALL_SCORE_COLUMNS
    for h in HORIZONS:
        for stance in ("bullish", "bearish", "neutral"):
            rows = calls[calls["primary"] & (calls["horizon"] == h) & (calls["stance"] == stance)
                         & calls["excess_pct"].notna()]
            mine = rows[rows["article_id"].isin(set(distinct["article_id"]))]
            got = table.loc[(stance, h)]
            assert got["n_calls"] == len(mine) and got["block_length"] == h
            # articles behind the calls: the merged copies count as articles
            behind = every.merge(distinct[["symbol", "direction", "start_time"]], on=["symbol", "direction", "start_time"])
            assert got["n_articles"] == behind["article_id"].isin(set(rows["article_id"])).sum()
            excess = mine["excess_pct"].to_numpy(dtype=float)
            assert got["mean_excess_pct"] == pytest.approx(excess.mean())
            interval = stats.block_bootstrap_mean(excess, [axis[a] for a in mine["article_id"]], block_length=h,
                                                  n_sessions=n_sessions)
            assert (got["excess_low_pct"], got["excess_high_pct"]) == (pytest.approx(interval.low), pytest.approx(interval.high))
            if stance == "neutral":
                assert pd.isna(got["hits"]) and pd.isna(got["hit_rate"]) and pd.isna(got["beat_rate"])
                continue
            hits = int(mine["hit"].astype(bool).sum())  # the engine's own hit flag
            beats = int((excess > 0).sum())
            assert (got["hits"], got["beats"]) == (hits, beats)
            low, high = proportion_confint(hits, len(mine), method="wilson")
            assert (got["hit_rate"], got["hit_low"], got["hit_high"]) == (
                pytest.approx(hits / len(mine)), pytest.approx(low), pytest.approx(high))
            low, high = proportion_confint(beats, len(mine), method="wilson")
            assert (got["beat_low"], got["beat_high"]) == (pytest.approx(low), pytest.approx(high))


def test_bullish_minus_bearish_equals_scipy_directly(run):
    ledger, _, card = run
    calls = ledger.calls
    distinct, _ = _distinct_primary_calls(calls)
    diffs = card.differences[card.differences["section"] == "calls"].set_index("horizon")
    assert tuple(card.differences.columns) == DIFFERENCE_COLUMNS
    for h in HORIZONS:
        at = calls[calls["primary"] & (calls["horizon"] == h) & calls["article_id"].isin(set(distinct["article_id"]))]
        bull = at.loc[at["stance"] == "bullish", "excess_pct"].dropna().to_numpy()
        bear = at.loc[at["stance"] == "bearish", "excess_pct"].dropna().to_numpy()
        direct = sps.permutation_test((bull, bear), lambda a, b, axis: a.mean(axis=axis) - b.mean(axis=axis),
                                      vectorized=True, n_resamples=stats.PERMUTATIONS, rng=np.random.default_rng(stats.SEED))
        got = diffs.loc[h]
        assert (got["n_bullish"], got["n_bearish"]) == (len(bull), len(bear))
        assert got["difference_pct"] == pytest.approx(bull.mean() - bear.mean())
        assert got["p_value"] == pytest.approx(direct.pvalue)
        assert got["low_pct"] < got["difference_pct"] < got["high_pct"]


def test_call_intervals_equal_the_event_studys_band(run, barset):
    ledger, _, card = run
    events = event_study(ledger.calls, barset).set_index(["stance", "session"])
    for row in card.calls.itertuples():
        point = events.loc[(row.stance, row.horizon)]
        assert point["calls"] == row.n_calls and point["mean_excess_pct"] == pytest.approx(row.mean_excess_pct)
        assert (point["low_pct"], point["high_pct"]) == (pytest.approx(row.excess_low_pct), pytest.approx(row.excess_high_pct))


def test_trade_table_equals_a_slow_loop(run, barset):
    ledger, _, card = run
    trades = ledger.trades
    spy = barset["SPY"].frame
    entered = trades[trades["status"].isin(["filled", "open"]) & trades["entry_time"].notna()]
    seen, kept = set(), []
    for row in entered.itertuples():  # identical trades once within a stance
        key = (row.stance, row.kind, row.symbol, row.direction, row.entry_type,
               None if pd.isna(row.entry_level) else row.entry_level, row.first_session)
        kept.append(key not in seen)
        seen.add(key)
    entered = entered[kept]
    assert len(entered) > 300
    excess = []
    for row in entered.itertuples():
        if row.kind == "pair":
            excess.append(row.return_pct)
            continue
        bench = (spy.loc[row.exit_time, "close"] / spy.loc[row.entry_time, "open"] - 1) * 100
        excess.append(row.return_pct - (bench if row.direction == "long" else -bench))
    entered = entered.assign(excess=excess, section=np.where(entered["explicit"], "explicit", "conditional"),
                             cell=np.where(entered["kind"] == "pair", "pair", entered["direction"]))
    assert np.allclose(trade_excess(entered, barset), entered["excess"])
    table = card.trades.set_index(["section", "stance", "direction"])
    assert tuple(card.trades.columns) == TRADE_SCORE_COLUMNS
    positions, n_sessions = _axis(list(entered["entry_time"]))  # one calendar axis for every trade cell
    entered = entered.assign(position=positions)
    for section in ("explicit", "conditional"):
        part = entered[entered["section"] == section]
        median_held = np.median(part["sessions_held"].astype(float))
        block = next(h for h in HORIZONS if h >= median_held)
        for stance in ("bullish", "bearish", "neutral"):
            for cell in ("all", "long", "short", "pair"):
                mine = part[(part["stance"] == stance) & ((part["cell"] == cell) if cell != "all" else True)]
                if not len(mine):
                    assert (section, stance, cell) not in table.index or cell == "all"
                    continue
                got = table.loc[(section, stance, cell)]
                wins = int((mine["return_pct"] > 0).sum())
                beats = int((mine["excess"] > 0).sum())
                assert (got["n_trades"], got["wins"], got["beats"], got["n_articles"], got["n_open"]) == (
                    len(mine), wins, beats, mine["article_id"].nunique(), (mine["status"] == "open").sum())
                assert got["mean_return_pct"] == pytest.approx(mine["return_pct"].mean())
                assert got["mean_excess_pct"] == pytest.approx(mine["excess"].mean())
                low, high = proportion_confint(wins, len(mine), method="wilson")
                assert (got["win_low"], got["win_high"]) == (pytest.approx(low), pytest.approx(high))
                assert got["block_length"] == block
                interval = stats.block_bootstrap_mean(mine["return_pct"], mine["position"], block_length=block,
                                                      n_sessions=n_sessions)
                assert (got["return_low_pct"], got["return_high_pct"]) == (
                    pytest.approx(interval.low, nan_ok=True), pytest.approx(interval.high, nan_ok=True))


def test_pulse_is_over_articles_and_equals_scipy(run):
    ledger, articles, card = run
    calls = ledger.calls
    pulse = card.pulse.set_index(["group", "horizon"])
    assert tuple(card.pulse.columns) == PULSE_COLUMNS
    for h in HORIZONS:
        at = calls[calls["primary"] & (calls["horizon"] == h) & calls["direction"].isin(["long", "short"])]
        frame = at.merge(articles[["article_id", "pulse"]], on="article_id")[["article_id", "stance", "pulse", "excess_pct"]]
        frame = frame.dropna()
        for group in ("directional", "bullish", "bearish"):
            mine = frame if group == "directional" else frame[frame["stance"] == group]
            direct = sps.spearmanr(mine["pulse"], mine["excess_pct"])
            got = pulse.loc[(group, h)]
            assert got["n_articles"] == len(mine)  # every article, repeated calls included
            assert got["rho"] == pytest.approx(direct.statistic) and got["p_value"] == pytest.approx(direct.pvalue)
            top = mine[mine["pulse"] >= mine["pulse"].quantile(0.8)]
            bottom = mine[mine["pulse"] <= mine["pulse"].quantile(0.2)]
            assert (got["n_top"], got["n_bottom"]) == (len(top), len(bottom))
            assert got["spread_pct"] == pytest.approx(top["excess_pct"].mean() - bottom["excess_pct"].mean())
            assert got["spread_low_pct"] <= got["spread_pct"] <= got["spread_high_pct"]


def test_scorecard_is_deterministic(run, barset):
    ledger, articles, card = run
    again = scorecard(ledger.calls.sample(frac=1.0, random_state=1), ledger.trades, articles, barset)
    for name in ("calls", "differences", "pulse"):
        pd.testing.assert_frame_equal(getattr(card, name), getattr(again, name))
    pd.testing.assert_frame_equal(card.trades, scorecard(ledger.calls, ledger.trades, articles, barset).trades)


def test_permutation_threads_bound_and_change_nothing(run, barset, monkeypatch):
    """``threads=1`` (a sweep cell on a Dask worker) runs one permutation test at a time, with the same figures."""
    from research_fixtures import record_permutation_pools

    sizes = record_permutation_pools(monkeypatch)
    ledger, articles, card = run
    one = scorecard(ledger.calls, ledger.trades, articles, barset, threads=1)
    assert sizes == [1]
    for name in ("calls", "differences", "pulse", "trades"):
        pd.testing.assert_frame_equal(getattr(card, name), getattr(one, name))


def test_without_bars_trade_excess_is_empty_and_bad_input_is_one_error(run):
    ledger, articles, _ = run
    card = scorecard(ledger.calls, ledger.trades, articles)
    assert card.trades["mean_excess_pct"].isna().all() and card.trades["mean_return_pct"].notna().any()
    with pytest.raises(ValueError, match=r"trades: missing column\(s\) explicit"):
        scorecard(ledger.calls, ledger.trades.drop(columns="explicit"), articles)
    with pytest.raises(ValueError, match=r"articles: missing column\(s\) pulse"):
        scorecard(ledger.calls, ledger.trades, articles.drop(columns="pulse"))
