"""Hand-built inputs for the report tests: invented bars, two setup files and a ledger written by hand.

Nothing here is market data: prices are a deterministic made-up walk. The ledger rows have the engine's
shapes and vocabulary (session-date fill times, ``target1``/``stop``/``time``/``end-of-data``, one exit
row per tranche) with invented outcomes; the report tests check aggregation and writing, not simulation.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from backtest.data.bars import Bars, BarSet
from backtest.data.calendar import session_dates, with_sessions
from backtest.common import Skip
from backtest.engine.ledger import CALL_COLUMNS, EXIT_COLUMNS, TRADE_COLUMNS, Ledger, SimConfig
from backtest.setups.model import SetupFile
from backtest.setups.table import SetupTable

def invented_bars(symbol: str, start_price: float, seed: int, start=dt.date(2026, 1, 2), end=dt.date(2026, 4, 30)) -> Bars:
    dates = session_dates(start, end)
    rng = np.random.default_rng(seed)
    close = start_price * np.cumprod(1 + rng.normal(0, 0.01, len(dates)))
    open_ = np.r_[start_price, close[:-1]]
    high = np.maximum(open_, close) * 1.005
    low = np.minimum(open_, close) * 0.995
    frame = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": 1e6},
                         index=pd.DatetimeIndex(dates, name="date").as_unit("ns"))
    return Bars(symbol=symbol, frame=with_sessions(frame), source="invented", basis="as-traded")


def barset() -> BarSet:
    return BarSet(
        bars={"AAA": invented_bars("AAA", 100.0, 1), "BBB": invented_bars("BBB", 50.0, 2),
              "SPY": invented_bars("SPY", 600.0, 3)},
        missing={"ZZZ": "not in any source (cache, mirror)"},
    )


def setup_files() -> list[SetupFile]:
    bull = {
        "article": {"id": "art-bull", "title": "Bull case", "published": "2026-02-09T14:00:00Z",
                    "stance": "bullish", "pulse": 70, "threat": 2, "subject": ["AAA"]},
        "setups": [
            {"id": "bull-1", "symbol": "AAA", "direction": "long", "entry": {"type": "stop", "level": 101},
             "stop": 95, "targets": [110, 120]},
            {"id": "bull-2", "symbol": "AAA", "direction": "long", "stop": 90, "targets": [130]},
            {"id": "bull-3", "symbol": "ZZZ", "direction": "long", "stop": 5, "targets": [9]},
        ],
    }
    bear = {
        "article": {"id": "art-bear", "title": "Bear case", "published": dt.date(2026, 2, 20),
                    "stance": "bearish", "pulse": 30, "threat": 4, "subject": ["BBB"]},
        "setups": [
            {"id": "bear-1", "symbol": "BBB", "direction": "short", "stop": 55, "targets": [45]},
            {"id": "bear-2", "symbol": "BBB", "direction": "short", "entry": {"type": "limit", "level": 500},
             "stop": 520, "targets": [480]},
            {"id": "pair-1", "kind": "pair", "long": {"instrument": "spy", "symbol": "SPY"},
             "short": {"instrument": "bbb", "symbol": "BBB"}},
        ],
    }
    neutral = {
        "article": {"id": "art-flat", "published": "2026-03-02T12:00:00Z", "stance": "neutral", "pulse": 50},
        "setups": [],
    }
    return [SetupFile.model_validate(x) for x in (bull, bear, neutral)]


def table() -> SetupTable:
    """The setup table of :func:`setup_files` (what the engine and the report read)."""
    return SetupTable.from_files(setup_files())


def _trade(**values) -> dict:
    row = {c: None for c in TRADE_COLUMNS}
    row.update(values)
    return row


def ledger(config: SimConfig | None = None) -> Ledger:
    """What the engine would write for :func:`setup_files` (invented outcomes, engine-shaped values).

    As in the engine: fill times are tz-naive session dates (``datetime64[ns]``), ``published`` is the
    article's ISO string, exit reasons are ``target1``/``stop``/``time``/``end-of-data``, an ``open`` trade
    is marked at the last close with reason ``end-of-data``, and ``exits`` has one row per tranche and leg.
    """
    d = pd.Timestamp  # a session date (midnight, no zone), as the engine writes fill times
    bull, bear = dict(first_session=d("2026-02-09"), ref_date=d("2026-02-06")), \
        dict(first_session=d("2026-02-23"), ref_date=d("2026-02-20"))
    trades = pd.DataFrame([
        # two equal tranches: target1 at 110, then the rest closed at 110 when max_hold ran out
        _trade(setup_id="bull-1", article_id="art-bull", published="2026-02-09T14:00:00+00:00", stance="bullish",
               pulse=70, threat=2, symbol="AAA", direction="long", kind="single", entry_type="stop", entry_level=101.0,
               stop=95.0, targets=[110.0, 120.0], status="filled", reason=None, entry_time=d("2026-02-11"),
               entry_price=101.0, exit_time=d("2026-02-25"), exit_price=110.0, exit_reason="time",
               return_pct=8.910891089108912, r_multiple=1.5, mae_pct=-1.2, mfe_pct=9.5, sessions_held=10,
               ambiguous=False, return_pct_stop_first=8.910891089108912, return_pct_target_first=8.910891089108912,
               **bull),
        _trade(setup_id="bull-2", article_id="art-bull", published="2026-02-09T14:00:00+00:00", stance="bullish",
               pulse=70, threat=2, symbol="AAA", direction="long", kind="single", entry_type="market",
               stop=90.0, targets=[130.0], status="filled", entry_time=d("2026-02-10"), entry_price=100.0,
               exit_time=d("2026-03-02"), exit_price=90.0, exit_reason="stop", return_pct=-10.0,
               r_multiple=-1.0, mae_pct=-10.0, mfe_pct=2.0, sessions_held=13, ambiguous=True,
               return_pct_stop_first=-10.0, return_pct_target_first=30.0, **bull),
        _trade(setup_id="bull-3", article_id="art-bull", published="2026-02-09T14:00:00+00:00", stance="bullish",
               pulse=70, threat=2, symbol="ZZZ", direction="long", kind="single", entry_type="market", stop=5.0,
               targets=[9.0], status="no-data", reason="no bars for ZZZ: not in any source"),
        _trade(setup_id="bear-1", article_id="art-bear", published="2026-02-20", stance="bearish", pulse=30,
               threat=4, symbol="BBB", direction="short", kind="single", entry_type="market", stop=55.0,
               targets=[45.0], status="open", entry_time=d("2026-02-23"), entry_price=50.0,
               exit_time=d("2026-04-30"), exit_price=48.0, exit_reason="end-of-data", return_pct=4.0,
               r_multiple=0.4, mae_pct=-3.0, mfe_pct=6.0, sessions_held=46, ambiguous=False,
               return_pct_stop_first=4.0, return_pct_target_first=4.0, **bear),
        _trade(setup_id="bear-2", article_id="art-bear", published="2026-02-20", stance="bearish", pulse=30,
               threat=4, symbol="BBB", direction="short", kind="single", entry_type="limit", entry_level=500.0,
               stop=520.0, targets=[480.0], status="rejected", incoherent=True,
               reason="entry 500 is 900% from the last close 50 (limit 15%); --include-incoherent to simulate", **bear),
        _trade(setup_id="pair-1", article_id="art-bear", published="2026-02-20", stance="bearish", pulse=30,
               threat=4, symbol="SPY/BBB", direction="long", kind="pair", entry_type="market", status="filled",
               entry_time=d("2026-02-23"), exit_time=d("2026-04-29"), exit_reason="time",
               return_pct=-2.5, sessions_held=46, ambiguous=False, long_symbol="SPY", short_symbol="BBB",
               long_return_pct=1.0, short_return_pct=-3.5, return_pct_stop_first=-2.5, return_pct_target_first=-2.5,
               long_entry_price=600.0, short_entry_price=50.0, first_session=d("2026-02-23")),
    ], columns=list(TRADE_COLUMNS))
    for column in ("entry_time", "exit_time", "first_session", "ref_date"):
        trades[column] = pd.to_datetime(trades[column]).astype("datetime64[ns]")
    exits = pd.DataFrame([
        ("bull-1", "single", 1, 0.5, d("2026-02-18"), 110.0, "target1"),
        ("bull-1", "single", 2, 0.5, d("2026-02-25"), 110.0, "time"),
        ("bull-2", "single", 1, 1.0, d("2026-03-02"), 90.0, "stop"),
        ("bear-1", "single", 1, 1.0, d("2026-04-30"), 48.0, "end-of-data"),
        ("pair-1", "long", 1, 1.0, d("2026-04-29"), 606.0, "time"),
        ("pair-1", "short", 1, 1.0, d("2026-04-29"), 51.75, "time"),
    ], columns=list(EXIT_COLUMNS))
    exits["time"] = exits["time"].astype("datetime64[ns]")
    calls = pd.DataFrame([
        {"article_id": a, "stance": s, "symbol": sym, "direction": d_, "horizon": h,
         "start_time": start, "start_price": 100.0, "end_time": start + pd.offsets.BDay(h - 1),
         "end_price": 100.0 + r, "return_pct": r, "benchmark_return_pct": 1.0, "excess_pct": r - 1.0, "hit": r > 0,
         "primary": primary}
        for a, s, sym, d_, start, rets, primary in (
            ("art-bull", "bullish", "AAA", "long", d("2026-02-10"), (0.5, 2.0, -1.0, 3.0), True),
            ("art-bear", "bearish", "BBB", "short", d("2026-02-23"), (-0.2, 1.5, 2.5, 4.0), True),
            # the same opinion measured on a second subject symbol: it is reported but must not be
            # counted a second time
            ("art-bull", "bullish", "AAA_INDEX", "long", d("2026-02-10"), (50.0,) * 4, False))
        for h, r in zip((1, 5, 20, 60), rets)
    ], columns=list(CALL_COLUMNS))
    for column in ("start_time", "end_time"):
        calls[column] = calls[column].astype("datetime64[ns]")
    coherence = pd.DataFrame([
        # the levels the engine measured, in the bars' basis (as-traded invented bars: as written)
        ("bull-1", "AAA", "entry", 101.0, 101.0), ("bull-1", "AAA", "stop", 95.0, 95.0),
        ("bull-1", "AAA", "target1", 110.0, 110.0), ("bull-1", "AAA", "target2", 120.0, 120.0),
        ("bull-2", "AAA", "stop", 90.0, 90.0), ("bull-2", "AAA", "target1", 130.0, 130.0),
        ("bear-1", "BBB", "stop", 55.0, 55.0), ("bear-1", "BBB", "target1", 45.0, 45.0),
        ("bear-2", "BBB", "entry", 500.0, 500.0), ("bear-2", "BBB", "stop", 520.0, 520.0),
        ("bear-2", "BBB", "target1", 480.0, 480.0),
    ], columns=["setup_id", "symbol", "level_name", "level", "level_as_written"])
    return Ledger(trades=trades, exits=exits, calls=calls, coherence=coherence, config=config or SimConfig(),
                  skipped=[Skip(item="ZZZ", reason="ZZZ: no bars in any source", kind="symbol")], bars=barset())


def _fake_book(name: str, scale: float):
    from backtest.reports.portfolio import Book

    index = pd.DatetimeIndex(session_dates(dt.date(2026, 2, 10), dt.date(2026, 4, 30)), name="date")
    pnl = np.linspace(0.0, 10.0, len(index)) * scale
    curve = pd.DataFrame({"live_calls": np.full(len(index), 2, dtype=np.int64), "pnl": pnl, "pnl_pct": pnl / 2.0,
                          "equity": 200.0 + pnl}, index=index)
    return Book(name=name, calls=3, peak_live_calls=2, capital=200.0, pnl=float(pnl[-1]),
                return_on_capital_pct=float(pnl[-1] / 2.0), sum_of_trade_returns_pct=float(pnl[-1]) * 1.5,
                sharpe=1.1, max_drawdown_pct=-4.0, curve=curve, daily_returns=pd.Series(0.001, index=index))


class FakePortfolio:
    """A :class:`backtest.reports.portfolio.PortfolioResult` with made-up books (the report only reads them)."""

    def __new__(cls):
        from backtest.reports.portfolio import PortfolioResult

        return PortfolioResult(total=_fake_book("all", 1.0),
                               per_stance={"bearish": _fake_book("bearish", -0.5), "bullish": _fake_book("bullish", 1.5)},
                               call_pnl_pct=pd.Series(dtype=float), identical=pd.DataFrame(), notional=100.0,
                               cost_bps=0.0, sizing="peak", dedupe=True)


class FakePipeline:
    """Stand-in stages for ``run_report`` tests that are about the run mechanics, not the engine."""

    def __init__(self, fail_in=None):
        self.fail_in = fail_in
        self.bars_requested = None

    def load_bars(self, symbols, config, *, as_of=None, progress=None):
        self.bars_requested = (list(symbols), as_of)
        if self.fail_in == "load_bars":
            raise KeyboardInterrupt
        return barset()

    def simulate(self, table, bars, config):
        """The hand-made ledger, with the bars cut at ``config.as_of`` as the engine cuts them."""
        led = ledger(config)
        led.bars = BarSet(bars={s: b.until(config.as_of) for s, b in bars.bars.items()}, missing=dict(bars.missing))
        return led

    def portfolio(self, led, bars):
        return FakePortfolio()
