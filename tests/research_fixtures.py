"""The worked examples of docs/reports.md → "Research figures": small invented inputs, hand-checkable.

``tests/test_research_docs.py`` computes every figure the document prints from these inputs and checks the
printed numbers (and checks the hand-derivable ones against arithmetic done in the test).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from backtest.data.bars import BarSet


def mirror_barset(market_data_dir, cache_dir, symbols) -> BarSet:
    """Real bars of ``symbols`` from the ../shared mirror (read there, never copied), through the data layer."""
    from backtest.config import Config, DataConfig
    from backtest.data.load import load_barset

    config = Config(data=DataConfig(sources=("mirror",), mirrors=(market_data_dir,), cache_dir=cache_dir))
    return load_barset(list(symbols), config)


def example_calls() -> pd.DataFrame:
    """Eight articles' calls at 5 sessions: five bullish (b5 repeats b1's call), three bearish."""
    rows = [  # article, stance, symbol, first session, raw 5-session move %, excess over SPY % (signed)
        ("b1", "bullish", "IWM", "2026-03-02", 1.5, 1.0),
        ("b2", "bullish", "QQQ", "2026-03-09", 2.5, 2.0),
        ("b3", "bullish", "XLK", "2026-03-16", -1.0, -0.5),
        ("b4", "bullish", "IWM", "2026-03-23", 2.0, 3.0),
        ("b5", "bullish", "IWM", "2026-03-02", 1.5, 1.0),
        ("s1", "bearish", "IWM", "2026-03-04", 0.5, -1.0),
        ("s2", "bearish", "QQQ", "2026-03-11", -0.2, 0.5),
        ("s3", "bearish", "XLK", "2026-03-18", 1.0, -2.0),
    ]
    frame = pd.DataFrame(rows, columns=["article_id", "stance", "symbol", "start_time", "return_pct", "excess_pct"])
    frame["direction"] = frame["stance"].map({"bullish": "long", "bearish": "short"})
    frame["start_time"] = pd.to_datetime(frame["start_time"])
    frame["horizon"] = 5
    frame["primary"] = True
    frame["hit"] = np.sign(frame["return_pct"]) == frame["direction"].map({"long": 1, "short": -1})
    return frame


def example_pulse() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(articles, calls): five bullish articles with Pulse 20..90 and their 20-session excess."""
    pulse = [20, 40, 60, 80, 90]
    excess = [-1.0, 0.5, 0.2, 1.5, 2.0]
    days = pd.to_datetime(["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"])
    articles = pd.DataFrame({"article_id": [f"p{i}" for i in range(5)], "stance": "bullish", "pulse": pulse})
    calls = pd.DataFrame({"article_id": articles["article_id"], "stance": "bullish", "symbol": "IWM",
                          "direction": "long", "horizon": 20, "start_time": days, "return_pct": excess,
                          "excess_pct": excess, "primary": True})
    return articles, calls


def _frame(closes, opens=None, first=dt.date(2026, 3, 2)):
    from backtest.data.calendar import session_dates

    dates = session_dates(first, first + dt.timedelta(days=3 * len(closes) + 10))[: len(closes)]
    opens = closes if opens is None else opens
    return pd.DataFrame({"open": opens, "high": np.maximum(opens, closes), "low": np.minimum(opens, closes),
                         "close": closes}, index=pd.DatetimeIndex(dates, name="date").as_unit("ns"))


def example_event_bars() -> dict[str, pd.DataFrame]:
    """IWM opens 100 on 2026-03-02 and closes 101 then 99; SPY opens 500 and closes 502 then 501."""
    return {"IWM": _frame([101.0, 99.0, 99.0], opens=[100.0, 101.0, 99.0]),
            "SPY": _frame([502.0, 501.0, 501.0], opens=[500.0, 502.0, 501.0])}


def example_event_calls() -> pd.DataFrame:
    return pd.DataFrame({"article_id": ["e1"], "stance": ["bullish"], "symbol": ["IWM"], "direction": ["long"],
                         "start_time": [pd.Timestamp("2026-03-02")], "primary": [True]})


def example_book() -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(trades, exits, bars): A and B overlap on TEST, C comes later on OTHER (see the document)."""
    bars = {"TEST": _frame([100.0, 104.0, 110.0, 104.0, 100.0, 100.0, 100.0]),
            "OTHER": _frame([50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 48.0])}

    def trade(setup_id, stance, symbol, day, price, ret):
        return {"setup_id": setup_id, "article_id": setup_id, "stance": stance, "kind": "single", "symbol": symbol,
                "direction": "long", "status": "filled", "entry_time": pd.Timestamp(day), "entry_price": price,
                "long_symbol": None, "short_symbol": None, "long_entry_price": np.nan, "short_entry_price": np.nan,
                "return_pct": ret, "entry_type": "market", "entry_level": np.nan, "first_session": pd.Timestamp(day)}

    trades = pd.DataFrame([trade("A", "bullish", "TEST", "2026-03-02", 100.0, 10.0),
                           trade("B", "bullish", "TEST", "2026-03-03", 104.0, 0.0),
                           trade("C", "bearish", "OTHER", "2026-03-09", 50.0, -4.0)])
    exits = pd.DataFrame({"setup_id": ["A", "B", "C"], "leg": "single", "tranche": 1, "fraction": 1.0,
                          "time": pd.to_datetime(["2026-03-04", "2026-03-05", "2026-03-10"]),
                          "price": [110.0, 104.0, 48.0], "reason": "time"})
    return trades, exits, bars


__all__ = ["mirror_barset", "example_calls", "example_pulse", "example_event_bars", "example_event_calls", "example_book", "BarSet"]


@pytest.fixture(autouse=True, scope="module")
def any_axis_length():
    """For modules that check the scorecard's plumbing against the direct statistics on short invented
    axes (import it to use it): every axis counts as long enough. The rule that leaves intervals empty on
    too few blocks is tested on its own (test_research_stats.py, test_research_docs.py). Module scope: in
    force before the module's cached scorecards are built."""
    from backtest.reports import stats

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stats, "MIN_BLOCKS", 0)
        yield


def record_permutation_pools(monkeypatch) -> list:
    """The ``max_workers`` of every thread pool the scorecard opens for its permutation tests, in order."""
    from concurrent.futures import ThreadPoolExecutor

    import backtest.reports.scorecard as card_module

    sizes: list = []

    class Recording(ThreadPoolExecutor):
        def __init__(self, max_workers=None, *args, **kwargs):
            sizes.append(max_workers)
            super().__init__(max_workers, *args, **kwargs)

    monkeypatch.setattr(card_module, "ThreadPoolExecutor", Recording)
    return sizes
