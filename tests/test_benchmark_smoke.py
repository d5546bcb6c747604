"""The engine benchmark keeps working, and the one engine path keeps its rules on a synthetic corpus.

* a small run of ``benchmarks/bench_engine.py --json`` (S = 1,000 with every comparison at that size): the
  JSON has the documented keys and the kernel (one thread and all cores), the reference and vectorbt agree;
* the benchmark's column-wise setup-table builder equals the setup-file route (``SetupTable.from_files``);
* ``simulate()``'s screening on hand-made corner cases (unresolved, bad ordering, unknown symbol, a
  hand-typed symbol, incoherent levels with and without ``include_incoherent``, publication after the
  data, a split between publication and the bars, pairs with a missing leg, ``--as-of``): every simulated
  single equals the reference oracle run on kernel inputs built independently, one setup at a time, with
  the data layer's own helpers (``first_session_after``, ``to_bar_basis``);
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
from backtest.engine.ledger import SimConfig

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import synthetic  # noqa: E402

KEYS = ("setups", "kernel_s", "kernel_setups_per_s", "compile_s", "end_to_end_s", "peak_rss_mb", "oracle_s",
        "vectorbt_s", "vectorbt_windowed_s", "agree")


def test_bench_engine_json_smoke():
    cmd = [sys.executable, str(REPO / "benchmarks" / "bench_engine.py"), "--sizes", "1000", "--json", "--repeats", "1",
           "--oracle-max", "1000", "--vbt-max", "1000", "--vbt-windowed-max", "1000"]
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
    assert row["agree_oracle"] and row["agree_vectorbt"] and row["agree_vectorbt_windowed"] and row["agree_threads"]
    assert row["vectorbt_compared"] > 50  # the vectorbt check compared a real number of trades


def test_bench_cli_smoke(tmp_path):
    """The command-line benchmark runs the real command on a generated corpus and reports every row."""
    cmd = [sys.executable, str(REPO / "benchmarks" / "bench_cli.py"), "--sizes", "40", "--repeats", "1", "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    for key in ("help", "five_articles", "five_articles_cold", "five_articles_new"):
        assert out[key]["median_s"] > 0 and out[key]["peak_rss_mb"] > 0
    row = out["corpus_40"]
    assert row["setups"] == 40 and row["files"] >= 5
    assert all(row[state]["median_s"] > 0 for state in ("cold", "new", "rerun")) and row["report_html_mb"] > 0


def test_the_benchmark_corpus_is_deterministic_and_loads_cleanly(tmp_path, market_data_dir):
    import corpus
    from backtest.setups.load import load_setups

    a, b = tmp_path / "a", tmp_path / "b"
    assert corpus.write_corpus(a, 300, market_data_dir) == corpus.write_corpus(b, 300, market_data_dir)
    assert all((a / p.name).read_bytes() == p.read_bytes() for p in b.iterdir())
    files, skips = load_setups(a)
    assert skips == [] and sum(len(f.setups) for f in files) == 300


def test_bench_engine_rejects_bad_sizes():
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_engine.py"), "--sizes", "ten"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--sizes" in proc.stderr.strip().splitlines()[-1]


# ------------------------------------------------------------------------------------------ screening vs the oracle
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


def _oracle_row(frame_row, bars: BarSet, config: SimConfig):
    """The reference oracle's outcome for one single setup, its inputs built by hand with the data layer's
    per-setup helpers (an independent route to the kernel's layout)."""
    from backtest.data.splits import to_bar_basis
    from backtest.engine.arrays import AMBIGUITIES, SCALE_OUTS, KernelArrays
    from backtest.engine.reference import run_reference

    symbol = str(frame_row["symbol"]).strip().upper()
    b = bars[symbol].until(config.as_of)
    published = frame_row["published"].to_pydatetime()

    def basis(x):
        return np.nan if np.isnan(x) else to_bar_basis(float(x), published, b)

    o, h, l, c = (b.array(k) for k in ("open", "high", "low", "close"))
    arrays = KernelArrays.build(
        o, h, l, c, start=[b.first_session_after(published)], end=[len(b)], direction=[frame_row["direction"]],
        entry_type=[frame_row["entry_type"]], entry_level=[basis(frame_row["entry_level"])], stop=[basis(frame_row["stop"])],
        targets=[[basis(frame_row["target1"]), basis(frame_row["target2"])]], invalidation=[basis(frame_row["invalidation"])],
        entry_window=config.entry_window, max_hold=config.max_hold, scale_out=SCALE_OUTS[config.scale_out],
        ambiguity=AMBIGUITIES[config.ambiguity])
    return run_reference(arrays, cost=(config.commission_bps + config.slippage_bps) / 10_000), b


def _assert_simulated_singles_equal_the_oracle(frame, bars, config, sample=None):
    ledger = simulate(synthetic.to_setup_table(frame), bars, config)
    trades = ledger.trades.set_index("setup_id")
    simulated = frame[(frame["kind"] == "single")
                      & trades.loc[frame["setup_id"], "status"].isin(["filled", "open", "expired", "cancelled"]).to_numpy()]
    assert len(simulated) > 20
    for _, r in (simulated.head(sample) if sample else simulated).iterrows():
        ref, b = _oracle_row(r, bars, config)
        row = trades.loc[r["setup_id"]]
        dates = b.frame.index
        assert row["entry_price"] == ref.entry_price[0] or (np.isnan(row["entry_price"]) and np.isnan(ref.entry_price[0]))
        assert row["return_pct"] == ref.return_pct[0] or (np.isnan(row["return_pct"]) and np.isnan(ref.return_pct[0]))
        if ref.entry_bar[0] >= 0:
            assert row["entry_time"] == dates[ref.entry_bar[0]] and row["exit_time"] == dates[ref.exit_bar[0]]
            assert row["exit_price"] == ref.exit_price[0] and row["sessions_held"] == ref.sessions_held[0]
    return ledger


def test_setup_table_builder_equals_the_setup_file_route(frames):
    from backtest.setups.table import SetupTable

    frame = _corner_table(frames)
    fast, slow = synthetic.to_setup_table(frame), SetupTable.from_files(synthetic.table_to_files(frame))
    for name in ("articles", "setups"):
        a, b = getattr(fast, name), getattr(slow, name)
        assert list(a.columns) == list(b.columns) and len(a) == len(b)
        for column in a.columns:
            left, right = a[column].astype(object).tolist(), b[column].astype(object).tolist()
            assert [None if not isinstance(x, tuple) and pd.isna(x) else x for x in left] == \
                [None if not isinstance(x, tuple) and pd.isna(x) else x for x in right], (name, column)


def test_corner_cases_are_screened_and_the_rest_equals_the_oracle(frames):
    frame = _corner_table(frames)
    bars = _barset(frames, split_symbol=list(frames)[2])
    strict = _assert_simulated_singles_equal_the_oracle(frame, bars, SimConfig(commission_bps=5.0))
    lenient = _assert_simulated_singles_equal_the_oracle(frame, bars, SimConfig(include_incoherent=True, commission_bps=5.0))
    by_id = strict.trades.set_index("setup_id")
    single = frame.index[frame["kind"] == "single"]
    ids = frame["setup_id"]
    assert by_id.loc[ids[single[0]], "status"] == "unresolved"
    assert by_id.loc[ids[single[2]], "status"] == "no-data" and "GONE" in by_id.loc[ids[single[2]], "reason"]
    assert by_id.loc[ids[single[3]], "status"] != "no-data"  # " syn01 " finds SYN01
    assert set(by_id.loc[list(ids[single[8:11]]), "status"]) == {"no-data"}
    assert all("no SYN" in r and "session after publication" in r for r in by_id.loc[list(ids[single[8:11]]), "reason"])
    assert list(by_id.loc[["P-none", "P-gone", "P-gone-none"], "status"]) == ["unresolved", "no-data", "no-data"]
    counts = by_id["status"].value_counts()
    for status in ("filled", "expired", "unresolved", "no-data"):
        assert counts[status] > 0, status
    incoherent = int(lenient.trades["incoherent"].sum())
    assert incoherent > 0 and not strict.trades["incoherent"].any()
    # the one bad-ordering setup is always rejected; incoherent ones only without --include-incoherent
    assert (lenient.trades["status"] == "rejected").sum() == 1
    assert counts["rejected"] == 1 + incoherent
    ordering = by_id[by_id["reason"].fillna("").str.startswith("level ordering")]
    assert len(ordering) == 1 and " must be " in ordering["reason"].iloc[0]


def test_as_of_and_other_policies_equal_the_oracle(frames):
    frame = _corner_table(frames)
    bars = _barset(frames, split_symbol=list(frames)[0], split_at=250)
    as_of = frames[list(frames)[0]].index[200].date()
    ledger = _assert_simulated_singles_equal_the_oracle(
        frame, bars, SimConfig(as_of=as_of, ambiguity="target-first", scale_out="first", entry_window=5, max_hold=10))
    assert (ledger.trades["exit_time"].dropna() <= pd.Timestamp(as_of)).all()  # nothing after --as-of
    assert (ledger.trades["status"] == "open").any()
    assert all(b.last <= as_of for b in ledger.bars.bars.values())  # the ledger says which bars it used


def test_split_converts_levels_to_the_bars_basis(frames):
    """A level written before the split is halved against split-adjusted bars."""
    names = list(frames)
    bars = _barset(frames, split_symbol=names[0], split_at=150)
    frame = synthetic.make_setup_table(200, frames, seed=9)
    frame = frame[frame["kind"] == "single"].reset_index(drop=True)
    frame["symbol"] = names[0]
    ledger = _assert_simulated_singles_equal_the_oracle(frame, bars, SimConfig())
    fast = ledger.trades.set_index("setup_id").loc[frame["setup_id"]].reset_index()
    before = frame["published"] < pd.Timestamp(frames[names[0]].index[150]).tz_localize("UTC")
    assert before.any() and (~before).any()
    entered = fast["entry_price"].notna()
    # fills happen on the split-adjusted scale: before-split setups were converted (levels halved)
    assert (fast.loc[before & entered & (frame["entry_type"] == 1), "entry_price"]
            < frame.loc[before & entered & (frame["entry_type"] == 1), "entry_level"] * 0.6).all()
    levels = ledger.coherence[ledger.coherence["level_name"] == "entry"].set_index("setup_id")
    pre = frame.loc[before & frame["entry_level"].notna(), "setup_id"]
    assert np.allclose(levels.loc[pre, "level"] * 2, levels.loc[pre, "level_as_written"])


# ------------------------------------------------------------------------------------------ aggregates
def test_aggregates_equal_report_tables(frames):
    from backtest.reports import tables
    from backtest.reports.aggregate import article_outcomes, stance_outcomes

    frame = _corner_table(frames)
    bars = _barset(frames)
    table = synthetic.to_setup_table(frame)
    ledger = simulate(table, bars, SimConfig())
    trades = tables.trades_table(ledger)
    calls = tables.calls_table(ledger)
    expected_articles = tables.articles_table(table.articles, trades, calls, ledger.config.horizons).set_index("article_id")
    expected_stances = tables.stances_table(expected_articles.reset_index(), trades, calls,
                                            ledger.config.horizons).set_index("stance")
    got_articles = article_outcomes(ledger.trades).set_index("article_id")
    got_stances = stance_outcomes(ledger.trades).set_index("stance")
    assert sorted(got_articles.index) == sorted(expected_articles.index)
    columns = ["setups", "filled", "wins", "losses", "hit_rate", "total_return_pct", "mean_return_pct", "mean_r"]
    exp = expected_articles.loc[got_articles.index, columns].astype(float)
    np.testing.assert_allclose(got_articles[columns].astype(float).to_numpy(), exp.to_numpy(), rtol=1e-12,
                               equal_nan=True)
    assert list(got_stances.index) == list(expected_stances.index)
    assert got_stances.loc["all", "setups"] == len(frame)
    assert list(got_stances["articles"]) == list(expected_stances["articles"])
    # stances.csv counts identical calls once (docs/reports.md): the `all` row without any repeated entered
    # trade, a stance's row without those repeating one of the same stance
    from backtest.engine.ledger import entered_mask
    from backtest.reports.portfolio import IDENTICAL_CALL_KEY, identical_calls

    entered = entered_mask(trades).to_numpy()
    in_stance = np.zeros(len(trades), dtype=bool)
    with_stance = trades[entered].assign(stance=trades.loc[entered, "stance"].fillna("unknown"))
    in_stance[entered] = identical_calls(with_stance, IDENTICAL_CALL_KEY + ("stance",)).notna().to_numpy()
    assert trades["duplicate_of"].notna().any(), "the corner table repeats some calls"
    once_all = stance_outcomes(trades[trades["duplicate_of"].isna().to_numpy()]).set_index("stance")
    once_stance = stance_outcomes(trades[~in_stance]).set_index("stance")
    columns = [*columns, "median_return_pct"]
    for stance in expected_stances.index:
        got = (once_all if stance == "all" else once_stance).loc[stance, columns].astype(float).to_numpy()
        np.testing.assert_allclose(got, expected_stances.loc[stance, columns].astype(float).to_numpy(), rtol=1e-12,
                                   equal_nan=True, err_msg=stance)
