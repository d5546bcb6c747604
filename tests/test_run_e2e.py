"""``backtest run`` end to end: real loader, data layer (the ../shared mirror, offline), engine and reports.

The setup files here are hand-written for these tests (invented levels on real symbols and dates);
the seed articles' committed ``setups/`` are exercised in test_run_seed.py.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from backtest.cli import cli
from backtest.engine.ledger import TRADE_COLUMNS

SETUPS = {
    "bull.yaml": """\
article:
  id: t-bull
  title: Small caps break out
  published: 2026-02-09T14:00:00Z
  stance: bullish
  pulse: 62
  subject: [IWM]
setups:
  - id: t-bull-market
    symbol: IWM
    direction: long
    stop: 240
    targets: [280]
  - id: t-bull-far
    symbol: IWM
    direction: long
    entry: {type: limit, level: 2000}
    stop: 1900
    targets: [2200]
  - id: t-pair
    kind: pair
    long: {instrument: small caps, symbol: IWM}
    short: {instrument: tech, symbol: XLK}
""",
    "bear.yaml": """\
article:
  id: t-bear
  published: 2026-01-20
  stance: bearish
  pulse: 35
  subject: [SPY]
setups:
  - id: t-bear-breakdown
    symbol: SPY
    direction: short
    entry: {type: stop, level: 670}
    stop: 700
    targets: [650]
""",
    "flat.yaml": """\
article:
  id: t-flat
  published: 2026-02-17T21:30:00Z
  stance: neutral
  pulse: 50
  subject: [QQQ]
setups:
  - id: t-flat-xlv
    symbol: XLV
    direction: long
    stop: 130
    targets: [170]
""",
}
ARTICLE_COLUMNS = ["article_id", "title", "published", "stance", "pulse", "threat", "subject", "setups", "filled",
                   "wins", "losses", "hit_rate", "total_return_pct", "mean_return_pct", "mean_r"]
STANCE_COLUMNS = ["stance", "articles", "setups", "filled", "wins", "losses", "hit_rate", "total_return_pct",
                  "mean_return_pct", "median_return_pct", "mean_r"]
DATA_FILES = ("trades.csv", "articles.csv", "stances.csv", "calls.csv", "exits.csv", "scorecard.csv", "event_study.csv",
              "equity.csv", "summary.json")


@pytest.fixture(scope="module")
def setups_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("setups")
    for name, text in SETUPS.items():
        (directory / name).write_text(text)
    return directory


@pytest.fixture(scope="module")
def base_args(tmp_path_factory, market_data_dir) -> list[str]:
    cache = tmp_path_factory.mktemp("cache")
    return ["--offline", "--mirror", str(market_data_dir), "--cache-dir", str(cache)]


def invoke(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, setups_dir, base_args):
    out = tmp_path_factory.mktemp("reports")
    results = [invoke(base_args + ["run", str(setups_dir), "--out", str(out / name)]) for name in ("a", "b")]
    return out / "a", out / "b", results


def test_run_exits_0_and_writes_every_file(two_runs):
    first, _, results = two_runs
    assert [r.exit_code for r in results] == [0, 0], results[0].output
    assert sorted(p.name for p in first.iterdir()) == sorted(
        [".backtest-report.json", "trades.csv", "trades.parquet", "articles.csv", "stances.csv", "calls.csv", "exits.csv",
         "scorecard.csv", "scorecard_trades.csv", "scorecard_differences.csv", "pulse.csv", "event_study.csv", "equity.csv",
         "summary.json", "report.md", "report.html"]
    )


def test_documented_columns(two_runs):
    first = two_runs[0]
    with (first / "trades.csv").open() as handle:
        header = next(csv.reader(handle))
    assert header[: len(TRADE_COLUMNS)] == list(TRADE_COLUMNS)
    articles = read_csv(first / "articles.csv")
    assert list(articles[0])[: len(ARTICLE_COLUMNS)] == ARTICLE_COLUMNS
    assert {"call_excess_pct_20d", "call_hit_60d"} <= set(articles[0])
    stances = read_csv(first / "stances.csv")
    assert list(stances[0])[: len(STANCE_COLUMNS)] == STANCE_COLUMNS
    assert {"call_mean_excess_pct_20d", "pulse_rho_return", "pulse_n_return"} <= set(stances[0])


def test_every_article_and_stance_appears(two_runs):
    first = two_runs[0]
    assert [r["article_id"] for r in read_csv(first / "articles.csv")] == ["t-bear", "t-bull", "t-flat"]
    stances = {r["stance"]: r for r in read_csv(first / "stances.csv")}
    assert list(stances) == ["bullish", "bearish", "neutral", "all"]
    assert [stances[s]["articles"] for s in ("bullish", "bearish", "neutral", "all")] == ["1", "1", "1", "3"]
    assert stances["all"]["setups"] == "5"


def test_trades_one_row_per_setup_with_refusals_and_pairs(two_runs):
    trades = {r["setup_id"]: r for r in read_csv(two_runs[0] / "trades.csv")}
    assert set(trades) == {"t-bull-market", "t-bull-far", "t-pair", "t-bear-breakdown", "t-flat-xlv"}
    far = trades["t-bull-far"]
    assert far["status"] == "rejected" and "2,000" in far["reason"] and far["entry_level"] == "2000"
    pair = trades["t-pair"]
    assert pair["symbol"] == "IWM/XLK" and pair["long_symbol"] == "IWM" and pair["short_symbol"] == "XLK"
    market = trades["t-bull-market"]
    # Published 09:00 New York on a Monday: the first session that opens after it is that Monday.
    assert market["status"] in ("filled", "open") and market["entry_time"].startswith("2026-02-09")


def test_two_runs_are_byte_identical(two_runs):
    first, second, _ = two_runs
    for name in DATA_FILES[:3]:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    a, b = (json.loads((d / "summary.json").read_text()) for d in (first, second))
    assert a.pop("run")["out_dir"] != b.pop("run")["out_dir"]  # the only run-specific block
    assert a == b
    text_a = (first / "summary.json").read_text()
    text_b = (second / "summary.json").read_text()
    assert text_a.split('"config"', 1)[1] == text_b.split('"config"', 1)[1]  # byte-identical outside "run"


def test_summary_blocks(two_runs):
    summary = json.loads((two_runs[0] / "summary.json").read_text())
    assert set(summary) >= {"run", "config", "data", "counts", "totals", "portfolio", "stances", "skipped"}
    coverage = {c["symbol"]: c for c in summary["data"]["coverage"]}
    assert set(coverage) == {"IWM", "SPY", "XLK", "XLV", "QQQ"}
    assert coverage["SPY"]["source"].startswith("mirror")
    assert summary["counts"]["setups"] == 5 and summary["counts"]["by_status"]["rejected"] >= 1
    assert {"total_return_pct_stop_first", "total_return_pct_target_first", "ambiguous_trades"} <= set(summary["totals"])
    assert summary["config"]["costs_bps_per_side"] == 0


def test_as_of_reads_no_later_bar(tmp_path, setups_dir, base_args):
    out = tmp_path / "asof"
    result = invoke(base_args + ["run", str(setups_dir), "--as-of", "2026-03-01", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["as_of"] == "2026-03-01"
    assert {c["last"] for c in summary["data"]["coverage"]} == {"2026-02-27"}  # the last session on/before
    trades = {r["setup_id"]: r for r in read_csv(out / "trades.csv")}
    market = trades["t-bull-market"]
    assert market["status"] == "open" and market["exit_time"] <= "2026-02-28"
    for row in trades.values():
        for column in ("entry_time", "exit_time"):
            assert row[column] == "" or row[column][:10] <= "2026-03-01"


def test_strict_passes_refusals_by_the_rules_and_fails_missing_data(tmp_path, setups_dir, base_args):
    """t-bull-far is rejected (incoherent levels): a result, --strict passes. A setup on a symbol without
    bars is an input the run could not evaluate: --strict exits 1, and the report is still written."""
    result = invoke(base_args + ["run", str(setups_dir), "--strict", "--out", str(tmp_path / "s"), "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    extra = tmp_path / "more"
    extra.mkdir()
    for name, text in SETUPS.items():
        (extra / name).write_text(text)
    (extra / "gone.yaml").write_text(SETUPS["flat.yaml"].replace("t-flat", "t-gone").replace("XLV", "QZXW"))
    result = CliRunner().invoke(cli, base_args + ["run", str(extra), "--strict", "--out", str(tmp_path / "g"),
                                                  "--format", "csv"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == ("error: --strict: 1 input(s) skipped, 1 setup(s) without data "
                                                      "(reasons in the report); exit 1")
    assert (tmp_path / "g" / "trades.csv").is_file()  # the report is still written


def test_quiet_prints_nothing_on_success(tmp_path, setups_dir, base_args):
    result = CliRunner().invoke(cli, base_args + ["run", str(setups_dir), "--quiet", "--out", str(tmp_path / "q"),
                                                  "--format", "json"])
    assert result.exit_code == 0
    assert result.output == "" and result.stderr == ""


def test_default_out_dir_and_latest(tmp_path, setups_dir, base_args, monkeypatch):
    monkeypatch.chdir(tmp_path)  # default out_dir "reports" is relative to the working directory
    result = invoke(base_args + ["run", str(setups_dir), "--format", "csv", "-q"])
    assert result.exit_code == 0
    runs = [p for p in (tmp_path / "reports").iterdir() if p.name != "latest"]
    assert len(runs) == 1 and (tmp_path / "reports" / "latest").resolve() == runs[0].resolve()


def test_bad_setup_file_is_reported_and_others_still_run(tmp_path, setups_dir, base_args):
    directory = tmp_path / "mixed"
    directory.mkdir()
    (directory / "bull.yaml").write_text(SETUPS["bull.yaml"])
    typo = SETUPS["bear.yaml"].replace("    stop: 700", "    stopp: 700")
    (directory / "typo.yaml").write_text(typo)
    line = typo.splitlines().index("    stopp: 700") + 1
    result = CliRunner().invoke(cli, base_args + ["run", str(directory), "--out", str(tmp_path / "m")])
    assert result.exit_code == 0
    assert f"typo.yaml:{line}: setups[0].stopp: unknown field" in result.stderr
    summary = json.loads((tmp_path / "m" / "summary.json").read_text())
    assert [s["item"] for s in summary["skipped"]] == ["t-bear-breakdown"]
    assert {r["article_id"] for r in read_csv(tmp_path / "m" / "articles.csv")} == {"t-bull", "t-bear"}


def test_usage_errors_exit_2(tmp_path, base_args):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli, base_args + ["run", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "no setup files" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_delay_acts_n_sessions_late_and_is_in_the_run_id_and_header(tmp_path, setups_dir, base_args, two_runs):
    """--delay 2: t-bull (published Monday 2026-02-09 14:00 UTC, before the open) first acts on 02-09 at
    delay 0; at delay 2 its market entry fills at the open of 02-11 (two XNYS sessions later), its pair too,
    and its calls start on 02-11. The delay is in summary.json, the run id's config hash and both reports."""
    from backtest.engine import SimConfig

    out = tmp_path / "late"
    result = invoke(base_args + ["run", str(setups_dir), "--delay", "2", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    now = {r["setup_id"]: r for r in read_csv(two_runs[0] / "trades.csv")}
    late = {r["setup_id"]: r for r in read_csv(out / "trades.csv")}
    assert now["t-bull-market"]["entry_time"][:10] == "2026-02-09"
    assert late["t-bull-market"]["entry_time"][:10] == late["t-pair"]["entry_time"][:10] == "2026-02-11"
    assert late["t-bull-market"]["first_session"][:10] == "2026-02-11"
    calls = [r for r in read_csv(out / "calls.csv") if r["article_id"] == "t-bull"]
    assert {r["start_time"][:10] for r in calls} == {"2026-02-11"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["delay"] == 2
    assert SimConfig(delay=2).digest() != SimConfig().digest()
    assert "delay 2 session(s)" in (out / "report.md").read_text()
    assert "delay <b>2</b>" in (out / "report.html").read_text()
    bad = CliRunner().invoke(cli, base_args + ["run", str(setups_dir), "--delay", "-1"])
    assert bad.exit_code == 2


def test_a_level_written_before_a_split_reaches_the_page_in_both_bases(tmp_path, base_args):
    """XLK split 2:1 on 2025-12-05 (docs/semantics.md §2): a limit "at 270" written on 2025-11-20 is 135 on the
    bars; report.html's article data keeps 270 as written and 135 for the chart, which labels both."""
    import json as json_

    setups = tmp_path / "split"
    setups.mkdir()
    (setups / "x.yaml").write_text("""\
article:
  id: x-split
  published: 2025-11-20T14:00:00Z
  stance: bullish
  subject: [XLK]
setups:
  - id: x-limit
    symbol: XLK
    entry: {type: limit, level: 270}
    stop: 250
""")
    out = tmp_path / "r"
    result = invoke(base_args + ["run", str(setups), "--out", str(out), "-q", "--format", "html"])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    start = html.index('id="article-data">') + len('id="article-data">')
    data = json_.loads(html[start:html.index("</script>", start)].replace("<\\/", "</"))
    levels = data["levels"]
    entry = levels["n"].index(0)
    assert levels["w"][entry] == 270 and entry in levels["moved"]
    assert levels["v"][levels["moved"].index(entry)] == 135
    assert "in the bars' basis" in html  # the label the page's script writes for a moved level
