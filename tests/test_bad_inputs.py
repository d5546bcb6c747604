"""Bad inputs end to end: every case gets a one-line reason naming the culprit, and nothing else is lost.

Each case runs ``backtest run`` (click's CliRunner, in process) on a temporary directory holding one bad
fixture from ``tests/bad_inputs/`` next to one good input (``good/00_good.yaml`` or, for articles,
``good/good_article.txt``), with a config whose mirror holds small *invented* bars. The test asserts

* the exit code (0: the report is written; ``--strict``: 1),
* no traceback, and a one-line reason that names the culprit (file[:line], setup id or symbol) and
  says what is wrong, in ``summary.json`` and on stderr,
* that the good setup was still evaluated: its ``trades.csv`` row has a real status and an entry.

The cases that need the machine (a 20 MB file, an unreadable directory, yfinance failing, a full or
read-only disk, signals, concurrent runs) build their input in the test. ``docs/errors.md`` lists every
case with what the user sees and what to do.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from click.testing import CliRunner

from backtest.cli import cli

FIXTURES = Path(__file__).parent / "bad_inputs"
GOOD_SETUP = "good-long"  # the setup in good/00_good.yaml
GOOD_ARTICLE_SETUP = "good_article-s1"  # what the extractor makes of good/good_article.txt
EVALUATED = ("filled", "open")


# ------------------------------------------------------------------------------------- invented bars
def invented_bars(base: float) -> str:
    """A smooth invented daily series on the XNYS sessions of 2025-12-01..2026-04-30 (CSV text).

    The numbers are made up (a drift plus a slow wave around ``base``); they only need to be valid bars
    near the levels of the good setup so that it fills.
    """
    from backtest.data.calendar import session_dates

    lines = ["date,open,high,low,close,volume"]
    previous = base
    for i, day in enumerate(session_dates(dt.date(2025, 12, 1), dt.date(2026, 4, 30))):
        close = round(base * (1 + 0.0015 * i + 0.02 * math.sin(i / 4)), 2)
        open_ = round(previous * (1 + 0.001 * math.cos(i)), 2)
        high, low = round(max(open_, close) * 1.006, 2), round(min(open_, close) * 0.994, 2)
        lines.append(f"{day.date()},{open_},{high},{low},{close},{1000 + i}")
        previous = close
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def bars_template(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("invented-bars")
    for stem, base in (("IWM", 250.0), ("SPY", 680.0), ("RUT_INDEX", 2600.0)):
        (directory / f"{stem}.csv").write_text(invented_bars(base))
    return directory


# ------------------------------------------------------------------------------------- workspace
@dataclasses.dataclass
class Outcome:
    """What one ``backtest run`` left behind."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None
    out: Path

    @property
    def summary(self) -> dict:
        return json.loads((self.out / "summary.json").read_text())

    @property
    def trades(self) -> dict[str, dict]:
        with (self.out / "trades.csv").open(newline="") as handle:
            return {row["setup_id"]: row for row in csv.DictReader(handle)}

    @property
    def skipped(self) -> list[dict]:
        return self.summary["skipped"]


@dataclasses.dataclass
class Workspace:
    """A temporary run: ``inputs/`` (setups or articles), ``mirror/`` (invented bars), ``cache/``, a config."""

    root: Path

    @property
    def inputs(self) -> Path:
        return self.root / "inputs"

    @property
    def mirror(self) -> Path:
        return self.root / "mirror"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def config(self) -> Path:
        return self.root / "backtest.toml"

    def write_config(self, *, sources=("cache", "mirror"), mirrors=None, out_dir="reports") -> None:
        mirrors = [str(m) for m in (mirrors or [self.mirror])]
        self.config.write_text(
            "[data]\n"
            f"sources = {json.dumps(list(sources))}\n"
            f"cache_dir = {json.dumps(str(self.cache))}\n"
            f"mirrors = {json.dumps(mirrors)}\n"
            "[run]\n"
            f"out_dir = {json.dumps(str(out_dir))}\n"
        )

    def add(self, fixture: str) -> Path:
        """Copy a fixture (path under tests/bad_inputs) into inputs/."""
        source = FIXTURES / fixture
        return Path(shutil.copy(source, self.inputs / source.name))

    def add_bars(self, fixture: str) -> Path:
        source = FIXTURES / fixture
        return Path(shutil.copy(source, self.mirror / source.name))

    def run(self, *extra: str, out: str = "out", config: Path | None = None) -> Outcome:
        target = self.root / out
        args = ["--config", str(config or self.config), *[a for a in extra if a == "--debug"], "run", str(self.inputs),
                "--out", str(target), "--format", "csv,json", *[a for a in extra if a != "--debug"]]
        result = CliRunner().invoke(cli, args)
        exception = result.exception if not isinstance(result.exception, SystemExit) else None
        return Outcome(result.exit_code, result.stdout, result.stderr, exception, target)


def make_workspace(root: Path, bars_template: Path, mode: str = "setups") -> Workspace:
    ws = Workspace(root)
    ws.inputs.mkdir(parents=True)
    shutil.copytree(bars_template, ws.mirror)
    ws.write_config()
    ws.add("good/00_good.yaml" if mode == "setups" else "good/good_article.txt")
    return ws


@pytest.fixture
def workspace(tmp_path, bars_template) -> Workspace:
    return make_workspace(tmp_path / "ws", bars_template)


@pytest.fixture
def article_workspace(tmp_path, bars_template) -> Workspace:
    return make_workspace(tmp_path / "ws", bars_template, mode="articles")


def assert_clean_output(outcome: Outcome) -> None:
    """No traceback anywhere, and every stderr line is one self-contained line."""
    assert outcome.exception is None, repr(outcome.exception)
    assert "Traceback" not in outcome.stdout + outcome.stderr


def assert_good_row_evaluated(outcome: Outcome, setup_id: str = GOOD_SETUP) -> None:
    row = outcome.trades[setup_id]
    assert row["status"] in EVALUATED, row
    assert row["entry_time"].startswith("2026-02-03"), row  # first session opening after 2026-02-02 16:30 NY


# ------------------------------------------------------------------------------------- the cases
@dataclasses.dataclass(frozen=True)
class Skipped:
    """The input is not evaluated: one entry in summary.json ``skipped`` (and on stderr)."""

    kind: str  # setup-file | setup | article | symbol
    culprit: str  # the file name[:line], setup id or symbol the reason must start with / name
    what: tuple[str, ...]  # fragments saying what is wrong and what to do


@dataclasses.dataclass(frozen=True)
class Refused:
    """The setup has its trades.csv row, refused with a status and a reason."""

    setup_id: str
    status: str
    what: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Evaluated:
    """Not an error: the setup is simulated (e.g. a weekend publication enters at the next session)."""

    setup_id: str
    entry_date: str
    note: tuple[str, ...] = ()  # fragments of the data note the run must report (dropped rows, ...)
    symbol: str | None = None


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    inputs: tuple[str, ...] = ()
    bars: tuple[str, ...] = ()
    expect: tuple = ()
    mode: str = "setups"
    prepare: Callable[[Workspace, pytest.MonkeyPatch], None] | None = None


def bars_case(symbol: str, *expect, suffix: str = ".csv") -> Case:
    return Case(f"bars-{symbol}", inputs=(f"bars/{symbol}.yaml",), bars=(f"bars/{symbol}{suffix}",), expect=expect)


def _huge_article(ws: Workspace, _mp) -> None:
    with (ws.inputs / "huge.txt").open("wb") as handle:  # sparse: 21 MB on paper, nothing on disk
        handle.truncate(21 * 1024 * 1024)


def _huge_setup_file(ws: Workspace, _mp) -> None:
    text = (FIXTURES / "setups/unknown_field.yaml").read_text()
    with (ws.inputs / "huge.yaml").open("w") as handle:
        handle.write(text + "#" * (3 * 1024 * 1024) + "\n")


def _duplicate_article_stem(ws: Workspace, _mp) -> None:
    (ws.inputs / "copy").mkdir()
    shutil.copy(FIXTURES / "good/good_article.txt", ws.inputs / "copy" / "good_article.txt")


def _corrupt_cache(ws: Workspace, _mp) -> None:
    ws.cache.mkdir()
    shutil.copy(FIXTURES / "cache/IWM_1d.parquet.truncated", ws.cache / "IWM_1d.parquet")


def _unreadable_mirror(ws: Workspace, mp: pytest.MonkeyPatch) -> None:
    """A mirror directory that cannot be listed, before the good one (tests run as root: chmod does not
    stop root, so the listing itself is made to fail with the error a non-root user would get)."""
    locked = ws.root / "locked-mirror"
    locked.mkdir()
    ws.write_config(mirrors=[locked, ws.mirror])
    listing = Path.iterdir

    def iterdir(self):
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return listing(self)

    mp.setattr(Path, "iterdir", iterdir)


def _yahoo(behaviour: str):
    def prepare(ws: Workspace, mp: pytest.MonkeyPatch) -> None:
        from backtest.data import yahoo

        def download(symbol, start, end):
            if behaviour == "raise":
                raise ConnectionError("Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com")
            if behaviour == "empty":
                return pd.DataFrame()
            return pd.DataFrame({"Open": [float("nan")] * 3, "Close": [1.0, 2.0, 3.0]},
                                index=pd.DatetimeIndex(["2026-02-04", "2026-02-05", "2026-02-06"], name="Date"))

        mp.setattr(yahoo, "download", download)
        ws.write_config(sources=("cache", "mirror", "yahoo"))

    return prepare


CASES = [
    # --- articles (run on a folder of raw articles: the good one is extracted and simulated) ----------
    Case("article-binary", ("articles/binary.txt",), mode="articles",
         expect=(Skipped("article", "binary.txt", ("binary file",)),)),
    Case("article-empty", ("articles/empty.txt",), mode="articles",
         expect=(Skipped("article", "empty.txt", ("file is empty",)),)),
    Case("article-whitespace-only", ("articles/whitespace_only.txt",), mode="articles",
         expect=(Skipped("article", "whitespace_only.txt", ("file is empty",)),)),
    Case("article-not-utf8", ("articles/latin1.txt",), mode="articles",
         expect=(Skipped("article", "latin1.txt", ("not UTF-8", "re-save the article as UTF-8")),)),
    Case("article-20mb", mode="articles", prepare=_huge_article,
         expect=(Skipped("article", "huge.txt", ("22.0 MB", "20 MB limit")),)),
    Case("article-too-short", ("articles/too_short.txt",), mode="articles",
         expect=(Skipped("article", "too_short.txt", ("not an article", "only 3 words")),)),
    Case("article-data-table", ("articles/data_table.txt",), mode="articles",
         expect=(Skipped("article", "data_table.txt", ("not an article",)),)),
    Case("article-no-date", ("articles/no_publication_date.txt",), mode="articles",
         expect=(Skipped("article", "no_publication_date.txt", ("no publication date", "--published")),)),
    Case("article-absurd-publication-year", ("articles/published_year_9999.txt",), mode="articles",
         expect=(Skipped("article", "published_year_9999.txt", ("article.published: publication year 9999 is outside "
                                                                "1900..2199; check the year",)),)),
    Case("article-duplicate-id", mode="articles", prepare=_duplicate_article_stem,
         expect=(Skipped("article", "good_article.txt", ("duplicate article id 'good_article'", "rename one")),)),
    # --- setup files -------------------------------------------------------------------------------
    Case("setup-invalid-yaml", ("setups/invalid_yaml.yaml",),
         expect=(Skipped("setup-file", "invalid_yaml.yaml:7", ("invalid YAML", "fix the syntax")),)),
    Case("setup-unknown-field", ("setups/unknown_field.yaml",),
         expect=(Skipped("setup", "unknown_field.yaml:8", ("setups[0].stopp: unknown field", "fix the spelling")),
                 Evaluated("typo-sibling", "2026-02-04"))),
    Case("setup-duplicate-key", ("setups/duplicate_key.yaml",),
         expect=(Skipped("setup", "duplicate_key.yaml:9", ("setups[0].stop", "twice", "keep one")),)),
    Case("setup-unknown-top-level-field", ("setups/unknown_top_level.yaml",),
         expect=(Skipped("setup-file", "unknown_top_level.yaml:4", ("unknown top-level field 'setup'",)),)),
    Case("setup-missing-id", ("setups/missing_setup_id.yaml",),
         expect=(Skipped("setup", "missing_setup_id.yaml:5", ("setups[0].id: required field is missing", "add it")),)),
    Case("setup-missing-article-block", ("setups/missing_article.yaml",),
         expect=(Skipped("setup-file", "missing_article.yaml", ("missing required `article:` block", "add it")),)),
    Case("setup-missing-published", ("setups/missing_published.yaml",),
         expect=(Skipped("setup-file", "missing_published.yaml:1", ("article.published: required field is missing",)),)),
    Case("setup-wrong-type", ("setups/wrong_type.yaml",),
         expect=(Skipped("setup", "wrong_type.yaml:8", ("setups[0].stop", "valid number", "'two hundred forty'")),)),
    Case("setup-wrong-enum", ("setups/wrong_direction.yaml",),
         expect=(Skipped("setup", "wrong_direction.yaml:7", ("'long' or 'short'", "'sideways'")),)),
    Case("setup-negative-level", ("setups/negative_level.yaml",),
         expect=(Skipped("setup", "negative_level.yaml:8", ("setups[0].stop", "greater than 0", "-240")),)),
    Case("setup-infinite-level", ("setups/infinite_level.yaml",),
         expect=(Skipped("setup", "infinite_level.yaml:8", ("setups[0].targets[0]", "finite number")),)),
    Case("setup-market-entry-with-level", ("setups/market_entry_with_level.yaml",),
         expect=(Skipped("setup", "market_entry_with_level.yaml:7", ("a market entry takes no level",)),)),
    Case("setup-pair-missing-leg", ("setups/pair_missing_leg.yaml",),
         expect=(Skipped("setup", "pair_missing_leg.yaml:5", ("needs both `long:` and `short:` legs",)),)),
    Case("setup-setups-not-a-list", ("setups/setups_not_a_list.yaml",),
         expect=(Skipped("setup-file", "setups_not_a_list.yaml:4", ("must be a list",)),)),
    Case("setup-impossible-date", ("setups/impossible_date.yaml",),
         expect=(Skipped("setup-file", "impossible_date.yaml:3", ("'2026-02-31' is not a real date/time", "fix it")),)),
    Case("setup-naive-publication-time", ("setups/naive_publication_time.yaml",),
         expect=(Skipped("setup-file", "naive_publication_time.yaml:3", ("needs a timezone", "2026-02-08T17:30:00Z")),)),
    Case("setup-unsupported-format", ("setups/unsupported_format.yaml",),
         expect=(Skipped("setup-file", "unsupported_format.yaml:1", ("not supported", "use format: backtest.setups/1")),)),
    Case("setup-not-a-mapping", ("setups/not_a_mapping.yaml",),
         expect=(Skipped("setup-file", "not_a_mapping.yaml", ("a list, not a mapping",)),)),
    Case("setup-empty-file", ("setups/empty.yaml",),
         expect=(Skipped("setup-file", "empty.yaml", ("file is empty",)),)),
    Case("setup-not-utf8", ("setups/not_utf8.yaml",),
         expect=(Skipped("setup-file", "not_utf8.yaml", ("not UTF-8", "save the file as UTF-8")),)),
    Case("setup-binary", ("setups/binary.yaml",),
         expect=(Skipped("setup-file", "binary.yaml", ("not UTF-8",)),)),
    Case("setup-huge-file", prepare=_huge_setup_file,
         expect=(Skipped("setup-file", "huge.yaml", ("MB limit for a setup file",)),)),
    Case("setup-stop-above-long-entry", ("setups/stop_above_long_entry.yaml",),
         expect=(Refused("stop-above-entry", "rejected", ("level ordering", "stop 270 must be below the long entry 262")),)),
    Case("setup-short-targets-reversed", ("setups/short_targets_reversed.yaml",),
         expect=(Refused("short-targets-reversed", "rejected", ("targets 240 then 248 are not in the order a short reaches them",)),)),
    Case("setup-unknown-symbol", ("setups/unknown_symbol.yaml",),
         expect=(Skipped("symbol", "QZXW", ("no bars from any source", "backtest data fetch QZXW")),
                 Refused("unknown-symbol-setup", "no-data", ("QZXW", "put QZXW.csv in a mirror directory")))),
    Case("setup-invalid-symbol", ("setups/invalid_symbol.yaml",),
         expect=(Skipped("setup", "invalid_symbol.yaml:6", ("'small caps!' is not a ticker symbol", "`instrument:`")),)),
    Case("setup-unresolved-symbol", ("setups/unresolved_symbol.yaml",),
         expect=(Refused("unresolved-setup", "unresolved", ("an invented frontier index", "set symbol:")),)),
    Case("setup-published-after-last-bar", ("setups/published_after_last_bar.yaml",),
         expect=(Refused("future-setup", "no-data", ("no IWM session after publication 2027-06-01", "last bar 2026-04-30", "backtest data fetch IWM")),)),
    Case("setup-absurd-publication-year", ("setups/published_year_9999.yaml",),  # was: entered in 2025 (wrap-around)
         expect=(Skipped("setup-file", "published_year_9999.yaml:3", ("publication year 9999 is outside 1900..2199",)),)),
    Case("setup-published-on-weekend", ("setups/published_on_weekend.yaml",),
         expect=(Evaluated("weekend-setup", "2026-02-09"),)),  # Saturday -> Monday's open
    Case("setup-published-on-holiday", ("setups/published_on_holiday.yaml",),
         expect=(Evaluated("holiday-setup", "2026-02-17"),)),  # Presidents' Day -> Tuesday's open
    Case("setup-duplicate-setup-id", ("setups/duplicate_setup_id.yaml",),
         expect=(Skipped("setup", "duplicate_setup_id.yaml", ("setup 'good-long': duplicate setup id", "00_good.yaml",
                                                             "the first one is kept")),)),
    Case("setup-duplicate-article-id", ("setups/duplicate_article_id.yaml",),
         expect=(Skipped("setup-file", "duplicate_article_id.yaml", ("duplicate article id 'good-article'",
                                                                    "keep one file per article")),)),
    # --- bars ------------------------------------------------------------------------------------------
    bars_case("BNAN", Evaluated("setup-bnan", "2026-02-04", ("BNAN.csv: dropped 2 of 19 rows", "missing price (lines 7, 8)"))),
    bars_case("BSTR", Evaluated("setup-bstr", "2026-02-05", ("BSTR.csv: dropped 1 of 19 rows", "missing price (line 4)"))),
    bars_case("BDAT", Evaluated("setup-bdat", "2026-02-04", ("BDAT.csv: dropped 2 of 19 rows: 2 bad date (lines 5, 9)",))),
    bars_case("BTZS", Evaluated("setup-btzs", "2026-02-04")),  # dates with and without a UTC offset in one file
    bars_case("BDUP", Evaluated("setup-bdup", "2026-02-04", ("1 duplicate date(s) (kept the last row for 2026-02-11)",))),
    bars_case("BUNS", Evaluated("setup-buns", "2026-02-04", ("BUNS.csv: rows were not in date order (sorted)",))),
    bars_case("BNEG", Evaluated("setup-bneg", "2026-02-04", ("2 price <= 0 (lines 6, 12)",))),
    bars_case("BHLO", Evaluated("setup-bhlo", "2026-02-04", ("1 high/low inconsistent with open/close (line 8)",))),
    bars_case("BALL", Skipped("symbol", "BALL", ("BALL.csv: no valid bars", "19 price <= 0")),
              Refused("setup-ball", "no-data", ("BALL.csv: no valid bars",))),
    bars_case("BCOL", Skipped("symbol", "BCOL", ("BCOL.csv: missing column(s) close", "expected a header")),
              Refused("setup-bcol", "no-data", ("missing column(s) close",))),
    bars_case("BGRB", Skipped("symbol", "BGRB", ("BGRB.csv: cannot be read as a bar table", "fix or remove the file")),
              Refused("setup-bgrb", "no-data", ("BGRB.csv",))),
    bars_case("BPQT", Skipped("symbol", "BPQT", ("BPQT.parquet: cannot be read", "fix or remove the file")),
              Refused("setup-bpqt", "no-data", ("BPQT.parquet",)), suffix=".parquet"),
    bars_case("BOLD", Refused("setup-bold", "no-data", ("no BOLD session after publication 2026-02-03", "last bar 2025-03-14"))),
    Case("cache-truncated-parquet", prepare=_corrupt_cache,
         expect=(Evaluated(GOOD_SETUP, "2026-02-03", ("skipped cache", "IWM_1d.parquet: unreadable cache file"), "IWM"),)),
    Case("mirror-unreadable-directory", ("setups/unknown_symbol.yaml",), prepare=_unreadable_mirror,
         expect=(Skipped("symbol", "QZXW", ("locked-mirror: mirror directory cannot be listed: Permission denied",
                                            "fix its permissions")),
                 Refused("unknown-symbol-setup", "no-data", ("cannot be listed",)))),
    Case("yahoo-raises", ("setups/unknown_symbol.yaml",), prepare=_yahoo("raise"),
         expect=(Skipped("symbol", "QZXW", ("yahoo:QZXW: download failed: ConnectionError", "check the network")),
                 Refused("unknown-symbol-setup", "no-data", ("download failed",)))),
    Case("yahoo-returns-empty-frame", ("setups/unknown_symbol.yaml",), prepare=_yahoo("empty"),
         expect=(Skipped("symbol", "QZXW", ("yahoo:QZXW: no bars returned", "offline, unknown symbol")),
                 Refused("unknown-symbol-setup", "no-data", ("no bars returned",)))),
    Case("yahoo-returns-unusable-frame", ("setups/unknown_symbol.yaml",), prepare=_yahoo("garbage"),
         expect=(Skipped("symbol", "QZXW", ("yahoo:QZXW: missing column(s) high, low",)),
                 Refused("unknown-symbol-setup", "no-data", ("missing column(s)",)))),
]


def _check(case: Case, outcome: Outcome, ws: Workspace) -> None:
    assert_clean_output(outcome)
    assert outcome.exit_code == 0, outcome.stderr
    good = GOOD_ARTICLE_SETUP if case.mode == "articles" else GOOD_SETUP
    assert_good_row_evaluated(outcome, good)
    trades = outcome.trades
    expected_skips = [e for e in case.expect if isinstance(e, Skipped)]
    assert len(outcome.skipped) == len(expected_skips), outcome.skipped  # nothing else was skipped
    for expect, skip in zip(expected_skips, outcome.skipped):
        reason = skip["reason"]
        assert skip["kind"] == expect.kind
        assert "\n" not in reason
        # The culprit comes first: "<path>[:line]: ..." for files, "<symbol>: ..." for series.
        if expect.kind == "symbol":
            assert skip["item"] == expect.culprit and reason.startswith(f"{expect.culprit}: ")
        else:
            assert reason.startswith(str(ws.inputs)) and f"{expect.culprit}:" in reason, reason
        for fragment in expect.what:
            assert fragment in reason, (fragment, reason)
        assert reason in outcome.stderr  # shown on the terminal too, as one line
    for expect in case.expect:
        if isinstance(expect, Refused):
            row = trades[expect.setup_id]
            assert row["status"] == expect.status and "\n" not in row["reason"]
            for fragment in expect.what:
                assert fragment in row["reason"], (fragment, row["reason"])
            assert f"{expect.setup_id} ({expect.status}): " in outcome.stderr
        elif isinstance(expect, Evaluated):
            row = trades[expect.setup_id]
            assert row["status"] in EVALUATED and row["entry_time"].startswith(expect.entry_date), row
            if expect.note:
                symbol = expect.symbol or expect.setup_id.removeprefix("setup-").upper()
                notes = outcome.summary["data"]["notes"][symbol]
                for fragment in expect.note:
                    assert any(fragment in note for note in notes), (fragment, notes)
                    assert fragment in outcome.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_reported_and_the_rest_is_evaluated(case, tmp_path, bars_template, monkeypatch):
    ws = make_workspace(tmp_path / "ws", bars_template, case.mode)
    for fixture in case.inputs:
        ws.add(fixture)
    for fixture in case.bars:
        ws.add_bars(fixture)
    if case.prepare:
        case.prepare(ws, monkeypatch)
    outcome = ws.run()
    _check(case, outcome, ws)

    # --strict fails on what the run could not evaluate (a skipped input, a setup without data), not on
    # setups the rules refused on their own merits (levels out of order, no symbol): those are results
    problems = [e for e in case.expect if isinstance(e, Skipped) or (isinstance(e, Refused) and e.status == "no-data")]
    strict = ws.run("--strict", out="strict")
    assert_clean_output(strict)
    assert strict.exit_code == (1 if problems else 0), strict.stderr
    assert strict.trades.keys() == outcome.trades.keys()  # --strict fails the run, still writes the report


def test_a_crash_loading_one_series_is_that_symbols_reason_and_the_others_load(workspace, monkeypatch):
    from backtest.data import mirror

    real = mirror.read_bar_file

    def fragile(path):
        if path.stem == "BNAN":
            raise KeyError("volume")
        return real(path)

    monkeypatch.setattr(mirror, "read_bar_file", fragile)
    workspace.add("bars/BNAN.yaml")
    workspace.add_bars("bars/BNAN.csv")
    outcome = workspace.run()
    assert outcome.exit_code == 0 and outcome.exception is None
    assert_good_row_evaluated(outcome)
    (skip,) = outcome.skipped
    assert skip["item"] == "BNAN" and "mirror: internal error loading BNAN (KeyError: 'volume')" in skip["reason"]
    assert outcome.trades["setup-bnan"]["status"] == "no-data"


def test_cache_disk_full_while_storing_a_download_is_that_symbols_reason(workspace, monkeypatch, tiny_disk):
    """Yahoo delivers, but the cache (on a full disk) cannot store it: one line for that symbol, the rest runs."""
    from backtest.data import yahoo

    workspace.add("setups/unknown_symbol.yaml")
    (tiny_disk / "filler").write_bytes(b"x" * (60 * 1024))  # leave too little room for a parquet file
    big = pd.DataFrame({"Open": 10.0, "High": 11.0, "Low": 9.0, "Close": 10.5, "Volume": 1.0},
                       index=pd.DatetimeIndex(pd.bdate_range("2025-01-02", "2026-02-27"), name="Date"))
    monkeypatch.setattr(yahoo, "download", lambda symbol, start, end: big.loc[str(start):str(end)])
    monkeypatch.setattr(yahoo, "now_utc", lambda: dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc))
    workspace.write_config(sources=("mirror", "yahoo"))
    config = workspace.config.read_text().replace(json.dumps(str(workspace.cache)), json.dumps(str(tiny_disk / "cache")))
    workspace.config.write_text(config)
    outcome = workspace.run()
    assert outcome.exit_code == 0 and outcome.exception is None
    assert_good_row_evaluated(outcome)
    (skip,) = outcome.skipped
    assert skip["item"] == "QZXW" and "yahoo: " in skip["reason"] and "No space left on device" in skip["reason"]
    assert "check free space and permissions" in skip["reason"] and "bug" not in skip["reason"]
    assert not [p for p in (tiny_disk / "cache").iterdir() if p.suffix == ".tmp"]  # no half-written cache file


def test_at_least_thirty_fixture_files():
    files = [p for p in FIXTURES.rglob("*") if p.is_file() and p.name != "README.md"]
    assert len(files) >= 30


# ------------------------------------------------------------------------------------- usage errors
def _one_error_line(outcome: Outcome) -> str:
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), outcome.stderr
    assert_clean_output(outcome)
    return lines[0]


def test_directory_without_setups_or_articles_is_a_usage_error(workspace):
    (workspace.inputs / "00_good.yaml").unlink()
    (workspace.inputs / "notes.json").write_text("{}")
    (workspace.inputs / "chart.png").write_bytes(b"\x89PNG\r\n")
    outcome = workspace.run()
    assert outcome.exit_code == 2
    line = _one_error_line(outcome)
    assert str(workspace.inputs) in line and "no setup files" in line and "backtest extract" in line
    assert not outcome.out.exists()


def test_every_input_skipped_writes_the_report_and_exits_1(workspace):
    """A scheduled run that evaluated nothing must fail, yet still say why in its report."""
    (workspace.inputs / "00_good.yaml").unlink()
    bad = workspace.add("setups/invalid_yaml.yaml")
    outcome = workspace.run()
    assert_clean_output(outcome)
    assert outcome.exit_code == 1
    assert "nothing was evaluated, all 1 input(s) were skipped" in outcome.stderr
    summary = json.loads((outcome.out / "summary.json").read_text())
    assert [s["item"] for s in summary["skipped"]] == [str(bad)]
    # One good file beside the bad one: evaluated, so exit 0 again (skips alone are warnings).
    workspace.add("good/00_good.yaml")
    assert workspace.run(out="out2").exit_code == 0


def test_missing_input_path_is_a_usage_error(workspace):
    shutil.rmtree(workspace.inputs)
    outcome = workspace.run()
    assert outcome.exit_code == 2
    assert str(workspace.inputs) in _one_error_line(outcome)


@pytest.mark.parametrize("as_of", ["9999-12-31", "1000-01-01"])
def test_absurd_as_of_is_a_usage_error(workspace, as_of):
    outcome = workspace.run("--as-of", as_of)
    assert outcome.exit_code == 2
    assert _one_error_line(outcome) == (f"error: --as-of: --as-of {as_of} is outside 1900..2199 "
                                        "(give the date to evaluate as of, e.g. --as-of 2026-03-01)")


def test_unsupported_input_file_is_a_usage_error(workspace):
    target = workspace.inputs / "setups.json"
    target.write_text("{}")
    result = CliRunner().invoke(cli, ["--config", str(workspace.config), "run", str(target)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {target}: unsupported file type .json")


@pytest.mark.parametrize("fixture, fragment", [
    ("config/bad_syntax.toml", "not valid TOML"),
    ("config/unknown_key.toml", "unknown key [run].max_hols"),
    ("config/unknown_source.toml", "unknown data source 'bloomberg'"),
    ("config/wrong_type.toml", "[run].entry_window must be a number, got 'twenty'"),
])
def test_bad_config_is_one_line_exit_1(workspace, fixture, fragment):
    outcome = workspace.run(config=FIXTURES / fixture)
    assert outcome.exit_code == 1
    line = _one_error_line(outcome)
    assert fixture.split("/")[1] in line and fragment in line


@pytest.mark.parametrize("situation, error_class, exit_code", [
    ("no-setups", "UsageError", 2), ("missing-path", "UsageError", 2), ("bad-config", "ConfigError", 1),
])
def test_debug_reraises_the_error_class_behind_the_one_line_message(workspace, situation, error_class, exit_code):
    import backtest.errors as errors

    config = None
    if situation == "no-setups":
        (workspace.inputs / "00_good.yaml").unlink()
    elif situation == "missing-path":
        shutil.rmtree(workspace.inputs)
    else:
        config = FIXTURES / "config/unknown_key.toml"
    plain = workspace.run(config=config)
    assert plain.exit_code == exit_code and plain.exception is None
    debug = workspace.run("--debug", config=config)
    assert type(debug.exception) is getattr(errors, error_class)  # re-raised: the traceback is printed
    assert debug.exception.exit_code == exit_code and debug.exception.one_line() in plain.stderr


# ------------------------------------------------------------------------------------- extract, data import
def test_extract_skips_every_bad_article_with_its_reason_and_writes_the_good_one(article_workspace, tmp_path):
    ws = article_workspace
    for name in ("binary.txt", "empty.txt", "latin1.txt", "too_short.txt", "no_publication_date.txt"):
        ws.add(f"articles/{name}")  # the undated one is extracted (published: null), the others skipped
    out = tmp_path / "setups"
    result = CliRunner().invoke(cli, ["--config", str(ws.config), "extract", str(ws.inputs), "--out", str(out)])
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert sorted(p.name for p in out.iterdir()) == ["good_article.yaml", "no_publication_date.yaml"]
    skipped = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("skipped")]
    assert len(skipped) == 4
    for name in ("binary.txt", "empty.txt", "latin1.txt", "too_short.txt"):
        assert any(line.startswith(f"skipped    {ws.inputs / name}: ") for line in skipped), name

    only_bad = CliRunner().invoke(cli, ["--config", str(ws.config), "extract", str(ws.inputs / "binary.txt"), "--json"])
    assert only_bad.exit_code == 1 and only_bad.stdout == ""
    assert only_bad.stderr.strip() == f"skipped: {ws.inputs / 'binary.txt'}: binary file (contains NUL bytes), not a text article"


def test_a_crash_on_one_article_is_a_skip_and_the_others_are_extracted(article_workspace, monkeypatch):
    """A bug that only one odd article triggers must not lose the run: it becomes that article's skip."""
    from backtest.extraction import extractor as extract

    real = extract.extract_article

    def fragile(article, lookup, *rest):  # rest: the instrument table (user aliases, [instruments])
        if article.id == "odd":
            raise IndexError("list index out of range")
        return real(article, lookup, *rest)

    monkeypatch.setattr(extract, "extract_article", fragile)
    ws = article_workspace
    shutil.copy(FIXTURES / "good/good_article.txt", ws.inputs / "odd.txt")
    outcome = ws.run()
    assert outcome.exit_code == 0 and outcome.exception is None
    assert_good_row_evaluated(outcome, GOOD_ARTICLE_SETUP)
    (skip,) = outcome.skipped
    assert skip["reason"] == (f"{ws.inputs / 'odd.txt'}: internal error while extracting (IndexError: list index out "
                              "of range); this is a bug: please report it with this file, or write its setup file by hand")


def test_extract_on_a_directory_without_articles_is_a_usage_error(workspace, tmp_path):
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    (empty / "image.png").write_bytes(b"\x89PNG")
    result = CliRunner().invoke(cli, ["--config", str(workspace.config), "extract", str(empty)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: {empty}: directory holds no articles (*.txt, *.md, *.text, *.html, "
                                     "*.htm, *.eml, *.xml, *.rss, *.atom) "
                                     "(point at the articles directory or at article files)")


def test_data_import_reports_each_bad_file_and_imports_the_rest(workspace):
    for name in ("BALL.csv", "BCOL.csv", "BGRB.csv", "BPQT.parquet", "BNAN.csv"):
        workspace.add_bars(f"bars/{name}")
    result = CliRunner().invoke(cli, ["--config", str(workspace.config), "data", "import", str(workspace.mirror)])
    assert result.exit_code == 1 and "Traceback" not in result.output  # some files failed: exit 1, table printed
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    for symbol in ("BALL", "BCOL", "BGRB", "BPQT"):
        assert f"{workspace.mirror / symbol}." in rows[symbol], rows[symbol]
    assert "dropped 2 of 19 rows" in rows["BNAN"]
    imported = {p.name for p in workspace.cache.iterdir() if p.suffix == ".parquet"}
    assert imported == {"IWM_1d.parquet", "SPY_1d.parquet", "RUT_INDEX_1d.parquet", "BNAN_1d.parquet"}


def test_real_process_prints_one_line_and_debug_prints_the_traceback(workspace):
    base = [sys.executable, "-c", "from backtest.cli import main; main()"]
    args = ["--config", str(FIXTURES / "config/unknown_key.toml"), "run", str(workspace.inputs)]
    plain = subprocess.run(base + args, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 1 and plain.stdout == ""
    assert plain.stderr.count("\n") == 1 and plain.stderr.startswith("error: ") and "Traceback" not in plain.stderr
    debug = subprocess.run(base + ["--debug"] + args, capture_output=True, text=True, timeout=120)
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr and "ConfigError" in debug.stderr


# ------------------------------------------------------------------------------------- reports
@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs (we are root in the test container); skipped if mounting is not permitted."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_disk_full_leaves_no_half_report_and_latest_stays_valid(workspace, tiny_disk):
    reports = tiny_disk / "reports"
    workspace.write_config(out_dir=reports)
    first = CliRunner().invoke(cli, ["--config", str(workspace.config), "run", str(workspace.inputs),
                                     "--format", "csv", "-q"])
    assert first.exit_code == 0, first.stderr
    (previous,) = [p for p in reports.iterdir() if p.name != "latest"]
    before = (previous / "trades.csv").read_bytes()

    # The HTML report embeds plotly (megabytes): it cannot fit in what is left of 64 KiB.
    second = CliRunner().invoke(cli, ["--config", str(workspace.config), "run", str(workspace.inputs),
                                      "--format", "csv,html", "-q", "--as-of", "2026-03-31"])
    assert second.exit_code == 1
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in second.stderr
    assert lines[0].startswith(f"error: {reports}/") and "No space left on device" in lines[0]
    assert "nothing was left half-written" in lines[0]
    assert sorted(p.name for p in reports.iterdir()) == sorted([previous.name, "latest"])  # no .tmp leftovers
    assert os.readlink(reports / "latest") == previous.name
    assert (reports / "latest" / "trades.csv").read_bytes() == before


def test_read_only_output_is_one_line_error(workspace, tmp_path):
    read_only = tmp_path / "ro"
    read_only.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(read_only)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        blocker = read_only / "a-file"  # fall back: a report under a regular file cannot be created either
        blocker.write_text("x")
        target = blocker / "report"
    else:
        target = read_only / "report"
    try:
        result = CliRunner().invoke(cli, ["--config", str(workspace.config), "run", str(workspace.inputs),
                                          "--out", str(target), "--format", "csv"])
    finally:
        if done.returncode == 0:
            subprocess.run(["umount", "-l", str(read_only)], check=False)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(target.parent) in lines[0]
    assert "writable" in lines[0] and "Traceback" not in result.stderr


def test_latest_that_is_not_a_symlink_is_one_line_error_and_the_report_is_kept(workspace, tmp_path):
    reports = tmp_path / "reports"
    (reports / "latest").mkdir(parents=True)  # a person copied a report there by hand
    (reports / "latest" / "trades.csv").write_text("kept\n")
    workspace.write_config(out_dir=reports)
    result = CliRunner().invoke(cli, ["--config", str(workspace.config), "run", str(workspace.inputs), "--format", "csv"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {reports / 'latest'}: cannot point it at the new report")
    assert "must be a symlink" in lines[0]
    (written,) = [p for p in reports.iterdir() if p.name != "latest"]
    assert (written / "trades.csv").is_file() and (reports / "latest" / "trades.csv").read_text() == "kept\n"


# ------------------------------------------------------------------------------------- signals
SLOW_WRITER = textwrap.dedent("""
    # Run the real CLI, but make the report writer pause half-way (one file written) until signalled.
    import pathlib, sys, time
    from backtest.reports import build
    real_write = build.write_report
    marker = pathlib.Path(sys.argv[1])
    def slow_write(report, directory, formats):
        (directory / "trades.csv").write_text("partial")
        partial = marker.with_suffix(".partial")
        partial.write_text(str(directory))
        partial.replace(marker)  # tell the test we are mid-write (atomically: it reads the path at once)
        time.sleep(60)
        return real_write(report, directory, formats)
    build.write_report = slow_write
    from backtest.cli import main
    sys.argv = ["backtest"] + sys.argv[2:]
    main()
""")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_run_leaves_no_half_report(workspace, tmp_path, signum):
    reports = tmp_path / "reports"
    workspace.write_config(out_dir=reports)
    base = ["--config", str(workspace.config), "run", str(workspace.inputs), "--format", "csv", "-q"]
    first = CliRunner().invoke(cli, base)
    assert first.exit_code == 0, first.stderr
    (previous,) = [p for p in reports.iterdir() if p.name != "latest"]

    marker = tmp_path / "writing"
    process = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(marker), *base[:-1], "--as-of", "2026-03-31"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while not marker.exists() and process.poll() is None:  # wait for the mid-write point (no timing asserted)
            try:
                process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
        assert process.poll() is None, process.communicate()
        half = Path(marker.read_text())
        assert half.is_dir() and half.name.startswith(".")  # the half-written report is hidden meanwhile
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert stderr.strip() == "error: interrupted; nothing half-written was left behind"
    assert not half.exists()
    assert sorted(p.name for p in reports.iterdir()) == sorted([previous.name, "latest"])
    assert os.readlink(reports / "latest") == previous.name and (reports / "latest" / "trades.csv").is_file()


# ------------------------------------------------------------------------------------- concurrency
CONCURRENT = textwrap.dedent("""
    # One scheduled job: import the mirror into the shared cache, then run from the cache only.
    import sys
    from click.testing import CliRunner
    from backtest.cli import cli
    config, mirror, setups, out = sys.argv[1:5]
    for _ in range(3):
        result = CliRunner().invoke(cli, ["--config", config, "data", "import", mirror])
        assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["--config", config, "--source", "cache", "run", setups, "--format", "csv,json", "-q"])
    print(result.exit_code, result.stderr.strip())
    sys.exit(result.exit_code)
""")


def test_two_runs_at_once_share_the_cache_without_corrupting_it(workspace, tmp_path):
    workspace.write_config(out_dir=tmp_path / "reports")
    jobs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, str(workspace.config), str(workspace.mirror),
                              str(workspace.inputs), str(tmp_path / f"out{i}")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    results = [job.communicate(timeout=300) for job in jobs]
    assert [job.returncode for job in jobs] == [0, 0], results
    listing = CliRunner().invoke(cli, ["--config", str(workspace.config), "data", "list"])
    assert listing.exit_code == 0
    rows = {line.split()[0]: line for line in listing.stdout.splitlines()[1:]}
    assert set(rows) == {"IWM", "SPY", "^RUT"} and not any("unreadable" in r for r in rows.values())
    assert not [p for p in workspace.cache.iterdir() if p.name.endswith(".tmp")]  # no stray temporary files
    # Both runs wrote a complete report, and neither replaced the other's (same second -> "-2").
    reports = [p for p in (tmp_path / "reports").iterdir() if p.name != "latest"]
    assert len(reports) == 2
    for report in reports:
        with (report / "trades.csv").open() as handle:
            row = next(r for r in csv.DictReader(handle) if r["setup_id"] == GOOD_SETUP)
        assert row["status"] in EVALUATED


def test_same_run_id_twice_keeps_both_reports(workspace, tmp_path):
    """Two runs started in the same second with the same options but different setups: no report is lost."""
    from backtest.config import load_config
    from backtest.run import RunOptions, run as run_report

    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(FIXTURES / "setups/published_on_weekend.yaml", other)
    workspace.write_config(out_dir=tmp_path / "reports")
    config = load_config(workspace.config)
    now = dt.datetime(2026, 5, 1, 6, 0, tzinfo=dt.timezone.utc)
    first = run_report(RunOptions(setups=workspace.inputs, formats=("csv",)), config, now=now)
    second = run_report(RunOptions(setups=other, formats=("csv",)), config, now=now)
    assert second.out_dir == first.out_dir.with_name(first.out_dir.name + "-2") and second.run_id == second.out_dir.name
    with (first.out_dir / "trades.csv").open() as handle:
        assert [r["setup_id"] for r in csv.DictReader(handle)] == [GOOD_SETUP]
    with (second.out_dir / "trades.csv").open() as handle:
        assert [r["setup_id"] for r in csv.DictReader(handle)] == ["weekend-setup"]
    assert os.readlink(tmp_path / "reports" / "latest") == second.out_dir.name
