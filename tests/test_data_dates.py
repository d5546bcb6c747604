"""Bar dates: a stamp at midnight in its own zone is a date label; any other stamp is an instant read in New York.

Before the rule, ``2026-02-03T00:00:00Z`` was converted to New York (19:00 the evening before) and the bar
moved to 2026-02-02: every fill on such a file was one session early.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from click.testing import CliRunner

from backtest.cli import cli
from backtest.config import Config, DataConfig
from backtest.data.load import load_barset
from backtest.data.validate import session_dates

# Four XNYS sessions (Mon 2026-02-02 .. Thu 2026-02-05) with invented prices.
DAYS = ["2026-02-02", "2026-02-03", "2026-02-04", "2026-02-05"]


def _rows(stamps: list[str]) -> str:
    lines = ["date,open,high,low,close,volume"]
    for i, stamp in enumerate(stamps):
        base = 100 + i
        lines.append(f"{stamp},{base},{base + 1},{base - 1},{base + 0.5},1000")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("stamp, expected", [
    ("2026-02-03", "2026-02-03"),                      # a plain date
    ("2026-02-03T00:00:00Z", "2026-02-03"),            # UTC midnight: a date label (was 2026-02-02)
    ("2026-02-03T00:00:00+00:00", "2026-02-03"),
    ("2026-02-03 00:00:00.000Z", "2026-02-03"),
    ("2026-02-03T00:00:00-05:00", "2026-02-03"),       # New York midnight (yfinance exports)
    ("2026-02-03T00:00:00+09:00", "2026-02-03"),       # Tokyo midnight: still the written date
    ("2026-02-03T21:00:00Z", "2026-02-03"),            # the 16:00 New York close, in UTC
    ("2026-02-03T14:30:00Z", "2026-02-03"),            # the 09:30 New York open, in UTC
    ("2026-02-04T06:00:00+09:00", "2026-02-03"),       # 16:00 New York on the 3rd, written in Tokyo time
    ("2026-02-04T02:00:00Z", "2026-02-03"),            # 21:00 New York on the 3rd (after hours)
    ("2026-07-01T04:00:00Z", "2026-07-01"),            # New York midnight in summer (EDT), written in UTC
])
def test_each_stamp_form_gets_its_session_date(stamp, expected):
    (got,) = session_dates(pd.Series([stamp]))
    assert got == pd.Timestamp(expected)


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo"])
def test_tz_aware_midnight_columns_keep_their_dates(zone):
    column = pd.Series(pd.to_datetime(DAYS).tz_localize(zone))
    assert [d.date().isoformat() for d in session_dates(column)] == DAYS


def test_tz_aware_instants_are_read_as_new_york_dates():
    closes = pd.Series(pd.to_datetime([f"{d} 21:00" for d in DAYS]).tz_localize("UTC"))  # 16:00 New York
    assert [d.date().isoformat() for d in session_dates(closes)] == DAYS
    # 02:00 UTC is 21:00 New York the evening before: that evening's session date.
    late = pd.Series(pd.to_datetime(["2026-02-04 02:00"]).tz_localize("UTC"))
    assert session_dates(late)[0] == pd.Timestamp("2026-02-03")


def test_utc_midnight_csv_loads_on_the_written_sessions(tmp_path):
    mirror = tmp_path / "m"
    mirror.mkdir()
    (mirror / "ZED.csv").write_text(_rows([f"{d}T00:00:00Z" for d in DAYS]))
    config = Config(data=DataConfig(sources=("mirror",), mirrors=(mirror,), cache_dir=tmp_path / "c"))
    bars = load_barset(["ZED"], config)["ZED"]
    assert [d.date().isoformat() for d in bars.frame.index] == DAYS
    assert bars.frame["open"].tolist() == [100, 101, 102, 103]  # each row stayed on its own date
    assert not bars.notes  # no "non-session date" flags: Sunday 2026-02-01 would have been one


def test_tz_aware_parquet_is_imported_and_listed_on_its_dates(tmp_path):
    frame = pd.DataFrame({"open": [100.0, 101.0, 102.0, 103.0], "high": [101.0, 102.0, 103.0, 104.0],
                          "low": [99.0, 100.0, 101.0, 102.0], "close": [100.5, 101.5, 102.5, 103.5]},
                         index=pd.DatetimeIndex(pd.to_datetime(DAYS).tz_localize("UTC"), name="date"))
    mirror = tmp_path / "m"
    mirror.mkdir()
    frame.to_parquet(mirror / "ZED.parquet")
    config = ["--cache-dir", str(tmp_path / "c")]
    imported = CliRunner().invoke(cli, [*config, "data", "import", str(mirror)])
    assert imported.exit_code == 0, imported.output
    listing = CliRunner().invoke(cli, [*config, "data", "list"])
    row = listing.stdout.splitlines()[1].split()
    assert row[:4] == ["ZED", "2026-02-02", "2026-02-05", "4"]


def test_yahoo_events_use_the_same_rule(tmp_path, monkeypatch):
    """A split on a UTC-midnight index stays on its date (the price rows and the event agree)."""
    from backtest.data import yahoo

    index = pd.DatetimeIndex(pd.to_datetime(DAYS).tz_localize("UTC"), name="Date")
    raw = pd.DataFrame({"Open": [100.0, 101, 51, 52], "High": [101.0, 102, 52, 53], "Low": [99.0, 100, 50, 51],
                        "Close": [100.5, 101.5, 51.5, 52.5], "Volume": 1000.0,
                        "Stock Splits": [0, 0, 2.0, 0], "Dividends": 0.0}, index=index)
    monkeypatch.setattr(yahoo, "download", lambda symbol, start, end: raw)
    monkeypatch.setattr(yahoo, "now_utc", lambda: dt.datetime(2026, 2, 7, tzinfo=dt.timezone.utc))
    source = yahoo.YahooSource(cache=yahoo.CacheSource(tmp_path / "c"))
    result = source.refresh("ZED", dt.date(2026, 2, 2))
    entry = result["entry"]
    assert [d.date().isoformat() for d in entry.frame.index] == DAYS
    assert entry.meta["splits"] == [["2026-02-04", 2.0]]
