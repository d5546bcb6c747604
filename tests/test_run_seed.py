"""``backtest run`` on the seed articles (../shared/articles) with the shared market-data mirror, offline.

Two inputs: the committed ``setups/`` (the reviewed setup files) and the raw articles themselves (the
run extracts them in memory). Either way every seed article must reach the report.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from backtest.cli import cli

REPO = Path(__file__).resolve().parents[1]


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module", params=["committed-setups", "raw-articles"])
def seed_run(request, tmp_path_factory, articles_dir, market_data_dir):
    source = REPO / "setups" if request.param == "committed-setups" else articles_dir
    out = tmp_path_factory.mktemp(request.param)
    cache = tmp_path_factory.mktemp("cache")
    args = ["--offline", "--mirror", str(market_data_dir), "--cache-dir", str(cache), "run", str(source)]
    results = [CliRunner().invoke(cli, args + ["--out", str(out / name)]) for name in ("a", "b")]
    return out / "a", out / "b", results


def test_exit_0_and_every_seed_article(seed_run, articles_dir):
    first, _, results = seed_run
    assert [r.exit_code for r in results] == [0, 0], results[0].output
    seeds = {p.stem for p in articles_dir.iterdir() if p.suffix in (".txt", ".html")}
    assert {r["article_id"] for r in read_csv(first / "articles.csv")} == seeds
    assert {r["article_id"] for r in read_csv(first / "trades.csv")} <= seeds


def test_all_three_stances(seed_run):
    stances = {r["stance"]: r for r in read_csv(seed_run[0] / "stances.csv")}
    assert {"bullish", "bearish", "neutral", "all"} <= set(stances)
    assert int(stances["all"]["articles"]) == sum(int(stances[s]["articles"]) for s in stances if s != "all")
    # The seed set has articles of every stance.
    assert all(int(stances[s]["articles"]) >= 1 for s in ("bullish", "bearish", "neutral"))


def test_refused_setups_keep_levels_and_reasons(seed_run):
    trades = read_csv(seed_run[0] / "trades.csv")
    refused = [t for t in trades if t["status"] in ("rejected", "unresolved", "no-data")]
    assert refused, "the seed articles contain setups the coherence check refuses"
    assert all(t["reason"] for t in refused)
    rejected = [t for t in refused if t["status"] == "rejected"]
    assert any("incoherent" in t["reason"] for t in rejected)
    assert all(t["stop"] or t["entry_level"] or t["targets"] for t in rejected)  # levels are kept


def test_two_runs_identical(seed_run):
    first, second, _ = seed_run
    for name in ("trades.csv", "articles.csv", "stances.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    a, b = (json.loads((d / "summary.json").read_text()) for d in (first, second))
    a.pop("run"), b.pop("run")
    assert a == b


def test_as_of_reads_no_later_bar(tmp_path, articles_dir, market_data_dir):
    args = ["--offline", "--mirror", str(market_data_dir), "--cache-dir", str(tmp_path / "cache"), "run",
            str(REPO / "setups"), "--as-of", "2026-03-01", "--out", str(tmp_path / "r"), "--format", "json,csv", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["data"]["coverage"]
    assert all(c["last"] <= "2026-03-01" for c in summary["data"]["coverage"])
    # Orders still working on the as-of date must not break the follow-every-call portfolio.
    assert not summary["portfolio"].get("error"), summary["portfolio"]
    trades = read_csv(tmp_path / "r" / "trades.csv")
    for row in trades:
        assert row["exit_time"][:10] <= "2026-03-01"
    running = [t for t in trades if t["status"] == "open" and t["entry_time"]]
    assert running, "some seed trades are still running on 2026-03-01"
    # Marked to the last session on or before the as-of date (Friday 2026-02-27).
    assert {t["exit_time"][:10] for t in running} == {"2026-02-27"}
    articles = {r["article_id"]: r for r in read_csv(tmp_path / "r" / "articles.csv")}
    entered = sum(int(a["filled"]) for a in articles.values())
    assert entered == len(running) + sum(t["status"] == "filled" for t in trades)


def test_each_article_is_one_directional_call(seed_run):
    """Small-cap articles are measured on IWM and ^RUT, but counted once (on IWM, the primary symbol)."""
    calls = read_csv(seed_run[0] / "calls.csv")
    one_day = [c for c in calls if c["horizon"] == "1"]
    by_article: dict[str, list[dict]] = {}
    for c in one_day:
        by_article.setdefault(c["article_id"], []).append(c)
    small_caps = by_article["003_99540e02251797ad"]
    assert {c["symbol"] for c in small_caps} == {"IWM", "^RUT"}
    assert [c["symbol"] for c in small_caps if c["primary"] == "true"] == ["IWM"]
    # The bearish article is a short call on IWM: its hit is whether IWM fell over the first session.
    iwm = next(c for c in small_caps if c["symbol"] == "IWM")
    assert iwm["direction"] == "short"
    assert iwm["hit"] == str(float(iwm["end_price"]) < float(iwm["start_price"])).lower()
    stances = {r["stance"]: r for r in read_csv(seed_run[0] / "stances.csv")}
    articles = {r["article_id"]: r["stance"] for r in read_csv(seed_run[0] / "articles.csv")}
    for stance in ("bullish", "bearish", "neutral"):
        # one call per article, but an identical call (same symbol, direction, first session) counts once:
        # the two bullish articles make the same IWM long from the same session
        distinct = {(c["symbol"], c["direction"], c["start_time"][:10]) for c in one_day
                    if c["primary"] == "true" and articles[c["article_id"]] == stance and c["excess_pct"] != ""}
        assert int(stances[stance]["calls_1d"]) == len(distinct) <= int(stances[stance]["articles"])
    assert int(stances["bullish"]["calls_1d"]) == 1 < int(stances["bullish"]["articles"]) == 2


def test_the_shipped_demo_is_strict_clean(tmp_path, market_data_dir):
    """The cron line of docs/reports.md: the seed's refused setups (incoherent, unresolved) are results."""
    args = ["--offline", "--mirror", str(market_data_dir), "--cache-dir", str(tmp_path / "cache"), "run",
            str(REPO / "setups"), "--strict", "--quiet", "--out", str(tmp_path / "r"), "--format", "json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["counts"]["by_status"]["rejected"] == 3 and summary["counts"]["by_status"]["unresolved"] == 1


# ------------------------------------------------------------------ the research figures, recomputed from the CSVs
def _number(text: str) -> float:
    return float(text) if text != "" else float("nan")


def _distinct_calls(calls: list[dict]) -> dict[str, dict]:
    """docs/reports.md's "one call": each article's primary call with a first session; of several with the same
    symbol, direction and first session, the first by (first session, article id) stands for them all."""
    first: dict[str, dict] = {}
    for row in calls:
        if row["primary"] == "true" and row["start_time"] and row["article_id"] not in first:
            first[row["article_id"]] = row
    kept: dict[tuple, dict] = {}
    for article in sorted(first, key=lambda a: (first[a]["start_time"][:10], a)):
        row = first[article]
        key = (row["symbol"], row["direction"], row["start_time"][:10])
        if key in kept:
            kept[key]["articles"] += 1
        else:
            kept[key] = {"article_id": article, "stance": row["stance"] or "unknown", "articles": 1}
    return {c["article_id"]: c for c in kept.values()}


def _exact_permutation_p(a: list[float], b: list[float]) -> float:
    """Two-sided p of mean(a) - mean(b) over every relabelling (the seed's groups are tiny)."""
    import itertools

    both, observed = a + b, abs(sum(a) / len(a) - sum(b) / len(b))
    count = total = 0
    for chosen in itertools.combinations(range(len(both)), len(a)):
        x = [both[i] for i in chosen]
        y = [both[i] for i in range(len(both)) if i not in chosen]
        total += 1
        count += abs(sum(x) / len(x) - sum(y) / len(y)) >= observed - 1e-12
    return count / total


def test_the_scorecard_is_recomputed_from_the_runs_csvs(seed_run):
    """scorecard.csv and scorecard_differences.csv agree with a recomputation from calls.csv alone: the
    distinct calls by hand, Wilson intervals from statsmodels, the means by hand, the bullish-minus-bearish
    p-value by exhaustive relabelling; event_study.csv at session h is the scorecard's mean at horizon h."""
    check_scorecard_against_csvs(seed_run[0])


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory, market_data_dir):
    """A generated corpus of 1,500 setups (benchmarks/corpus.py) on the real mirror prices, run once."""
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    import corpus

    source = tmp_path_factory.mktemp("corpus")
    corpus.write_corpus(source, 1_500, market_data_dir)
    out = tmp_path_factory.mktemp("corpus-report") / "r"
    args = ["--offline", "--mirror", str(market_data_dir), "--cache-dir", str(tmp_path_factory.mktemp("cache")),
            "run", str(source), "--out", str(out), "--format", "csv,json", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return out


def test_a_generated_corpus_scorecard_is_recomputed_from_its_csvs(corpus_run):
    """The same independent recomputation on hundreds of calls, where the p-values exist: they agree with
    a Monte Carlo relabelling of our own (20,000 shuffles) within its sampling error."""
    checked = check_scorecard_against_csvs(corpus_run, monte_carlo=20_000)
    assert checked >= 2, "some horizon has two or more calls of each stance"


def check_scorecard_against_csvs(folder: Path, monte_carlo: int = 0) -> int:
    """Recompute scorecard.csv / scorecard_differences.csv / event_study.csv from calls.csv; returns how many
    p-values were checked."""
    from statsmodels.stats.proportion import proportion_confint

    checked = 0
    calls = read_csv(folder / "calls.csv")
    distinct = _distinct_calls(calls)
    card = {(r["stance"], int(r["horizon"])): r for r in read_csv(folder / "scorecard.csv")}
    assert card, "the run writes a scorecard"
    study = {(r["stance"], int(r["session"])): r for r in read_csv(folder / "event_study.csv")}
    diffs = {int(r["horizon"]): r for r in read_csv(folder / "scorecard_differences.csv") if r["section"] == "calls"}
    for h in (1, 5, 20, 60):
        rows = [r for r in calls if r["article_id"] in distinct and r["primary"] == "true" and int(r["horizon"]) == h
                and r["excess_pct"] != ""]
        by_stance: dict[str, list[dict]] = {}
        for r in rows:
            by_stance.setdefault(distinct[r["article_id"]]["stance"], []).append(r)
        assert {s for s, hh in card if hh == h} == set(by_stance), h
        for stance, mine in by_stance.items():
            got = card[(stance, h)]
            excess = [float(r["excess_pct"]) for r in mine]
            assert int(got["n_calls"]) == len(mine)
            assert int(got["n_articles"]) == sum(distinct[r["article_id"]]["articles"] for r in mine)
            assert _number(got["mean_excess_pct"]) == pytest.approx(sum(excess) / len(excess), abs=1e-6)
            assert _number(study[(stance, h)]["mean_excess_pct"]) == pytest.approx(sum(excess) / len(excess), abs=1e-6)
            if stance == "neutral":
                assert got["hits"] == got["hit_rate"] == ""  # no direction, no hit
                continue
            hits = sum((-1.0 if r["direction"] == "short" else 1.0) * float(r["return_pct"]) > 0 for r in mine)
            beats = sum(e > 0 for e in excess)
            assert (int(got["hits"]), int(got["beats"])) == (hits, beats)
            low, high = proportion_confint(hits, len(mine), alpha=0.05, method="wilson")
            assert _number(got["hit_rate"]) == pytest.approx(hits / len(mine), abs=1e-6)
            assert (_number(got["hit_low"]), _number(got["hit_high"])) == pytest.approx((low, high), abs=1e-6)
        bull = [float(r["excess_pct"]) for r in by_stance.get("bullish", [])]
        bear = [float(r["excess_pct"]) for r in by_stance.get("bearish", [])]
        d = diffs[h]
        assert (int(d["n_bullish"]), int(d["n_bearish"])) == (len(bull), len(bear))
        if bull and bear:
            assert _number(d["difference_pct"]) == pytest.approx(sum(bull) / len(bull) - sum(bear) / len(bear), abs=1e-6)
        if len(bull) >= 2 and len(bear) >= 2:
            from math import comb

            if comb(len(bull) + len(bear), len(bull)) <= 999:  # scipy enumerates: exact
                assert _number(d["p_value"]) == pytest.approx(_exact_permutation_p(bull, bear), abs=1e-9)
            else:
                assert monte_carlo, "a random permutation p-value needs the Monte Carlo check"
                assert _number(d["p_value"]) == pytest.approx(_monte_carlo_p(bull, bear, monte_carlo), abs=0.06)
            checked += 1
        else:
            assert d["p_value"] == ""  # too few calls on a side for a test: said, not invented
    return checked


def _monte_carlo_p(a: list[float], b: list[float], shuffles: int) -> float:
    """Two-sided permutation p of mean(a) - mean(b) from our own random relabellings (numpy, another seed)."""
    import numpy as np

    both = np.array(a + b)
    rng = np.random.default_rng(12345)
    observed = abs(np.mean(a) - np.mean(b))
    draws = np.argsort(rng.random((shuffles, len(both))), axis=1)
    x = both[draws[:, :len(a)]].mean(axis=1)
    y = both[draws[:, len(a):]].mean(axis=1)
    return float((np.sum(np.abs(x - y) >= observed - 1e-12) + 1) / (shuffles + 1))


def test_the_portfolio_headline_is_recomputed_from_trades_csv(seed_run):
    """Return on capital = sum of the entered, non-duplicate trades' return_pct / the peak number of calls
    live on one session (entry to exit session, both included), x 100 notional: from trades.csv alone."""
    folder = seed_run[0]
    trades = [t for t in read_csv(folder / "trades.csv")
              if t["status"] in ("filled", "open") and t["entry_time"] and not t["duplicate_of"]]
    assert trades
    spans = [(t["entry_time"][:10], t["exit_time"][:10]) for t in trades]
    peak = max(sum(a <= day <= b for a, b in spans) for day, _ in spans)
    summary = json.loads((folder / "summary.json").read_text())["portfolio"]
    total = sum(float(t["return_pct"]) for t in trades)
    assert summary["peak_live_calls"] == peak and summary["calls"] == len(trades)
    assert summary["return_on_capital_pct"] == pytest.approx(total / peak, abs=1e-6)
    assert summary["sum_of_trade_returns_pct"] == pytest.approx(total, abs=1e-6)
    # identical calls count once in the aggregates too: the seed repeats one trade (003...-s4 is 004...-s1)
    every = json.loads((folder / "summary.json").read_text())
    assert [t["setup_id"] for t in read_csv(folder / "trades.csv") if t["duplicate_of"]] == ["003_99540e02251797ad-s4"]
    assert every["totals"]["identical_calls_left_out"] == 1
    assert every["totals"]["total_return_pct"] == pytest.approx(total, abs=1e-6)
    stances = {r["stance"]: r for r in read_csv(folder / "stances.csv")}
    assert int(stances["all"]["filled"]) == len(trades)
    md = (folder / "report.md").read_text()
    assert md.index("Did bullish or bearish") < md.index("return on capital")
