"""The benchmark keeps working, and its fast path (engine.columnar + reports.aggregate) keeps the engine's rules.

* a small run of ``benchmarks/bench_engine.py --json`` (S = 1,000 with every comparison at that size): the
  JSON has the documented keys and the kernel, the reference, vectorbt and ``simulate()`` agree;
* ``simulate_table`` equals ``simulate()`` on hand-made corner cases (unresolved, bad ordering, unknown
  symbol, incoherent levels with and without ``include_incoherent``, publication after the data, a split
  between publication and the bars, pairs with a missing leg, ``--as-of``);
* ``article_outcomes`` / ``stance_outcomes`` equal the report tables' figures for the same ledger.

Bars here are invented (seeded random walks); no timing is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.data.bars import Bars, BarSet, SplitEvent
from backtest.data.calendar import with_sessions
from backtest.engine import simulate
from backtest.engine.columnar import simulate_table
from backtest.engine.ledger import SimConfig

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import synthetic  # noqa: E402

KEYS = ("setups", "kernel_s", "kernel_setups_per_s", "compile_s", "end_to_end_s", "peak_rss_mb", "oracle_s",
        "vectorbt_s", "vectorbt_windowed_s", "agree")


def test_bench_engine_json_smoke():
    cmd = [sys.executable, str(REPO / "benchmarks" / "bench_engine.py"), "--sizes", "1000", "--json",
           "--oracle-max", "1000", "--vbt-max", "1000", "--vbt-windowed-max", "1000", "--library-check", "300"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(proc.stdout)
    assert len(rows) == 1
    row = rows[0]
    assert set(KEYS) <= set(row)
    assert row["setups"] == 1000
    for key in KEYS[1:-1]:
        assert row[key] is not None and row[key] > 0, key
    assert row["agree"] is True
    assert row["agree_oracle"] and row["agree_vectorbt"] and row["agree_vectorbt_windowed"] and row["agree_library"]
    assert row["vectorbt_compared"] > 50  # the vectorbt check compared a real number of trades


def test_bench_engine_rejects_bad_sizes():
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_engine.py"), "--sizes", "ten"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--sizes" in proc.stderr.strip().splitlines()[-1]


# ------------------------------------------------------------------------------------------ columnar == simulate
@pytest.fixture(scope="module")
def frames():
    return synthetic.make_bars(n_symbols=4, n_sessions=300, seed=3)


def _barset(frames, split_symbol=None, split_at=150, ratio=2.0) -> BarSet:
    """Bars from the frames; ``split_symbol`` gets a split at session ``split_at`` (earlier bars divided)."""
    out = {}
    for symbol, frame in frames.items():
        frame = frame.copy()
        splits = ()
        if symbol == split_symbol:
            cols = ["open", "high", "low", "close"]
            frame.iloc[:split_at, [frame.columns.get_loc(c) for c in cols]] /= ratio
            splits = (SplitEvent(frame.index[split_at].date(), ratio),)
        out[symbol] = Bars(symbol, with_sessions(frame), source="test", basis="split-adjusted", splits=splits)
    return BarSet(bars=out, missing={"GONE": "GONE: no bars from any source"})


def _corner_table(frames) -> pd.DataFrame:
    table = synthetic.make_setup_table(400, frames, seed=5)
    names = list(frames)
    single = np.flatnonzero(table["kind"] == "single")
    long_stop = [i for i in single[12:] if table.at[i, "direction"] == 1 and not np.isnan(table.at[i, "stop"])]
    table.loc[single[0], "symbol"] = None                                       # unresolved
    i = long_stop[0]
    table.loc[i, "stop"] = table.at[i, "entry_level"] * 1.01 if table.at[i, "entry_type"] else 1e6  # stop above entry
    table.loc[single[2], "symbol"] = "GONE"                                     # no bars
    table.loc[single[3], "symbol"] = f" {names[1].lower()} "                    # hand-typed symbol
    for j in single[4:8]:                                                       # far from the market
        table.loc[j, "target1"] = table.at[j, "target1"] * 3 if table.at[j, "direction"] > 0 else np.nan
        table.loc[j, "target2"] = np.nan
    late = pd.Timestamp(frames[names[0]].index[-1]).tz_localize("UTC") + pd.Timedelta(hours=23)
    late_articles = table["article_id"].isin(table.loc[single[8:11], "article_id"])
    table.loc[late_articles, "published"] = late                                # after the last bar
    pairs = np.flatnonzero(table["kind"] == "pair")
    extra = table.iloc[[single[11]] * 3].copy()                                 # pairs with missing legs
    extra["setup_id"] = ["P-none", "P-gone", "P-gone-none"]
    extra["kind"], extra["symbol"] = "pair", None
    extra["long_symbol"] = [names[0], "GONE", "GONE"]
    extra["short_symbol"] = [None, names[1], None]
    extra["entry_type"], extra["direction"] = 0, 1
    for c in ("entry_level", "stop", "target1", "target2", "invalidation"):
        extra[c] = np.nan
    assert len(pairs) > 0
    return pd.concat([table, extra], ignore_index=True)


def _assert_same(table, bars, config):
    fast = simulate_table(table, bars, config)
    ledger = simulate(synthetic.table_to_files(table), bars, config)
    slow = ledger.trades.set_index("setup_id").loc[fast["setup_id"]]
    assert list(slow["status"]) == list(fast["status"].astype(object))
    for name in ("entry_price", "exit_price", "return_pct", "r_multiple", "mae_pct", "mfe_pct", "sessions_held",
                 "return_pct_stop_first", "return_pct_target_first"):
        np.testing.assert_array_equal(slow[name].to_numpy(dtype=float), fast[name].to_numpy(dtype=float), err_msg=name)
    for name in ("entry_time", "exit_time"):
        np.testing.assert_array_equal(slow[name].to_numpy(), fast[name].to_numpy(dtype="datetime64[ns]"), err_msg=name)
    assert list(slow["exit_reason"].fillna("-")) == list(fast["exit_reason"].astype(object).fillna("-"))
    assert list(slow["ambiguous"]) == list(fast["ambiguous"])
    assert list(slow["incoherent"]) == list(fast["incoherent"])
    return fast


def test_simulate_table_equals_simulate_on_corner_cases(frames):
    table = _corner_table(frames)
    bars = _barset(frames, split_symbol=list(frames)[2])
    strict = _assert_same(table, bars, SimConfig(commission_bps=5.0))
    lenient = _assert_same(table, bars, SimConfig(include_incoherent=True, commission_bps=5.0))
    counts = strict["status"].value_counts()
    for status in ("filled", "expired", "unresolved", "no-data"):
        assert counts[status] > 0, status
    incoherent = int(lenient["incoherent"].sum())
    assert incoherent > 0 and not strict["incoherent"].any()
    # the one bad-ordering setup is always rejected; incoherent ones only without --include-incoherent
    assert (lenient["status"] == "rejected").sum() == 1
    assert counts["rejected"] == 1 + incoherent


def test_simulate_table_equals_simulate_with_as_of_and_other_policies(frames):
    table = _corner_table(frames)
    bars = _barset(frames, split_symbol=list(frames)[0], split_at=250)
    as_of = frames[list(frames)[0]].index[200].date()
    fast = _assert_same(table, bars, SimConfig(as_of=as_of, ambiguity="target-first", scale_out="first",
                                               entry_window=5, max_hold=10))
    assert (fast["exit_time"].dropna() <= pd.Timestamp(as_of)).all()  # nothing after --as-of
    assert (fast["status"] == "open").any()


def test_split_converts_levels_like_simulate(frames):
    """A level written before the split is halved against split-adjusted bars: same fills as simulate()."""
    names = list(frames)
    bars = _barset(frames, split_symbol=names[0], split_at=150)
    table = synthetic.make_setup_table(200, frames, seed=9)
    table = table[table["kind"] == "single"].reset_index(drop=True)
    table["symbol"] = names[0]
    fast = _assert_same(table, bars, SimConfig())
    before = table["published"] < pd.Timestamp(frames[names[0]].index[150]).tz_localize("UTC")
    assert before.any() and (~before).any()
    entered = fast["entry_price"].notna()
    # fills happen on the split-adjusted scale: before-split setups were converted (levels halved)
    assert (fast.loc[before & entered & (table["entry_type"] == 1), "entry_price"]
            < table.loc[before & entered & (table["entry_type"] == 1), "entry_level"] * 0.6).all()


# ------------------------------------------------------------------------------------------ aggregates
def test_aggregates_equal_report_tables(frames):
    from backtest.reports import tables
    from backtest.reports.aggregate import article_outcomes, stance_outcomes

    table = _corner_table(frames)
    bars = _barset(frames)
    files = synthetic.table_to_files(table)
    ledger = simulate(files, bars, SimConfig())
    trades = tables.trades_table(ledger)
    calls = tables.calls_table(ledger)
    expected_articles = tables.articles_table(files, trades, calls, ledger.config.horizons).set_index("article_id")
    expected_stances = tables.stances_table(expected_articles.reset_index(), trades, calls,
                                            ledger.config.horizons).set_index("stance")
    fast = simulate_table(table, bars, SimConfig())
    got_articles = article_outcomes(fast).set_index("article_id")
    got_stances = stance_outcomes(fast).set_index("stance")
    assert sorted(got_articles.index) == sorted(expected_articles.index)
    columns = ["setups", "filled", "wins", "losses", "hit_rate", "total_return_pct", "mean_return_pct", "mean_r"]
    exp = expected_articles.loc[got_articles.index, columns].astype(float)
    np.testing.assert_allclose(got_articles[columns].astype(float).to_numpy(), exp.to_numpy(), rtol=1e-12,
                               equal_nan=True)
    assert list(got_stances.index) == list(expected_stances.index)
    columns = ["articles", *columns, "median_return_pct"]
    np.testing.assert_allclose(got_stances[columns].astype(float).to_numpy(),
                               expected_stances[columns].astype(float).to_numpy(), rtol=1e-12, equal_nan=True)
    assert got_stances.loc["all", "setups"] == len(table)


def test_setup_table_of_the_seed_setups_equals_simulate(market_data_dir, tmp_path):
    """The committed seed setup files on the real mirror bars: the fast path reproduces simulate()."""
    from backtest.config import Config, DataConfig
    from backtest.data.load import load_barset
    from backtest.engine.columnar import setup_table
    from backtest.reports.api import needed_symbols
    from backtest.setups.load import load_setups

    files, _ = load_setups(REPO / "setups")
    config = Config(data=DataConfig(sources=("mirror",), cache_dir=tmp_path, mirrors=(market_data_dir,)))
    bars = load_barset(needed_symbols(files, "SPY"), config)
    statuses = []
    for sim in (SimConfig(), SimConfig(include_incoherent=True, ambiguity="target-first", commission_bps=2.0)):
        fast = simulate_table(setup_table(files), bars, sim)
        statuses.append(set(fast["status"].astype(object)))
        slow = simulate(files, bars, sim).trades.set_index("setup_id").loc[fast["setup_id"]]
        assert len(fast) == sum(len(f.setups) for f in files) > 5
        assert list(slow["status"]) == list(fast["status"].astype(object))
        for name in ("entry_price", "exit_price", "return_pct", "r_multiple", "mae_pct", "mfe_pct",
                     "return_pct_stop_first", "return_pct_target_first"):
            np.testing.assert_array_equal(slow[name].to_numpy(dtype=float), fast[name].to_numpy(dtype=float),
                                          err_msg=name)
        assert list(slow["incoherent"]) == list(fast["incoherent"])
    assert statuses[0] >= {"filled", "rejected"}  # real trades and real refusals (incoherent seed setups)
    assert fast["incoherent"].any()  # ... which --include-incoherent simulates, flagged
