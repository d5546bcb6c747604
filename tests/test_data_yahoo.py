"""The Yahoo source without network: yfinance's download is replaced by a recorded frame we build."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from click.testing import CliRunner

import backtest.data.yahoo as yahoo
from backtest.cli import cli
from backtest.config import Config, DataConfig
from backtest.data.load import load_barset
from backtest.data.manage import fetch, list_cache
from backtest.data.cache import CacheSource, cache_path, store

NY = "America/New_York"
# XNYS sessions from 2025-12-29 to 2026-01-23 (2026-01-01 and 2026-01-19 are holidays).
SESSIONS = pd.bdate_range("2025-12-29", "2026-01-23").drop(pd.to_datetime(["2026-01-01", "2026-01-19"]))


def recorded_history(splits: dict | None = None, dividends: dict | None = None) -> pd.DataFrame:
    """A frame shaped like ``yf.Ticker(...).history(auto_adjust=False, actions=True)`` with invented prices."""
    n = len(SESSIONS)
    close = [100.0 + i for i in range(n)]
    frame = pd.DataFrame(
        {
            "Open": [c - 0.5 for c in close],
            "High": [c + 1.0 for c in close],
            "Low": [c - 1.0 for c in close],
            "Close": close,
            "Adj Close": [c * 0.97 for c in close],  # dividend-adjusted: must NOT be used
            "Volume": [1_000_000 + i for i in range(n)],
            "Dividends": [0.0] * n,
            "Stock Splits": [0.0] * n,
            "Capital Gains": [0.0] * n,
        },
        index=pd.DatetimeIndex(SESSIONS.tz_localize(NY), name="Date"),
    )
    for day, value in (dividends or {}).items():
        frame.loc[pd.Timestamp(day, tz=NY), "Dividends"] = value
    for day, value in (splits or {}).items():
        frame.loc[pd.Timestamp(day, tz=NY), "Stock Splits"] = value
    return frame


class FakeYahoo:
    """Stands in for :func:`backtest.data.yahoo.download`; records the (symbol, start, end) it was asked."""

    def __init__(self, frames: dict[str, pd.DataFrame], error: Exception | None = None):
        self.frames = frames
        self.error = error
        self.calls: list[tuple[str, dt.date, dt.date]] = []

    def __call__(self, symbol, start, end):
        self.calls.append((symbol, start, end))
        if self.error is not None:
            raise self.error
        frame = self.frames.get(symbol)
        if frame is None:
            return pd.DataFrame()
        days = frame.index.tz_localize(None).normalize()
        return frame[(days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))]


@pytest.fixture
def pinned_now(monkeypatch):
    """Now = Saturday 2026-01-24 (every recorded session has closed)."""
    state = {"now": dt.datetime(2026, 1, 24, 12, 0, tzinfo=dt.timezone.utc)}
    monkeypatch.setattr(yahoo, "now_utc", lambda: state["now"])
    return state


def _config(tmp_path, sources=("cache", "yahoo")) -> Config:
    return Config(data=DataConfig(sources=sources, cache_dir=tmp_path / "cache"))


def test_fetch_maps_columns_keeps_unadjusted_close_and_actions(tmp_path, monkeypatch, pinned_now):
    fake = FakeYahoo({"IWM": recorded_history(splits={"2026-01-12": 2.0}, dividends={"2026-01-07": 0.55})})
    monkeypatch.setattr(yahoo, "download", fake)
    config = _config(tmp_path)
    pinned_now["now"] = dt.datetime(2026, 1, 17, 12, 0, tzinfo=dt.timezone.utc)
    [row] = fetch(["IWM"], dt.date(2026, 1, 5), dt.date(2026, 1, 16), config)
    assert fake.calls == [("IWM", dt.date(2026, 1, 5), dt.date(2026, 1, 17))]
    assert not row["error"] and row["fetched"] == 10 and row["rows"] == 10
    assert (row["first"], row["last"]) == ("2026-01-05", "2026-01-16")

    bars = load_barset(["IWM"], config)["IWM"]
    frame = bars.frame
    assert frame.loc["2026-01-05", "close"] == 104.0  # Close, not Adj Close (100.88)
    assert frame.loc["2026-01-05", "open"] == 103.5 and frame.loc["2026-01-05", "high"] == 105.0
    assert frame.loc["2026-01-05", "volume"] == 1_000_004
    assert list(frame.columns) == ["open", "high", "low", "close", "volume", "session_open_ns", "session_close_ns"]
    assert bars.basis == "split-adjusted" and bars.source == "cache:yahoo"
    assert [(s.date, s.ratio) for s in bars.splits] == [(dt.date(2026, 1, 12), 2.0)]
    meta = CacheSource(config.data.cache_dir).entry("IWM").meta
    assert meta["dividends"] == [["2026-01-07", 0.55]] and meta["splits"] == [["2026-01-12", 2.0]]
    assert meta["source"] == "yahoo" and meta["basis"] == "split-adjusted"
    assert meta["fetched_at"].startswith("2026-01-17T12:00")


def test_incremental_refresh_asks_only_for_missing_dates(tmp_path, monkeypatch, pinned_now):
    fake = FakeYahoo({"IWM": recorded_history()})
    monkeypatch.setattr(yahoo, "download", fake)
    config = _config(tmp_path)
    pinned_now["now"] = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.timezone.utc)
    fetch(["IWM"], dt.date(2026, 1, 5), dt.date(2026, 1, 9), config)
    pinned_now["now"] = dt.datetime(2026, 1, 17, 12, 0, tzinfo=dt.timezone.utc)  # a week later: only the tail
    fetch(["IWM"], dt.date(2026, 1, 5), dt.date(2026, 1, 16), config)
    fetch(["IWM"], dt.date(2025, 12, 29), dt.date(2026, 1, 16), config)    # earlier start: only the head
    [row] = fetch(["IWM"], dt.date(2026, 1, 5), dt.date(2026, 1, 16), config)  # covered: no call at all
    assert fake.calls == [
        ("IWM", dt.date(2026, 1, 5), dt.date(2026, 1, 10)),
        ("IWM", dt.date(2026, 1, 10), dt.date(2026, 1, 17)),
        ("IWM", dt.date(2025, 12, 29), dt.date(2026, 1, 4)),
    ]
    assert row["fetched"] == 0 and row["note"].startswith("up to date")
    assert row["rows"] == 14 and row["first"] == "2025-12-29"
    # Saturday/Sunday/holiday-only ranges are not requested either (Monday 01-19 is a holiday).
    pinned_now["now"] = dt.datetime(2026, 1, 19, 20, 0, tzinfo=dt.timezone.utc)
    fetch(["IWM"], dt.date(2026, 1, 5), dt.date(2026, 1, 18), config)
    assert len(fake.calls) == 3


def test_partial_bar_is_never_stored_and_is_fetched_again(tmp_path, monkeypatch, pinned_now):
    fake = FakeYahoo({"IWM": recorded_history()})
    monkeypatch.setattr(yahoo, "download", fake)
    config = _config(tmp_path)
    pinned_now["now"] = dt.datetime(2026, 1, 16, 17, 0, tzinfo=dt.timezone.utc)  # Friday 12:00 New York
    [row] = fetch(["IWM"], dt.date(2026, 1, 12), dt.date(2026, 1, 16), config)
    assert row["last"] == "2026-01-15"  # Friday's bar was still forming
    pinned_now["now"] = dt.datetime(2026, 1, 17, 12, 0, tzinfo=dt.timezone.utc)
    [row] = fetch(["IWM"], dt.date(2026, 1, 12), dt.date(2026, 1, 16), config)
    assert fake.calls[-1] == ("IWM", dt.date(2026, 1, 16), dt.date(2026, 1, 17))  # through today
    assert row["last"] == "2026-01-16"


def test_bar_cached_before_its_close_is_refetched(tmp_path, monkeypatch, pinned_now):
    """A cache written during a session (by an older run) marks its last bar as partial."""
    history = recorded_history()
    fake = FakeYahoo({"SPY": history})
    monkeypatch.setattr(yahoo, "download", fake)
    config = _config(tmp_path)
    early = yahoo.normalize_history(history).loc[:"2026-01-09"]
    early.index = early.index.tz_localize(None)
    store(config.data.cache_dir, "SPY", early, source="yahoo", basis="split-adjusted",
          fetched_at=dt.datetime(2026, 1, 9, 15, 0, tzinfo=dt.timezone.utc))  # 10:00 New York on the 9th
    fetch(["SPY"], dt.date(2026, 1, 5), dt.date(2026, 1, 12), config)
    assert fake.calls == [("SPY", dt.date(2026, 1, 9), dt.date(2026, 1, 24))]  # from the partial bar to today


def test_new_split_after_cached_bars_redownloads_everything(tmp_path, monkeypatch, pinned_now):
    config = _config(tmp_path)
    monkeypatch.setattr(yahoo, "download", FakeYahoo({"XLK": recorded_history()}))
    pinned_now["now"] = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.timezone.utc)
    fetch(["XLK"], dt.date(2026, 1, 5), dt.date(2026, 1, 9), config)
    pinned_now["now"] = dt.datetime(2026, 1, 24, 12, 0, tzinfo=dt.timezone.utc)
    # Yahoo now reports a 2:1 split on the 12th and has halved every earlier bar.
    after = recorded_history(splits={"2026-01-12": 2.0})
    before = after.index < pd.Timestamp("2026-01-12", tz=NY)
    after.loc[before, ["Open", "High", "Low", "Close"]] /= 2
    fake = FakeYahoo({"XLK": after})
    monkeypatch.setattr(yahoo, "download", fake)
    [row] = fetch(["XLK"], dt.date(2026, 1, 5), dt.date(2026, 1, 16), config)
    assert fake.calls == [("XLK", dt.date(2026, 1, 10), dt.date(2026, 1, 24)),
                          ("XLK", dt.date(2026, 1, 5), dt.date(2026, 1, 24))]
    frame = load_barset(["XLK"], config)["XLK"].frame
    assert frame.loc["2026-01-05", "close"] == 52.0  # re-based, not the stale 104
    assert "new split" in row["note"]


def test_offline_yfinance_error_is_one_line_and_others_continue(tmp_path, monkeypatch, pinned_now):
    fake = FakeYahoo({"IWM": recorded_history()})
    monkeypatch.setattr(yahoo, "download", fake)
    config = _config(tmp_path)
    rows = {r["symbol"]: r for r in fetch(["NOPE", "IWM"], dt.date(2026, 1, 5), dt.date(2026, 1, 9), config)}
    assert "no bars returned" in rows["NOPE"]["error"] and "yahoo:NOPE" in rows["NOPE"]["error"]
    assert rows["IWM"]["rows"] == 14 and not rows["IWM"]["error"]  # 01-05 through today (01-23)

    monkeypatch.setattr(yahoo, "download", FakeYahoo({}, error=ConnectionError("Failed to resolve host\nmore")))
    bars = load_barset(["QQQ", "IWM"], config, end=dt.date(2026, 1, 9))
    assert "IWM" in bars  # from the cache, no network needed
    reason = bars.missing["QQQ"]
    assert "\n" not in reason
    assert "cache" in reason and "yahoo:QQQ: download failed: ConnectionError: Failed to resolve host" in reason


def test_yahoo_fallback_fills_the_cache(tmp_path, monkeypatch, pinned_now):
    fake = FakeYahoo({"^RUT": recorded_history()})
    monkeypatch.setattr(yahoo, "download", fake)
    config = _config(tmp_path)
    first = load_barset(["^RUT"], config, start=dt.date(2026, 1, 5), end=dt.date(2026, 1, 16))
    assert len(first["^RUT"]) == 10 and len(fake.calls) == 1
    assert cache_path(config.data.cache_dir, "^RUT").name == "RUT_INDEX_1d.parquet"
    second = load_barset(["^RUT"], config, start=dt.date(2026, 1, 5), end=dt.date(2026, 1, 16))
    assert second["^RUT"].source == "cache:yahoo" and len(fake.calls) == 1
    assert [r["symbol"] for r in list_cache(config)] == ["^RUT"]


def test_fetch_cli_prints_a_table_and_exits_1_on_failure(tmp_path, monkeypatch, pinned_now):
    pinned_now["now"] = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.timezone.utc)
    monkeypatch.setattr(yahoo, "download", FakeYahoo({"IWM": recorded_history()}))
    result = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path / "c"), "--source", "cache", "--source", "yahoo",
                                      "data", "fetch", "IWM", "NOPE", "--start", "2026-01-05", "--end", "2026-01-09"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    assert any(l.startswith("IWM ") and "2026-01-05" in l and "2026-01-09" in l for l in lines)
    assert any(l.startswith("NOPE ") and "no bars returned" in l for l in lines)


def test_fetch_refuses_offline(tmp_path):
    result = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path), "--offline", "data", "fetch", "IWM"])
    assert result.exit_code == 2 and "offline" in result.output and "Traceback" not in result.output


def _split_history(ratio: float = 2.0, day: str = "2026-01-12") -> pd.DataFrame:
    """What Yahoo returns after a split: every earlier bar already divided by the ratio (for any window)."""
    after = recorded_history(splits={day: ratio})
    before = after.index < pd.Timestamp(day, tz=NY)
    after.loc[before, ["Open", "High", "Low", "Close"]] /= ratio
    return after


def test_split_after_the_requested_end_still_rebases_the_cache(tmp_path, monkeypatch, pinned_now):
    """Yahoo's Close is adjusted for every split up to the download day, whatever window is asked for.

    The cache holds 01-05..01-09 from before the 2:1 split of 01-12; a later fetch ending 01-02 gets
    halved prices. The split must be seen (the tail is always downloaded) and the cache re-based.
    """
    config = _config(tmp_path)
    monkeypatch.setattr(yahoo, "download", FakeYahoo({"XLK": recorded_history()}))
    pinned_now["now"] = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.timezone.utc)  # the cache is written before the split
    fetch(["XLK"], dt.date(2026, 1, 5), dt.date(2026, 1, 9), config)
    pinned_now["now"] = dt.datetime(2026, 1, 24, 12, 0, tzinfo=dt.timezone.utc)
    monkeypatch.setattr(yahoo, "download", FakeYahoo({"XLK": _split_history()}))
    [row] = fetch(["XLK"], dt.date(2025, 12, 29), dt.date(2026, 1, 2), config)
    assert not row["error"] and "new split" in row["note"]
    bars = load_barset(["XLK"], config)["XLK"]
    closes = bars.frame["close"]
    # One basis: 12-29 (50) .. 01-09 (54) all halved, 01-12 onwards as traded (109).
    assert closes.loc["2025-12-29"] == 50.0 and closes.loc["2026-01-09"] == 54.0
    assert closes.loc["2026-01-12"] == 109.0
    assert [(s.date, s.ratio) for s in bars.splits] == [(dt.date(2026, 1, 12), 2.0)]


def test_load_with_an_as_of_before_a_split_keeps_the_split(tmp_path, monkeypatch, pinned_now):
    """load_barset(as_of=...) through Yahoo: the bars stop at as_of but the split they reflect is listed."""
    fake = FakeYahoo({"XLK": _split_history()})
    monkeypatch.setattr(yahoo, "download", fake)
    config = _config(tmp_path, sources=("yahoo",))
    bars = load_barset(["XLK"], config, start=dt.date(2026, 1, 5), as_of=dt.date(2026, 1, 9))["XLK"]
    assert bars.last == dt.date(2026, 1, 9) and bars.frame["close"].iloc[-1] == 54.0
    assert [(s.date, s.ratio) for s in bars.splits] == [(dt.date(2026, 1, 12), 2.0)]
    assert fake.calls == [("XLK", dt.date(2026, 1, 5), dt.date(2026, 1, 24))]
