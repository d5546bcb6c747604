"""The engine on the real bars of ../shared/market-data, with setups written here from facts checked in the CSVs.

Facts used (read from the mirror files, not copied into the repository):
* IWM lows 2026-02-03..2026-03-02 all stay above 255 (2026-02-05: 255.05); 2026-03-03 opens above 255 and
  trades below it, the 20th session after a 2026-02-02 (date-only) publication; 2026-03-09 trades below 245
  after opening above it.
* ^RUT closed 2,670.34 on Friday 2026-02-06 and opened 2,667.44 on Monday 2026-02-09.
* XLK split 2:1 on 2025-12-05; the mirror file is split-adjusted (2025-11-21: open 136.30, low 133.74).
* SPY opened 656.65 on 2026-04-07 (high 659.61) and gapped up to open 676.39 on 2026-04-08.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from backtest.config import Config, DataConfig
from backtest.data.load import load_barset
from backtest.engine import SimConfig, simulate
from backtest.setups.model import SetupFile


@pytest.fixture(scope="module")
def barset(market_data_dir, tmp_path_factory):
    config = Config(data=DataConfig(sources=("mirror",), mirrors=(market_data_dir,),
                                    cache_dir=tmp_path_factory.mktemp("cache")))
    return load_barset(["IWM", "^RUT", "XLK", "SPY"], config)


def one(barset, published, setup: dict, **config) -> pd.Series:
    file = SetupFile.model_validate({"article": {"id": "real", "published": published}, "setups": [setup]})
    return simulate([file], barset, SimConfig(**config)).trades.iloc[0]


IWM_LIMIT = {"id": "iwm-dip", "symbol": "IWM", "entry": {"type": "limit", "level": 255}, "stop": 245, "targets": [270]}


def test_iwm_limit_at_255_skips_the_255_05_low_and_fills_on_the_20th_session(barset):
    row = one(barset, dt.date(2026, 2, 2), IWM_LIMIT)
    assert row["first_session"] == pd.Timestamp("2026-02-03")
    assert (row["status"], row["entry_time"], row["entry_price"]) == ("filled", pd.Timestamp("2026-03-03"), 255.0)
    assert (row["exit_time"], row["exit_price"], row["exit_reason"]) == (pd.Timestamp("2026-03-09"), 245.0, "stop")
    assert row["return_pct"] == pytest.approx((245 / 255 - 1) * 100)
    assert row["r_multiple"] == pytest.approx(-1.0)
    assert row["ref_date"] == pd.Timestamp("2026-02-02")


def test_iwm_limit_expires_with_a_19_session_window(barset):
    row = one(barset, dt.date(2026, 2, 2), dict(IWM_LIMIT, entry={"type": "limit", "level": 255, "window": 19}))
    assert row["status"] == "expired"
    assert "through 2026-03-02" in row["reason"]


def test_buying_the_russell_above_2080_is_rejected_against_the_2670_close(barset):
    setup = {"id": "rut-2080", "symbol": "^RUT", "entry": {"type": "stop", "level": 2080}, "stop": 2000, "targets": [2200]}
    row = one(barset, "2026-02-08T17:30:00Z", setup)
    assert row["status"] == "rejected"
    assert "^RUT closed 2,670.34 on 2026-02-06" in row["reason"]
    assert "entry 2,080 is -22.1 %" in row["reason"]
    assert "\n" not in row["reason"]
    forced = one(barset, "2026-02-08T17:30:00Z", setup, include_incoherent=True)
    # the buy stop is far below the market: it fills at Monday's open, clearly marked
    assert forced["incoherent"] and (forced["entry_time"], forced["entry_price"]) == (pd.Timestamp("2026-02-09"), 2667.44)


def test_xlk_level_written_before_the_split_is_halved(barset):
    # the article saw XLK near 272 as traded; a limit at 270 is 135 on the split-adjusted bars
    setup = {"id": "xlk", "symbol": "XLK", "entry": {"type": "limit", "level": 270}, "stop": 250, "targets": [300]}
    row = one(barset, dt.date(2025, 11, 20), setup)
    assert row["status"] in ("filled", "open") and row["incoherent"] == False  # noqa: E712
    assert (row["entry_time"], row["entry_price"]) == (pd.Timestamp("2025-11-21"), 135.0)
    assert row["entry_level"] == 270.0  # the ledger keeps the level as written


def test_spy_short_gapped_through_its_stop_exits_at_the_open(barset):
    setup = {"id": "spy-short", "symbol": "SPY", "direction": "short", "stop": 670, "targets": [640]}
    row = one(barset, dt.date(2026, 4, 6), setup)
    assert (row["entry_time"], row["entry_price"]) == (pd.Timestamp("2026-04-07"), pytest.approx(656.65, abs=1e-4))
    assert (row["exit_time"], row["exit_reason"]) == (pd.Timestamp("2026-04-08"), "stop")
    assert row["exit_price"] == pytest.approx(676.39, abs=1e-4)
    assert row["return_pct"] == pytest.approx(-(676.39 / 656.65 - 1) * 100, abs=1e-4)
    assert row["r_multiple"] < -1  # the gap cost more than the planned risk


def test_as_of_cut_leaves_the_trade_open(barset):
    row = one(barset, dt.date(2026, 2, 2), IWM_LIMIT, as_of=dt.date(2026, 3, 5))
    assert row["status"] == "open" and row["exit_reason"] == "end-of-data"
    assert row["exit_time"] == pd.Timestamp("2026-03-05")


# close-confirmed entries (docs/semantics.md section 3). Facts (IWM, from the mirror file): 2026-03-06 traded
# down to 249.94 but closed at 250.89; 2026-03-12 closed at 247.41, the first close at or below 250 after a
# 2026-03-02 (date-only) publication; 2026-03-13 opened at 249.26; no high reached 256 before 2026-03-30,
# whose low was 238.69 after an open of 245.35; 2026-03-04 traded up to 262.96.
IWM_CLOSE_SHORT = {"id": "iwm-close", "symbol": "IWM", "direction": "short", "entry": {"type": "close", "level": 250},
                   "stop": 256, "targets": [240]}


def test_a_close_under_250_triggers_on_the_12_march_close_and_fills_at_the_next_open(barset):
    row = one(barset, dt.date(2026, 3, 2), IWM_CLOSE_SHORT)
    assert row["first_session"] == pd.Timestamp("2026-03-03")
    # 2026-03-06 traded below 250 intraday: a stop order would have filled there, a close order waits
    assert (row["status"], row["entry_time"]) == ("filled", pd.Timestamp("2026-03-13"))
    assert row["entry_price"] == pytest.approx(249.26, abs=0.005)  # the 13 March open, not the 250 level
    assert (row["exit_time"], row["exit_price"], row["exit_reason"]) == (pd.Timestamp("2026-03-30"), 240.0, "target1")
    assert row["return_pct"] == pytest.approx(-(240.0 / row["entry_price"] - 1) * 100)
    stop_entry = one(barset, dt.date(2026, 3, 2), dict(IWM_CLOSE_SHORT, entry={"type": "stop", "level": 250}))
    assert stop_entry["entry_time"] == pd.Timestamp("2026-03-06") and stop_entry["entry_price"] == 250.0


def test_a_close_order_is_cancelled_by_an_invalidation_touched_before_the_trigger(barset):
    row = one(barset, dt.date(2026, 3, 2), dict(IWM_CLOSE_SHORT, invalidation=257))
    assert row["status"] == "cancelled" and pd.isna(row["entry_time"])
    assert row["reason"] == "invalidation 257 touched before the entry filled"


def test_a_close_order_that_never_triggers_expires_with_its_window(barset):
    row = one(barset, dt.date(2026, 3, 2), dict(IWM_CLOSE_SHORT, entry={"type": "close", "level": 250, "window": 7}))
    assert row["status"] == "expired"  # seven sessions: 3-11 March, no close at or below 250
    assert row["reason"] == "no session closed at or below 250 within 7 sessions (through 2026-03-11)"


def test_a_close_order_triggered_on_the_last_bar_is_still_working(barset):
    row = one(barset, dt.date(2026, 3, 2), IWM_CLOSE_SHORT, as_of=dt.date(2026, 3, 12))
    assert row["status"] == "open" and pd.isna(row["entry_time"])
    assert row["reason"].startswith("close 250 triggered on 2026-03-12, the last session in the data")
