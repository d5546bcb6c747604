"""Yahoo in cron, offline: retries with backoff on network errors, price repair on, yfinance's caches in ours.

No test touches the network. The retry tests replace :func:`backtest.data.yahoo.download`; the last test
runs the real yfinance code on a recorded (hand-made) chart response, with yfinance's HTTP layer replaced.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import pandas as pd
import pytest
from click.testing import CliRunner

import backtest.data.yahoo as yahoo
from backtest.cli import cli

NY = "America/New_York"
SESSIONS = pd.bdate_range("2026-01-05", "2026-01-16")  # no holiday in these two weeks
NOW = dt.datetime(2026, 1, 17, 12, 0, tzinfo=dt.timezone.utc)  # Saturday: every session has closed


def recorded_history() -> pd.DataFrame:
    close = [100.0 + i for i in range(len(SESSIONS))]
    return pd.DataFrame({"Open": [c - 0.5 for c in close], "High": [c + 1 for c in close],
                         "Low": [c - 1 for c in close], "Close": close, "Volume": 1000.0,
                         "Dividends": 0.0, "Stock Splits": 0.0},
                        index=pd.DatetimeIndex(SESSIONS.tz_localize(NY), name="Date"))


class CurlConnectionError(Exception):
    """Named like curl_cffi's ConnectionError (what yfinance raises offline); retry is decided by name."""


CurlConnectionError.__name__ = "ConnectionError"


class Flaky:
    """Fails ``failures`` times with ``error``, then returns the recorded history."""

    def __init__(self, failures: int, error: Exception):
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self, symbol, start, end):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return recorded_history()


@pytest.fixture
def fetch(tmp_path, monkeypatch):
    monkeypatch.setattr(yahoo, "now_utc", lambda: NOW)
    monkeypatch.setattr(yahoo, "_random", random.Random(7))

    def run(*symbols: str):
        return CliRunner().invoke(cli, ["--cache-dir", str(tmp_path / "c"), "data", "fetch", *symbols,
                                        "--start", "2026-01-05"])
    return run


def test_a_network_error_is_retried_with_backoff_and_said(fetch, monkeypatch, backoff_waits):
    flaky = Flaky(2, CurlConnectionError("Failed to perform, curl: (7) Failed to connect to query2.finance.yahoo.com"))
    monkeypatch.setattr(yahoo, "download", flaky)
    result = fetch("ZED")
    assert result.exit_code == 0, result.output
    assert flaky.calls == 3 and len(backoff_waits) == 2
    assert 0.5 <= backoff_waits[0] <= 1.0 and 1.0 <= backoff_waits[1] <= 2.0  # exponential, with jitter
    row = result.stdout.splitlines()[1]
    assert row.split()[:5] == ["ZED", "10", "2026-01-05", "2026-01-16", "10"]
    assert (f"yahoo:ZED: 2026-01-05..2026-01-17 downloaded on attempt 3 after 2 network error(s), "
            f"{sum(backoff_waits):.1f} s of backoff (first: ConnectionError: Failed to perform, curl: (7) Failed to "
            "connect to query2.finance.yahoo.com)") in row


def test_retries_are_bounded_and_the_failure_says_how_many(fetch, monkeypatch, backoff_waits):
    flaky = Flaky(99, ConnectionResetError(104, "Connection reset by peer"))
    monkeypatch.setattr(yahoo, "download", flaky)
    result = fetch("ZED", "QQQ")
    assert result.exit_code == 1
    assert flaky.calls == 2 * yahoo.RETRY_ATTEMPTS and len(backoff_waits) == 2 * (yahoo.RETRY_ATTEMPTS - 1)
    assert max(backoff_waits) <= yahoo.RETRY_CAP_S and sum(backoff_waits) <= 2 * (1 + 2 + 4)
    for line in result.stdout.splitlines()[1:]:
        assert ("download failed: ConnectionResetError: [Errno 104] Connection reset by peer (4 attempts with "
                "backoff) (check the network and the symbol's Yahoo spelling)") in line


@pytest.mark.parametrize("error", [
    pytest.param("tz-missing", id="unknown symbol"),
    pytest.param("http-404", id="HTTP 404"),
    pytest.param("value", id="a bug in the response"),
])
def test_errors_a_retry_cannot_fix_are_not_retried(fetch, monkeypatch, backoff_waits, error):
    from yfinance.exceptions import YFTzMissingError

    class HTTPError(Exception):
        def __init__(self, status):
            super().__init__(f"HTTP Error {status}")
            self.response = type("Response", (), {"status_code": status})()

    exc = {"tz-missing": YFTzMissingError("$ZZZZ"), "http-404": HTTPError(404),
           "value": ValueError("cannot reshape")}[error]
    flaky = Flaky(99, exc)
    monkeypatch.setattr(yahoo, "download", flaky)
    result = fetch("ZED")
    assert result.exit_code == 1 and flaky.calls == 1 and backoff_waits == []
    assert "attempts with backoff" not in result.stdout


@pytest.mark.parametrize("status, transient", [(429, True), (500, True), (503, True), (404, False), (401, False)])
def test_http_status_decides(status, transient):
    class HTTPError(Exception):
        response = type("Response", (), {"status_code": status})()

    assert yahoo.is_transient(HTTPError()) is transient


def test_backoff_is_exponential_capped_and_jittered(monkeypatch):
    monkeypatch.setattr(yahoo, "RETRY_CAP_S", 5.0)
    monkeypatch.setattr(yahoo, "_random", random.Random(1))
    first = yahoo.backoff_delays(6)
    monkeypatch.setattr(yahoo, "_random", random.Random(2))
    second = yahoo.backoff_delays(6)
    fulls = [1, 2, 4, 5, 5]
    for delays in (first, second):
        assert len(delays) == 5
        assert all(full / 2 <= d <= full for d, full in zip(delays, fulls))
    assert first != second  # two cron jobs failing together do not retry in step


# ------------------------------------------------------------------------- real yfinance, recorded response
def chart_response(symbol: str) -> dict:
    """A Yahoo v8 chart response for SESSIONS, written by hand: a dividend on 2026-01-08, no split."""
    stamps = [int((pd.Timestamp(d).tz_localize(NY) + pd.Timedelta(hours=9, minutes=30)).timestamp()) for d in SESSIONS]
    close = [100.0 + i for i in range(len(SESSIONS))]
    meta = {"currency": "USD", "symbol": symbol, "exchangeName": "PCX", "instrumentType": "ETF",
            "firstTradeDate": 946900000, "regularMarketTime": stamps[-1] + 23400, "gmtoffset": -18000,
            "timezone": "EST", "exchangeTimezoneName": NY, "regularMarketPrice": close[-1], "priceHint": 2,
            "dataGranularity": "1d", "range": "", "validRanges": ["1d", "5d", "1mo", "1y", "max"]}
    return {"chart": {"result": [{
        "meta": meta, "timestamp": stamps,
        "events": {"dividends": {str(stamps[3]): {"amount": 0.5, "date": stamps[3]}}},
        "indicators": {"quote": [{"open": [c - 0.5 for c in close], "high": [c + 1 for c in close],
                                  "low": [c - 1 for c in close], "close": close,
                                  "volume": [1000 + i for i in range(len(SESSIONS))]}],
                       "adjclose": [{"adjclose": [c * 0.99 for c in close]}]}}], "error": None}}


def test_real_yfinance_on_a_recorded_response(tmp_path, monkeypatch):
    import yfinance
    import yfinance.data as yfdata

    requests = []

    class Response:
        status_code = 200

        def __init__(self, payload):
            self.payload, self.text = payload, json.dumps(payload)

        def json(self):
            return self.payload

    def get(self, url, params=None, timeout=30, **kwargs):
        requests.append((url, dict(params or {})))
        return Response(chart_response(url.rsplit("/", 1)[-1]))

    monkeypatch.setattr(yfdata.YfData, "get", get)
    monkeypatch.setattr(yfdata.YfData, "cache_get", get)
    calls = []
    history = yfinance.Ticker.history

    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        return history(self, *args, **kwargs)

    monkeypatch.setattr(yfinance.Ticker, "history", spy)
    monkeypatch.setattr(yahoo, "now_utc", lambda: NOW)
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    cache = tmp_path / "c"
    result = CliRunner().invoke(cli, ["--cache-dir", str(cache), "data", "fetch", "ZED", "--start", "2026-01-05"])
    assert result.exit_code == 0, result.output

    (kwargs,) = calls
    assert kwargs["auto_adjust"] is False and kwargs["repair"] is True and kwargs["actions"] is True
    assert any(url.endswith("/v8/finance/chart/ZED") and params.get("events") for url, params in requests)
    frame = pd.read_parquet(cache / "ZED_1d.parquet")
    assert frame["close"].tolist() == [100.0 + i for i in range(10)]  # Close as traded, not Adj Close
    meta = json.loads(__import__("pyarrow.parquet", fromlist=["x"]).read_schema(cache / "ZED_1d.parquet").metadata[b"backtest"])
    assert meta["dividends"] == [["2026-01-08", 0.5]] and meta["splits"] == []
    # yfinance's own caches are under the project's cache directory, never under the home folder.
    assert (cache / "yfinance" / "tkr-tz.db").is_file()
    assert not home.exists() or not any(home.rglob("*"))
    assert "yfinance price repair flagged" in result.stdout  # the repair ran (it fixed Adj Close before the dividend)
